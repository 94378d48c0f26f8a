import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { startSandbox, type Sandbox } from '@src/sandbox';
import { SHIP_TO, call, listingBody, postWithKey } from './support';

describe('sandbox rate limits', () => {
  let sandbox: Sandbox;
  before(async () => {
    sandbox = await startSandbox({ products: 20, rateLimit: { requestsPerSecond: 2, burst: 3 } });
  });
  after(() => sandbox.close());

  it('answers 429 with Retry-After once an API bucket is empty, per API', async () => {
    const results = await Promise.all(Array.from({ length: 10 }, () => call(`${sandbox.urls.supplier}/products?page_size=1`)));
    const limited = results.filter((r) => r.status === 429);
    assert.equal(results.filter((r) => r.status === 200).length + limited.length, 10);
    assert.ok(limited.length >= 5, `${limited.length} of 10 were limited`);
    for (const res of limited) {
      assert.equal(res.body.error.code, 'rate_limited');
      assert.ok(Number(res.headers.get('retry-after')) >= 1, `Retry-After ${res.headers.get('retry-after')}`);
    }
    // The marketplace has its own bucket; the admin API is never limited.
    assert.equal((await call(`${sandbox.urls.marketplace}/orders`)).status, 200);
    const state = await call(`${sandbox.urls.admin}/state`);
    assert.equal(state.body.rate_limited, limited.length);
    assert.deepEqual(state.body.settings.rate_limit, { requests_per_second: 2, burst: 3 });
  });

  it('can change the limit at runtime through the admin API', async () => {
    await call(`${sandbox.urls.admin}/rate-limit`, { method: 'POST', body: {} });
    const results = await Promise.all(Array.from({ length: 20 }, () => call(`${sandbox.urls.carrier}/labels/lbl_000001`)));
    assert.ok(results.every((r) => r.status === 404));
    await call(`${sandbox.urls.admin}/rate-limit`, { method: 'POST', body: { requests_per_second: 1, burst: 1 } });
    const [a, b] = await Promise.all([call(`${sandbox.urls.supplier}/products`), call(`${sandbox.urls.supplier}/products`)]);
    assert.deepEqual([a.status, b.status].sort(), [200, 429]);
  });
});

describe('sandbox fault injection', () => {
  let sandbox: Sandbox;
  before(async () => {
    sandbox = await startSandbox({ products: 100 });
  });
  beforeEach(() => sandbox.reset());
  after(() => sandbox.close());

  it('fails roughly the configured fraction of requests with 500, 502 or 503', async () => {
    sandbox.setFaults({ errorRate: 0.2, seed: 99 });
    const statuses: number[] = [];
    for (let i = 0; i < 400; i++) statuses.push((await call(`${sandbox.urls.supplier}/products?page_size=1`)).status);
    const failed = statuses.filter((s) => s !== 200);
    assert.ok(failed.every((s) => [500, 502, 503].includes(s)), `unexpected statuses ${[...new Set(failed)]}`);
    assert.ok(failed.length > 400 * 0.12 && failed.length < 400 * 0.28, `${failed.length} of 400 failed`);
    assert.equal(new Set(failed).size, 3);
    assert.equal(sandbox.state.counters.faults_injected, failed.length);
    assert.equal(sandbox.state.counters.requests_served, 400);
  });

  it('repeats the same fault pattern for the same seed', async () => {
    const pattern = async (): Promise<number[]> => {
      await call(`${sandbox.urls.admin}/faults`, { method: 'POST', body: { error_rate: 0.3, seed: 5 } });
      const statuses: number[] = [];
      for (let i = 0; i < 50; i++) statuses.push((await call(`${sandbox.urls.supplier}/inventory?page_size=1`)).status);
      return statuses;
    };
    assert.deepEqual(await pattern(), await pattern());
  });

  it('never changes state on a faulted request, so retrying with the same key is safe', async () => {
    sandbox.setFaults({ errorRate: 0.5, seed: 3 });
    const pending = new Set(Array.from({ length: 40 }, (_, i) => `SUP-${String(i + 1).padStart(6, '0')}`));
    let faulted = 0;
    for (let round = 0; pending.size > 0 && round < 30; round++) {
      for (const sku of [...pending]) {
        const res = await postWithKey(`${sandbox.urls.marketplace}/listings`, `create-${sku}`, listingBody(sku));
        if (res.status === 201) pending.delete(sku);
        else {
          assert.ok(res.status >= 500, `${res.status} ${JSON.stringify(res.body)}`);
          faulted++;
          // The faulted request left no trace: the SKU is still unlisted.
          assert.equal(sandbox.state.listingForSku(sku), undefined);
        }
      }
    }
    assert.equal(pending.size, 0);
    assert.ok(faulted > 5, `${faulted} faults`);
    assert.equal(sandbox.state.listings.size, 40);
    assert.equal(sandbox.state.counters.listings_created, 40);
    assert.equal(sandbox.state.counters.faults_injected, faulted);

    // Acknowledge and ship under faults: state changes exactly once per order.
    const orderId = 'ord_000001';
    for (let i = 0; i < 20; i++) await call(`${sandbox.urls.marketplace}/orders/${orderId}/acknowledge`, { method: 'POST' });
    assert.equal(sandbox.state.counters.acknowledged_orders, 1);
  });

  it('holds a request past the client timeout without changing state, and faults can be switched off', async () => {
    sandbox.setFaults({ timeoutRate: 1 });
    for (const key of ['hang', 'hang']) {
      const request = call(`${sandbox.urls.carrier}/labels`, {
        method: 'POST',
        body: { order_id: 'ord_000001', ship_to: SHIP_TO },
        headers: { 'Idempotency-Key': key },
        signal: AbortSignal.timeout(150),
      });
      await assert.rejects(request, { name: 'TimeoutError' });
    }
    assert.equal(sandbox.state.labels.size, 0);
    assert.equal(sandbox.state.counters.timeouts_injected, 2);
    sandbox.setFaults({});
    const ok = await postWithKey(`${sandbox.urls.carrier}/labels`, 'hang', { order_id: 'ord_000001', ship_to: SHIP_TO });
    assert.equal(ok.status, 201);
  });

  it('answers 504 after hang_ms when the client waits that long', async () => {
    await call(`${sandbox.urls.admin}/faults`, { method: 'POST', body: { timeout_rate: 1, hang_ms: 50 } });
    const res = await call(`${sandbox.urls.supplier}/products`);
    assert.equal(res.status, 504);
    assert.equal(res.body.error.code, 'injected_timeout');
  });

  it('delays every API request by the configured latency, but not the admin API', async () => {
    sandbox.setLatency(300);
    const started = performance.now();
    await call(`${sandbox.urls.supplier}/products?page_size=1`);
    const apiMs = performance.now() - started;
    assert.ok(apiMs >= 290, `API answered in ${apiMs} ms`);
    // With a minute of latency, the admin API still answers while an API request waits.
    sandbox.setLatency(60_000);
    const waiting = new AbortController();
    const api = fetch(`${sandbox.urls.supplier}/products?page_size=1`, { signal: waiting.signal }).then(() => 'api', () => 'aborted');
    const first = await Promise.race([api, call(`${sandbox.urls.admin}/state`).then(() => 'admin')]);
    waiting.abort();
    await api;
    sandbox.setLatency(300);
    assert.equal(first, 'admin', 'the admin API is not delayed');
    assert.equal((await call(`${sandbox.urls.admin}/latency`, { method: 'POST', body: { latency_ms: -1 } })).body.error.field, 'latency_ms');
  });
});

describe('sandbox options', () => {
  it('rejects impossible fault settings', async () => {
    await assert.rejects(startSandbox({ faults: { errorRate: 0.7, timeoutRate: 0.6 } }), RangeError);
    await assert.rejects(startSandbox({ host: '0.0.0.0' as '127.0.0.1' }), RangeError);
  });
});

describe('sandbox auth', () => {
  let sandbox: Sandbox;
  before(async () => {
    sandbox = await startSandbox({ products: 10, apiKey: 'sekret' });
  });
  after(() => sandbox.close());

  it('answers 401 without a valid key and accepts Bearer or X-API-Key', async () => {
    for (const headers of [{}, { Authorization: 'Bearer wrong' }, { 'X-API-Key': 'nope' }] as Record<string, string>[]) {
      const res = await call(`${sandbox.urls.supplier}/products`, { headers });
      assert.equal(res.status, 401);
      assert.equal(res.body.error.code, 'unauthorized');
    }
    assert.equal((await call(`${sandbox.urls.admin}/state`)).status, 401);
    assert.equal((await call(`${sandbox.urls.supplier}/products`, { headers: { Authorization: 'Bearer sekret' } })).status, 200);
    assert.equal((await call(`${sandbox.urls.marketplace}/orders`, { headers: { 'X-API-Key': 'sekret' } })).status, 200);
    const state = await call(`${sandbox.urls.admin}/state`, { headers: { 'X-API-Key': 'sekret' } });
    assert.equal(state.body.unauthorized, 4);
    // Images stay public, like files behind a CDN.
    assert.equal((await fetch(`${sandbox.urls.supplier}/images/SUP-000001/1.svg`).then(async (r) => (await r.arrayBuffer(), r.status))), 200);
  });
});

describe('sandbox admin state', () => {
  let sandbox: Sandbox;
  before(async () => {
    sandbox = await startSandbox({ products: 100, initialOrders: 5 });
  });
  after(() => sandbox.close());

  it('counts listings, acknowledged orders, shipments, labels, inventory updates and requests; reset clears them', async () => {
    const m = sandbox.urls.marketplace;
    await postWithKey(`${m}/listings`, 'a', listingBody('SUP-000001'));
    await postWithKey(`${m}/listings`, 'a', listingBody('SUP-000001'));
    await postWithKey(`${m}/listings`, 'b', listingBody('SUP-000002'));
    await call(`${m}/inventory`, { method: 'POST', body: { items: [{ sku: 'SUP-000001', quantity: 3 }, { sku: 'SUP-000002', quantity: 4 }] } });
    await call(`${m}/orders/ord_000001/acknowledge`, { method: 'POST' });
    await call(`${m}/orders/ord_000001/acknowledge`, { method: 'POST' });
    await call(`${m}/orders/ord_000002/acknowledge`, { method: 'POST' });
    const label = await postWithKey(`${sandbox.urls.carrier}/labels`, 'l1', { order_id: 'ord_000001', ship_to: SHIP_TO });
    await call(`${m}/orders/ord_000001/shipment`, { method: 'POST', body: { tracking_number: label.body.tracking_number, carrier: label.body.carrier, label_id: label.body.id } });
    await call(`${sandbox.urls.supplier}/nope`);

    const state = (await call(`${sandbox.urls.admin}/state`)).body;
    assert.equal(state.listings, 2);
    assert.equal(state.acknowledged_orders, 2);
    assert.equal(state.shipments, 1);
    assert.equal(state.labels, 1);
    assert.equal(state.inventory_updates, 2);
    assert.equal(state.requests_served, 10);
    assert.deepEqual(state.requests_by_api, { supplier: 1, marketplace: 8, carrier: 1, generic: 0, feed: 0 });
    assert.equal(state.idempotent_replays, 2);
    assert.equal(state.rate_limited, 0);
    assert.equal(state.faults_injected, 0);
    assert.deepEqual(state.orders_by_status, { new: 3, acknowledged: 1, shipped: 1 });

    const reset = (await call(`${sandbox.urls.admin}/reset`, { method: 'POST' })).body;
    assert.equal(reset.listings, 0);
    assert.equal(reset.requests_served, 0);
    assert.deepEqual(reset.orders_by_status, { new: 5, acknowledged: 0, shipped: 0 });
    assert.equal((await call(`${sandbox.urls.admin}/nothing`)).status, 404);
  });
});
