/**
 * A new user's path on a Shopify-shaped marketplace (the sandbox's), with the
 * API only: store the access token as a secret, create the marketplace
 * (platform shopify), test the connection, then run listing creation,
 * inventory sync (its push) and order processing against it to completion.
 * WooCommerce's connection test rides along.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import { loadConfig } from '@src/config/config';
import { Logger } from '@src/logging/logger';
import { createApp } from '@src/main';
import { ApiKeysService } from '@src/auth/api-keys.service';
import { assertCompleted, count, createShop, rows, runWorkflow, startCommerceEnv, stepOutputs, type CommerceEnv, type Shop } from './support';

const PRODUCTS = 24;
const suffix = randomUUID().slice(0, 8).toUpperCase();
const TOKEN = `shpat_${randomBytes(12).toString('hex')}`;
const TOKEN_SECRET = `SHOPIFY_TOKEN_${suffix}`;
const WRONG_SECRET = `SHOPIFY_WRONG_${suffix}`;
const WOO_SECRET = `WOO_KEYS_${suffix}`;
const MASTER_KEY = randomBytes(32).toString('base64');

describe('a Shopify-shaped marketplace created through the API', () => {
  let env: CommerceEnv;
  let shop: Shop;
  let app: INestApplication;
  let marketplaceId: number;
  let call: <T = any>(method: string, path: string, body?: unknown) => Promise<{ status: number; body: T; text: string }>;

  before(async () => {
    env = await startCommerceEnv([{ products: PRODUCTS, seed: 21, shopifyAccessToken: TOKEN, shopifyBucket: { size: 40, leakPerSecond: 20 } }], { env: { MERCHFLOW_MASTER_KEY: MASTER_KEY } });
    shop = await createShop(env.h, env.sandboxes[0], { config: { order_processing: { auto_ship_max_total: 100000 } } });
    const config = loadConfig({ ...process.env, MERCHFLOW_MASTER_KEY: MASTER_KEY, TEMPORAL_TASK_QUEUE: env.h.taskQueue, HTTP_ALLOW_HOSTS: `127.0.0.1:${shop.sandbox.port}` });
    app = await createApp(config, { logger: new Logger({ level: 'error', format: 'json', sink: () => undefined }) });
    await app.listen(0, '127.0.0.1');
    const base = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}${config.http.basePath}`;
    const key = (await new ApiKeysService(env.h.dataSource).create({ name: `shopify-${suffix}`, role: 'admin' })).key;
    call = async (method, path, body) => {
      const res = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null, text };
    };
  });
  after(async () => {
    await env?.h.dataSource.query(`DELETE FROM secrets WHERE name LIKE $1`, [`%${suffix}`]).catch(() => undefined);
    await app?.close();
    await env?.close();
  });

  it('stores the token as a secret, creates the marketplace and tests it: good token authenticated with a mapped sample, wrong one refused', async () => {
    assert.equal((await call('POST', '/secrets/', { name: TOKEN_SECRET, value: TOKEN })).status, 201);
    assert.equal((await call('POST', '/secrets/', { name: WRONG_SECRET, value: 'shpat_wrong_token_value' })).status, 201);
    const [{ requirements }] = await env.h.dataSource.query(`SELECT requirements FROM marketplaces WHERE id = $1`, [shop.marketplaceId]);
    const created = await call<{ id: number; platform: string }>('POST', '/marketplaces/', {
      code: `shop_${suffix.toLowerCase()}`,
      name: 'Shopify shop',
      endpoint: shop.sandbox.urls.shopify,
      platform: 'shopify',
      credentials: { type: 'api_key', secret: TOKEN_SECRET },
      markup_percent: 60,
      currency: 'USD',
      requirements,
    });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body.platform, 'shopify');
    marketplaceId = created.body.id;

    // One listing so the test has a sample to map.
    shop.sandbox.state.createListing('probe', { sku: 'PROBE-1', title: 'Probe', price: 3 });
    const tested = await call<{ ok: boolean; authenticated: boolean; request: string; sample: { mapped: { sku: string; price: number } } }>('POST', `/marketplaces/${marketplaceId}/test/`);
    assert.equal(tested.status, 200, tested.text);
    assert.equal(tested.body.ok, true, tested.text);
    assert.equal(tested.body.authenticated, true);
    assert.match(tested.body.request, /\/shopify\/admin\/api\/2024-10\/products\.json$/);
    assert.deepEqual([tested.body.sample.mapped.sku, tested.body.sample.mapped.price], ['PROBE-1', 3]);
    assert.ok(!tested.text.includes(TOKEN));
    shop.sandbox.reset();

    const wrong = await call<{ id: number }>('POST', '/marketplaces/', {
      code: `shopw_${suffix.toLowerCase()}`,
      name: 'Wrong token',
      endpoint: shop.sandbox.urls.shopify,
      platform: 'shopify',
      credentials: { type: 'api_key', secret: WRONG_SECRET },
    });
    const refused = await call<{ ok: boolean; reachable: boolean; authenticated: boolean; status: number; reason: string }>('POST', `/marketplaces/${wrong.body.id}/test/`);
    assert.deepEqual([refused.body.ok, refused.body.reachable, refused.body.authenticated, refused.body.status], [false, true, false, 401]);
    assert.match(refused.body.reason, new RegExp(`refused the credentials.*${WRONG_SECRET}`));
    assert.ok(!refused.text.includes('shpat_wrong_token_value'));

    // WooCommerce: consumer key and secret in one secret.
    assert.equal((await call('POST', '/secrets/', { name: WOO_SECRET, value: 'ck_sandbox:cs_sandbox' })).status, 201);
    const woo = await call<{ id: number }>('POST', '/marketplaces/', {
      code: `woo_${suffix.toLowerCase()}`,
      name: 'Woo store',
      endpoint: shop.sandbox.urls.woocommerce,
      platform: 'woocommerce',
      credentials: { type: 'api_key', secret: WOO_SECRET },
    });
    assert.equal(woo.status, 201, woo.text);
    const wooTest = await call<{ ok: boolean; authenticated: boolean }>('POST', `/marketplaces/${woo.body.id}/test/`);
    assert.deepEqual([wooTest.body.ok, wooTest.body.authenticated], [true, true], wooTest.text);

    // A shop can also be a supplier (its products and stock); a carrier it is not: refused, naming the field.
    const supplier = await call('POST', '/suppliers/', { code: `s_${suffix.toLowerCase()}`, name: 'x', endpoint: shop.sandbox.urls.shopify, platform: 'shopify', credentials: { type: 'api_key', secret: TOKEN_SECRET } });
    assert.equal(supplier.status, 201, supplier.text);
    const carrier = await call<{ details: { errors: Array<{ field: string }> } }>('POST', '/carriers/', { code: `c_${suffix.toLowerCase()}`, name: 'x', endpoint: shop.sandbox.urls.shopify, platform: 'shopify' });
    assert.equal(carrier.status, 400);
    assert.deepEqual(carrier.body.details.errors.map((e) => e.field), ['platform']);
  });

  it('lists every product on the Shopify shop, pushes inventory there and processes its orders to completion', async () => {
    const { h } = env;
    assertCompleted(await runWorkflow(h, shop.workflow.product_import, { supplier_id: shop.supplierId }), 'import');
    for (const wf of [shop.workflow.listing_creation, shop.workflow.inventory_sync, shop.workflow.order_processing]) {
      const current = await h.workflows.get(wf);
      await h.workflows.update(wf, { config: { ...current.config, marketplace_id: marketplaceId } });
    }

    const listing = await runWorkflow(h, shop.workflow.listing_creation);
    assertCompleted(listing, 'listing creation');
    const listed = await rows(h.dataSource, `SELECT sku, external_id, price FROM listings WHERE marketplace_id = $1 ORDER BY sku`, [marketplaceId]);
    assert.equal(listed.length, PRODUCTS);
    assert.equal(shop.sandbox.state.listings.size, PRODUCTS);
    for (const l of listed) {
      const remote = shop.sandbox.state.listingForSku(l.sku)!;
      assert.equal(l.external_id, String(Number(remote.id.slice(4))), 'the Shopify product id is the listing id');
      assert.equal(Number(l.price), remote.price);
    }
    assert.equal(await count(h.dataSource, `SELECT count(*) AS n FROM listings WHERE marketplace_id = $1`, [shop.marketplaceId]), 0, 'the sandbox marketplace got nothing');
    const again = await runWorkflow(h, shop.workflow.listing_creation);
    assertCompleted(again, 'second listing creation');
    assert.equal(shop.sandbox.state.listings.size, PRODUCTS, 'no product twice');

    const pushesBefore = shop.sandbox.state.counters.inventory_updates;
    const sync = await runWorkflow(h, shop.workflow.inventory_sync, { supplier_id: shop.supplierId });
    assertCompleted(sync, 'inventory sync');
    const pushed = (await stepOutputs(h, sync.executionId)).push_inventory as { succeeded: number; failed: number };
    assert.equal(pushed.failed, 0);
    assert.ok(shop.sandbox.state.counters.inventory_updates - pushesBefore >= pushed.succeeded);
    for (const row of await rows(h.dataSource, `SELECT sku, available FROM inventory WHERE supplier_id = $1`, [shop.supplierId])) {
      assert.equal(shop.sandbox.state.listingForSku(row.sku)?.quantity, row.available, `Shopify inventory level of ${row.sku}`);
    }

    const created = shop.sandbox.state.createOrders(3);
    const skus = [...new Set(created.flatMap((o) => o.items.map((l) => l.sku)))];
    await h.dataSource.query(`UPDATE inventory SET quantity = 100 WHERE supplier_id = $1 AND sku = ANY($2::text[])`, [shop.supplierId, skus]);
    const orders = await runWorkflow(h, shop.workflow.order_processing);
    assertCompleted(orders, 'order processing');
    const stored = await rows(h.dataSource, `SELECT external_id, status FROM orders WHERE marketplace_id = $1 ORDER BY external_id`, [marketplaceId]);
    assert.deepEqual(stored.map((o) => o.external_id).sort(), created.map((o) => String(Number(o.id.slice(4)))).sort());
    for (const o of created) {
      assert.equal(o.status, 'shipped', `${o.id} fulfilled on the shop`);
      assert.ok(o.shipment?.tracking_number.startsWith('SBX'), 'with the carrier label tracking number');
    }
    assert.ok(stored.every((o) => o.status === 'shipped'));
    assert.equal(shop.sandbox.state.counters.shipments, created.length, 'one fulfilment per order');
  });
  it('connector mode names what is wrong: a missing marketplace fails the step; a bad item or an unlisted SKU fails that item only', async () => {
    const { h } = env;
    const step = (marketplace_id: number) => ({
      key: 'push',
      name: 'Push',
      step_type: 'api_call',
      config: {
        connector: { marketplace_id, action: 'push_inventory' },
        items_field: 'items',
        item_key_field: 'sku',
        item_fields: { sku: '$sku', quantity: '$q' },
        continue_on_item_error: true,
        retry: { attempts: 1 },
      },
    });
    const create = async (marketplace: number) => {
      const code = `push_${suffix.toLowerCase()}_${marketplace}`;
      const wf = await call<{ id: number }>('POST', '/workflows/', { code, name: code, steps: [step(marketplace)] });
      assert.equal(wf.status, 201, wf.text);
      return wf.body.id;
    };
    const missing = await runWorkflow(h, await create(987654), { items: [{ sku: 'A', q: 1 }] });
    assert.equal(missing.status, 'failed');
    assert.match(missing.steps.push.error_message ?? '', /marketplace 987654 does not exist/);

    const listed = [...shop.sandbox.state.listings.values()][0];
    const run = await runWorkflow(h, await create(marketplaceId), { items: [{ sku: listed.sku, q: 7 }, { sku: 'NOT-LISTED', q: 1 }, { sku: 'BAD-QTY', q: 'many' }] });
    assert.equal(run.status, 'completed');
    assert.equal(shop.sandbox.state.listingForSku(listed.sku)!.quantity, 7, 'Shopify inventory level set');
    const out = (await stepOutputs(h, run.executionId)).push as { succeeded: number; failed_items: Array<{ key: string; code: string; message: string }> };
    assert.equal(out.succeeded, 1);
    const byKey = Object.fromEntries(out.failed_items.map((f) => [f.key, f]));
    assert.equal(byKey['NOT-LISTED'].code, 'HTTP_CLIENT_ERROR');
    assert.match(byKey['NOT-LISTED'].message, /has no listing for SKU NOT-LISTED/);
    assert.equal(byKey['BAD-QTY'].code, 'STEP_INPUT_INVALID');
    assert.match(byKey['BAD-QTY'].message, /item_fields\.quantity/);
  });
  it('the same workflows run unchanged against the WooCommerce-shaped marketplace', async () => {
    const { h } = env;
    const [woo] = await env.h.dataSource.query(`SELECT id FROM marketplaces WHERE code = $1`, [`woo_${suffix.toLowerCase()}`]);
    const [{ requirements }] = await env.h.dataSource.query(`SELECT requirements FROM marketplaces WHERE id = $1`, [shop.marketplaceId]);
    await env.h.dataSource.query(`UPDATE marketplaces SET markup_percent = 60, requirements = $2 WHERE id = $1`, [woo.id, JSON.stringify(requirements)]);
    for (const wf of [shop.workflow.listing_creation, shop.workflow.inventory_sync, shop.workflow.order_processing]) {
      const current = await h.workflows.get(wf);
      await h.workflows.update(wf, { config: { ...current.config, marketplace_id: woo.id } });
    }
    // The products are listed (on the Shopify shape) already: make them listable again for this marketplace.
    await h.dataSource.query(`UPDATE products SET status = 'ready_for_listing' WHERE supplier_id = $1`, [shop.supplierId]);
    const listing = await runWorkflow(h, shop.workflow.listing_creation);
    assertCompleted(listing, 'listing creation (woocommerce)');
    assert.equal(await count(h.dataSource, `SELECT count(*) AS n FROM listings WHERE marketplace_id = $1`, [woo.id]), PRODUCTS);
    assert.equal(shop.sandbox.state.listings.size, PRODUCTS, 'the SKUs listed already were updated, not listed twice');

    assertCompleted(await runWorkflow(h, shop.workflow.inventory_sync, { supplier_id: shop.supplierId }), 'inventory sync (woocommerce)');
    for (const row of await rows(h.dataSource, `SELECT sku, available FROM inventory WHERE supplier_id = $1`, [shop.supplierId])) {
      assert.equal(shop.sandbox.state.listingForSku(row.sku)?.quantity, row.available, `WooCommerce stock_quantity of ${row.sku}`);
    }

    const created = shop.sandbox.state.createOrders(2);
    const skus = [...new Set(created.flatMap((o) => o.items.map((l) => l.sku)))];
    await h.dataSource.query(`UPDATE inventory SET quantity = 100 WHERE supplier_id = $1 AND sku = ANY($2::text[])`, [shop.supplierId, skus]);
    assertCompleted(await runWorkflow(h, shop.workflow.order_processing), 'order processing (woocommerce)');
    for (const o of created) {
      assert.equal(o.status, 'shipped', `${o.id} completed on the store`);
      assert.ok(o.shipment?.tracking_number.startsWith('SBX'));
    }
    const stored = await rows(h.dataSource, `SELECT external_id, status FROM orders WHERE marketplace_id = $1`, [woo.id]);
    assert.deepEqual(stored.map((o) => o.external_id).sort(), created.map((o) => String(Number(o.id.slice(4)))).sort());
  });
});
