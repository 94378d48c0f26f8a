import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HttpClient } from '@engine/activities/shared/http';
import type { StepError } from '@engine/activities/shared/errors';
import { startSandbox, type Sandbox } from '@src/sandbox';
import { marketplaceAdapter, supplierAdapter } from '@src/commerce/connectors/platforms';
import type { ConnectionRow, MarketplaceAdapter, Page } from '@src/commerce/connectors/platforms/types';
import type { ConnectionPlatform } from '@src/commerce/entities/shared';

/** The Shopify and WooCommerce adapters against the sandbox's Shopify- and WooCommerce-shaped APIs, on loopback. */
describe('shopify and woocommerce adapters', () => {
  let sandbox: Sandbox;
  let client: HttpClient;

  before(async () => {
    sandbox = await startSandbox({ products: 50, seed: 3, initialOrders: 0, shopifyAccessToken: 'shpat_good', woocommerceKey: 'ck_good', woocommerceSecret: 'cs_good' });
    client = new HttpClient({ allowHosts: [`127.0.0.1:${sandbox.port}`], retry: { baseDelayMs: 10, jitter: false } });
  });
  after(async () => {
    client.close();
    await sandbox.close();
  });

  const row = (platform: ConnectionPlatform, settings: Record<string, unknown> = {}): ConnectionRow => ({
    id: 1,
    code: `${platform}_test`,
    platform,
    api_base_url: platform === 'shopify' ? sandbox.urls.shopify : sandbox.urls.woocommerce,
    credentials: { type: 'api_key', secret: 'S' },
    settings,
    field_mapping: null,
    rate_budget: null,
  });
  const shopify = async (settings: Record<string, unknown> = {}, secret = 'shpat_good') => marketplaceAdapter({ row: row('shopify', settings), secret, client });
  const woo = async (settings: Record<string, unknown> = {}, secret = 'ck_good:cs_good') => marketplaceAdapter({ row: row('woocommerce', settings), secret, client });

  async function all<T>(pages: AsyncIterable<Page<T>>): Promise<{ items: T[]; pages: number }> {
    const items: T[] = [];
    let n = 0;
    for await (const p of pages) {
      items.push(...p.items);
      n++;
    }
    return { items, pages: n };
  }

  const listing = (i: number) => ({ sku: sandbox.catalogue.skuOf(i), title: `Product ${i}`, price: 10 + i, quantity: i, description: `d${i}` });

  for (const [name, make] of [
    ['shopify', shopify],
    ['woocommerce', woo],
  ] as const) {
    describe(name, () => {
      let m: MarketplaceAdapter;
      before(async () => {
        sandbox.reset();
        m = await make({ page_size: 3 });
      });

      it('creates listings, then updates the one of a SKU instead of a second', async () => {
        for (let i = 0; i < 7; i++) {
          const r = await m.upsertListing(listing(i), { idempotencyKey: `k${i}` });
          assert.equal(r.created, true);
          assert.equal(r.listing.sku, sandbox.catalogue.skuOf(i));
          assert.equal(r.listing.price, 10 + i);
          assert.equal(r.listing.quantity, i);
        }
        const again = await (await make()).upsertListing({ ...listing(2), title: 'Renamed', price: 99.5 }, { idempotencyKey: 'other' });
        assert.equal(again.created, false);
        assert.equal(again.listing.title, 'Renamed');
        assert.equal(sandbox.state.listings.size, 7);
        assert.equal(sandbox.state.listingForSku(sandbox.catalogue.skuOf(2))!.price, 99.5);
      });

      it('reads every listing to the last page', async () => {
        const { items, pages } = await all(m.listings({}, {}));
        assert.equal(items.length, 7);
        assert.equal(pages, 3);
        assert.deepEqual(new Set(items.map((l) => l.sku)), new Set([...sandbox.state.listings.values()].map((l) => l.sku)));
        const one = await all(m.listings({ sku: sandbox.catalogue.skuOf(4) }, {}));
        assert.deepEqual(one.items.map((l) => l.quantity), [4]);
        // The supplier side reads the same catalogue as products.
        const products = await all((await supplierAdapter({ row: row(name, { page_size: 3 }), secret: name === 'shopify' ? 'shpat_good' : 'ck_good:cs_good', client })).products());
        assert.equal(products.items.length, 7);
        assert.equal(products.items.find((p) => p.sku === sandbox.catalogue.skuOf(5))!.cost_price, 15);
      });

      it('pushes inventory, and names the SKUs it does not list', async () => {
        const r = await m.pushInventory([{ sku: sandbox.catalogue.skuOf(0), quantity: 42 }, { sku: 'NOT-LISTED', quantity: 1 }, { sku: sandbox.catalogue.skuOf(6), quantity: 0 }]);
        assert.deepEqual(r, { updated: 2, not_found: ['NOT-LISTED'] });
        assert.equal(sandbox.state.listingForSku(sandbox.catalogue.skuOf(0))!.quantity, 42);
        assert.equal(sandbox.state.listingForSku(sandbox.catalogue.skuOf(6))!.quantity, 0);
      });

      it('lists new orders to the last page, acknowledges and ships them once', async () => {
        sandbox.state.createOrders(5);
        const fresh = await all(m.orders({ status: 'new' }, {}));
        assert.equal(fresh.items.length, 5);
        assert.equal(fresh.pages, 2);
        const order = fresh.items[0];
        const stateOrder = sandbox.state.orders.get('ord_' + order.id.padStart(6, '0'))!;
        assert.equal(order.total, stateOrder.total);
        assert.equal(order.items[0].sku, stateOrder.items[0].sku);
        assert.equal(order.shipping_address.postal_code, stateOrder.shipping_address.postal_code);
        assert.equal((await m.acknowledgeOrder(order.id)).status, 'acknowledged');
        assert.equal((await m.acknowledgeOrder(order.id)).status, 'acknowledged');
        assert.equal(sandbox.state.counters.acknowledged_orders, 1);
        assert.equal(stateOrder.status, 'acknowledged');
        assert.equal((await all(m.orders({ status: 'new' }, {}))).items.length, 4);
        assert.equal((await all(m.orders({ status: 'acknowledged' }, {}))).items.length, 1);
        const shipped = await m.notifyShipment(order.id, { tracking_number: 'TRK1', carrier: 'sandbox-post' });
        assert.equal(shipped.status, 'shipped');
        assert.equal(stateOrder.shipment!.tracking_number, 'TRK1');
        // The same notice again is a no-op; another tracking number is refused for good.
        assert.equal((await m.notifyShipment(order.id, { tracking_number: 'TRK1', carrier: 'sandbox-post' })).status, 'shipped');
        assert.equal(sandbox.state.counters.shipments, 1);
        await assert.rejects(m.notifyShipment(order.id, { tracking_number: 'TRK2', carrier: 'x' }), (e: StepError) => e.code === 'HTTP_CLIENT_ERROR' && !e.retryable);
        assert.equal((await all(m.orders({ status: 'shipped' }, {}))).items.length, 1);
      });

      it('fails for good, naming the credentials, on a wrong secret', async () => {
        const bad = await make({}, name === 'shopify' ? 'shpat_wrong' : 'ck_good:cs_wrong');
        const before = sandbox.state.counters.unauthorized;
        await assert.rejects(all(bad.orders({}, {})), (e: StepError) => e.code === 'HTTP_CLIENT_ERROR' && e.retryable === false && /refused the credentials \(HTTP 401\)/.test(e.message));
        assert.equal(sandbox.state.counters.unauthorized, before + 1, 'a refused credential is not retried');
        const probe = await bad.probe();
        assert.equal(probe.reachable, true);
        assert.equal(probe.authenticated, false);
        assert.equal(probe.status, 401);
        const good = await (await make()).probe();
        assert.deepEqual([good.reachable, good.authenticated, good.reason], [true, true, undefined]);
        assert.equal(typeof (good.sample as { sku?: unknown }).sku, 'string');
      });

      it('retries injected 5xx answers', async () => {
        sandbox.setFaults({ errorRate: 0.4, seed: 7 });
        try {
          const before = sandbox.state.counters.faults_injected;
          const { items } = await all((await make({ page_size: 2 })).listings({}, {}));
          assert.equal(items.length, 7);
          assert.ok(sandbox.state.counters.faults_injected > before, 'faults were injected and retried');
        } finally {
          sandbox.setFaults({});
        }
      });
    });
  }

  it('woocommerce: query-key auth works and keeps the key out of errors', async () => {
    sandbox.reset();
    await (await woo()).upsertListing(listing(1), { idempotencyKey: 'q' });
    const q = await woo({ auth: 'query' });
    assert.equal((await all(q.listings({}, {}))).items.length, 1);
    const leaky = await woo({ auth: 'query' }, 'ck_good:cs_leaky');
    await assert.rejects(all(leaky.listings({}, {})), (e: Error) => /HTTP 401/.test(e.message) && !e.message.includes('cs_leaky'));
  });

  it('shopify: honours the leaky bucket (429 + Retry-After) and finishes', async () => {
    const small = await startSandbox({ products: 20, initialOrders: 0, shopifyBucket: { size: 3, leakPerSecond: 4 } });
    const c = new HttpClient({ allowHosts: [`127.0.0.1:${small.port}`], retry: { baseDelayMs: 10, jitter: false } });
    try {
      for (let i = 0; i < 4; i++) small.state.createListing(`k${i}`, { sku: small.catalogue.skuOf(i), title: `t${i}`, price: 5 });
      const m = await marketplaceAdapter({ row: { ...row('shopify', { page_size: 1 }), api_base_url: small.urls.shopify }, secret: 'shpat_sandbox', client: c });
      const results = await Promise.all([all(m.listings({}, {})), all(m.listings({}, {})), all(m.listings({}, {}))]);
      for (const r of results) assert.equal(r.items.length, 4);
      assert.ok(small.state.counters.rate_limited > 0, 'the bucket overflowed and the adapter waited');
    } finally {
      c.close();
      await small.close();
    }
  });
  it('the sandbox answers in each platform\'s own shapes: errors, pagination headers, auth', async () => {
    sandbox.reset();
    for (let i = 0; i < 3; i++) sandbox.state.createListing(`s${i}`, { sku: sandbox.catalogue.skuOf(i), title: `t${i}`, price: 5 });
    const shop = (path: string, init: RequestInit = {}) => fetch(`${sandbox.urls.shopify}${path}`, { ...init, headers: { 'X-Shopify-Access-Token': 'shpat_good', 'content-type': 'application/json' } });
    const unwrapped = await shop('/products.json', { method: 'POST', body: JSON.stringify({ title: 'x' }) });
    assert.equal(unwrapped.status, 400);
    assert.deepEqual(await unwrapped.json(), { errors: { product: 'Required parameter missing or invalid' } });
    const first = await shop('/products.json?limit=2');
    assert.match(first.headers.get('x-shopify-shop-api-call-limit') ?? '', /^\d+\/40$/);
    const next = /<([^>]+)>; rel="next"/.exec(first.headers.get('link') ?? '')![1];
    const mixed = await shop(`${new URL(next).pathname.replace(/^.*\/admin\/api\/2024-10/, '')}${new URL(next).search}&status=active`);
    assert.equal(mixed.status, 400, 'page_info takes no other filter');
    const last = (await (await fetch(next, { headers: { 'X-Shopify-Access-Token': 'shpat_good' } })).json()) as { products: unknown[] };
    assert.equal(last.products.length, 1);
    const noToken = await fetch(`${sandbox.urls.shopify}/products.json`);
    assert.equal(noToken.status, 401);
    assert.match(((await noToken.json()) as { errors: string }).errors, /Invalid API key or access token/);

    const wooRes = await fetch(`${sandbox.urls.woocommerce}/products?per_page=2`, { headers: { authorization: `Basic ${Buffer.from('ck_good:cs_good').toString('base64')}` } });
    assert.deepEqual([wooRes.headers.get('x-wp-total'), wooRes.headers.get('x-wp-totalpages')], ['3', '2']);
    assert.equal(((await wooRes.json()) as unknown[]).length, 2);
    const wooBad = await fetch(`${sandbox.urls.woocommerce}/products?consumer_key=ck_good&consumer_secret=nope`);
    assert.equal(wooBad.status, 401);
    assert.deepEqual(await wooBad.json(), { code: 'woocommerce_rest_cannot_view', message: 'Sorry, you cannot list resources.', data: { status: 401 } });
  });
});
