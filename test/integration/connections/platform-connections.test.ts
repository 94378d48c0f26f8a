import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { startSandbox, type Sandbox } from '@src/sandbox';
import { startApi, uniqueCode, type ApiHarness } from '@test/integration/api/support';
import { eventually } from '@test/support/harness';

const suffix = randomUUID().slice(0, 8).toUpperCase();
const FEED_SECRET = `FEED_KEY_${suffix}`;
const WRONG_SECRET = `FEED_WRONG_${suffix}`;
const SANDBOX_KEY = `sbx-${randomBytes(12).toString('hex')}`;
const PRODUCTS = 300;

/** The CSV feed's columns to Merchflow's product record; the SKU is the only key, so products without one cannot be mapped. */
const CSV_MAPPING = {
  external_id: "sku != '' ? sku",
  sku: "sku != '' ? sku",
  name: 'name',
  description: 'description',
  brand: 'brand',
  category: 'category',
  cost_price: "cost != '' ? $number(cost)",
  currency: 'currency',
  weight_kg: '$number(weight_kg)',
  images: "image != '' ? [image] : []",
  stock_quantity: '$number(stock)',
};

type Problems = { code: string; details: { errors: Array<{ field: string; message: string }> } };

/** generic_rest and feed suppliers through the API: validation, secrets, the connection test, and a product import from a CSV feed. */
describe('platform connections through the API', () => {
  let api: ApiHarness;
  let sandbox: Sandbox;

  before(async () => {
    sandbox = await startSandbox({ products: PRODUCTS, seed: 8, invalidRate: 0.1, apiKey: SANDBOX_KEY, initialOrders: 0 });
    const env = { MERCHFLOW_MASTER_KEY: randomBytes(32).toString('base64'), HTTP_ALLOW_HOSTS: new URL(sandbox.url).host };
    api = await startApi({ env, workerEnv: env });
  });
  after(async () => {
    if (process.env.DEBUG_LOGS) console.log(api?.logLines.join('\n'));
    await api?.h.dataSource.query(`DELETE FROM secrets WHERE name LIKE $1`, [`%${suffix}`]).catch(() => undefined);
    await api?.close();
    await sandbox?.close();
  });

  const fieldsOf = (body: unknown) => (body as Problems).details.errors.map((e) => e.field);

  it('checks what each platform needs in settings, naming the field', async () => {
    const base = { code: uniqueCode('sup'), name: 'Feed', endpoint: sandbox.urls.feed };
    const cases: Array<[Record<string, unknown>, string[], string]> = [
      [{ platform: 'feed' }, ['settings.format'], 'suppliers'],
      [{ platform: 'feed', settings: { format: 'xml' } }, ['settings.item_path'], 'suppliers'],
      [{ platform: 'feed', settings: { format: 'csv', delimiter: ';;', encoding: 'klingon' } }, ['settings.encoding', 'settings.delimiter'], 'suppliers'],
      [{ platform: 'generic_rest', settings: { pagination: { style: 'pages' } } }, ['settings.pagination.style'], 'suppliers'],
      [{ platform: 'generic_rest', settings: { items_path: 'data products', query: { api_key: 'x' } } }, ['settings.query.api_key', 'settings.items_path'], 'suppliers'],
      [{ platform: 'generic_rest', field_mapping: { cost_price: '$number(' } }, ['field_mapping.cost_price'], 'suppliers'],
      [{ platform: 'feed', settings: { format: 'csv' } }, ['platform'], 'marketplaces'],
    ];
    for (const [extra, fields, kind] of cases) {
      const res = await api.request('POST', `/${kind}/`, { body: { ...base, ...extra } });
      assert.equal(res.status, 400, `${JSON.stringify(extra)}: ${res.text}`);
      assert.deepEqual(fieldsOf(res.body), fields, JSON.stringify(extra));
    }
    // An update is checked against what the row will hold.
    const ok = await api.request<{ id: number }>('POST', '/suppliers/', { body: { ...base, platform: 'feed', settings: { format: 'xml', item_path: 'product' } } });
    assert.equal(ok.status, 201, ok.text);
    const update = await api.request('PATCH', `/suppliers/${ok.body.id}/`, { body: { settings: { format: 'xml' } } });
    assert.equal(update.status, 400, update.text);
    assert.deepEqual(fieldsOf(update.body), ['settings.item_path']);
  });

  it('imports products from a CSV feed supplier created through the API, its credentials set through /secrets/', async () => {
    for (const [name, value] of [[FEED_SECRET, SANDBOX_KEY], [WRONG_SECRET, 'not-the-key']]) {
      const s = await api.request('POST', '/secrets/', { body: { name, value } });
      assert.equal(s.status, 201, s.text);
    }
    const created = await api.request<{ id: number; platform: string }>('POST', '/suppliers/', {
      body: {
        code: uniqueCode('feed'),
        name: 'CSV feed supplier',
        endpoint: sandbox.urls.feed,
        platform: 'feed',
        settings: { format: 'csv', products_path: '/catalogue.csv', page_size: 100 },
        field_mapping: CSV_MAPPING,
        credentials: { type: 'api_key', secret: FEED_SECRET, header: 'X-API-Key' },
      },
    });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body.platform, 'feed');
    const supplierId = created.body.id;

    const tested = await api.request<{ ok: boolean; reachable: boolean; authenticated: boolean; request: string; sample: { item: Record<string, string>; mapped: Record<string, unknown> } }>('POST', `/suppliers/${supplierId}/test/`);
    assert.equal(tested.status, 200, tested.text);
    assert.equal(tested.body.ok, true, tested.text);
    assert.equal(tested.body.authenticated, true);
    assert.equal(tested.body.request, `GET ${sandbox.urls.feed}/catalogue.csv`);
    const first = sandbox.catalogue.product(0);
    assert.equal(tested.body.sample.item.external_id, first.external_id, 'the first row as read');
    assert.equal(tested.body.sample.mapped.name, first.name, 'and as mapped');
    assert.ok(!tested.text.includes(SANDBOX_KEY));

    // The same supplier with the wrong secret: reachable, not authenticated, for a generic_rest one too.
    const wrong = await api.request<{ ok: boolean; reachable: boolean; authenticated: boolean; status: number; reason: string }>('PATCH', `/suppliers/${supplierId}/`, {
      body: { credentials: { type: 'bearer', secret: WRONG_SECRET } },
    });
    assert.equal(wrong.status, 200, wrong.text);
    const refused = await api.request<{ ok: boolean; reachable: boolean; authenticated: boolean; status: number; reason: string }>('POST', `/suppliers/${supplierId}/test/`);
    assert.deepEqual({ ok: refused.body.ok, reachable: refused.body.reachable, authenticated: refused.body.authenticated, status: refused.body.status }, { ok: false, reachable: true, authenticated: false, status: 401 });
    assert.match(refused.body.reason, new RegExp(`refused the credentials.*${WRONG_SECRET}`));
    assert.ok(!refused.text.includes('not-the-key'));
    const generic = await api.request<{ id: number }>('POST', '/suppliers/', {
      body: {
        code: uniqueCode('gen'),
        name: 'Generic REST supplier',
        endpoint: sandbox.urls.generic,
        platform: 'generic_rest',
        settings: { products_path: '/cursor/products', items_path: 'data.products', pagination: { style: 'cursor', cursor_path: 'meta.next_cursor' } },
        field_mapping: { external_id: 'id', sku: 'product_code', name: 'title', cost_price: 'price.amount' },
        credentials: { type: 'basic', secret: WRONG_SECRET },
      },
    });
    assert.equal(generic.status, 201, generic.text);
    const genericTest = await api.request<{ ok: boolean; authenticated: boolean; reason: string }>('POST', `/suppliers/${generic.body.id}/test/`);
    assert.equal(genericTest.body.ok, false);
    assert.match(genericTest.body.reason, /username:password/, 'a basic secret without a colon is named');
    await api.request('PATCH', `/suppliers/${generic.body.id}/`, { body: { credentials: { type: 'bearer', secret: FEED_SECRET } } });
    const genericOk = await api.request<{ ok: boolean; sample: { mapped: Record<string, unknown> } }>('POST', `/suppliers/${generic.body.id}/test/`);
    assert.equal(genericOk.body.ok, true, JSON.stringify(genericOk.body));
    assert.equal(genericOk.body.sample.mapped.name, first.name);

    await api.request('PATCH', `/suppliers/${supplierId}/`, { body: { credentials: { type: 'api_key', secret: FEED_SECRET } } });
    const wf = await api.request<{ id: number }>('POST', '/templates/product_import/create/', { body: { name: `Feed import ${suffix}`, code: uniqueCode('feedimp') } });
    assert.equal(wf.status, 201, wf.text);
    const run = await api.request<{ execution_id: string }>('POST', `/workflows/${wf.body.id}/execute/`, { body: { input_data: { supplier_id: supplierId } } });
    assert.equal(run.status, 202, run.text);
    const id = run.body.execution_id;
    const final = await eventually(
      async () => {
        const r = await api.request<{ status: string; error_message?: string }>('GET', `/executions/${id}/`);
        return ['completed', 'failed', 'cancelled'].includes(r.body.status) ? r.body : null;
      },
      120_000,
      `run ${id} ends`,
    );
    assert.equal(final.status, 'completed', JSON.stringify(final));

    const cat = sandbox.catalogue;
    const indices = Array.from({ length: PRODUCTS }, (_, i) => i);
    const unmappable = indices.filter((i) => cat.defectOf(i) === 'missing_sku').length;
    const valid = indices.filter((i) => cat.defectOf(i) === null).length;
    const [{ n }] = await api.h.dataSource.query(`SELECT count(*)::int AS n FROM products WHERE supplier_id = $1`, [supplierId]);
    assert.equal(n, valid, 'every valid row of the feed is a product');
    const [stored] = await api.h.dataSource.query(`SELECT title, cost_price FROM products WHERE supplier_id = $1 AND external_id = $2`, [supplierId, first.sku]);
    assert.equal(stored.title, first.name);
    assert.equal(Number(stored.cost_price), first.cost_price, 'the CSV string became a number through the mapping');

    // Rows the mapping could not key are in the item ledger as invalid, reason UNMAPPED.
    const unmapped = await api.request<{ count: number; results: Array<{ status: string; reason_code: string; message: string; step_key: string }> }>('GET', `/executions/${id}/items/?status=invalid&reason=UNMAPPED`);
    assert.equal(unmapped.status, 200, unmapped.text);
    assert.equal(unmapped.body.count, unmappable);
    assert.ok(unmappable > 0);
    assert.equal(unmapped.body.results[0].step_key, 'fetch_products');
    assert.match(unmapped.body.results[0].message, /neither external_id nor sku/);
  });
});
