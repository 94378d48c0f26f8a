import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { loadConfig } from '@src/config/config';
import { createDataSource } from '@src/database/data-source';
import { Logger } from '@src/logging/logger';
import { resolveReferences } from '@engine/dsl/references';
import type { RunContext } from '@engine/dsl/types';
import { createDatabaseQueryExecutor } from '@engine/activities/database_query';
import type { StepExecutionContext, StepExecutor } from '@engine/activities/runtime/executor';
import { deadlocks } from './overlap-support';

const RUNS = 30;
const ROUNDS = 3;

/** The same items in another order per run: what overlapping runs that read at different moments hand the writers. */
function shuffled<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let s = seed * 2654435761 + 1;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

function stepContext(executionId: string, stepKey: string, input: unknown): StepExecutionContext {
  const run: RunContext = { input: {}, steps: {}, config: {}, execution: { id: executionId } };
  return {
    execution_id: executionId,
    workflow_code: 'lock-order',
    step_key: stepKey,
    attempt: 1,
    max_attempts: 1,
    idempotency_key: `${executionId}:${stepKey}`,
    input,
    run,
    resolve: (value, item) => resolveReferences(value, item === undefined ? run : { ...run, item }),
    heartbeat: () => undefined,
    signal: new AbortController().signal,
    logger: new Logger({ level: 'error', format: 'json', sink: () => undefined }),
    compensates: null,
    resolveSecrets: async (v) => v as never,
  };
}

/**
 * Issue 9, item 7, at the level where deadlocks are made: thirty writers at
 * once over the same rows, each with the rows in its own order (the listing
 * writes, the stock upsert of inventory sync, the product status update of
 * listing creation), round after round. Every writer takes its row locks in
 * one stable order, so PostgreSQL never detects a deadlock and no call fails.
 */
describe('chaos: overlapping writers over the same rows', () => {
  let ds: DataSource;
  let sut: StepExecutor;
  let supplierId: number;
  let marketplaceId: number;
  let products: Array<{ product_id: number; sku: string }>;
  const tag = `lock${randomUUID().replace(/-/g, '').slice(0, 8)}`;

  /** Runs `RUNS` calls at once; returns how many failed and the deadlocks PostgreSQL counted meanwhile. */
  async function together(call: (run: number) => Promise<unknown>): Promise<{ failed: string[]; deadlocks: number }> {
    const before = await deadlocks(ds);
    const settled = await Promise.allSettled(Array.from({ length: RUNS }, (_, run) => call(run)));
    const failed = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected').map((s) => String((s.reason as Error).message).slice(0, 200));
    return { failed, deadlocks: (await deadlocks(ds)) - before };
  }

  before(async () => {
    const config = loadConfig(process.env);
    ds = await createDataSource(config, { poolSize: RUNS + 2 }).initialize();
    sut = createDatabaseQueryExecutor({ config, dataSource: ds, secrets: { resolve: async () => '' } as never, logger: new Logger({ level: 'error', format: 'json', sink: () => undefined }) });
    [{ id: supplierId }] = await ds.query(`INSERT INTO suppliers (code, name, api_base_url) VALUES ($1, 'S', 'http://127.0.0.1:1') RETURNING id`, [`${tag}_s`]);
    [{ id: marketplaceId }] = await ds.query(`INSERT INTO marketplaces (code, name, api_base_url) VALUES ($1, 'M', 'http://127.0.0.1:1') RETURNING id`, [`${tag}_m`]);
    const rows = (await ds.query(
      `INSERT INTO products (supplier_id, external_id, sku, title, cost_price, content_hash, status)
       SELECT $1, 'e' || n, $2 || '-' || lpad(n::text, 4, '0'), 'P' || n, 5, repeat('0', 64), 'ready_for_listing' FROM generate_series(1, 200) AS n
       RETURNING id, sku`,
      [supplierId, tag],
    )) as Array<{ id: string; sku: string }>;
    products = rows.map((r) => ({ product_id: Number(r.id), sku: r.sku }));
  });
  after(async () => ds?.destroy());

  it('record_listings: new and existing listings written by 30 runs at once, each in its own order', async () => {
    const figures: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const r = await together((run) => {
        const items = shuffled(products, run + 1 + round * RUNS).map((p) => ({ ...p, title: p.sku, price: 10 + round, currency: 'USD', quantity: round }));
        const results = items.map((p) => ({ listing_id: `lst-${p.sku}` }));
        return sut.execute(
          { query_type: 'operation', operation: 'record_listings', params: { marketplace_id: marketplaceId, items, results } },
          stepContext(`${tag}-run${run}`, 'store_listings', {}),
        );
      });
      figures.push(`round ${round + 1}: ${r.deadlocks} deadlocks, ${r.failed.length} failed`);
      assert.deepEqual(r.failed, [], `round ${round + 1}`);
      assert.equal(r.deadlocks, 0, `round ${round + 1}: no deadlock`);
    }
    console.log(`chaos lock order, record_listings x${RUNS}: ${figures.join('; ')}`);
    const [{ n }] = await ds.query(`SELECT count(*)::int AS n FROM listings WHERE marketplace_id = $1 AND price = $2`, [marketplaceId, 10 + ROUNDS - 1]);
    assert.equal(n, products.length, 'one listing per product, as the last round wrote it');
  });

  it('upsert (the stock records of inventory sync): the same SKUs from 30 runs at once, each in its own order', async () => {
    const figures: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const r = await together((run) =>
        sut.execute(
          {
            query_type: 'upsert',
            model: 'Inventory',
            items_field: 'items',
            record_mapping: { supplier_id: supplierId, sku: '$sku', quantity: '$quantity' },
          },
          stepContext(`${tag}-inv${run}`, 'update_inventory_records', { items: shuffled(products, run + 7 + round * RUNS).map((p) => ({ sku: p.sku, quantity: 100 + run + round })) }),
        ),
      );
      figures.push(`round ${round + 1}: ${r.deadlocks} deadlocks, ${r.failed.length} failed`);
      assert.deepEqual(r.failed, [], `round ${round + 1}`);
      assert.equal(r.deadlocks, 0, `round ${round + 1}: no deadlock`);
    }
    console.log(`chaos lock order, inventory upsert x${RUNS}: ${figures.join('; ')}`);
    const [{ n }] = await ds.query(`SELECT count(*)::int AS n FROM inventory WHERE supplier_id = $1`, [supplierId]);
    assert.equal(n, products.length);
  });

  it('update (update_product_status of listing creation): the same products from 30 runs at once, each in its own order', async () => {
    const figures: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const status = round % 2 === 0 ? 'listed' : 'ready_for_listing';
      const r = await together((run) =>
        sut.execute(
          {
            query_type: 'update',
            model: 'Product',
            where: [{ field: 'id', operator: 'in', value: '$.product_ids' }],
            set: { status },
            max_rows: 1000000,
          },
          stepContext(`${tag}-st${run}`, 'update_product_status', { product_ids: shuffled(products, run + 13 + round * RUNS).map((p) => p.product_id) }),
        ),
      );
      figures.push(`round ${round + 1}: ${r.deadlocks} deadlocks, ${r.failed.length} failed`);
      assert.deepEqual(r.failed, [], `round ${round + 1}`);
      assert.equal(r.deadlocks, 0, `round ${round + 1}: no deadlock`);
    }
    console.log(`chaos lock order, product status update x${RUNS}: ${figures.join('; ')}`);
  });
});
