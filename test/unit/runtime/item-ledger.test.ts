import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ItemLedgerStore, type LedgerDatabase } from '@engine/activities/runtime/item-ledger';
import { csvLine } from '@src/executions/execution-items.service';

/** Records the statements the ledger sends; fails the first `failures` of them. */
function recordingDb(failures = 0): LedgerDatabase & { calls: unknown[][] } {
  const calls: unknown[][] = [];
  let left = failures;
  return {
    calls,
    async query(_sql: string, params: unknown[] = []) {
      if (left-- > 0) throw new Error('connection refused');
      calls.push(params);
      return [];
    },
  };
}

const scope = { execution_id: 'run-1', step_key: 'validate', attempt: 2 };
const same = <T>(v: T) => v;
/**
 * The outcomes of one batch row as [key, index, status, reason, message, item]: its `items`, and its `ok_runs`
 * expanded (what the readers do), by index, those without one last.
 */
const rowsOf = (params: unknown[]) => {
  const items = JSON.parse(params[4] as string) as unknown[][];
  const runs = params[5] === null ? [] : (JSON.parse(params[5] as string) as Array<[number, string[]]>);
  const expanded = runs.flatMap(([start, keys]) => keys.map((key, i) => [key, start + i, 'ok', null, null, null]));
  const rank = (r: unknown[]) => (r[1] === null ? Infinity : (r[1] as number));
  return [...items, ...expanded].sort((a, b) => rank(a) - rank(b));
};

describe('item ledger session', () => {
  it('writes in batches of one statement each, the rest on flush, with the run, step and attempt', async () => {
    const db = recordingDb();
    const s = new ItemLedgerStore(db, { batchRows: 3 }).open(scope, same);
    for (let i = 0; i < 7; i++) s.record({ key: `SKU-${i}`, index: i, status: 'ok' });
    await s.flush();
    assert.deepEqual(
      db.calls.map((c) => [c[3], rowsOf(c).length]),
      [
        [3, 3],
        [3, 3],
        [1, 1],
      ],
    );
    assert.deepEqual(db.calls[0].slice(0, 3), ['run-1', 'validate', 2]);
    assert.deepEqual(s.counts, { ok: 7, invalid: 0, failed: 0, skipped: 0 });
  });

  it('keeps the last outcome of an item recorded twice in one batch, and items without an index by key', async () => {
    const db = recordingDb();
    const s = new ItemLedgerStore(db).open(scope, same);
    s.record({ key: 'A', index: 0, status: 'failed', code: 'HTTP_STATUS', message: '503', item: { sku: 'A' } });
    s.record({ key: 'A', index: 0, status: 'ok' });
    s.record({ key: 'ops@example.test', status: 'failed', code: 'SMTP_RECIPIENT_REJECTED', message: 'refused' });
    await s.flush();
    assert.deepEqual(rowsOf(db.calls[0]), [
      ['A', 0, 'ok', null, null, null],
      ['ops@example.test', null, 'failed', 'SMTP_RECIPIENT_REJECTED', 'refused', null],
    ]);
  });

  it('keeps the item only for items that did not go through, scrubbed, without NUL characters and capped in size', async () => {
    const db = recordingDb();
    const scrub = <T>(v: T): T => JSON.parse(JSON.stringify(v).replace(/s3cret/g, '[secret]')) as T;
    const s = new ItemLedgerStore(db, { maxItemBytes: 100 }).open(scope, scrub);
    s.record({ key: 'A', index: 0, status: 'ok', item: { sku: 'A' } });
    s.record({ key: 'B', index: 1, status: 'invalid', code: 'min_value', message: 'token s3cret in price', item: { sku: 'B', token: 's3cret' } });
    s.record({ key: 'C', index: 2, status: 'failed', code: 'HTTP_STATUS', message: 'x', item: { blob: 'y'.repeat(500) } });
    s.record({ key: 'D\0', index: 3, status: 'failed', code: 'HTTP_STATUS', message: 'a\0b', item: { n: 'c\0d' } });
    await s.flush();
    const rows = rowsOf(db.calls[0]);
    assert.equal(rows[0][5], null);
    assert.deepEqual(rows[1][5], { sku: 'B', token: '[secret]' });
    assert.equal(rows[1][4], 'token [secret] in price');
    assert.deepEqual(rows[2][5], { $truncated: true, bytes: 511 });
    assert.deepEqual(rows[3], ['D', 3, 'failed', 'HTTP_STATUS', 'ab', { n: 'cd' }]);
  });

  it('keeps consecutive ok items as runs of indexes with their keys, one element each for every other outcome', async () => {
    const db = recordingDb();
    const s = new ItemLedgerStore(db).open(scope, same);
    for (const i of [0, 1, 2, 4, 5, 7]) s.record({ key: `SKU-${i}`, index: i, status: 'ok' });
    s.record({ key: 'SKU-3', index: 3, status: 'invalid', code: 'required', message: 'title is required', item: { sku: 'SKU-3' } });
    s.record({ key: 'SKU-8', index: 8, status: 'ok', code: 'AI_FLAGGED' });
    s.record({ key: 'N\0UL', index: 9, status: 'ok' });
    await s.flush();
    const [call] = db.calls;
    assert.equal(call[3], 9);
    assert.deepEqual(JSON.parse(call[5] as string), [
      [0, ['SKU-0', 'SKU-1', 'SKU-2']],
      [4, ['SKU-4', 'SKU-5']],
      [7, ['SKU-7']],
      [9, ['NUL']],
    ]);
    assert.deepEqual(JSON.parse(call[4] as string), [
      ['SKU-3', 3, 'invalid', 'required', 'title is required', { sku: 'SKU-3' }],
      ['SKU-8', 8, 'ok', 'AI_FLAGGED', null, null],
    ]);
  });

  it('lets a later outcome of an item in a run replace it, and an ok item recorded again after a failure win', async () => {
    const db = recordingDb();
    const s = new ItemLedgerStore(db).open(scope, same);
    for (let i = 0; i < 5; i++) s.record({ key: `K${i}`, index: i, status: 'ok' });
    s.record({ key: 'K2', index: 2, status: 'failed', code: 'HTTP_STATUS', message: '503', item: { sku: 'K2' } });
    s.record({ key: 'K6', index: 6, status: 'failed', code: 'HTTP_STATUS', message: '503' });
    s.record({ key: 'K6', index: 6, status: 'ok' });
    await s.flush();
    const [call] = db.calls;
    assert.deepEqual(JSON.parse(call[5] as string), [
      [0, ['K0', 'K1']],
      [3, ['K3', 'K4']],
    ]);
    assert.deepEqual(
      rowsOf(call).map((r) => [r[0], r[2]]),
      [
        ['K0', 'ok'],
        ['K1', 'ok'],
        ['K2', 'failed'],
        ['K3', 'ok'],
        ['K4', 'ok'],
        ['K6', 'ok'],
      ],
    );
    assert.equal(call[3], 6);
  });

  it('reports a failed write on flush and writes the same rows again on the next flush', async () => {
    const db = recordingDb(1);
    const s = new ItemLedgerStore(db, { batchRows: 2 }).open(scope, same);
    s.record({ key: 'A', index: 0, status: 'ok' });
    s.record({ key: 'B', index: 1, status: 'ok' });
    s.record({ key: 'C', index: 2, status: 'ok' });
    await assert.rejects(s.flush(), /connection refused/);
    await s.flush();
    const written = db.calls.flatMap((c) => rowsOf(c).map((r) => r[1])).sort();
    assert.deepEqual(written, [0, 1, 2]);
  });
});

describe('csvLine', () => {
  it('quotes what needs quoting and defuses spreadsheet formulas', () => {
    assert.equal(csvLine(['a', 1, null, undefined, 'x,y', 'say "hi"', 'two\nlines']), 'a,1,,,"x,y","say ""hi""","two\nlines"\r\n');
    assert.equal(csvLine(['=HYPERLINK("x")', '-1', '+1', '@a']), `"'=HYPERLINK(""x"")",'-1,'+1,'@a\r\n`);
  });
});
