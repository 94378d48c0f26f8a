import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assertCompleted, count, createShop, rows, runWorkflow, startCommerceEnv, stepOutputs, type CommerceEnv, type Shop } from './support';

const PRODUCTS = 60;

/**
 * The four predefined workflows end to end, in the order a shop uses them,
 * through the real worker, Temporal, Postgres and the sandbox, with the AI
 * steps on (OpenAI stub).
 */
describe('commerce workflows: happy path', () => {
  let env: CommerceEnv;
  let shop: Shop;

  before(async () => {
    env = await startCommerceEnv([{ products: PRODUCTS, seed: 11 }]);
    shop = await createShop(env.h, env.sandboxes[0], {
      ai: true,
      config: { order_processing: { auto_ship_max_total: 100000 } },
    });
  });
  after(async () => env?.close());

  it('product import stores source data and products, enriches them and updates the supplier statistics; a re-import changes nothing', async () => {
    const { h } = env;
    const run = await runWorkflow(h, shop.workflow.product_import, { supplier_id: shop.supplierId });
    assertCompleted(run, 'product import');
    assert.deepEqual(
      Object.keys(run.steps).sort(),
      ['enrich_products', 'fetch_products', 'send_notification', 'store_products', 'transform_products', 'update_supplier_statistics', 'validate_products'],
    );
    assert.equal(run.steps.enrich_products.status, 'completed', 'AI enrichment ran (enable_ai_enrichment is on)');

    const products = await rows(h.dataSource, `SELECT * FROM products WHERE supplier_id = $1 ORDER BY sku`, [shop.supplierId]);
    assert.equal(products.length, PRODUCTS);
    const first = products[0];
    assert.match(first.sku, /^SUP-\d{6}$/);
    assert.equal(first.status, 'ready_for_listing');
    assert.ok(Number(first.cost_price) > 0);
    assert.ok(Array.isArray(first.images) && first.images.length > 0);
    assert.ok(first.attributes.barcode, 'attributes carry the barcode');
    assert.ok(first.enrichment?.bullet_points?.length > 0, 'enrichment stored beside the supplier facts');
    assert.equal(first.execution_id, run.executionId);

    const source = await rows(h.dataSource, `SELECT * FROM source_data WHERE supplier_id = $1 AND source_name = $2 AND source_type = 'supplier_product'`, [shop.supplierId, shop.supplierCode]);
    assert.equal(source.length, PRODUCTS);
    const linked = await count(h.dataSource, `SELECT count(*) AS n FROM products p JOIN source_data s ON s.id = p.source_data_id WHERE p.supplier_id = $1 AND s.external_id = p.external_id`, [
      shop.supplierId,
    ]);
    assert.equal(linked, PRODUCTS, 'every product links its source record');

    const [supplier] = await rows(h.dataSource, `SELECT * FROM suppliers WHERE id = $1`, [shop.supplierId]);
    assert.equal(supplier.products_total, PRODUCTS);
    assert.equal(supplier.last_import_imported, PRODUCTS);
    assert.equal(supplier.last_import_invalid, 0);
    assert.equal(supplier.last_import_execution_id, run.executionId);
    assert.match(String(run.result?.output && (run.result.output as { message: string }).message), new RegExp(`${PRODUCTS} new`));

    const updatedAt = products.map((p) => p.updated_at.toISOString());
    const again = await runWorkflow(h, shop.workflow.product_import, { supplier_id: shop.supplierId });
    assertCompleted(again, 'second product import');
    const [after2] = await rows(h.dataSource, `SELECT * FROM suppliers WHERE id = $1`, [shop.supplierId]);
    assert.deepEqual([after2.last_import_imported, after2.last_import_updated, after2.last_import_unchanged], [0, 0, PRODUCTS]);
    const products2 = await rows(h.dataSource, `SELECT updated_at FROM products WHERE supplier_id = $1 ORDER BY sku`, [shop.supplierId]);
    assert.deepEqual(
      products2.map((p) => p.updated_at.toISOString()),
      updatedAt,
      'no product row was rewritten',
    );
    assert.equal(await count(h.dataSource, `SELECT count(*) AS n FROM source_data WHERE supplier_id = $1 AND source_name = $2`, [shop.supplierId, shop.supplierCode]), PRODUCTS);
  });

  it('listing creation lists every product once with the marketplace markup and marks them listed', async () => {
    const { h } = env;
    const run = await runWorkflow(h, shop.workflow.listing_creation);
    assertCompleted(run, 'listing creation');
    assert.equal(run.steps.optimize_listings.status, 'completed');
    assert.equal(run.steps.translate_content.status, 'skipped', 'translation is off by default');

    const listings = await rows(
      h.dataSource,
      `SELECT l.*, p.cost_price FROM listings l JOIN products p ON p.id = l.product_id WHERE l.marketplace_id = $1 ORDER BY l.sku`,
      [shop.marketplaceId],
    );
    assert.equal(listings.length, PRODUCTS);
    for (const l of listings) {
      assert.match(l.external_id, /^lst_\d+$/);
      const expected = Math.max(Math.round(Number(l.cost_price) * 1.6 * 100) / 100, 1);
      assert.equal(Number(l.price), expected, `price of ${l.sku} is cost + 60 %`);
      assert.equal(l.status, 'active');
      assert.match(l.title, /\(ai\)$/, 'the AI-optimised title was listed');
    }
    assert.equal(await count(h.dataSource, `SELECT count(*) AS n FROM products WHERE supplier_id = $1 AND status = 'listed'`, [shop.supplierId]), PRODUCTS);
    assert.equal(shop.sandbox.state.listings.size, PRODUCTS);
    const ids = new Set(listings.map((l) => l.external_id));
    for (const l of shop.sandbox.state.listings.values()) assert.ok(ids.has(l.id), `${l.id} is recorded`);

    // Nothing is ready any more: a second run lists nothing and creates nothing.
    const again = await runWorkflow(h, shop.workflow.listing_creation);
    assertCompleted(again, 'second listing creation');
    assert.equal(shop.sandbox.state.listings.size, PRODUCTS);
    assert.equal(await count(h.dataSource, `SELECT count(*) AS n FROM listings WHERE marketplace_id = $1`, [shop.marketplaceId]), PRODUCTS);
  });

  it('inventory sync stores stock, pushes available quantities to the marketplace and raises a low-stock alert', async () => {
    const { h } = env;
    const run = await runWorkflow(h, shop.workflow.inventory_sync, { supplier_id: shop.supplierId });
    assertCompleted(run, 'inventory sync');
    const inventory = await rows(h.dataSource, `SELECT * FROM inventory WHERE supplier_id = $1 ORDER BY sku`, [shop.supplierId]);
    assert.equal(inventory.length, PRODUCTS);
    const supplierStock = new Map<string, number>();
    for (let i = 0; i < PRODUCTS; i++) supplierStock.set(shop.sandbox.catalogue.skuOf(i), shop.sandbox.state.stockOf(i));
    for (const row of inventory) {
      assert.equal(row.quantity, supplierStock.get(row.sku), `stock of ${row.sku}`);
      assert.equal(row.available, row.quantity - row.reserved);
      assert.equal(shop.sandbox.state.listingForSku(row.sku)?.quantity, row.available, `marketplace quantity of ${row.sku}`);
    }
    const listed = await rows(h.dataSource, `SELECT sku, quantity FROM listings WHERE marketplace_id = $1`, [shop.marketplaceId]);
    for (const l of listed) assert.equal(l.quantity, supplierStock.get(l.sku), `tracked listing quantity of ${l.sku}`);

    // Stock moves at the supplier, five SKUs drop below the threshold.
    await fetch(`${shop.sandbox.urls.admin}/inventory`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ simulate: { count: 10, low_stock: 5 } }),
    });
    const pushesBefore = shop.sandbox.state.counters.inventory_updates;
    const second = await runWorkflow(h, shop.workflow.inventory_sync, { supplier_id: shop.supplierId });
    assertCompleted(second, 'second inventory sync');
    assert.ok(shop.sandbox.state.counters.inventory_updates - pushesBefore <= 10, 'only changed quantities are pushed');
    assert.equal(second.steps.send_low_stock_alerts.status, 'completed');
    const low = inventory.length > 0 ? await count(h.dataSource, `SELECT count(*) AS n FROM inventory WHERE supplier_id = $1 AND available < low_stock_threshold`, [shop.supplierId]) : 0;
    assert.ok(low >= 5);
    const outputs = await stepOutputs(h, second.executionId);
    assert.equal(outputs.check_low_stock.output_count, low);
    assert.match(outputs.send_low_stock_alerts.message, new RegExp(`Low stock alert: ${low} SKUs`));
    assert.ok(h.logLines.some((l) => l.includes('Low stock alert') && l.includes('"alert":"low_stock"')), 'the alert was logged');
    for (const row of await rows(h.dataSource, `SELECT sku, available FROM inventory WHERE supplier_id = $1`, [shop.supplierId])) {
      assert.equal(shop.sandbox.state.listingForSku(row.sku)?.quantity, row.available);
    }
  });

  it('order processing reserves stock, records, acknowledges, labels and ships each order once', async () => {
    const { h } = env;
    const created = await fetch(`${shop.sandbox.urls.admin}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ count: 4 }),
    }).then((r) => r.json() as Promise<{ items: Array<{ id: string; items: Array<{ sku: string; quantity: number }> }> }>);
    // Enough stock for every line, whatever the simulation left.
    const skus = [...new Set(created.items.flatMap((o) => o.items.map((l) => l.sku)))];
    await h.dataSource.query(`UPDATE inventory SET quantity = 100 WHERE supplier_id = $1 AND sku = ANY($2::text[])`, [shop.supplierId, skus]);
    const before = new Map((await rows(h.dataSource, `SELECT sku, quantity FROM inventory WHERE supplier_id = $1`, [shop.supplierId])).map((r) => [r.sku, r.quantity]));

    const run = await runWorkflow(h, shop.workflow.order_processing);
    assertCompleted(run, 'order processing');
    assert.equal(run.steps.detect_fraud.status, 'completed', 'fraud screening ran');

    const orders = await rows(h.dataSource, `SELECT * FROM orders WHERE marketplace_id = $1 ORDER BY external_id`, [shop.marketplaceId]);
    assert.deepEqual(
      orders.map((o) => o.external_id),
      created.items.map((o) => o.id).sort(),
    );
    for (const o of orders) {
      assert.equal(o.status, 'shipped', `${o.external_id} shipped`);
      assert.ok(o.acknowledged_at && o.shipped_at);
      assert.equal(Number(o.fraud_score), 0);
      assert.equal(shop.sandbox.state.order(o.external_id).status, 'shipped');
    }
    const shipments = await rows(h.dataSource, `SELECT s.* FROM shipments s JOIN orders o ON o.id = s.order_id WHERE o.marketplace_id = $1`, [shop.marketplaceId]);
    assert.equal(shipments.length, orders.length);
    for (const s of shipments) {
      const label = shop.sandbox.state.label(s.label_id);
      assert.equal(label.tracking_number, s.tracking_number);
      assert.equal(label.status, 'created');
    }
    assert.equal(shop.sandbox.state.labels.size, orders.length, 'one label per order');
    const lines = await count(h.dataSource, `SELECT count(*) AS n FROM order_lines l JOIN orders o ON o.id = l.order_id WHERE o.marketplace_id = $1`, [shop.marketplaceId]);
    assert.equal(lines, created.items.reduce((n, o) => n + o.items.length, 0));
    const reservations = await rows(h.dataSource, `SELECT * FROM reservations WHERE marketplace_id = $1`, [shop.marketplaceId]);
    assert.equal(reservations.length, lines);
    assert.ok(reservations.every((r) => r.status === 'consumed' && r.order_id !== null && r.order_line_id !== null));
    const sold = new Map<string, number>();
    for (const o of created.items) for (const l of o.items) sold.set(l.sku, (sold.get(l.sku) ?? 0) + l.quantity);
    for (const [sku, n] of sold) {
      const [inv] = await rows(h.dataSource, `SELECT quantity, reserved FROM inventory WHERE supplier_id = $1 AND sku = $2`, [shop.supplierId, sku]);
      assert.equal(inv.reserved, 0);
      assert.equal(inv.quantity, before.get(sku)! - n, `shipped units of ${sku} left stock`);
    }

    // Nothing new at the marketplace: a second run ships nothing again.
    const again = await runWorkflow(h, shop.workflow.order_processing);
    assertCompleted(again, 'second order processing');
    assert.equal(shop.sandbox.state.labels.size, orders.length);
    assert.equal(await count(h.dataSource, `SELECT count(*) AS n FROM shipments s JOIN orders o ON o.id = s.order_id WHERE o.marketplace_id = $1`, [shop.marketplaceId]), orders.length);
  });
});
