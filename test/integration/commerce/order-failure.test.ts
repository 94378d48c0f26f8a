import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assertCompleted, count, createShop, rows, runWorkflow, startCommerceEnv, stepOutputs, type CommerceEnv, type Shop } from './support';

/** Order processing when the carrier refuses every label: the saga unwinds. */
describe('order processing: the carrier fails for good', () => {
  let env: CommerceEnv;
  let shop: Shop;

  before(async () => {
    env = await startCommerceEnv([{ products: 20, seed: 3 }]);
    shop = await createShop(env.h, env.sandboxes[0]);
    for (const [name, wf, input] of [
      ['import', shop.workflow.product_import, { supplier_id: shop.supplierId }],
      ['listing', shop.workflow.listing_creation, {}],
      ['inventory', shop.workflow.inventory_sync, { supplier_id: shop.supplierId }],
    ] as const) {
      assertCompleted(await runWorkflow(env.h, wf, input), name);
    }
  });
  after(async () => env?.close());

  it('releases the reservations, marks the orders failed and sends the failure notification', async () => {
    const { h } = env;
    const sandbox = shop.sandbox;
    const created = (await fetch(`${sandbox.urls.admin}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"count": 2}' }).then((r) =>
      r.json(),
    )) as { items: Array<{ id: string; items: Array<{ sku: string }> }> };
    const skus = [...new Set(created.items.flatMap((o) => o.items.map((l) => l.sku)))];
    await h.dataSource.query(`UPDATE inventory SET quantity = 50 WHERE supplier_id = $1 AND sku = ANY($2::text[])`, [shop.supplierId, skus]);
    sandbox.setCarrierFailure(true);

    const run = await runWorkflow(h, shop.workflow.order_processing);
    assert.equal(run.status, 'failed');
    assert.equal(run.steps.generate_labels.status, 'failed');
    assert.equal(run.steps.generate_labels.attempt, 1, 'a permanent refusal is not retried');
    assert.match(run.steps.generate_labels.error_message ?? '', /422/);
    assert.equal(run.steps.update_order_status?.status ?? 'pending', 'pending', 'nothing after the failed step ran');
    assert.equal(run.steps.release_reservations.status, 'completed');
    assert.equal(run.steps.fail_order_records.status, 'completed');
    // The failed label step is compensated too (it might have bought some labels); none went through, so nothing is voided.
    assert.equal(run.steps.void_labels.status, 'completed');
    assert.equal(run.steps.notify_failure.status, 'completed');

    const orders = await rows(h.dataSource, `SELECT * FROM orders WHERE marketplace_id = $1 ORDER BY external_id`, [shop.marketplaceId]);
    assert.deepEqual(
      orders.map((o) => o.external_id),
      created.items.map((o) => o.id).sort(),
    );
    for (const o of orders) {
      assert.equal(o.status, 'failed');
      assert.match(o.error, /generate_labels.*422|422.*cannot ship/);
    }
    const reservations = await rows(h.dataSource, `SELECT * FROM reservations WHERE marketplace_id = $1`, [shop.marketplaceId]);
    assert.ok(reservations.length > 0);
    assert.ok(reservations.every((r) => r.status === 'released' && r.released_at !== null));
    const inv = await rows(h.dataSource, `SELECT sku, quantity, reserved FROM inventory WHERE supplier_id = $1 AND sku = ANY($2::text[])`, [shop.supplierId, skus]);
    assert.ok(inv.every((i) => i.reserved === 0 && i.quantity === 50), JSON.stringify(inv));
    assert.equal(await count(h.dataSource, `SELECT count(*) AS n FROM shipments s JOIN orders o ON o.id = s.order_id WHERE o.marketplace_id = $1`, [shop.marketplaceId]), 0);
    assert.equal(sandbox.state.labels.size, 0);
    assert.ok(sandbox.state.counters.labels_rejected >= 1);

    const outputs = await stepOutputs(h, run.executionId);
    assert.equal(outputs.release_reservations.released, reservations.length);
    assert.equal(outputs.fail_order_records.failed, orders.length);
    assert.match(outputs.notify_failure.message, new RegExp(`Order processing run ${run.executionId} failed: step "generate_labels" failed`));
    // The notification says what the saga did, not a fixed claim.
    assert.match(outputs.notify_failure.message, /Compensation: undone: Void shipping labels \(for generate_labels\), Mark orders failed \(for create_order_records\), Release reserved inventory \(for reserve_inventory\)\./);
    assert.equal(outputs.void_labels.succeeded, 0, 'no label to void');
    assert.ok(h.logLines.some((l) => l.includes('"alert":"order_processing_failed"')), 'the failure notification was logged');
  });

  it('voids the labels, the shipments and the orders, and puts the shipped units back, when the shipment notice fails after labelling', async () => {
    const { h } = env;
    const sandbox = shop.sandbox;
    sandbox.setCarrierFailure(false);
    const created = (await fetch(`${sandbox.urls.admin}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"count": 2}' }).then((r) =>
      r.json(),
    )) as { items: Array<{ id: string; total: number; items: Array<{ sku: string }> }> };
    const skus = [...new Set(created.items.flatMap((o) => o.items.map((l) => l.sku)))];
    await h.dataSource.query(`UPDATE inventory SET quantity = 50 WHERE supplier_id = $1 AND sku = ANY($2::text[])`, [shop.supplierId, skus]);
    // Edit the stored workflow: every order ships automatically, and the shipment notice names orders the marketplace does not have.
    const { definition } = await h.workflows.definition(shop.workflow.order_processing);
    const steps = definition.steps.map((s) =>
      s.key === 'notify_shipments'
        ? { ...s, config: { ...s.config, item_fields: { ...(s.config as { item_fields: Record<string, unknown> }).item_fields, order_id: 'no-such-order-$order_external_id' } } }
        : s,
    );
    await h.workflows.update(shop.workflow.order_processing, { steps, config: { ...definition.config, auto_ship_max_total: 100000 } });
    const labelsBefore = sandbox.state.labels.size;

    const run = await runWorkflow(h, shop.workflow.order_processing);
    assert.equal(run.status, 'failed');
    assert.equal(run.steps.notify_shipments.status, 'failed');
    assert.equal(run.steps.update_order_status.status, 'completed');
    for (const key of ['void_labels', 'fail_order_records', 'release_reservations', 'notify_failure']) assert.equal(run.steps[key].status, 'completed', key);

    const labels = [...sandbox.state.labels.values()].slice(labelsBefore);
    assert.equal(labels.length, created.items.length, 'one label per order was bought');
    assert.ok(labels.every((l) => l.status === 'voided'), 'and voided again');
    const ids = created.items.map((o) => o.id);
    const orders = await rows(h.dataSource, `SELECT id, status FROM orders WHERE marketplace_id = $1 AND external_id = ANY($2::text[])`, [shop.marketplaceId, ids]);
    assert.deepEqual(orders.map((o) => o.status), ['failed', 'failed']);
    const shipments = await rows(h.dataSource, `SELECT status FROM shipments WHERE order_id = ANY($1::bigint[])`, [orders.map((o) => o.id)]);
    assert.deepEqual(shipments.map((s) => s.status), ['voided', 'voided']);
    const reservations = await rows(h.dataSource, `SELECT status FROM reservations WHERE marketplace_id = $1 AND order_external_id = ANY($2::text[])`, [shop.marketplaceId, ids]);
    assert.ok(reservations.length > 0 && reservations.every((r) => r.status === 'released'));
    const inv = await rows(h.dataSource, `SELECT quantity, reserved FROM inventory WHERE supplier_id = $1 AND sku = ANY($2::text[])`, [shop.supplierId, skus]);
    assert.ok(inv.every((i) => i.quantity === 50 && i.reserved === 0), `the shipped units are back in stock: ${JSON.stringify(inv)}`);
  });
});
