import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DataSource } from 'typeorm';
import { ByteLru, Handoff, PayloadStore, payloadDataText, type PageWriter } from '@engine/activities/runtime/payload-store';
import { isPagedRef, type PagedRef } from '@engine/dsl/types';

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

describe(Handoff.name, () => {
  it('keeps an output until its run lets go of it', () => {
    const sut = new Handoff(1000, 30_000);
    sut.set('run-1', 'step', 'a', 'A', 100);
    sut.set('run-2', 'step', 'b', 'B', 100);
    assert.equal(sut.get('a'), 'A');
    sut.release('run-1');
    assert.equal(sut.get('a'), undefined);
    assert.equal(sut.get('b'), 'B', "another run's output stays");
    assert.equal(sut.bytes, 100);
  });

  it("keeps the pages a step wrote when that step's own output is offloaded", () => {
    const sut = new Handoff(1000, 30_000);
    sut.set('run-1', 'fetch', 'fetch-page', 'F', 100, true);
    sut.set('run-1', 'validate', 'validate-page', 'V', 100, true);
    sut.set('run-1', 'validate', 'validate-partial', 'P', 100);
    sut.release('run-1', 'validate');
    assert.equal(sut.get('fetch-page'), undefined, "the earlier step's pages go");
    assert.equal(sut.get('validate-partial'), undefined, "the step's earlier whole output goes");
    assert.equal(sut.get('validate-page'), 'V', "the step's own pages stay for the next step");
  });

  it('lets go of what nobody read once its time is up', () => {
    let now = 0;
    const sut = new Handoff(1000, 30_000, () => now);
    sut.set('run-1', 'step', 'a', 'A', 100);
    now = 29_999;
    assert.equal(sut.get('a'), 'A');
    now = 30_000;
    assert.equal(sut.get('a'), undefined);
    assert.equal(sut.bytes, 0);
    assert.equal(sut.size, 0);
  });

  it('never holds more than its bound: the oldest goes first, a value larger than the bound is not kept', () => {
    const sut = new Handoff(250, 30_000);
    sut.set('r', 'step', 'a', 'A', 100);
    sut.set('r', 'step', 'b', 'B', 100);
    sut.set('r', 'step', 'c', 'C', 100);
    assert.equal(sut.get('a'), undefined);
    assert.equal(sut.get('b'), 'B');
    assert.equal(sut.get('c'), 'C');
    assert.equal(sut.bytes, 200);
    sut.set('r', 'step', 'd', 'D', 251);
    assert.equal(sut.get('d'), undefined);
    assert.equal(sut.bytes, 200);
    const off = new Handoff(0, 30_000);
    off.set('r', 'step', 'a', 'A', 1);
    assert.equal(off.size, 0);
  });
});

/** A data source that stores payload rows as text and answers their SELECT, counting statements. */
function store() {
  const rows = new Map<string, string>();
  const runs = new Map<string, string>();
  const sql: string[] = [];
  const ds = {
    async query(text: string, params: unknown[]) {
      sql.push(text.trim().split(/\s+/)[0]);
      if (text.includes('INSERT')) {
        rows.set(params[0] as string, params[4] as string);
        runs.set(params[0] as string, params[1] as string);
      } else if (text.includes('SELECT execution_id')) return runs.has(params[0] as string) ? [{ execution_id: runs.get(params[0] as string) }] : [];
      else return rows.has(params[0] as string) ? [{ body: rows.get(params[0] as string), data: null }] : [];
      return [];
    },
  };
  return { ds: ds as unknown as DataSource, sql, rows };
}

describe('PayloadStore handoff', () => {

  it('hands an output too large for the cache to the run\'s next step without reading it back, then lets go of it', async () => {
    const { ds, sql } = store();
    const sut = new PayloadStore(ds, { thresholdBytes: 10, cacheBytes: 20, compression: 'postgres' });
    const items = Array.from({ length: 10 }, (_, i) => ({ i }));
    const ref = (await sut.offload('run-1', 'fetch', { items })) as { $payload: { id: string; size: number } };
    assert.ok(ref.$payload.size > 20, 'larger than the cache');
    assert.equal(sut.cachedBytes, 0);
    assert.equal(sut.handedOffBytes, ref.$payload.size);
    const input = await sut.hydrate(ref);
    assert.deepEqual(input, { items });
    assert.deepEqual(sql, ['INSERT'], 'no SELECT');
    // The next step's output: the run's earlier one is let go of, and read from PostgreSQL when asked again.
    await sut.offload('run-1', 'validate', { valid: items });
    assert.equal(sut.handedOffBytes > 0, true);
    assert.deepEqual(await sut.load(ref), { items });
    assert.deepEqual(sql, ['INSERT', 'INSERT', 'SELECT']);
  });

  it('with a handoff of 0 reads every output back', async () => {
    const { ds, sql } = store();
    const sut = new PayloadStore(ds, { thresholdBytes: 10, cacheBytes: 0, handoffBytes: 0, compression: 'postgres' });
    const ref = await sut.offload('run-1', 'fetch', { items: [1, 2, 3, 4, 5, 6] });
    assert.deepEqual(await sut.hydrate(ref), { items: [1, 2, 3, 4, 5, 6] });
    assert.deepEqual(sql, ['INSERT', 'SELECT']);
  });
});

describe('PayloadStore paged lists', () => {
  const items = (n: number) => Array.from({ length: n }, (_, i) => ({ i }));
  async function collect(pages: AsyncIterable<readonly unknown[]>): Promise<number[]> {
    const sizes: number[] = [];
    for await (const page of pages) sizes.push(page.length);
    return sizes;
  }

  it('stores a list longer than a page as pages, reads it page by page or whole, and keeps it a reference for a reader of pages', async () => {
    const { ds, sql, rows } = store();
    const sut = new PayloadStore(ds, { thresholdBytes: 10, cacheBytes: 0, handoffBytes: 0, compression: 'postgres', pageItems: 10 });
    const w = sut.pageWriter('run-1', 'fetch', { field: 'items', attempt: 1 });
    await w.push(items(7));
    await w.push(items(18).slice(7));
    await w.push(items(25).slice(18));
    assert.equal(w.count, 25);
    const ref = await w.finish();
    assert.ok(isPagedRef(ref));
    assert.equal(ref.$payload.pages, 3);
    assert.equal(ref.$payload.items, 25);
    assert.equal(rows.size, 3, 'one row a page');
    assert.deepEqual(await collect(sut.pagesOf(ref)!), [10, 10, 5]);
    assert.deepEqual(await sut.load(ref), items(25));
    const steps = { fetch: { items: ref, count: 25 } };
    assert.deepEqual(await sut.hydrate(steps), { fetch: { items: items(25), count: 25 } }, 'loaded whole for a step that does not read pages');
    assert.equal(await sut.hydrate(steps, { keepPaged: true }), steps, 'left as it is for one that does');
    assert.equal(sql.filter((q) => q === 'SELECT').length, 9, 'every page read back: nothing handed off');
  });

  it('gives a list that fits in one page back as it is, and reads a plain list as one page', async () => {
    const { ds, sql } = store();
    const sut = new PayloadStore(ds, { thresholdBytes: 10, compression: 'postgres', pageItems: 10 });
    const w = sut.pageWriter('run-1', 'fetch', { field: 'items' });
    await w.push(items(10));
    assert.deepEqual(await w.finish(), items(10));
    assert.deepEqual(sql, []);
    assert.deepEqual(await collect(sut.pagesOf(items(3))!), [3]);
    assert.equal(sut.pagesOf({ not: 'a list' }), undefined);
  });

  it("hands a short list's pages to the next step on this worker, reads a long one back, and scrubs every page", async () => {
    const { ds, sql, rows } = store();
    const sut = new PayloadStore(ds, { thresholdBytes: 10, cacheBytes: 0, compression: 'postgres', pageItems: 2, pagedHandoffBytes: 100 });
    const clean = <T>(page: T): T => (page as Array<{ i: number }>).map((x) => ({ i: x.i, secret: '***' })) as T;
    const short = sut.pageWriter('run-1', 'fetch', { field: 'items', clean });
    await short.push(items(3));
    const s = await short.finish();
    const long = sut.pageWriter('run-1', 'other', { field: 'items' });
    await long.push(items(20));
    const l = await long.finish();
    sql.length = 0;
    assert.deepEqual(await sut.load(s as never), items(3).map((x) => ({ ...x, secret: '***' })));
    assert.deepEqual(sql, [], 'the short list from the handoff');
    assert.equal([...rows.values()][0], '[{"i":0,"secret":"***"},{"i":1,"secret":"***"}]', 'stored scrubbed');
    assert.equal((await sut.load(l as never) as unknown[]).length, 20);
    assert.equal(sql.length, 10, 'the long list read back, a page at a time');
  });
});

describe('PayloadStore pages that refer to pages of another list', () => {
  const items = (n: number) => Array.from({ length: n }, (_, i) => ({ i }));
  async function all(pages: AsyncIterable<readonly unknown[]>): Promise<unknown[][]> {
    const out: unknown[][] = [];
    for await (const page of pages) out.push([...page]);
    return out;
  }

  it('stores a subset of a source page as a reference to it, read back on a worker without the handoff through the source page', async () => {
    const { ds, rows } = store();
    const writer = new PayloadStore(ds, { thresholdBytes: 10, cacheBytes: 0, compression: 'postgres', pageItems: 4 });
    const fetch = writer.pageWriter('run-1', 'fetch', { field: 'items' });
    await fetch.push(items(10));
    const source = await fetch.finish();
    assert.ok(isPagedRef(source));
    // The validation: page by page, the odd items dropped from the first page, none from the second, all from the third.
    const valid = writer.pageWriter('run-1', 'validate', { field: 'items', mayRefer: () => true });
    const pages = await all(writer.pagesOf(source)!);
    await valid.pushSubset(source, 0, pages[0].filter((_, i) => i % 2 === 0), [1, 3]);
    await valid.pushSubset(source, 1, pages[1], []);
    await valid.pushSubset(source, 2, [], [0, 1]);
    const ref = await valid.finish();
    assert.ok(isPagedRef(ref));
    assert.equal(ref.$payload.items, 6);
    assert.equal(ref.$payload.pages, 2, 'an empty subset is no page');
    const views = [...rows.values()].filter((t) => t.startsWith('{'));
    assert.equal(views.length, 2, 'two pages stored as references, without their items');
    assert.ok(views.every((t) => t.length < 200));
    const expected = [[{ i: 0 }, { i: 2 }], [{ i: 4 }, { i: 5 }, { i: 6 }, { i: 7 }]];
    assert.deepEqual(await all(writer.pagesOf(ref)!), expected, 'from the handoff on the writing worker');
    // Another worker: nothing in memory, every page read from PostgreSQL, the source's pages through the references.
    const other = new PayloadStore(ds, { thresholdBytes: 10, cacheBytes: 0, handoffBytes: 0, compression: 'postgres', pageItems: 4 });
    assert.deepEqual(await all(other.pagesOf(ref)!), expected);
    assert.deepEqual(await other.load(ref), expected.flat());
  });

  /** A store on another worker (nothing handed off) holding run-1's fetched list of 8 items in pages of 4. */
  async function fetchedByRun1() {
    const { ds, rows } = store();
    const sut = new PayloadStore(ds, { thresholdBytes: 10, cacheBytes: 0, handoffBytes: 0, compression: 'postgres', pageItems: 4 });
    const fetch = sut.pageWriter('run-1', 'fetch', { field: 'items' });
    await fetch.push(items(8));
    const source = await fetch.finish();
    assert.ok(isPagedRef(source));
    return { sut, rows, source };
  }

  /** The first page but its last item and the whole second page, written through `writer`; the list read back. */
  async function subsetThrough(sut: PayloadStore, writer: PageWriter, source: PagedRef): Promise<unknown> {
    await writer.pushSubset(source, 0, items(3), [3]);
    await writer.pushSubset(source, 1, items(8).slice(4), []);
    const ref = await writer.finish();
    assert.ok(isPagedRef(ref));
    return sut.load(ref);
  }

  it("never refers to another run's list (a restart's input): payloads go with their run", async () => {
    const { sut, rows, source } = await fetchedByRun1();
    const restarted = sut.pageWriter('run-2', 'validate', { field: 'items', mayRefer: () => true });
    assert.deepEqual(await subsetThrough(sut, restarted, source), [...items(3), ...items(8).slice(4)]);
    assert.equal([...rows.values()].filter((t) => t.startsWith('{"$view"')).length, 0, 'the items themselves, no view');
  });

  it('writes the items themselves where it may not refer, and what was buffered as a page of its own', async () => {
    const { sut, rows, source } = await fetchedByRun1();
    const plain = sut.pageWriter('run-1', 'validate', { field: 'items', mayRefer: () => false });
    assert.deepEqual(await subsetThrough(sut, plain, source), [...items(3), ...items(8).slice(4)]);
    const mixed = sut.pageWriter('run-1', 'mixed', { field: 'items', mayRefer: () => true });
    await mixed.push([{ extra: 1 }]);
    await mixed.pushSubset(source, 1, items(8).slice(4), []);
    const m = await mixed.finish();
    assert.ok(isPagedRef(m));
    assert.equal(m.$payload.pages, 2);
    assert.deepEqual(await sut.load(m), [{ extra: 1 }, ...items(8).slice(4)]);
    assert.equal([...rows.values()].filter((t) => t.startsWith('{"$view"')).length, 1);
  });

  it('searches the text of a page for secrets and copies the page only on a hit', async () => {
    const { ds, rows } = store();
    const sut = new PayloadStore(ds, { thresholdBytes: 10, cacheBytes: 0, handoffBytes: 0, compression: 'postgres', pageItems: 2 });
    let cleaned = 0;
    const clean = <T>(page: T): T => {
      cleaned++;
      return JSON.parse(JSON.stringify(page).replaceAll('hunter2-secret', '[REDACTED]')) as T;
    };
    const w = sut.pageWriter('run-1', 'fetch', { field: 'items', clean, isClean: (json) => !json.includes('hunter2-secret') });
    await w.push([{ a: 1 }, { a: 2 }, { a: 'hunter2-secret' }, { a: 4 }, { a: 5 }]);
    await w.finish();
    assert.equal(cleaned, 1, 'only the page holding the secret went through clean');
    assert.ok(![...rows.values()].some((t) => t.includes('hunter2-secret')));
    assert.ok([...rows.values()].some((t) => t.includes('[REDACTED]')));
  });
});

describe('PayloadStore compression', () => {
  /** A data source that stores payload rows as the store writes them (text or gzip bytes), answering the column's compression with `attcompression`. */
  function store(attcompression: string) {
    const rows = new Map<string, { body: string | null; data: Buffer | null }>();
    const sql: string[] = [];
    const ds = {
      async query(text: string, params: unknown[]) {
        sql.push(text.trim().split(/\s+/)[0]);
        if (text.includes('pg_attribute')) return [{ c: attcompression }];
        if (text.includes('INSERT')) {
          const v = params[4];
          rows.set(params[0] as string, Buffer.isBuffer(v) ? { body: null, data: v } : { body: v as string, data: null });
          return [];
        }
        return [rows.get(params[0] as string)];
      },
    };
    return { ds: ds as unknown as DataSource, rows, sql };
  }
  const value = { items: Array.from({ length: 100 }, (_, i) => ({ i, name: `product ${i}` })) };

  it('compresses in the worker (brotli) where the column has no lz4, and reads it back', async () => {
    const { ds, rows, sql } = store('');
    const sut = new PayloadStore(ds, { thresholdBytes: 10, cacheBytes: 0, handoffBytes: 0 });
    assert.equal(await sut.compression(), 'worker');
    const ref = (await sut.offload('run-1', 'fetch', value)) as { $payload: { id: string; size: number } };
    const row = rows.get(ref.$payload.id)!;
    assert.equal(row.body, null);
    assert.ok(row.data!.length < ref.$payload.size, 'compressed');
    assert.deepEqual([...row.data!.subarray(0, 4)], [0x00, 0x62, 0x72, 0x01], 'brotli, behind its mark');
    assert.equal(payloadDataText(row.data!), JSON.stringify(value));
    assert.deepEqual(await sut.load(ref), value);
    assert.equal(sql.filter((s) => s === 'SELECT').length, 2, 'the column asked once, then the payload read');
  });

  it('gzips with worker-gzip, and reads gzip rows (written before brotli) as well as brotli ones', async () => {
    const { ds, rows } = store('');
    const gz = new PayloadStore(ds, { thresholdBytes: 10, cacheBytes: 0, handoffBytes: 0, compression: 'worker-gzip' });
    const ref = (await gz.offload('run-1', 'fetch', value)) as { $payload: { id: string; size: number } };
    assert.equal(rows.get(ref.$payload.id)!.data![0], 0x1f, 'gzip');
    assert.equal(payloadDataText(rows.get(ref.$payload.id)!.data!), JSON.stringify(value));
    const reader = new PayloadStore(ds, { thresholdBytes: 10, cacheBytes: 0, handoffBytes: 0, compression: 'worker' });
    assert.deepEqual(await reader.load(ref as never), value);
  });

  it('writes JSON text where the column compresses with lz4, or when told to', async () => {
    for (const [att, option] of [['l', undefined], ['', 'postgres']] as const) {
      const { ds, rows } = store(att);
      const sut = new PayloadStore(ds, { thresholdBytes: 10, cacheBytes: 0, handoffBytes: 0, ...(option ? { compression: option } : {}) });
      const ref = (await sut.offload('run-1', 'fetch', value)) as { $payload: { id: string; size: number } };
      assert.equal(rows.get(ref.$payload.id)!.body, JSON.stringify(value));
      assert.deepEqual(await sut.load(ref), value);
    }
  });
});
