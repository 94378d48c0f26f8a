/**
 * The order-processing saga against the real sandbox: cancelling a run while
 * it buys labels, and restarting a run whose failure was compensated. After
 * either, the shop must be as consistent as after a clean run.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DataSource } from 'typeorm';
import { eventually } from '@test/support/harness';
import { assertCompleted, createShop, rows, runWorkflow, startCommerceEnv, type CommerceEnv, type Shop } from '@test/integration/commerce/support';

const ORDERS = 40;

async function prepareShop(env: CommerceEnv, sandboxIndex: number): Promise<Shop> {
  const { h } = env;
  const shop = await createShop(h, env.sandboxes[sandboxIndex]);
  for (const [name, wf, input] of [
    ['import', shop.workflow.product_import, { supplier_id: shop.supplierId }],
    ['listing', shop.workflow.listing_creation, {}],
    ['inventory', shop.workflow.inventory_sync, { supplier_id: shop.supplierId }],
  ] as const) {
    assertCompleted(await runWorkflow(h, wf, input), name);
  }
  const created = (await fetch(`${shop.sandbox.urls.admin}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ count: ORDERS }) }).then((r) =>
    r.json(),
  )) as { items: Array<{ id: string; shipping_address: { country: string }; items: Array<{ sku: string }> }> };
  const skus = [...new Set(created.items.flatMap((o) => o.items.map((l) => l.sku)))];
  await h.dataSource.query(`UPDATE inventory SET quantity = 500 WHERE supplier_id = $1 AND sku = ANY($2::text[])`, [shop.supplierId, skus]);
  // Every order ships automatically, so the run buys a label for each.
  const countries = [...new Set(created.items.map((o) => o.shipping_address.country))];
  const wf = await h.workflows.get(shop.workflow.order_processing);
  await h.workflows.update(shop.workflow.order_processing, { config: { ...wf.config, auto_ship_max_total: 1_000_000, auto_ship_countries: countries } });
  return shop;
}

/** The invariants no run may break, cancelled, failed or restarted. */
async function assertConsistent(ds: DataSource, shop: Shop): Promise<void> {
  const orphans = await rows(
    ds,
    `SELECT r.idempotency_key, r.status, o.status AS order_status FROM reservations r LEFT JOIN orders o ON o.id = r.order_id
     WHERE r.marketplace_id = $1 AND r.status = 'active' AND (o.id IS NULL OR o.status NOT IN ('reserved', 'acknowledged'))`,
    [shop.marketplaceId],
  );
  assert.deepEqual(orphans, [], 'no active reservation without an open order');
  const inv = await rows(
    ds,
    `SELECT i.sku, i.reserved, COALESCE((SELECT sum(quantity) FROM reservations r WHERE r.inventory_id = i.id AND r.status = 'active'), 0)::int AS held
     FROM inventory i WHERE i.supplier_id = $1`,
    [shop.supplierId],
  );
  assert.deepEqual(inv.filter((i) => i.reserved !== i.held), [], 'inventory.reserved equals the active reservations');
}

/** What a clean run and a restarted one must agree on. */
async function shopState(ds: DataSource, shop: Shop) {
  const one = async (sql: string) => (await rows(ds, sql, [shop.marketplaceId])).map((r) => `${r.k}=${r.n}`).join(', ');
  const labels = [...shop.sandbox.state.labels.values()];
  const market = [...shop.sandbox.state.orders.values()];
  return {
    orders: await one(`SELECT status AS k, count(*) AS n FROM orders WHERE marketplace_id = $1 GROUP BY status ORDER BY status`),
    reservations: await one(`SELECT status AS k, count(*) AS n FROM reservations WHERE marketplace_id = $1 GROUP BY status ORDER BY status`),
    shipments: await one(`SELECT s.status AS k, count(*) AS n FROM shipments s JOIN orders o ON o.id = s.order_id WHERE o.marketplace_id = $1 GROUP BY s.status ORDER BY s.status`),
    stock: (await rows(ds, `SELECT sum(quantity)::int AS q, sum(reserved)::int AS r FROM inventory WHERE supplier_id = $1`, [shop.supplierId])).map((r) => `quantity=${r.q}, reserved=${r.r}`).join(''),
    live_labels: labels.filter((l) => l.status === 'created').length,
    marketplace: [...new Set(market.map((o) => o.status))].sort().map((s) => `${s}=${market.filter((o) => o.status === s).length}`).join(', '),
  };
}

describe('chaos: the order-processing saga', () => {
  let env: CommerceEnv;
  before(async () => {
    // Same seed for all three: the clean shop and the restarted one get the same catalogue and orders.
    env = await startCommerceEnv([
      { products: 30, seed: 11 },
      { products: 30, seed: 11 },
      { products: 30, seed: 11 },
    ]);
  });
  after(async () => env?.close());

  it('cancelling a run while it buys labels voids every label, releases every reservation and leaves no order reserved', async () => {
    const { h } = env;
    const shop = await prepareShop(env, 0);
    const sandbox = shop.sandbox;
    sandbox.setLatency(700); // label buying takes seconds: time to cancel in the middle of it
    const run = await h.start(shop.workflow.order_processing);
    await eventually(async () => sandbox.state.labels.size > 0, 120_000, 'the first label');
    await h.executions.cancel(run.execution_id);
    const res = await h.wait(run.execution_id);
    sandbox.setLatency(0);
    assert.equal(res.status, 'cancelled');

    const steps = Object.fromEntries((await h.executions.steps(run.execution_id)).map((s) => [s.step_key, s]));
    assert.equal(steps.generate_labels.status, 'cancelled', 'the label step was stopped, not run to its end');
    assert.equal(steps.update_order_status?.status ?? 'pending', 'pending');
    for (const key of ['void_labels', 'fail_order_records', 'release_reservations']) assert.equal(steps[key]?.status, 'completed', key);

    const labels = [...sandbox.state.labels.values()];
    assert.ok(labels.length > 0 && labels.length <= ORDERS);
    assert.deepEqual(labels.filter((l) => l.status !== 'voided').map((l) => l.order_id), [], 'every label bought is voided');
    const orders = await rows(h.dataSource, `SELECT status, count(*)::int AS n FROM orders WHERE marketplace_id = $1 GROUP BY status`, [shop.marketplaceId]);
    assert.deepEqual(orders, [{ status: 'failed', n: ORDERS }], 'no order stuck reserved');
    await assertConsistent(h.dataSource, shop);
    const active = await rows(h.dataSource, `SELECT count(*)::int AS n FROM reservations WHERE marketplace_id = $1 AND status = 'active'`, [shop.marketplaceId]);
    assert.equal(active[0].n, 0);
    const row = await h.executions.get(run.execution_id);
    assert.deepEqual((row.error_details as any).compensated.undone, ['generate_labels', 'create_order_records', 'reserve_inventory'], 'undone in reverse, the cancelled step first');
  });

  it('a restart after a compensated failure leaves the shop exactly as a clean run does', async () => {
    const { h } = env;
    const clean = await prepareShop(env, 1);
    const restarted = await prepareShop(env, 2);

    assertCompleted(await runWorkflow(h, clean.workflow.order_processing), 'clean run');

    restarted.sandbox.setCarrierFailure(true);
    const failed = await runWorkflow(h, restarted.workflow.order_processing);
    assert.equal(failed.status, 'failed');
    assert.equal(failed.steps.generate_labels.status, 'failed');
    for (const key of ['release_reservations', 'fail_order_records']) assert.equal(failed.steps[key].status, 'completed', key);
    await assertConsistent(h.dataSource, restarted);

    restarted.sandbox.setCarrierFailure(false);
    const again = await h.executions.restart(failed.executionId, { task_queue: h.taskQueue });
    const res = await h.wait(again.execution_id);
    const againSteps = Object.fromEntries((await h.executions.steps(again.execution_id)).map((s) => [s.step_key, s]));
    assert.equal(res.status, 'completed', JSON.stringify(Object.values(againSteps).map((s) => [s.step_key, s.status, s.error_message])));
    assert.equal((againSteps.fetch_orders.output_summary as any)?.restored_from, failed.executionId, 'steps never undone are reused');
    assert.equal((againSteps.reserve_inventory.output_summary as any)?.restored_from, undefined, 'the undone reservation ran again');

    await assertConsistent(h.dataSource, restarted);
    const [a, b] = [await shopState(h.dataSource, clean), await shopState(h.dataSource, restarted)];
    // The failed run's compensation released its reservations; the restart's are new rows or reactivated ones, so compare the live ones.
    assert.deepEqual({ ...b, reservations: undefined }, { ...a, reservations: undefined });
    const activeOrConsumed = (s: string) => s.split(', ').filter((x) => !x.startsWith('released')).join(', ');
    assert.equal(activeOrConsumed(b.reservations), activeOrConsumed(a.reservations));
  });
});
