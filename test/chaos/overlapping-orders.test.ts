import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '@src/common/errors';
import { count, createShop, rows, startCommerceEnv, stepOutputs, type CommerceEnv, type Shop } from '@test/integration/commerce/support';
import { deadlocks, newOrders, startDirect, stockShop } from './overlap-support';

const RUNS = 20;
const ORDERS = 60;

/**
 * Issue 9, item 1: twenty order runs started together over the same new
 * orders. Whatever overlaps, each order gets one label, one shipment notice
 * and one reservation per line, and PostgreSQL sees no deadlock. Checked on
 * both sides: the sandbox's own records and our tables.
 */
describe('chaos: overlapping order processing runs', () => {
  let env: CommerceEnv;
  let shop: Shop;

  before(async () => {
    env = await startCommerceEnv([{ products: 40, seed: 9 }]);
    shop = await createShop(env.h, env.sandboxes[0], { config: { order_processing: { auto_ship_max_total: 100000 } } });
    await stockShop(env.h, shop);
  });
  after(async () => env?.close());

  /** The invariants, from the sandbox and from PostgreSQL, over the orders given. */
  async function assertExactlyOnce(orders: Array<{ id: string; items: Array<{ line_id: string; quantity: number }> }>): Promise<void> {
    const { h } = env;
    const state = shop.sandbox.state;
    const perOrder = state.labelsPerOrder();
    for (const o of orders) {
      assert.equal(state.order(o.id).status, 'shipped', `${o.id} shipped at the marketplace`);
      assert.equal(perOrder.get(o.id), 1, `${o.id}: one label bought`);
    }
    assert.equal(state.counters.labels_voided, 0, 'no label had to be voided');
    assert.equal(state.counters.shipment_conflicts, 0, 'no second shipment notice was refused');
    assert.equal(state.counters.idempotency_conflicts, 0);

    const ids = orders.map((o) => o.id);
    const shipments = await rows<{ external_id: string; n: string; label_id: string }>(
      h.dataSource,
      `SELECT o.external_id, count(s.id) AS n, min(s.label_id) AS label_id FROM orders o LEFT JOIN shipments s ON s.order_id = o.id
       WHERE o.marketplace_id = $1 AND o.external_id = ANY($2::text[]) GROUP BY o.external_id`,
      [shop.marketplaceId, ids],
    );
    assert.equal(shipments.length, orders.length, 'every order recorded once');
    for (const s of shipments) {
      assert.equal(Number(s.n), 1, `${s.external_id}: one shipment`);
      assert.equal(state.label(s.label_id).order_id, s.external_id);
    }
    const lines = orders.reduce((n, o) => n + o.items.length, 0);
    const reservations = await rows<{ n: string; consumed: string; keys: string }>(
      h.dataSource,
      `SELECT count(*) AS n, count(*) FILTER (WHERE status = 'consumed') AS consumed, count(DISTINCT (order_external_id, line_external_id)) AS keys
       FROM reservations WHERE marketplace_id = $1 AND order_external_id = ANY($2::text[])`,
      [shop.marketplaceId, ids],
    );
    assert.deepEqual(
      { n: Number(reservations[0].n), consumed: Number(reservations[0].consumed), keys: Number(reservations[0].keys) },
      { n: lines, consumed: lines, keys: lines },
      'one reservation per order line, each consumed once',
    );
    assert.equal(await count(h.dataSource, `SELECT count(*) AS n FROM inventory WHERE supplier_id = $1 AND reserved <> 0`, [shop.supplierId]), 0, 'nothing left held');
    assert.equal(
      await count(
        h.dataSource,
        `SELECT count(*) AS n FROM entity_claims WHERE kind = 'order' AND entity_key = ANY($1::text[]) AND status = 'done'`,
        [ids.map((id) => `${shop.marketplaceId}:${id}`)],
      ),
      orders.length,
      'every order claim is done',
    );
  }

  it('refuses a second order run for the marketplace while one runs (409 WORKFLOW_ALREADY_RUNNING)', async () => {
    const { h } = env;
    const orders = await newOrders(h, shop, ORDERS / 2);
    const before = await deadlocks(h.dataSource);
    const starts = await Promise.allSettled(Array.from({ length: RUNS }, () => h.start(shop.workflow.order_processing)));
    const started = starts.filter((s): s is PromiseFulfilledResult<Awaited<ReturnType<typeof h.start>>> => s.status === 'fulfilled');
    const refused = starts.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
    assert.equal(started.length, 1, `one run started: ${refused.map((r) => (r.reason as Error).message).join('; ').slice(0, 500)}`);
    for (const r of refused) {
      const e = r.reason as AppError;
      assert.ok(e instanceof AppError, String(e));
      assert.equal(e.status, 409);
      assert.equal(e.code, 'WORKFLOW_ALREADY_RUNNING');
      assert.equal(e.details.execution_id, started[0].value.execution_id, 'the refusal names the running run');
    }
    const result = await h.wait(started[0].value.execution_id);
    assert.equal(result.status, 'completed', String((result.error as Error | undefined)?.message));
    await assertExactlyOnce(orders);
    assert.equal((await deadlocks(h.dataSource)) - before, 0, 'no deadlock');

    // Once it is over, the next run starts (the slot is free even if the projection is late).
    const next = await h.start(shop.workflow.order_processing);
    assert.equal((await h.wait(next.execution_id)).status, 'completed');
  });

  it(`${RUNS} runs forced to overlap (started straight through Temporal) split the orders: one label, one shipment, one reservation per line`, async () => {
    const { h } = env;
    const orders = await newOrders(h, shop, ORDERS);
    const before = await deadlocks(h.dataSource);
    const ids = await Promise.all(Array.from({ length: RUNS }, () => startDirect(h, shop.workflow.order_processing)));
    const results = await Promise.all(ids.map((id) => h.wait(id)));
    results.forEach((r, i) => assert.equal(r.status, 'completed', `${ids[i]}: ${String((r.error as Error | undefined)?.message)}`));
    const after = await deadlocks(h.dataSource);
    const state = shop.sandbox.state;
    const perOrder = [...state.labelsPerOrder().values()];
    // The invariant counts, printed before they are asserted (the report's figures).
    console.log(
      `chaos overlapping orders: ${RUNS} runs over ${ORDERS} new orders: ${state.labels.size} labels for ${state.counters.shipments} shipped orders ` +
        `(max ${Math.max(...perOrder)} per order, ${state.counters.labels_voided} voided), ${state.counters.shipment_conflicts} shipment notices refused, ` +
        `deadlocks ${after - before}`,
    );

    await assertExactlyOnce(orders);
    assert.equal(after - before, 0, 'no deadlock (pg_stat_database.deadlocks)');

    // The runs split the work: each order was reserved and shipped by exactly one of them.
    let reserved = 0;
    let shipped = 0;
    for (const id of ids) {
      const out = await stepOutputs(h, id);
      reserved += Number(out.reserve_inventory.reserved_count);
      shipped += Number(out.update_order_status.shipped_count);
    }
    assert.equal(reserved, ORDERS, 'each order reserved by one run');
    assert.equal(shipped, ORDERS, 'each order shipped by one run');
  });
});
