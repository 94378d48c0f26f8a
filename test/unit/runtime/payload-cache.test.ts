import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ByteLru } from '@engine/activities/runtime/payload-store';

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
