import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSandbox, type Sandbox, type SupplierProduct } from '@src/sandbox';
import { call, walkLinks } from './support';

describe('sandbox supplier API', () => {
  let sandbox: Sandbox;
  before(async () => {
    sandbox = await startSandbox({ products: 1234, seed: 11, invalidRate: 0.05 });
  });
  after(() => sandbox.close());

  const skuOrIndex = (p: SupplierProduct): string => p.sku ?? p.external_id;

  it('walks every product by page number, following Link headers, with no gaps or duplicates', async () => {
    const { items, requests } = await walkLinks<SupplierProduct>(`${sandbox.urls.supplier}/products?page=1&page_size=100`, false);
    assert.equal(requests, 13);
    assert.equal(items.length, 1234);
    assert.equal(new Set(items.map((p) => p.external_id)).size, 1234);
    items.forEach((p, i) => assert.equal(p.external_id, sandbox.catalogue.externalIdOf(i)));
  });

  it('answers page metadata and next_page in the body', async () => {
    const first = await call(`${sandbox.urls.supplier}/products?page=2&page_size=500`);
    assert.deepEqual(
      { page: first.body.page, page_size: first.body.page_size, total: first.body.total, total_pages: first.body.total_pages, next_page: first.body.next_page },
      { page: 2, page_size: 500, total: 1234, total_pages: 3, next_page: 3 },
    );
    const last = await call(`${sandbox.urls.supplier}/products?page=3&page_size=500`);
    assert.equal(last.body.items.length, 234);
    assert.equal(last.body.next_page, null);
    assert.equal(last.headers.get('link'), null);
    const beyond = await call(`${sandbox.urls.supplier}/products?page=9&page_size=500`);
    assert.deepEqual(beyond.body.items, []);
  });

  it('walks every product by cursor with the same result as page numbers', async () => {
    const byCursor = await walkLinks<SupplierProduct>(`${sandbox.urls.supplier}/products?limit=333`, true);
    const byPage = await walkLinks<SupplierProduct>(`${sandbox.urls.supplier}/products?page_size=1000`, false);
    assert.equal(byCursor.requests, 4);
    assert.deepEqual(byCursor.items.map(skuOrIndex), byPage.items.map(skuOrIndex));
  });

  it('also paginates by following next_cursor from the body', async () => {
    const seen: string[] = [];
    let cursor: string | null = '';
    while (cursor !== null) {
      const res: { body: { items: SupplierProduct[]; next_cursor: string | null } } = await call(
        `${sandbox.urls.supplier}/products?limit=500${cursor ? `&cursor=${cursor}` : ''}`,
      );
      seen.push(...res.body.items.map(skuOrIndex));
      cursor = res.body.next_cursor;
    }
    assert.equal(new Set(seen).size, 1234);
  });

  it('rejects bad pagination parameters naming the field', async () => {
    for (const [query, field] of [['page=0', 'page'], ['page_size=5000', 'page_size'], ['cursor=garbage', 'cursor'], ['limit=abc', 'limit']]) {
      const res = await call(`${sandbox.urls.supplier}/products?${query}`);
      assert.equal(res.status, 400, query);
      assert.equal(res.body.error.field, field);
    }
  });

  it('contains exactly the configured share of invalid products', async () => {
    const { items } = await walkLinks<SupplierProduct>(`${sandbox.urls.supplier}/products?page_size=1000`, false);
    const invalid = items.filter((p) => !p.sku || p.cost_price === undefined || p.cost_price <= 0 || p.name === '');
    assert.equal(invalid.length, Math.floor(1234 * 0.05));
  });

  it('serves a product by SKU, 404 for unknown SKUs, and its images', async () => {
    const found = await call(`${sandbox.urls.supplier}/products/SUP-000010`);
    assert.equal(found.status, 200);
    assert.deepEqual(found.body, sandbox.catalogue.product(9));
    const missing = await call(`${sandbox.urls.supplier}/products/SUP-999999`);
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'not_found');
    const image = await fetch(found.body.images[0]);
    assert.equal(image.status, 200);
    assert.equal(image.headers.get('content-type'), 'image/svg+xml');
    await image.arrayBuffer();
  });

  it('reports inventory per SKU and reflects stock moved through the admin API', async () => {
    const { items } = await walkLinks<{ sku?: string; external_id: string; quantity: number }>(`${sandbox.urls.supplier}/inventory?limit=1000`, true);
    assert.equal(items.length, 1234);
    const moved = await call(`${sandbox.urls.admin}/inventory`, { method: 'POST', body: { items: [{ sku: 'SUP-000003', quantity: 2 }, { sku: 'SUP-000004', delta: -100000 }] } });
    assert.equal(moved.status, 200);
    assert.deepEqual(moved.body.changes.map((c: { quantity: number }) => c.quantity), [2, 0]);
    const page = await call(`${sandbox.urls.supplier}/inventory?page=1&page_size=5`);
    assert.equal(page.body.items[2].quantity, 2);
    assert.equal(page.body.items[3].quantity, 0);
    const product = await call(`${sandbox.urls.supplier}/products/SUP-000003`);
    assert.equal(product.body.stock_quantity, 2);

    const simulated = await call(`${sandbox.urls.admin}/inventory`, { method: 'POST', body: { simulate: { count: 30, low_stock: 6 } } });
    const threshold = simulated.body.low_stock_threshold;
    assert.equal(simulated.body.changes.length, 30);
    assert.equal(simulated.body.changes.filter((c: { quantity: number }) => c.quantity < threshold).length, 6);
    const bad = await call(`${sandbox.urls.admin}/inventory`, { method: 'POST', body: { items: [{ sku: 'SUP-000003', quantity: 1, delta: 1 }] } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.field, 'items[0].quantity');
  });
});

describe('sandbox determinism', () => {
  it('serves identical data from two sandboxes with the same seed, different data with another', async () => {
    const [a, b, c] = await Promise.all([startSandbox({ seed: 5 }), startSandbox({ seed: 5 }), startSandbox({ seed: 6 })]);
    try {
      const strip = (body: any) => JSON.parse(JSON.stringify(body).replaceAll(/127\.0\.0\.1:\d+/g, 'HOST'));
      const fetchAll = async (s: Sandbox) => ({
        products: strip((await call(`${s.urls.supplier}/products?page=3&page_size=50`)).body),
        orders: strip((await call(`${s.urls.marketplace}/orders?status=new`)).body),
      });
      const [da, db, dc] = await Promise.all([fetchAll(a), fetchAll(b), fetchAll(c)]);
      assert.deepEqual(da, db);
      assert.notDeepEqual(da.products, dc.products);
      assert.notDeepEqual(da.orders, dc.orders);
    } finally {
      await Promise.all([a.close(), b.close(), c.close()]);
    }
  });
});

describe('sandbox with a 100k catalogue', () => {
  it('paginates all 100,000 products', async (t) => {
    const started = performance.now();
    const sandbox = await startSandbox({ products: 100_000 });
    try {
      const { items, requests } = await walkLinks<SupplierProduct>(`${sandbox.urls.supplier}/products?limit=1000`, true);
      assert.equal(items.length, 100_000);
      assert.equal(requests, 100);
      assert.equal(new Set(items.map((p) => p.sku)).size, 100_000);
      t.diagnostic(`100k products paginated in ${Math.round(performance.now() - started)} ms`);
    } finally {
      await sandbox.close();
    }
  });
});
