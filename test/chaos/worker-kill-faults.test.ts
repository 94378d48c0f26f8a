/**
 * kill -9 of the worker process while order runs buy labels from a flaky
 * shop (about 25 % injected 5xx plus 429s): a fresh worker process finishes
 * every run, and the shop's invariants hold on both sides, in our tables and
 * in the sandbox's own records.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import type { Sandbox } from '@src/sandbox';
import { eventually } from '@test/support/harness';
import { killWorkerProcess, startWorkerProcess } from '@test/support/worker-process-control';
import { count, createShop, rows, startCommerceEnv, OPENAI_KEY, type CommerceEnv, type Shop } from '@test/integration/commerce/support';
import { newOrders, stockShop } from './overlap-support';

const SHOPS = 3;
const ORDERS = 30;

async function admin(sandbox: Sandbox, route: string, body: unknown): Promise<void> {
  const res = await fetch(`${sandbox.urls.admin}${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  assert.equal(res.status, 200, `${route}: ${await res.text()}`);
}

/** The run's status as Temporal has it, in the projection's words. */
async function temporalStatus(env: CommerceEnv, executionId: string): Promise<string> {
  const d = await env.h.client.workflow.getHandle(executionId).describe();
  return d.status.name.toLowerCase();
}

describe('chaos: kill -9 of the worker while order runs buy labels from a flaky shop', () => {
  let env: CommerceEnv;
  const shops: Shop[] = [];
  let worker: ChildProcess | null = null;

  before(async () => {
    env = await startCommerceEnv(Array.from({ length: SHOPS }, (_, i) => ({ products: 30, seed: 31 + i })));
    // The shops are stocked by the harness's own worker, without faults; the order runs get the worker process only.
    for (const sandbox of env.sandboxes) {
      const shop = await createShop(env.h, sandbox);
      await stockShop(env.h, shop);
      shops.push(shop);
    }
  });
  after(async () => {
    if (worker) await killWorkerProcess(worker);
    await env?.close();
  });

  it(`${SHOPS} order runs, worker killed mid-labels under 25 % 5xx and 429s: every run completes, one label and one shipment per shipped order`, async () => {
    const { h } = env;
    const created: Array<Awaited<ReturnType<typeof newOrders>>> = [];
    const eligible: number[] = [];
    for (const shop of shops) {
      const orders = await newOrders(h, shop, ORDERS);
      created.push(orders);
      // The dearest quarter is over the auto-ship limit: those orders stay open (acknowledged, stock reserved).
      const totals = orders.map((o) => shop.sandbox.state.order(o.id).total).sort((a, b) => a - b);
      const wf = await h.workflows.get(shop.workflow.order_processing);
      const limit = totals[Math.floor(ORDERS * 0.75) - 1];
      eligible.push(totals.filter((t) => t <= limit).length);
      await h.workflows.update(shop.workflow.order_processing, { config: { ...wf.config, auto_ship_max_total: limit, auto_ship_countries: ['US'] } });
    }
    await h.stopWorker();
    const workerEnv = {
      HTTP_ALLOW_HOSTS: env.sandboxes.map((s) => `127.0.0.1:${s.port}`).join(','),
      OPENAI_BASE_URL: env.ai.baseUrl,
      OPENAI_API_KEY: OPENAI_KEY,
      OPENAI_MODEL: 'stub-model',
      PAYLOAD_THRESHOLD_BYTES: String(256 * 1024),
    };
    worker = await startWorkerProcess(h.taskQueue, workerEnv);
    for (const [i, s] of env.sandboxes.entries()) {
      await admin(s, '/faults', { error_rate: 0.25, seed: 100 + i });
      await admin(s, '/rate-limit', { requests_per_second: 40, burst: 8 });
      await admin(s, '/latency', { latency_ms: 400 }); // label buying takes seconds: time to kill in the middle of it
    }

    // One run per marketplace, through the API service (the singleton allows one each), over disjoint orders.
    const ids: string[] = [];
    for (const shop of shops) ids.push((await h.start(shop.workflow.order_processing)).execution_id);
    // As soon as a run has bought its first label, its shop slows right down, so every run is mid-labels when the worker dies.
    const stalled = new Set<Sandbox>();
    await eventually(
      async () => {
        for (const s of env.sandboxes) {
          if (stalled.has(s) || s.state.labels.size === 0) continue;
          await admin(s, '/latency', { latency_ms: 10_000 });
          stalled.add(s);
        }
        return stalled.size === env.sandboxes.length;
      },
      120_000,
      'every run buying labels',
    ).catch(async (err) => {
      const steps = await rows(h.dataSource, `SELECT execution_id, step_key, status, attempt, error_message FROM workflow_step_executions WHERE execution_id = ANY($1) ORDER BY execution_id, started_at`, [ids]);
      throw new Error(`${(err as Error).message}\n${JSON.stringify(steps)}\n${JSON.stringify(env.sandboxes.map((s) => s.state.counters))}`);
    });
    const labelsAtKill = env.sandboxes.map((s) => s.state.labels.size);
    await killWorkerProcess(worker);
    const killedAt = Date.now();
    worker = await startWorkerProcess(h.taskQueue, workerEnv);
    for (const s of env.sandboxes) await admin(s, '/latency', { latency_ms: 20 });

    const results = await Promise.all(ids.map((id) => h.wait(id)));
    const recoveredMs = Date.now() - killedAt;
    results.forEach((r, i) => assert.equal(r.status, 'completed', `${ids[i]}: ${String((r.error as Error | undefined)?.message)}`));

    // The projection agrees with Temporal on every run.
    await eventually(
      async () => {
        const projected = await rows<{ execution_id: string; status: string }>(h.dataSource, `SELECT execution_id, status FROM workflow_executions WHERE execution_id = ANY($1)`, [ids]);
        return projected.length === ids.length && projected.every((p) => p.status === 'completed');
      },
      60_000,
      'a completed execution row per run',
    );
    const labelAttempts: number[] = [];
    for (const id of ids) {
      const [row] = await rows<{ status: string; failed_items_total: number }>(h.dataSource, `SELECT status, failed_items_total FROM workflow_executions WHERE execution_id = $1`, [id]);
      assert.equal(row.status, await temporalStatus(env, id), `${id}: API/DB status equals Temporal's`);
      const api = await h.executions.get(id);
      assert.equal(api.status, row.status);
      const labelStep = (await h.executions.steps(id)).find((st) => st.step_key === 'generate_labels');
      assert.equal(labelStep?.status, 'completed');
      assert.ok(labelStep.attempt >= 2, `${id}: the label step interrupted by the kill ran again (attempt ${labelStep.attempt})`);
      labelAttempts.push(labelStep.attempt);
    }

    // Both sides, shop by shop.
    const totals = { orders: 0, shipped: 0, open: 0, labels: 0, voided: 0, shipments: 0, activeReservations: 0, reservedUnits: 0, openLineUnits: 0, faults: 0, rateLimited: 0, replays: 0 };
    for (const [i, shop] of shops.entries()) {
      const state = shop.sandbox.state;
      const ours = created[i].map((o) => o.id);
      const market = ours.map((id) => state.order(id));
      const perOrder = state.labelsPerOrder();
      const labels = [...state.labels.values()];
      assert.deepEqual(market.filter((o) => o.status === 'new').map((o) => o.id), [], `shop ${i}: every order was taken (acknowledged or shipped)`);
      for (const o of market.filter((m) => m.status === 'shipped')) {
        assert.equal(perOrder.get(o.id), 1, `${o.id}: one label for a shipped order`);
        const label = labels.find((l) => l.order_id === o.id)!;
        assert.equal(label.status, 'created', `${o.id}: its label is live`);
        assert.equal(o.shipment?.label_id, label.id, `${o.id}: shipped with that label`);
      }
      const unshipped = new Set(market.filter((o) => o.status !== 'shipped').map((o) => o.id));
      assert.deepEqual(labels.filter((l) => unshipped.has(l.order_id) && l.status !== 'voided').map((l) => l.order_id), [], `shop ${i}: no live label for an unshipped order`);
      assert.equal(state.counters.shipment_conflicts, 0, `shop ${i}: no second shipment notice refused`);
      assert.equal(state.counters.idempotency_conflicts, 0, `shop ${i}: no idempotency key reused for another entity`);

      // Our tables: each order once, in the state the marketplace has it; one shipment per shipped order with the carrier's label.
      const db = await rows<{ external_id: string; status: string; shipments: number; label_id: string | null }>(
        h.dataSource,
        `SELECT o.external_id, o.status, count(s.id)::int AS shipments, min(s.label_id) AS label_id FROM orders o LEFT JOIN shipments s ON s.order_id = o.id
         WHERE o.marketplace_id = $1 GROUP BY o.id ORDER BY o.external_id`,
        [shop.marketplaceId],
      );
      assert.equal(db.length, ORDERS, `shop ${i}: one order row per marketplace order`);
      assert.equal(new Set(db.map((d) => d.external_id)).size, ORDERS, `shop ${i}: no duplicate order rows`);
      for (const d of db) {
        const m = state.order(d.external_id);
        if (m.status === 'shipped') {
          assert.equal(d.status, 'shipped', `${d.external_id}: shipped on both sides`);
          assert.equal(d.shipments, 1, `${d.external_id}: one shipment row`);
          assert.equal(d.label_id, m.shipment?.label_id, `${d.external_id}: our shipment has the carrier's label`);
        } else {
          assert.equal(d.status, 'acknowledged', `${d.external_id}: open on both sides`);
          assert.equal(d.shipments, 0, `${d.external_id}: no shipment for an open order`);
        }
      }

      // Reservations: one per line, none twice; the open orders' lines hold exactly the stock reserved.
      const res = await rows<{ n: number; keys: number; active: number; units: number }>(
        h.dataSource,
        `SELECT count(*)::int AS n, count(DISTINCT (order_external_id, line_external_id))::int AS keys,
                count(*) FILTER (WHERE status = 'active')::int AS active, coalesce(sum(quantity) FILTER (WHERE status = 'active'), 0)::int AS units
         FROM reservations WHERE marketplace_id = $1`,
        [shop.marketplaceId],
      );
      const lines = created[i].reduce((n, o) => n + o.items.length, 0);
      assert.deepEqual({ n: res[0].n, keys: res[0].keys }, { n: lines, keys: lines }, `shop ${i}: one reservation per order line, no duplicate`);
      const openLineUnits = await count(
        h.dataSource,
        `SELECT coalesce(sum(l.quantity), 0)::int AS n FROM order_lines l JOIN orders o ON o.id = l.order_id WHERE o.marketplace_id = $1 AND o.status IN ('reserved', 'acknowledged')`,
        [shop.marketplaceId],
      );
      const reserved = await count(h.dataSource, `SELECT coalesce(sum(reserved), 0)::int AS n FROM inventory WHERE supplier_id = $1`, [shop.supplierId]);
      assert.equal(res[0].units, openLineUnits, `shop ${i}: active reservations hold the open orders' lines`);
      assert.equal(reserved, openLineUnits, `shop ${i}: inventory.reserved equals the open orders' lines`);
      const skew = await rows(
        h.dataSource,
        `SELECT i.sku, i.reserved, coalesce((SELECT sum(quantity) FROM reservations r WHERE r.inventory_id = i.id AND r.status = 'active'), 0)::int AS held
         FROM inventory i WHERE i.supplier_id = $1`,
        [shop.supplierId],
      );
      assert.deepEqual(skew.filter((s) => s.reserved !== s.held), [], `shop ${i}: inventory.reserved equals the active reservations, SKU by SKU`);

      const shipped = market.filter((o) => o.status === 'shipped').length;
      totals.orders += ORDERS;
      totals.shipped += shipped;
      totals.open += ORDERS - shipped;
      totals.labels += labels.length;
      totals.voided += labels.filter((l) => l.status === 'voided').length;
      totals.shipments += db.reduce((n, d) => n + d.shipments, 0);
      totals.activeReservations += res[0].active;
      totals.reservedUnits += reserved;
      totals.openLineUnits += openLineUnits;
      totals.faults += state.counters.faults_injected;
      totals.rateLimited += state.counters.rate_limited;
      totals.replays += state.counters.idempotent_replays;
    }
    console.log(
      `# chaos: worker killed with ${labelsAtKill.join('/')} of ${eligible.join('/')} labels bought; ${ids.length} runs finished ${(recoveredMs / 1000).toFixed(1)} s after kill -9 (label step attempts ${labelAttempts.join('/')}); ` +
        `${totals.orders} orders: ${totals.shipped} shipped with ${totals.labels} labels (${totals.voided} voided) and ${totals.shipments} shipments, ` +
        `${totals.open} open holding ${totals.reservedUnits} reserved units = ${totals.openLineUnits} open line units (${totals.activeReservations} active reservations); ` +
        `sandbox: ${totals.faults} injected faults, ${totals.rateLimited} 429s, ${totals.replays} idempotent replays`,
    );
    assert.ok(totals.shipped > 0 && totals.open > 0, 'the scenario both shipped orders and left some open');
    assert.ok(totals.faults > 0 && totals.rateLimited > 0, 'faults and 429s were injected');
    assert.ok(labelsAtKill.every((n, i) => n > 0 && n < eligible[i]), `every run was buying labels at the kill (${labelsAtKill.join('/')} of ${eligible.join('/')})`);
  });
});
