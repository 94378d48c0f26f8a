import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DataSource } from 'typeorm';
import { ByteLru, PayloadStore } from '@engine/activities/runtime/payload-store';

describe(ByteLru.name, () => {
  it('evicts the least recently used values once the byte bound is passed', () => {
    const sut = new ByteLru<string>(100);
    sut.set('a', 'A', 40);
    sut.set('b', 'B', 40);
    assert.equal(sut.get('a'), 'A'); // a is now the most recently used
    sut.set('c', 'C', 40);
    assert.equal(sut.get('b'), undefined, 'b was the least recently used');
    assert.equal(sut.get('a'), 'A');
    assert.equal(sut.get('c'), 'C');
    assert.equal(sut.bytes, 80);
  });

  it('never holds more than its bound, whatever is put in', () => {
    const sut = new ByteLru<number>(1000);
    for (let i = 0; i < 10_000; i++) sut.set(`k${i % 300}`, i, 1 + (i % 97));
    assert.ok(sut.bytes <= 1000, `holds ${sut.bytes} bytes`);
    assert.equal(
      sut.bytes,
      [...Array(300).keys()].map((k) => `k${k}`).reduce((sum, k) => sum + (sut.get(k) !== undefined ? 1 + (sut.get(k)! % 97) : 0), 0),
      'the byte count is the sum of what it holds',
    );
  });

  it('does not keep a value larger than the whole cache, and replaces a key in place', () => {
    const sut = new ByteLru<string>(50);
    sut.set('big', 'x', 51);
    assert.equal(sut.get('big'), undefined);
    sut.set('k', 'one', 30);
    sut.set('k', 'two', 20);
    assert.equal(sut.get('k'), 'two');
    assert.equal(sut.bytes, 20);
    assert.equal(sut.size, 1);
  });

  it('with a bound of 0 keeps nothing', () => {
    const sut = new ByteLru<string>(0);
    sut.set('a', 'A', 1);
    assert.equal(sut.size, 0);
  });
});

describe('PayloadStore.load', () => {
  /** A data source answering the payload SELECT after a tick, counting the reads. */
  function source(body: string) {
    const reads: string[] = [];
    const ds = {
      async query(sql: string) {
        reads.push(sql);
        await new Promise((r) => setTimeout(r, 5));
        return [{ body, data: null }];
      },
    };
    return { ds: ds as unknown as DataSource, reads };
  }

  it('reads and parses a payload once for callers asking at the same time, even when it is too large to cache', async () => {
    const { ds, reads } = source(JSON.stringify({ items: [1, 2, 3] }));
    const sut = new PayloadStore(ds, { thresholdBytes: 10, cacheBytes: 0 });
    const ref = { $payload: { id: 'p1', size: 20 } };
    const [a, b, c] = await Promise.all([sut.load(ref), sut.hydrate(ref), sut.hydrate({ step: ref })]);
    assert.equal(reads.length, 1);
    assert.deepEqual(a, { items: [1, 2, 3] });
    assert.equal(a, b, 'one parsed copy');
    assert.equal((c as { step: unknown }).step, a);
    // Not cached (cache of 0 bytes): a later call reads again rather than keeping the value.
    await sut.load(ref);
    assert.equal(reads.length, 2);
  });
});
