import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assertCompleted, count, createShop, rows, runWorkflow, startCommerceEnv, stepOutputs, type CommerceEnv, type Shop } from '@test/integration/commerce/support';
import { deadlocks } from './overlap-support';

const RUNS = 30;
const PRODUCTS = 120;

/**
 * Issue 9, item 7: thirty listing runs started together over the same
 * products. The runs split the products by claims and every writer locks rows
 * in one order, so PostgreSQL never has to break a deadlock, and each product
 * is listed once, at the marketplace and in our tables.
 */
describe('chaos: overlapping listing creation runs', () => {
  let env: CommerceEnv;
  let shop: Shop;

  before(async () => {
    env = await startCommerceEnv([{ products: PRODUCTS, seed: 17 }]);
    shop = await createShop(env.h, env.sandboxes[0]);
    assertCompleted(await runWorkflow(env.h, shop.workflow.product_import, { supplier_id: shop.supplierId }), 'product import');
  });
  after(async () => env?.close());

  it(`${RUNS} runs over the same products: no deadlock, one listing per listable product`, async () => {
    const { h } = env;
    const listable = await count(h.dataSource, `SELECT count(*) AS n FROM products WHERE supplier_id = $1 AND status = 'ready_for_listing'`, [shop.supplierId]);
    assert.ok(listable > 0);
    const before = await deadlocks(h.dataSource);
    const started = await Promise.all(Array.from({ length: RUNS }, () => h.start(shop.workflow.listing_creation)));
    const results = await Promise.all(started.map((r) => h.wait(r.execution_id)));
    results.forEach((r, i) => assert.equal(r.status, 'completed', `${started[i].execution_id}: ${String((r.error as Error | undefined)?.message)}`));
    const after = await deadlocks(h.dataSource);
    // Every step's first attempt succeeded: no run needed Temporal's retries to get past a deadlock.
    const retried = await count(
      h.dataSource,
      `SELECT count(*) AS n FROM workflow_step_executions WHERE execution_id = ANY($1::text[]) AND attempt > 1`,
      [started.map((r) => r.execution_id)],
    );

    const state = shop.sandbox.state;
    console.log(
      `chaos overlapping listings: ${RUNS} runs over ${listable} listable products: ${state.listings.size} listings, ` +
        `deadlocks ${after - before}, steps retried ${retried}`,
    );
    const listings = await rows<{ sku: string; external_id: string; n: string }>(
      h.dataSource,
      `SELECT sku, min(external_id) AS external_id, count(*) AS n FROM listings WHERE marketplace_id = $1 GROUP BY sku`,
      [shop.marketplaceId],
    );
    assert.equal(listings.length, listable, 'one listing per listable product in our tables');
    for (const l of listings) {
      assert.equal(Number(l.n), 1, `${l.sku} listed once`);
      assert.equal(state.listing(l.external_id).sku, l.sku, `${l.sku} is the marketplace's listing`);
    }
    assert.equal(state.listings.size, listable, 'one listing per product at the marketplace');
    assert.equal(state.counters.listings_created, listable);
    assert.equal(state.counters.idempotency_conflicts, 0);
    assert.equal(await count(h.dataSource, `SELECT count(*) AS n FROM products WHERE supplier_id = $1 AND status = 'listed'`, [shop.supplierId]), listable);
    assert.equal(after - before, 0, 'no deadlock (pg_stat_database.deadlocks)');
    assert.equal(retried, 0, 'no step needed a second attempt');

    // The runs split the products by claims: each was fetched for listing by exactly one run.
    let fetched = 0;
    for (const r of started) fetched += Number((await stepOutputs(h, r.execution_id)).fetch_products.count);
    assert.equal(fetched, listable, 'each product handled by one run');
    assert.equal(
      await count(h.dataSource, `SELECT count(*) AS n FROM entity_claims WHERE kind = 'listing' AND entity_key LIKE $1 AND status = 'done'`, [`${shop.marketplaceId}:%`]),
      listable,
      'every listing claim is done',
    );
  });
});
