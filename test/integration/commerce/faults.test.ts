import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DataSource } from 'typeorm';
import { assertCompleted, count, createShop, rows, runWorkflow, startCommerceEnv, type CommerceEnv, type Shop } from './support';

const PRODUCTS = 40;
const ORDERS = 6;

/**
 * The rows a shop's runs leave, in a stable order, without ids, timestamps,
 * lineage, or what depends on the sandbox's port (image URLs and the hashes
 * over them).
 */
async function snapshot(ds: DataSource, shop: Shop): Promise<Record<string, unknown>> {
  const s = shop.supplierId;
  const m = shop.marketplaceId;
  return {
    products: await rows(ds, `SELECT external_id, sku, title, cost_price, currency, weight_kg, regexp_replace(images::text, '127\\.0\\.0\\.1:[0-9]+', 'sandbox', 'g') AS images, attributes, status FROM products WHERE supplier_id = $1 ORDER BY external_id`, [s]),
    source_data: await rows(ds, `SELECT external_id, status FROM source_data WHERE supplier_id = $1 AND source_name = $2 ORDER BY external_id`, [s, shop.supplierCode]),
    supplier: await rows(ds, `SELECT products_total, last_import_imported, last_import_updated, last_import_unchanged, last_import_invalid FROM suppliers WHERE id = $1`, [s]),
    listings: await rows(ds, `SELECT sku, title, price, currency, quantity, status FROM listings WHERE marketplace_id = $1 ORDER BY sku`, [m]),
    inventory: await rows(ds, `SELECT sku, quantity, reserved, available, low_stock_threshold FROM inventory WHERE supplier_id = $1 ORDER BY sku`, [s]),
    orders: await rows(ds, `SELECT external_id, status, total, weight_kg, shipping_address FROM orders WHERE marketplace_id = $1 ORDER BY external_id`, [m]),
    order_lines: await rows(ds, `SELECT o.external_id, l.line_external_id, l.sku, l.quantity FROM order_lines l JOIN orders o ON o.id = l.order_id WHERE o.marketplace_id = $1 ORDER BY 1, 2`, [m]),
    reservations: await rows(ds, `SELECT order_external_id, line_external_id, sku, quantity, status FROM reservations WHERE marketplace_id = $1 ORDER BY 1, 2`, [m]),
    shipments: await rows(ds, `SELECT o.external_id, s.status, s.carrier FROM shipments s JOIN orders o ON o.id = s.order_id WHERE o.marketplace_id = $1 ORDER BY 1`, [m]),
  };
}

/**
 * Each predefined workflow with 20 % of the sandbox's API answers replaced by
 * 500/502/503: the runs still finish, with the same rows as on a sandbox
 * without faults, and nothing is listed, recorded or shipped twice.
 */
describe('commerce workflows under 20 % injected 5xx faults', () => {
  let env: CommerceEnv;
  let calm: Shop;
  let faulty: Shop;

  before(async () => {
    env = await startCommerceEnv([
      { products: PRODUCTS, seed: 21 },
      { products: PRODUCTS, seed: 21 },
    ]);
    [calm, faulty] = await Promise.all(env.sandboxes.map((s) => createShop(env.h, s, { config: { order_processing: { auto_ship_max_total: 100000 } } })));
    faulty.sandbox.setFaults({ errorRate: 0.2, seed: 7 });
  });
  after(async () => env?.close());

  it('finish every template with the same rows as without faults, and no duplicates', async () => {
    const { h } = env;
    const chain = async (shop: Shop) => {
      assertCompleted(await runWorkflow(h, shop.workflow.product_import, { supplier_id: shop.supplierId }), `${shop.tag} import`);
      assertCompleted(await runWorkflow(h, shop.workflow.listing_creation), `${shop.tag} listing`);
      assertCompleted(await runWorkflow(h, shop.workflow.inventory_sync, { supplier_id: shop.supplierId }), `${shop.tag} inventory`);
      // The same orders on both marketplaces: the same SKUs, in the same order, from the same seed.
      const skus = [...shop.sandbox.state.listings.values()].map((l) => l.sku).sort().slice(0, 10);
      const res = await fetch(`${shop.sandbox.urls.admin}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ count: ORDERS, skus }) });
      assert.equal(res.status, 201);
      await h.dataSource.query(`UPDATE inventory SET quantity = 500 WHERE supplier_id = $1 AND sku = ANY($2::text[])`, [shop.supplierId, skus]);
      assertCompleted(await runWorkflow(h, shop.workflow.order_processing), `${shop.tag} orders`);
    };
    await Promise.all([chain(calm), chain(faulty)]);

    const counters = faulty.sandbox.state.counters;
    assert.ok(counters.faults_injected >= 5, `faults were injected (${counters.faults_injected})`);
    assert.equal(calm.sandbox.state.counters.faults_injected, 0);
    assert.deepEqual(await snapshot(h.dataSource, faulty), await snapshot(h.dataSource, calm));

    // Nothing twice, at the marketplace, the carrier or here.
    const state = faulty.sandbox.state;
    assert.equal(state.listings.size, PRODUCTS);
    assert.equal(new Set([...state.listings.values()].map((l) => l.sku)).size, PRODUCTS);
    assert.equal(state.labels.size, ORDERS);
    assert.equal(counters.shipments, ORDERS);
    assert.equal([...state.orders.values()].filter((o) => o.status === 'shipped').length, ORDERS);
    assert.equal(await count(h.dataSource, `SELECT count(*) AS n FROM listings WHERE marketplace_id = $1`, [faulty.marketplaceId]), PRODUCTS);
    assert.equal(await count(h.dataSource, `SELECT count(*) AS n FROM orders WHERE marketplace_id = $1 AND status = 'shipped'`, [faulty.marketplaceId]), ORDERS);
    assert.equal(await count(h.dataSource, `SELECT count(*) AS n FROM shipments s JOIN orders o ON o.id = s.order_id WHERE o.marketplace_id = $1`, [faulty.marketplaceId]), ORDERS);

    // And once more on both, still under faults: each template converges on the same rows again, and nothing is duplicated.
    const again = async (shop: Shop) => {
      assertCompleted(await runWorkflow(h, shop.workflow.product_import, { supplier_id: shop.supplierId }), `${shop.tag} second import`);
      assertCompleted(await runWorkflow(h, shop.workflow.listing_creation), `${shop.tag} second listing`);
      assertCompleted(await runWorkflow(h, shop.workflow.inventory_sync, { supplier_id: shop.supplierId }), `${shop.tag} second inventory sync`);
      assertCompleted(await runWorkflow(h, shop.workflow.order_processing), `${shop.tag} second order processing`);
    };
    await Promise.all([again(calm), again(faulty)]);
    const second = await snapshot(h.dataSource, faulty);
    assert.deepEqual(second, await snapshot(h.dataSource, calm));
    assert.deepEqual(second.supplier, [{ products_total: PRODUCTS, last_import_imported: 0, last_import_updated: 0, last_import_unchanged: PRODUCTS, last_import_invalid: 0 }]);
    assert.equal(state.listings.size, PRODUCTS);
    assert.equal(state.labels.size, ORDERS);
    assert.equal(faulty.sandbox.state.counters.shipments, ORDERS);
  });
});
