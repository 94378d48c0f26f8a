import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { RunResult } from '@engine/shared/contracts';
import type { StepExecutor } from '@engine/activities/runtime/executor';
import type { ExecutorModule } from '@engine/activities/registry';
import { DATABASE_QUERY_STEP_TYPE, databaseQueryExecutorModule } from '@engine/activities/database_query';
import { contentHash } from '@engine/activities/database_query/values';
import { startHarness, type Harness } from '@test/support/harness';
import { lazyExecutors } from '@test/support/deps';
import { testExecutors } from '@test/support/executors';

const INJECTION = "'); DROP TABLE source_data; --";
const RAW_ENABLED = 'database_query_raw_enabled';

/** The same module with raw SQL switched on in its configuration, under another type id. */
const rawEnabledModule: ExecutorModule = {
  ...databaseQueryExecutorModule,
  type: RAW_ENABLED,
  create(deps) {
    return { ...databaseQueryExecutorModule.create({ ...deps, config: { ...deps.config, databaseQueryRawSql: true } }), type: RAW_ENABLED };
  },
};

/** Emits `{ products: [...] }` with `count` generated products, so large inputs never travel through the run input. */
const generator: StepExecutor = {
  type: 'test_generate_products',
  validateConfig: () => [],
  async execute(config) {
    const count = Number(config.count);
    const version = String(config.version ?? 'v1');
    const products = Array.from({ length: count }, (_, i) => ({
      sku: `SKU-${i}`,
      title: `Product ${i}`,
      price: (i % 100) + 0.99,
      stock: i % 17,
      version,
    }));
    return { products };
  },
};

interface Counts {
  inserted: number;
  updated: number;
  unchanged: number;
  duplicates?: number;
  invalid?: number;
  rows?: Array<Record<string, unknown>>;
}

describe(databaseQueryExecutorModule.type, () => {
  let h: Harness;
  // Every row this file writes carries its own source_type, so parallel test files never see each other's rows.
  const tag = `t_${randomUUID().slice(0, 8)}`;
  const st = (name: string) => `${tag}_${name}`;

  before(async () => {
    h = await startHarness({
      executors: [...lazyExecutors(() => h, [databaseQueryExecutorModule, rawEnabledModule]), generator, ...testExecutors(() => h.dataSource)],
    });
  });
  after(async () => {
    await h.dataSource.query(`DELETE FROM source_data WHERE source_type LIKE $1`, [`${tag}%`]);
    await h.close();
  });

  /** Stores a definition, runs it to the end and returns the result with the step rows. */
  async function run(steps: Array<Record<string, unknown>>, input: unknown = {}, workflowId?: number) {
    const id = workflowId ?? (await h.createWorkflow({ steps: steps as never }));
    const started = await h.start(id, input);
    const res = await h.wait(started.execution_id);
    const stepRows = await h.executions.steps(started.execution_id);
    return { id, executionId: started.execution_id, res, result: res.result as RunResult | undefined, steps: stepRows };
  }
  const dbq = (key: string, config: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    key,
    name: key,
    step_type: DATABASE_QUERY_STEP_TYPE,
    config,
    max_retries: 0,
    ...extra,
  });
  /** The run's output: the output of its last step. */
  const outputOf = (r: { result?: RunResult }) => r.result!.output as Counts & { rows: Array<Record<string, unknown>>; count: number };
  const rowsOf = (sourceType: string) =>
    h.dataSource.query(`SELECT * FROM source_data WHERE source_type = $1 ORDER BY external_id`, [sourceType]) as Promise<Array<Record<string, unknown>>>;

  it("inserts with the specification's config, sets lineage and hashes, and a re-run inserts nothing twice", async () => {
    const type = st('spec');
    const products = [
      { sku: 'A-1', title: 'Red shoe', price: 10 },
      { sku: 'A-2', title: 'Blue bag', price: 20 },
    ];
    // A step that outputs the plain list, so the store step's config is the specification's, word for word.
    const steps = [
      { key: 'fetch', name: 'fetch', step_type: 'test_echo', config: { output: '$input.products' } },
      dbq('store', { query_type: 'insert', model: 'SourceData', record_mapping: { source_type: type, raw_data: '$' } }),
    ];
    const first = await run(steps, { products });
    assert.equal(first.res.status, 'completed', `${String(first.res.error)} ${JSON.stringify(first.steps.map((s) => [s.step_key, s.status, s.error_message]))}`);
    assert.deepEqual(pick(outputOf(first), ['inserted', 'updated', 'unchanged']), { inserted: 2, updated: 0, unchanged: 0 });

    const rows = await rowsOf(type);
    assert.equal(rows.length, 2);
    for (const row of rows) {
      assert.equal(row.execution_id, first.executionId);
      assert.equal(row.step_key, 'store');
      assert.equal(row.content_hash, contentHash(row.raw_data));
      assert.equal(row.external_id, `sha256:${row.content_hash}`, 'without an external id, identity falls back to the content hash');
      assert.equal(row.status, 'new');
    }

    const again = await run(steps, { products }, first.id);
    assert.equal(again.res.status, 'completed');
    assert.deepEqual(pick(outputOf(again), ['inserted', 'updated', 'unchanged']), { inserted: 0, updated: 0, unchanged: 2 });
    assert.equal((await rowsOf(type)).length, 2);
  });

  it('upserts the same records twice without rewriting them, and rewrites only what changed', async () => {
    const type = st('upsert');
    const config = {
      query_type: 'upsert',
      model: 'SourceData',
      items_field: 'products',
      record_mapping: { source_type: type, supplier_id: '$input.supplier_id', external_id: '$sku', source_name: 'supplier-$input.supplier_id', raw_data: '$' },
      returning: ['id', 'external_id'],
    };
    const products = [
      { sku: 'P1', price: 1 },
      { sku: 'P2', price: 2 },
      { sku: 'P3', price: 3 },
    ];
    const first = await run([dbq('store', config)], { supplier_id: 7, products });
    assert.equal(first.res.status, 'completed', `${String(first.res.error)} ${JSON.stringify(first.steps.map((s) => [s.step_key, s.status, s.error_message]))}`);
    assert.deepEqual(pick(outputOf(first), ['inserted', 'updated', 'unchanged']), { inserted: 3, updated: 0, unchanged: 0 });
    assert.deepEqual(outputOf(first).rows!.map((r) => r.external_id).sort(), ['P1', 'P2', 'P3']);
    const before = await rowsOf(type);

    const second = await run([], { supplier_id: 7, products }, first.id);
    assert.deepEqual(pick(outputOf(second), ['inserted', 'updated', 'unchanged']), { inserted: 0, updated: 0, unchanged: 3 });
    const unchanged = await rowsOf(type);
    assert.deepEqual(unchanged, before, 'an unchanged upsert leaves every row as it was, lineage and updated_at included');

    const changed = [{ sku: 'P1', price: 1 }, { sku: 'P2', price: 2.5 }, { sku: 'P3', price: 3 }, { sku: 'P3', price: 3 }];
    const third = await run([], { supplier_id: 7, products: changed }, first.id);
    assert.deepEqual(pick(outputOf(third), ['inserted', 'updated', 'unchanged', 'duplicates']), { inserted: 0, updated: 1, unchanged: 2, duplicates: 1 });
    const after = await rowsOf(type);
    assert.equal(after.length, 3);
    const p2 = after.find((r) => r.external_id === 'P2')!;
    assert.equal((p2.raw_data as { price: number }).price, 2.5);
    assert.equal(p2.execution_id, third.executionId, 'the rewritten row records the run that changed it');
    assert.equal(after.find((r) => r.external_id === 'P1')!.execution_id, first.executionId);
    assert.equal(p2.source_name, 'supplier-7');
  });

  it('stores injection attempts as plain data and the validator rejects identifiers outside the allow-list', async () => {
    const type = st('inject');
    const items = [{ sku: INJECTION, note: INJECTION, nested: { [INJECTION]: INJECTION } }];
    const write = await run([dbq('store', { query_type: 'insert', model: 'SourceData', items_field: 'items', record_mapping: { source_type: type, external_id: '$sku', source_name: '$note', raw_data: '$' } })], { items });
    assert.equal(write.res.status, 'completed', String(write.res.error));
    const read = await run([
      dbq('read', {
        query_type: 'select',
        model: 'SourceData',
        fields: ['external_id', 'source_name', 'raw_data'],
        where: [
          { field: 'source_type', value: type },
          { field: 'external_id', operator: 'in', value: [INJECTION, 'x'] },
          { field: 'raw_data.note', value: INJECTION },
          { field: 'source_name', operator: 'like', value: "%'); DROP%" },
        ],
      }),
    ]);
    assert.equal(read.res.status, 'completed', String(read.res.error));
    const out = outputOf(read);
    assert.equal(out.count, 1);
    assert.deepEqual(out.rows[0], { external_id: INJECTION, source_name: INJECTION, raw_data: items[0] });
    const [{ exists }] = await h.dataSource.query(`SELECT to_regclass('public.source_data') IS NOT NULL AS exists`);
    assert.equal(exists, true);

    const rejected: Array<[Record<string, unknown>, RegExp]> = [
      [{ query_type: 'insert', model: 'SourceData', record_mapping: { source_type: type, raw_data: '$', [`status = 'x'; ${INJECTION}`]: 1 } }, /config\.record_mapping\.status = 'x'; '\); DROP TABLE source_data; --: unknown column/],
      [{ query_type: 'select', model: 'source_data; DROP TABLE source_data' }, /config\.model: unknown model/],
      [{ query_type: 'select', model: 'SourceData', where: [{ field: `id = 1 OR 1=1 ${INJECTION}`, value: 1 }] }, /config\.where\[0\]\.field: unknown field/],
      [{ query_type: 'select', model: 'SourceData', order_by: `(SELECT 1) ${INJECTION}` }, /config\.order_by\[0\]: unknown field/],
      [{ query_type: 'select', model: 'SourceData', fields: ['id', 'pg_sleep(10)'] }, /config\.fields\[1\]: unknown column/],
      [{ query_type: 'update', model: 'SourceData', where: { id: 1 }, set: { execution_id: 'forged' } }, /config\.set\.execution_id: column execution_id of SourceData is managed/],
    ];
    for (const [config, message] of rejected) {
      await assert.rejects(
        h.createWorkflow({ steps: [dbq('q', config)] as never }),
        (err: Error & { code?: string }) => err.code === 'DEFINITION_INVALID' && message.test(err.message),
        `expected ${message} for ${JSON.stringify(config)}`,
      );
    }
  });

  it('selects with where, json paths, order, limit and fields, reading filter values from the input', async () => {
    const type = st('select');
    const products = Array.from({ length: 10 }, (_, i) => ({ sku: `S${i}`, price: i * 10, colour: i % 2 ? 'red' : 'blue' }));
    await run([dbq('store', { query_type: 'insert', model: 'SourceData', items_field: 'products', record_mapping: { source_type: type, external_id: '$sku', raw_data: '$' } })], { products });
    const read = await run([
      dbq('read', {
        query_type: 'select',
        model: 'SourceData',
        fields: ['external_id'],
        where: [
          { field: 'source_type', value: '$input.type' },
          { field: 'raw_data.price', operator: 'gte', value: '$input.min_price' },
          { field: 'raw_data.colour', value: 'red' },
        ],
        order_by: 'raw_data.price desc',
        limit: '$input.limit',
      }),
    ], { type, min_price: 30, limit: 2 });
    assert.equal(read.res.status, 'completed', String(read.res.error));
    assert.deepEqual(outputOf(read).rows, [{ external_id: 'S9' }, { external_id: 'S7' }]);
  });

  it('updates per item and deletes within max_rows, refusing and rolling back a delete over the limit', async () => {
    const type = st('update');
    const products = Array.from({ length: 5 }, (_, i) => ({ sku: `U${i}` }));
    await run([dbq('store', { query_type: 'insert', model: 'SourceData', items_field: 'products', record_mapping: { source_type: type, external_id: '$sku', raw_data: '$' } })], { products });

    const upd = await run([
      dbq('mark', {
        query_type: 'update',
        model: 'SourceData',
        per_item: true,
        items_field: 'done',
        where: [{ field: 'source_type', value: type }, { field: 'external_id', value: '$sku' }],
        set: { status: 'processed' },
      }),
    ], { done: [{ sku: 'U0' }, { sku: 'U1' }, { sku: 'nope' }] });
    assert.equal(upd.res.status, 'completed', String(upd.res.error));
    assert.deepEqual(pick(outputOf(upd), ['updated', 'unmatched'] as never), { updated: 2, unmatched: 1 });
    const statuses = (await rowsOf(type)).map((r) => [r.external_id, r.status, r.step_key]);
    assert.deepEqual(statuses.slice(0, 3), [['U0', 'processed', 'mark'], ['U1', 'processed', 'mark'], ['U2', 'new', 'store']]);

    const tooMany = await run([dbq('purge', { query_type: 'delete', model: 'SourceData', where: { source_type: type }, max_rows: 3 })]);
    assert.equal(tooMany.res.status, 'failed');
    const purge = tooMany.steps.find((s) => s.step_key === 'purge')!;
    assert.equal(purge.error_details?.code, 'ROW_LIMIT_EXCEEDED');
    assert.equal((await rowsOf(type)).length, 5, 'the over-limit delete was rolled back');

    const del = await run([dbq('purge', { query_type: 'delete', model: 'SourceData', where: [{ field: 'source_type', value: type }, { field: 'status', value: 'processed' }], returning: ['external_id'] })]);
    assert.equal(del.res.status, 'completed', String(del.res.error));
    assert.equal((outputOf(del) as unknown as { deleted: number }).deleted, 2);
    assert.equal((await rowsOf(type)).length, 3);
  });

  it('fails a write with invalid records before writing any, or skips them when asked', async () => {
    const type = st('invalid');
    const products = [{ sku: 'I1', supplier: 3 }, { sku: 'I2', supplier: 'three' }, { sku: 'x'.repeat(201), supplier: 4 }];
    const mapping = { source_type: type, external_id: '$sku', supplier_id: '$supplier', raw_data: '$' };
    const failed = await run([dbq('store', { query_type: 'insert', model: 'SourceData', items_field: 'products', record_mapping: mapping })], { products });
    assert.equal(failed.res.status, 'failed');
    const step = failed.steps.find((s) => s.step_key === 'store')!;
    assert.equal(step.error_details?.code, 'VALIDATION_FAILED');
    assert.match(step.error_message ?? '', /item 1 supplier_id: expected an integer.*item 2 external_id: longer than 200/);
    assert.equal((await rowsOf(type)).length, 0);

    const skipped = await run([dbq('store', { query_type: 'insert', model: 'SourceData', items_field: 'products', on_invalid: 'skip', record_mapping: mapping })], { products });
    assert.equal(skipped.res.status, 'completed');
    assert.deepEqual(pick(outputOf(skipped), ['inserted', 'invalid']), { inserted: 1, invalid: 2 });
  });

  it('refuses raw SQL while it is disabled', async () => {
    const r = await run([dbq('raw', { query_type: 'raw', sql: 'SELECT 1 AS one' }, { max_retries: 3, retry_delay_seconds: 1 })]);
    assert.equal(r.res.status, 'failed');
    const step = r.steps.find((s) => s.step_key === 'raw')!;
    assert.equal(step.error_details?.code, 'RAW_SQL_DISABLED');
    assert.equal(step.attempt, 1, 'not retried');
  });

  it('runs raw SQL read-only when enabled and refuses statements that write', async () => {
    const type = st('raw');
    await run([dbq('store', { query_type: 'insert', model: 'SourceData', items_field: 'p', record_mapping: { source_type: type, external_id: '$sku', raw_data: '$' } })], {
      p: [{ sku: 'R1' }, { sku: 'R2' }],
    });
    const raw = (key: string, config: Record<string, unknown>) => ({ ...dbq(key, { query_type: 'raw', ...config }), step_type: RAW_ENABLED });

    const ok = await run([raw('count', { sql: 'SELECT count(*)::int AS n FROM source_data WHERE source_type = $1; -- trailing', params: ['$input.type'] })], { type });
    assert.equal(ok.res.status, 'completed', String(ok.res.error));
    assert.deepEqual(outputOf(ok).rows, [{ n: 2 }]);

    // Each passes the lexical check (it starts as a read) and is refused by Postgres: by the subquery wrapper or the read-only transaction.
    const writes: Array<[string, RegExp]> = [
      [`WITH d AS (DELETE FROM source_data WHERE source_type = $1 RETURNING 1) SELECT count(*) FROM d`, /data-modifying statement/],
      [`SELECT nextval('source_data_id_seq'), $1::text`, /read-only transaction/],
      [`SELECT id, $1::text FROM source_data FOR UPDATE`, /read-only transaction/],
      [`SELECT set_config('transaction_read_only', 'off', false), $1::text`, /read-write mode|read-only/],
    ];
    for (const [sql, why] of writes) {
      const r = await run([raw('write', { sql, params: [type] })]);
      assert.equal(r.res.status, 'failed', sql);
      const step = r.steps.find((s) => s.step_key === 'write')!;
      assert.equal(step.error_details?.code, 'RAW_SQL_REJECTED', `${sql}: ${step.error_message}`);
      assert.match(step.error_message ?? '', why);
      assert.equal(step.attempt, 1, 'a refused statement is not retried');
    }
    assert.equal((await rowsOf(type)).length, 2, 'nothing was deleted');

    await assert.rejects(
      h.createWorkflow({ steps: [raw('x', { sql: `SELECT 1; ${INJECTION}` })] as never }),
      (err: Error) => /config\.sql: only one statement is allowed/.test(err.message),
    );
    await assert.rejects(h.createWorkflow({ steps: [raw('x', { sql: `UPDATE source_data SET status = 'x'` })] as never }), (err: Error) => /config\.sql: only read queries/.test(err.message));
  });

  it('upserts 100,000 records and re-upserts them unchanged (timing printed)', async () => {
    const type = st('bulk');
    const steps = [
      { key: 'fetch', name: 'fetch', step_type: 'test_generate_products', config: { count: 100_000, version: 'v1' }, timeout_seconds: 600 },
      dbq('store', { query_type: 'upsert', model: 'SourceData', items_field: 'products', batch_size: 1000, record_mapping: { source_type: type, external_id: '$sku', raw_data: '$' } }, { timeout_seconds: 600 }),
    ];
    const first = await run(steps);
    assert.equal(first.res.status, 'completed', `${String(first.res.error)} ${JSON.stringify(first.steps.map((s) => [s.step_key, s.status, s.error_message]))}`);
    assert.deepEqual(pick(outputOf(first), ['inserted', 'updated', 'unchanged']), { inserted: 100_000, updated: 0, unchanged: 0 });
    const second = await run([], {}, first.id);
    assert.deepEqual(pick(outputOf(second), ['inserted', 'updated', 'unchanged']), { inserted: 0, updated: 0, unchanged: 100_000 });
    const [{ n }] = await h.dataSource.query(`SELECT count(*)::int AS n FROM source_data WHERE source_type = $1`, [type]);
    assert.equal(n, 100_000);
    const ms = (r: typeof first) => r.steps.find((s) => s.step_key === 'store')!.duration_ms;
    console.log(`database_query 100k upsert: first run (all inserted) ${ms(first)} ms, second run (all unchanged) ${ms(second)} ms`);
  });
});

function pick<T extends object>(o: T, keys: Array<keyof T>): Partial<T> {
  return Object.fromEntries(keys.map((k) => [k, o[k]])) as Partial<T>;
}
