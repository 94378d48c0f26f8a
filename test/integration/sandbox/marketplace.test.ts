import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { startSandbox, type Order, type Sandbox } from '@src/sandbox';
import { call, listingBody, postWithKey, walkLinks } from './support';

describe('sandbox marketplace API', () => {
  let sandbox: Sandbox;
  let listings: string;
  before(async () => {
    sandbox = await startSandbox({ products: 200, initialOrders: 12 });
    listings = `${sandbox.urls.marketplace}/listings`;
  });
  beforeEach(() => sandbox.reset());
  after(() => sandbox.close());

  it('creates a listing once per Idempotency-Key and replays it for a repeated key', async () => {
    const first = await postWithKey(listings, 'key-1', listingBody('SUP-000001'));
    assert.equal(first.status, 201);
    assert.match(first.body.id, /^lst_/);
    assert.equal(first.body.status, 'active');
    const again = await postWithKey(listings, 'key-1', listingBody('SUP-000001'));
    assert.equal(again.status, 200);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(again.body, first.body);
    const list = await call(listings);
    assert.equal(list.body.total, 1);
    assert.equal(sandbox.state.counters.listings_created, 1);
  });

  it('never lists a SKU twice: a second key for a listed SKU is a 409 naming the listing', async () => {
    const first = await postWithKey(listings, 'a', listingBody('SUP-000002'));
    const second = await postWithKey(listings, 'b', listingBody('SUP-000002'));
    assert.equal(second.status, 409);
    assert.equal(second.body.error.code, 'listing_exists');
    assert.equal(second.body.error.listing_id, first.body.id);
  });

  it('validates listings, naming the field', async () => {
    const cases: Array<[Record<string, string>, unknown, string]> = [
      [{}, listingBody('SUP-000003'), 'Idempotency-Key'],
      [{ 'Idempotency-Key': 'v1' }, listingBody('SUP-000003', { price: -1 }), 'price'],
      [{ 'Idempotency-Key': 'v2' }, { sku: 'SUP-000003', price: 5 }, 'title'],
      [{ 'Idempotency-Key': 'v3' }, { title: 'x', price: 5 }, 'sku'],
      [{ 'Idempotency-Key': 'v4' }, listingBody('SUP-000003', { quantity: 1.5 }), 'quantity'],
      [{ 'Idempotency-Key': 'v5' }, listingBody('SUP-000003', { images: ['ftp://x'] }), 'images[0]'],
      [{ 'Idempotency-Key': 'v6' }, '{not json', 'body'],
      [{ 'Idempotency-Key': 'v7' }, [1, 2], 'body'],
    ];
    for (const [headers, body, field] of cases) {
      const res = await call(listings, { method: 'POST', body, headers });
      assert.equal(res.status, 400, field);
      assert.equal(res.body.error.code, 'validation_error');
      assert.equal(res.body.error.field, field);
    }
    assert.equal(sandbox.state.listings.size, 0);
  });

  it('updates a listing, filters listings and answers 404/405 as JSON', async () => {
    const created = await postWithKey(listings, 'p1', listingBody('SUP-000004'));
    await postWithKey(listings, 'p2', listingBody('SUP-000005'));
    const patched = await call(`${listings}/${created.body.id}`, { method: 'PATCH', body: { price: 25.5, status: 'inactive' } });
    assert.equal(patched.status, 200);
    assert.equal(patched.body.price, 25.5);
    assert.equal(patched.body.status, 'inactive');
    assert.equal((await call(`${listings}?status=active`)).body.total, 1);
    assert.equal((await call(`${listings}?sku=SUP-000004`)).body.items[0].id, created.body.id);
    assert.equal((await call(`${listings}/${created.body.id}`, { method: 'PATCH', body: { sku: 'X' } })).body.error.field, 'sku');
    assert.equal((await call(`${listings}/lst_999999`, { method: 'PATCH', body: { price: 1 } })).status, 404);
    const unknown = await call(`${sandbox.urls.marketplace}/nothing-here`);
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, 'not_found');
    const wrongMethod = await call(listings, { method: 'DELETE' });
    assert.equal(wrongMethod.status, 405);
    assert.match(wrongMethod.headers.get('allow') ?? '', /GET/);
  });

  it('updates available quantities one SKU at a time and in bulk', async () => {
    await postWithKey(listings, 'i1', listingBody('SUP-000006'));
    await postWithKey(listings, 'i2', listingBody('SUP-000007'));
    const single = await call(`${sandbox.urls.marketplace}/inventory/SUP-000006`, { method: 'PUT', body: { quantity: 42 } });
    assert.equal(single.status, 200);
    assert.equal(single.body.quantity, 42);
    assert.equal((await call(`${sandbox.urls.marketplace}/inventory/SUP-000199`, { method: 'PUT', body: { quantity: 1 } })).status, 404);
    const bulk = await call(`${sandbox.urls.marketplace}/inventory`, {
      method: 'POST',
      body: { items: [{ sku: 'SUP-000006', quantity: 0 }, { sku: 'SUP-000007', quantity: 9 }, { sku: 'SUP-000150', quantity: 3 }] },
    });
    assert.equal(bulk.status, 200);
    assert.deepEqual([bulk.body.updated, bulk.body.not_found], [2, 1]);
    assert.deepEqual(bulk.body.results.map((r: { status: string }) => r.status), ['updated', 'updated', 'not_found']);
    const invalid = await call(`${sandbox.urls.marketplace}/inventory`, { method: 'POST', body: { items: [{ sku: 'SUP-000006', quantity: 5 }, { sku: 'SUP-000007', quantity: -1 }] } });
    assert.equal(invalid.status, 400);
    assert.equal(invalid.body.error.field, 'items[1].quantity');
    assert.equal(sandbox.state.listingForSku('SUP-000006')!.quantity, 0, 'a rejected bulk request changes nothing');
    assert.equal(sandbox.state.counters.inventory_updates, 3);
  });

  it('seeds new orders deterministically and pages through them by status', async () => {
    const { items } = await walkLinks<Order>(`${sandbox.urls.marketplace}/orders?status=new&page=1&page_size=5`, false);
    assert.equal(items.length, 12);
    for (const order of items) {
      assert.equal(order.status, 'new');
      assert.ok(order.items.length >= 1);
      for (const item of order.items) assert.notEqual(sandbox.catalogue.indexOfSku(item.sku), undefined, item.sku);
    }
    assert.equal((await call(`${sandbox.urls.marketplace}/orders?status=lost`)).body.error.field, 'status');
  });

  it('creates orders for listed SKUs through the admin API', async () => {
    for (const sku of ['SUP-000010', 'SUP-000011', 'SUP-000012']) await postWithKey(listings, sku, listingBody(sku));
    const created = await call(`${sandbox.urls.admin}/orders`, { method: 'POST', body: { count: 8 } });
    assert.equal(created.status, 201);
    assert.equal(created.body.items.length, 8);
    for (const order of created.body.items as Order[]) {
      for (const item of order.items) {
        assert.ok(['SUP-000010', 'SUP-000011', 'SUP-000012'].includes(item.sku));
        assert.equal(item.listing_id, sandbox.state.listingForSku(item.sku)!.id);
        assert.equal(item.unit_price, 19.99);
      }
    }
    assert.equal((await call(`${sandbox.urls.marketplace}/orders?status=new`)).body.total, 20);
    const bad = await call(`${sandbox.urls.admin}/orders`, { method: 'POST', body: { skus: ['SUP-000010', 'NOPE'] } });
    assert.equal(bad.body.error.field, 'skus[1]');
  });

  it('acknowledges an order idempotently', async () => {
    const first = await call(`${sandbox.urls.marketplace}/orders/ord_000001/acknowledge`, { method: 'POST' });
    assert.equal(first.status, 200);
    assert.equal(first.body.status, 'acknowledged');
    const again = await call(`${sandbox.urls.marketplace}/orders/ord_000001/acknowledge`, { method: 'POST' });
    assert.equal(again.status, 200);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.equal(again.body.acknowledged_at, first.body.acknowledged_at);
    assert.equal(sandbox.state.counters.acknowledged_orders, 1);
    assert.equal((await call(`${sandbox.urls.marketplace}/orders?status=new`)).body.total, 11);
    assert.equal((await call(`${sandbox.urls.marketplace}/orders/ord_999999/acknowledge`, { method: 'POST' })).status, 404);
  });

  it('records one shipment per order: same tracking number replays, a different one is a 409', async () => {
    const ship = (tracking: string) =>
      call(`${sandbox.urls.marketplace}/orders/ord_000002/shipment`, { method: 'POST', body: { tracking_number: tracking, carrier: 'sandbox-post' } });
    const early = await ship('T1');
    assert.equal(early.status, 409);
    assert.equal(early.body.error.code, 'order_not_acknowledged');
    await call(`${sandbox.urls.marketplace}/orders/ord_000002/acknowledge`, { method: 'POST' });
    const first = await ship('T1');
    assert.equal(first.status, 201);
    assert.equal(first.body.status, 'shipped');
    assert.equal(first.body.shipment.tracking_number, 'T1');
    const replay = await ship('T1');
    assert.equal(replay.status, 200);
    assert.deepEqual(replay.body, first.body);
    const conflict = await ship('T2');
    assert.equal(conflict.status, 409);
    assert.equal(conflict.body.error.code, 'shipment_exists');
    const missingCarrier = await call(`${sandbox.urls.marketplace}/orders/ord_000002/shipment`, { method: 'POST', body: { tracking_number: 'T1' } });
    assert.equal(missingCarrier.body.error.field, 'carrier');
    assert.equal(sandbox.state.counters.shipments, 1);
  });
});
