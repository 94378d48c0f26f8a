import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HttpClient } from '@engine/activities/shared/http';
import { StepError } from '@engine/activities/shared/errors';
import { startSandbox, type Sandbox } from '@src/sandbox';
import { CarrierConnector, connectorOptionsFrom, MarketplaceConnector, SupplierConnector } from '@src/commerce/connectors';

/** The connectors against the sandbox's real HTTP APIs. */
describe('commerce connectors', () => {
  let sandbox: Sandbox;
  let secured: Sandbox;
  let client: HttpClient;
  const KEY = 'sandbox-secret-key';

  before(async () => {
    [sandbox, secured] = await Promise.all([startSandbox({ products: 1234, seed: 9, initialOrders: 3 }), startSandbox({ products: 10, apiKey: KEY })]);
    client = new HttpClient({ allowHosts: [`127.0.0.1:${sandbox.port}`, `127.0.0.1:${secured.port}`], retry: { baseDelayMs: 10, jitter: false } });
  });
  after(async () => {
    client.close();
    await Promise.all([sandbox.close(), secured.close()]);
  });

  const supplierOf = (s: Sandbox, extra: Parameters<typeof connectorOptionsFrom>[0]['settings'] = {}) =>
    new SupplierConnector(client, connectorOptionsFrom({ api_base_url: s.urls.supplier, settings: { page_size: 500, ...extra } }));
  const marketplace = () => new MarketplaceConnector(client, connectorOptionsFrom({ api_base_url: sandbox.urls.marketplace }));
  const carrier = () => new CarrierConnector(client, connectorOptionsFrom({ api_base_url: sandbox.urls.carrier }));

  it('reads the whole supplier catalogue and stock, page by page', async () => {
    const pages: unknown[] = [];
    const products = await supplierOf(sandbox).fetchProducts({ heartbeat: (d) => pages.push(d) });
    assert.equal(products.count, 1234);
    assert.equal(products.pages, 3);
    assert.equal(pages.length, 3);
    assert.equal(new Set(products.items.map((p) => p.external_id)).size, 1234);
    assert.deepEqual(products.items[0], sandbox.catalogue.product(0, sandbox.state.stockOf(0)));
    const stock = await supplierOf(sandbox).fetchInventory({ maxItems: 700 });
    assert.equal(stock.count, 700);
    assert.equal(stock.truncated, true);
    assert.equal(stock.items[5].quantity, sandbox.state.stockOf(5));
    assert.equal((await supplierOf(sandbox).getProduct('SUP-999999')), null);
  });

  it('sends credentials from the resolved secret, and fails for good without them', async () => {
    const ok = new SupplierConnector(client, connectorOptionsFrom({ api_base_url: secured.urls.supplier, credentials: { type: 'bearer', secret: 'K' } }, KEY));
    assert.equal((await ok.fetchProducts()).count, 10);
    const viaHeader = new SupplierConnector(client, connectorOptionsFrom({ api_base_url: secured.urls.supplier, credentials: { type: 'api_key', secret: 'K', header: 'X-API-Key' } }, KEY));
    assert.equal((await viaHeader.fetchInventory()).count, 10);
    await assert.rejects(supplierOf(secured).fetchProducts(), (err: StepError) => err.code === 'HTTP_CLIENT_ERROR' && err.retryable === false);
    assert.throws(() => connectorOptionsFrom({ api_base_url: secured.urls.supplier, credentials: { type: 'bearer', secret: 'K' } }, null), /secret K/);
  });

  it('retries injected 5xx answers and honours 429 Retry-After', async () => {
    sandbox.setFaults({ errorRate: 0.4, seed: 3 });
    try {
      const r = await supplierOf(sandbox, { retry_attempts: 10 }).fetchProducts();
      assert.equal(r.count, 1234);
    } finally {
      sandbox.setFaults({});
    }
    sandbox.setRateLimit({ requestsPerSecond: 2, burst: 1 });
    try {
      const limited = sandbox.state.counters.rate_limited;
      const r = await supplierOf(sandbox, { page_size: 1000 }).fetchProducts();
      assert.equal(r.count, 1234);
      assert.ok(sandbox.state.counters.rate_limited > limited, 'the sandbox answered 429 at least once');
    } finally {
      sandbox.setRateLimit(null);
    }
  });

  it('paces requests on the client side when the row asks for it', async () => {
    const started = Date.now();
    const r = await supplierOf(sandbox, { page_size: 200, requests_per_second: 20 }).fetchProducts();
    assert.equal(r.pages, 7);
    assert.ok(Date.now() - started >= 6 * 50 - 20, 'seven requests at 20/s take at least 300 ms');
  });

  it('creates a listing once per SKU, updates it and pushes quantities', async () => {
    const m = marketplace();
    const input = { sku: 'SUP-000001', title: 'Lamp', price: 12.5, quantity: 3 };
    const first = await m.createListing(input, { idempotencyKey: 'k-1' });
    assert.equal(first.created, true);
    const replay = await m.createListing(input, { idempotencyKey: 'k-1' });
    assert.deepEqual([replay.created, replay.listing.id], [false, first.listing.id]);
    const other = await m.createListing(input, { idempotencyKey: 'k-2' });
    assert.deepEqual([other.created, other.listing.id], [false, first.listing.id], 'a second key for a listed SKU returns the existing listing');
    assert.equal(sandbox.state.listings.size, 1);
    assert.equal((await m.updateListing(first.listing.id, { price: 14 })).price, 14);
    assert.deepEqual(await m.updateInventory('SUP-000001', 9), { sku: 'SUP-000001', listing_id: first.listing.id, quantity: 9, updated_at: sandbox.state.listingForSku('SUP-000001')!.updated_at });
    assert.equal(await m.updateInventory('SUP-000002', 9), null);
    const bulk = await m.bulkUpdateInventory(Array.from({ length: 600 }, (_, i) => ({ sku: i === 0 ? 'SUP-000001' : `SUP-${String(i + 1).padStart(6, '0')}`, quantity: 4 })));
    assert.equal(bulk.updated, 1);
    assert.equal(bulk.not_found.length, 599);
    assert.equal((await m.fetchListings({ status: 'active' })).count, 1);
    await assert.rejects(m.createListing({ sku: 'SUP-000003', title: 'x', price: -1 }, { idempotencyKey: 'k-3' }), (e: StepError) => e.code === 'HTTP_CLIENT_ERROR');
  });

  it('fetches new orders, acknowledges and ships them once, and buys and voids labels', async () => {
    const m = marketplace();
    const c = carrier();
    const orders = await m.fetchOrders();
    assert.equal(orders.count, 3);
    const order = orders.items[0];
    assert.equal((await m.acknowledgeOrder(order.id)).status, 'acknowledged');
    assert.equal((await m.acknowledgeOrder(order.id)).status, 'acknowledged', 'acknowledging again is a no-op');
    assert.equal((await m.fetchOrders({ status: 'new' })).count, 2);
    const label = await c.createLabel({ order_id: order.id, ship_to: order.shipping_address as never, weight_kg: 1.2 }, { idempotencyKey: `label:${order.id}` });
    assert.equal((await c.createLabel({ order_id: order.id, ship_to: order.shipping_address as never }, { idempotencyKey: `label:${order.id}` })).id, label.id);
    const notice = { tracking_number: label.tracking_number, carrier: label.carrier, label_id: label.id };
    assert.equal((await m.notifyShipment(order.id, notice)).status, 'shipped');
    assert.equal((await m.notifyShipment(order.id, notice)).status, 'shipped', 'the same shipment again is a no-op');
    await assert.rejects(m.notifyShipment(order.id, { ...notice, tracking_number: 'OTHER' }), (e: StepError) => e.code === 'HTTP_CLIENT_ERROR' && /409/.test(e.message));
    assert.equal((await c.voidLabel(label.id)).status, 'voided');
    assert.equal((await c.voidLabel(label.id)).status, 'voided');
    sandbox.setCarrierFailure(true);
    try {
      await assert.rejects(
        c.createLabel({ order_id: orders.items[1].id, ship_to: orders.items[1].shipping_address as never }, { idempotencyKey: 'label:x' }),
        (e: StepError) => e.code === 'HTTP_CLIENT_ERROR' && e.retryable === false && /422/.test(e.message),
      );
    } finally {
      sandbox.setCarrierFailure(false);
    }
  });
});
