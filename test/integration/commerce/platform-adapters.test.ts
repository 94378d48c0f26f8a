import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpClient } from '@engine/activities/shared/http';
import { StepError } from '@engine/activities/shared/errors';
import { startSandbox, type Sandbox } from '@src/sandbox';
import { marketplaceAdapter, supplierAdapter, type ConnectionRow, type Page, type SupplierAdapter } from '@src/commerce/connectors/platforms';
import type { ConnectionPlatform } from '@src/commerce/entities/shared';

const KEY = 'adapters-sandbox-key';
const PRODUCTS = 237;

/** The generic REST mapping of the sandbox's generic shape to Merchflow's product record. */
const GENERIC_MAPPING = {
  external_id: 'id',
  sku: 'product_code',
  name: 'title',
  description: 'summary',
  brand: 'maker',
  cost_price: 'price.amount',
  currency: 'price.currency',
  images: '[pictures.url]',
  quantity: 'on_hand',
};

const CSV_MAPPING = { external_id: 'external_id', sku: 'sku', name: 'name', cost_price: '$number(cost)', quantity: '$number(stock)', origin: 'origin' };

async function drain<T>(pages: AsyncIterable<Page<T>>): Promise<{ items: T[]; unmapped: Array<{ item: unknown; reason: string }>; pages: number; sizes: number[] }> {
  const items: T[] = [];
  const unmapped: Array<{ item: unknown; reason: string }> = [];
  const sizes: number[] = [];
  for await (const page of pages) {
    items.push(...page.items);
    unmapped.push(...(page.unmapped ?? []));
    sizes.push(page.items.length + (page.unmapped?.length ?? 0));
  }
  return { items, unmapped, pages: sizes.length, sizes };
}

/** Each supplier adapter against its sandbox shape, over real loopback HTTP. */
describe('platform adapters: generic_rest and feed against the sandbox', () => {
  let sandbox: Sandbox;
  let secured: Sandbox;
  let broken: Server;
  let brokenUrl: string;
  let client: HttpClient;
  let nextId = 1;

  before(async () => {
    [sandbox, secured] = await Promise.all([startSandbox({ products: PRODUCTS, seed: 4, invalidRate: 0.05 }), startSandbox({ products: 30, seed: 2, apiKey: KEY })]);
    // A feed with one malformed CSV row and a broken XML document.
    broken = createServer((req, res) => {
      if (req.url === '/bad.csv') {
        res.writeHead(200, { 'content-type': 'text/csv' });
        res.end('sku,external_id,cost\r\nA1,e1,1.5\r\nA2,e2\r\nA3,e3,2.5\r\n');
      } else {
        res.writeHead(200, { 'content-type': 'application/xml' });
        res.end('<catalog><product><sku>A1</sku></product><product><sku>A2</sku></prod></catalog>');
      }
    });
    await new Promise<void>((resolve) => broken.listen(0, '127.0.0.1', resolve));
    brokenUrl = `http://127.0.0.1:${(broken.address() as AddressInfo).port}`;
    client = new HttpClient({
      allowHosts: [`127.0.0.1:${sandbox.port}`, `127.0.0.1:${secured.port}`, new URL(brokenUrl).host],
      retry: { baseDelayMs: 10, jitter: false },
    });
  });
  after(async () => {
    client.close();
    await Promise.all([sandbox.close(), secured.close(), new Promise((r) => broken.close(r))]);
  });

  const row = (platform: ConnectionPlatform, api_base_url: string, settings: Record<string, unknown>, field_mapping: Record<string, string> = {}, credentials: ConnectionRow['credentials'] = null): ConnectionRow => ({
    id: nextId++,
    code: `${platform}_${nextId}`,
    platform,
    api_base_url,
    credentials,
    settings,
    field_mapping,
    rate_budget: null,
  });
  const supplier = (r: ConnectionRow, secret: string | null = null): Promise<SupplierAdapter> => supplierAdapter({ row: r, secret, client });

  const styles: Array<[string, Record<string, unknown>]> = [
    ['offset', { style: 'offset', total_path: 'meta.total' }],
    ['page', { style: 'page', total_pages_path: 'meta.total_pages' }],
    ['cursor', { style: 'cursor', cursor_path: 'meta.next_cursor' }],
    ['link', { style: 'link' }],
  ];
  for (const [style, pagination] of styles) {
    it(`generic_rest, ${style} pagination: walks to the last page and maps every product`, async () => {
      const r = row('generic_rest', sandbox.urls.generic, { products_path: `/${style}/products`, items_path: 'data.products', pagination, page_size: 50 }, GENERIC_MAPPING);
      const beats: unknown[] = [];
      const read = await drain((await supplier(r)).products({ heartbeat: (d) => beats.push(d) }));
      assert.equal(read.pages, Math.ceil(PRODUCTS / 50), 'one page per 50 products, the last one short');
      assert.equal(beats.length, read.pages);
      // Products without a SKU still have their external id: all of them map.
      assert.equal(read.items.length, PRODUCTS);
      assert.equal(new Set(read.items.map((p) => p.external_id)).size, PRODUCTS);
      const p0 = sandbox.catalogue.product(0, sandbox.state.stockOf(0));
      const m0 = read.items.find((p) => p.external_id === p0.external_id)!;
      assert.deepEqual(
        { sku: m0.sku, name: m0.name, cost_price: m0.cost_price, brand: m0.brand, images: m0.images, quantity: m0.quantity },
        { sku: p0.sku, name: p0.name, cost_price: p0.cost_price, brand: p0.brand, images: p0.images, quantity: p0.stock_quantity },
      );
    });
  }

  it('generic_rest: without a total, a short page ends the walk; maxItems stops early; stock levels map', async () => {
    const r = row('generic_rest', sandbox.urls.generic, { products_path: '/offset/products', inventory_path: '/offset/stock', items_path: 'data.products', inventory_items_path: 'data.stock', pagination: { style: 'offset' } }, GENERIC_MAPPING);
    const a = await supplier(r);
    const all = await drain(a.products({ pageSize: 100 }));
    assert.equal(all.items.length, PRODUCTS);
    assert.deepEqual(all.sizes, [100, 100, 37]);
    const some = await drain(a.products({ pageSize: 100, maxItems: 120 }));
    assert.equal(some.items.length, 120);
    const stock = await drain(a.inventory({ pageSize: 100 }));
    assert.equal(stock.items.length, PRODUCTS);
    assert.equal(stock.items[7].quantity, sandbox.state.stockOf(7));
    assert.equal(stock.items[7].external_id, sandbox.catalogue.externalIdOf(7));
  });

  it('generic_rest: an item the mapping cannot map goes to unmapped with the reason, the read goes on', async () => {
    // The SKU as the only key: products without one cannot be keyed.
    const r = row('generic_rest', sandbox.urls.generic, { products_path: '/cursor/products', items_path: 'data.products', pagination: { style: 'cursor', cursor_path: 'meta.next_cursor' } }, { sku: 'product_code', name: 'title', cost_price: '$number(price.amount)' });
    const read = await drain((await supplier(r)).products({ pageSize: 100 }));
    const missingSku = Array.from({ length: PRODUCTS }, (_, i) => i).filter((i) => sandbox.catalogue.defectOf(i) === 'missing_sku').length;
    assert.ok(missingSku > 0, 'the catalogue has products without a SKU');
    assert.equal(read.unmapped.length, missingSku);
    assert.equal(read.items.length, PRODUCTS - missingSku);
    assert.match(read.unmapped[0].reason, /neither external_id nor sku/);
    // A mapping expression that throws names its field.
    const throwing = row('generic_rest', sandbox.urls.generic, { products_path: '/page/products', items_path: 'data.products', pagination: { style: 'page' } }, { external_id: 'id', cost_price: '$number(title)' });
    const bad = await drain((await supplier(throwing)).products({ maxItems: 5, pageSize: 5 }));
    assert.equal(bad.items.length, 0);
    assert.equal(bad.unmapped.length, 5);
    assert.match(bad.unmapped[0].reason, /^field_mapping\.cost_price: /);
  });

  it('generic_rest: refused credentials fail for good naming the connection; good ones (bearer, api_key) read', async () => {
    const settings = { products_path: '/link/products', items_path: 'data.products', pagination: { style: 'link' } };
    const none = row('generic_rest', secured.urls.generic, settings, GENERIC_MAPPING);
    await assert.rejects(drain((await supplier(none)).products()), (err: StepError) => {
      assert.equal(err.code, 'CONNECTION_AUTH_FAILED');
      assert.equal(err.retryable, false);
      assert.match(err.message, new RegExp(`supplier ${none.code} \\(${none.id}\\) refused the credentials \\(HTTP 401\\)`));
      return true;
    });
    const wrong = row('generic_rest', secured.urls.generic, settings, GENERIC_MAPPING, { type: 'bearer', secret: 'GEN_KEY' });
    await assert.rejects(drain((await supplier(wrong, 'not-the-key')).products()), (err: StepError) => err.code === 'CONNECTION_AUTH_FAILED' && /check secret GEN_KEY/.test(err.message) && !err.message.includes('not-the-key'));
    const bearer = await drain((await supplier(row('generic_rest', secured.urls.generic, settings, GENERIC_MAPPING, { type: 'bearer', secret: 'GEN_KEY' }), KEY)).products());
    assert.equal(bearer.items.length, 30);
    const header = await drain((await supplier(row('generic_rest', secured.urls.generic, settings, GENERIC_MAPPING, { type: 'api_key', secret: 'GEN_KEY', header: 'X-API-Key' }), KEY)).products());
    assert.equal(header.items.length, 30);
  });

  it('generic_rest: honours 429 Retry-After and retries injected 5xx answers to the end', async () => {
    const r = row('generic_rest', sandbox.urls.generic, { products_path: '/page/products', items_path: 'data.products', pagination: { style: 'page', total_pages_path: 'meta.total_pages' }, page_size: 20, retry_attempts: 10 }, GENERIC_MAPPING);
    sandbox.setRateLimit({ requestsPerSecond: 10, burst: 2 });
    try {
      const before429 = sandbox.state.counters.rate_limited;
      const read = await drain((await supplier(r)).products());
      assert.equal(read.items.length, PRODUCTS);
      assert.ok(sandbox.state.counters.rate_limited > before429, 'the sandbox answered 429 at least once, and the read waited it out');
    } finally {
      sandbox.setRateLimit(null);
    }
    sandbox.setFaults({ errorRate: 0.3, seed: 11 });
    try {
      const faults = sandbox.state.counters.faults_injected;
      const read = await drain((await supplier(r)).products());
      assert.equal(read.items.length, PRODUCTS);
      assert.ok(sandbox.state.counters.faults_injected > faults, 'some pages were answered 5xx first');
    } finally {
      sandbox.setFaults({});
    }
  });

  const feedFormats: Array<[string, Record<string, unknown>, Record<string, string>]> = [
    ['csv (semicolons, latin1)', { format: 'csv', products_path: '/catalogue.csv?delimiter=%3B&encoding=latin1', delimiter: ';', encoding: 'latin1', page_size: 40 }, CSV_MAPPING],
    ['jsonl', { format: 'jsonl', products_path: '/catalogue.jsonl', page_size: 40 }, { external_id: 'external_id', sku: 'sku', name: 'name', cost_price: 'cost_price', quantity: 'stock_quantity', origin: "'Köln'" }],
    ['xml', { format: 'xml', products_path: '/catalogue.xml', item_path: 'products/product', page_size: 40 }, { external_id: '`@id`', sku: 'sku', name: 'name', cost_price: '$number(cost.`#text`)', quantity: '$number(stock)', origin: 'origin', images: '[images.image]' }],
  ];
  for (const [name, settings, mapping] of feedFormats) {
    it(`feed, ${name}: streams every row into pages and maps it`, async () => {
      const r = row('feed', sandbox.urls.feed, settings, mapping);
      const read = await drain((await supplier(r)).products());
      assert.equal(read.items.length + read.unmapped.length, PRODUCTS);
      assert.deepEqual(read.sizes, [...Array(Math.floor(PRODUCTS / 40)).fill(40), PRODUCTS % 40]);
      const clean = Array.from({ length: PRODUCTS }, (_, i) => i).filter((i) => sandbox.catalogue.defectOf(i) === null);
      for (const i of [clean[0], clean[5], clean[clean.length - 1]]) {
        const p = sandbox.catalogue.product(i, sandbox.state.stockOf(i));
        const m = read.items.find((x) => x.external_id === p.external_id)!;
        assert.ok(m, `product ${i} is read`);
        assert.equal(m.name, p.name);
        assert.equal(m.quantity, p.stock_quantity);
        assert.equal(m.origin, 'Köln', 'the text is decoded in the feed encoding');
        if (p.cost_price !== undefined) assert.equal(m.cost_price, p.cost_price);
        if (name === 'xml') assert.deepEqual(m.images, p.images.length === 1 ? [p.images[0]] : p.images);
      }
      const stock = await drain((await supplier(r)).inventory({ maxItems: 50 }));
      assert.equal(stock.items.length, 50);
      assert.equal(stock.items[3].quantity, sandbox.state.stockOf(3));
    });
  }

  it('feed: a malformed CSV row is unmapped with its line, a malformed XML fails clearly, refused credentials fail for good', async () => {
    const csv = await drain((await supplier(row('feed', brokenUrl, { format: 'csv', products_path: '/bad.csv' }, { external_id: 'external_id', cost_price: '$number(cost)' }))).products());
    assert.deepEqual(csv.items.map((p) => p.external_id), ['e1', 'e3']);
    assert.equal(csv.unmapped.length, 1);
    assert.match(csv.unmapped[0].reason, /csv line 3/);
    await assert.rejects(drain((await supplier(row('feed', brokenUrl, { format: 'xml', products_path: '/bad.xml', item_path: 'product' }, { sku: 'sku' }))).products()), (err: StepError) => err.code === 'INVALID_RESPONSE' && /XML is malformed/.test(err.message));
    const locked = row('feed', secured.urls.feed, { format: 'csv', products_path: '/catalogue.csv' }, CSV_MAPPING);
    await assert.rejects(drain((await supplier(locked)).products()), (err: StepError) => err.code === 'CONNECTION_AUTH_FAILED' && err.retryable === false && err.message.includes(locked.code));
    const basic = await drain((await supplier(row('feed', secured.urls.feed, { format: 'csv', products_path: '/catalogue.csv' }, CSV_MAPPING, { type: 'basic', secret: 'FEED' }), `user:${KEY}`)).products());
    assert.equal(basic.items.length, 30);
  });

  it('probes: reachable, authenticated, a sample mapped; a feed has no marketplace side', async () => {
    const good = await (await supplier(row('feed', secured.urls.feed, { format: 'csv', products_path: '/catalogue.csv' }, CSV_MAPPING, { type: 'api_key', secret: 'FEED' }), KEY)).probe();
    assert.equal(good.reachable, true);
    assert.equal(good.authenticated, true);
    assert.equal((good.sample as { external_id: string }).external_id, secured.catalogue.externalIdOf(0));
    const bad = await (await supplier(row('generic_rest', secured.urls.generic, { products_path: '/offset/products', items_path: 'data.products', pagination: { style: 'offset' } }, GENERIC_MAPPING, { type: 'bearer', secret: 'X' }), 'nope')).probe();
    assert.deepEqual({ reachable: bad.reachable, authenticated: bad.authenticated, status: bad.status }, { reachable: true, authenticated: false, status: 401 });
    await assert.rejects(marketplaceAdapter({ row: row('feed', sandbox.urls.feed, { format: 'csv' }), secret: null, client }), (err: StepError) => err.code === 'PLATFORM_UNSUPPORTED' && err.retryable === false && /no marketplace adapter/.test(err.message));
  });
});
