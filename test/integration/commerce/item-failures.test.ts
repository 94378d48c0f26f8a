/**
 * A per-item failure never vanishes: under injected 5xx and 429 answers, a
 * SKU the marketplace always refuses (422) ends as a failed item of
 * create_listings. The step and the run complete "with failures", the API
 * names the item and its reason on the run and on the step, the product is
 * not marked listed, and a run in which every item fails fails.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { INestApplication } from '@nestjs/common';
import { loadConfig } from '@src/config/config';
import { Logger } from '@src/logging/logger';
import { createApp } from '@src/main';
import { ApiKeysService } from '@src/auth/api-keys.service';
import { assertCompleted, createShop, runWorkflow, startCommerceEnv, type CommerceEnv, type Shop } from './support';

const PRODUCTS = 24;

interface StepBody {
  step_key: string;
  status: string;
  outcome: string;
  failed_items_total: number;
  failed_items: Array<{ key: string; code: string; message: string; status?: number }>;
}
interface ExecutionBody {
  status: string;
  outcome: string;
  failed_items_total: number;
  failed_items: Array<{ step_key: string; key: string; code: string; message: string; status?: number }>;
  progress: { failed_items_total: number };
  steps: StepBody[];
}

describe('per-item failures under injected faults', () => {
  let env: CommerceEnv;
  let shop: Shop;
  let app: INestApplication;
  let api: (path: string) => Promise<{ status: number; body: any }>;

  before(async () => {
    env = await startCommerceEnv([{ products: PRODUCTS, seed: 33 }]);
    shop = await createShop(env.h, env.sandboxes[0]);
    const config = loadConfig({ ...process.env, TEMPORAL_TASK_QUEUE: env.h.taskQueue });
    app = await createApp(config, { logger: new Logger({ level: 'error', format: 'json', sink: () => undefined }) });
    await app.listen(0, '127.0.0.1');
    const base = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}${config.http.basePath}`;
    const key = (await new ApiKeysService(env.h.dataSource).create({ name: `item-failures-${Date.now()}`, role: 'viewer' })).key;
    api = async (path) => {
      const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${key}` } });
      return { status: res.status, body: await res.json() };
    };
  });
  after(async () => {
    await app?.close();
    await env?.close();
  });

  it('reports a permanently refused SKU as a failed item: the step and the run complete with failures', async () => {
    const { h } = env;
    assertCompleted(await runWorkflow(h, shop.workflow.product_import, { supplier_id: shop.supplierId }), 'import');
    const products: Array<{ sku: string }> = await h.dataSource.query(`SELECT sku FROM products WHERE supplier_id = $1 ORDER BY sku`, [shop.supplierId]);
    assert.ok(products.length >= 10, `imported ${products.length} products`);
    const refused = products[3].sku;

    // 25 % of the marketplace's answers are 5xx, the rest rate limited (429 with Retry-After), and one SKU is refused for good.
    const sandbox = shop.sandbox;
    sandbox.setFaults({ errorRate: 0.25, seed: 11 });
    sandbox.setRateLimit({ requestsPerSecond: 40, burst: 5 });
    const res = await fetch(`${sandbox.urls.admin}/marketplace/reject-listing`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sku: refused, status: 422, code: 'category_blocked', message: `SKU ${refused} is in a blocked category` }),
    });
    assert.equal(res.status, 200);

    const run = await runWorkflow(h, shop.workflow.listing_creation);
    assertCompleted(run, 'listing');
    assert.ok(sandbox.state.counters.faults_injected > 0, 'faults were injected');
    assert.ok(sandbox.state.counters.rate_limited > 0, 'requests were rate limited');
    assert.ok(sandbox.state.counters.listings_rejected >= 1, 'the refused SKU was sent');

    // The workflow's own result says so.
    assert.equal(run.result?.outcome, 'completed_with_failures');
    assert.ok((run.result?.failed_items_total ?? 0) >= 1);

    // The API: the run and its step, with the item's key and reason.
    const detail = await api(`/executions/${run.executionId}/`);
    assert.equal(detail.status, 200);
    const body = detail.body as ExecutionBody;
    assert.equal(body.status, 'completed', 'the spec status stays completed');
    assert.equal(body.outcome, 'completed_with_failures');
    assert.ok(body.failed_items_total >= 1);
    assert.equal(body.progress.failed_items_total, body.failed_items_total);
    const item = body.failed_items.find((f) => f.key === refused);
    assert.ok(item, `the run lists ${refused}: ${JSON.stringify(body.failed_items)}`);
    assert.equal(item.step_key, 'create_listings');
    assert.equal(item.code, 'HTTP_CLIENT_ERROR');
    assert.equal(item.status, 422);
    assert.match(item.message, /responded 422/);

    const step = body.steps.find((s) => s.step_key === 'create_listings')!;
    assert.equal(step.status, 'completed');
    assert.equal(step.outcome, 'completed_with_failures');
    assert.ok(step.failed_items.some((f) => f.key === refused && f.code === 'HTTP_CLIENT_ERROR'));
    assert.equal(step.failed_items_total, body.failed_items_total, 'only create_listings failed items; storing them does not count them twice');
    const store = body.steps.find((s) => s.step_key === 'store_listings')!;
    assert.equal(store.outcome, 'completed');

    // Listed by outcome, and apart from plain successes.
    const withFailures = await api(`/executions/?workflow=${shop.workflow.listing_creation}&outcome=completed_with_failures`);
    assert.deepEqual(withFailures.body.results.map((r: { execution_id: string }) => r.execution_id), [run.executionId]);
    const clean = await api(`/executions/?workflow=${shop.workflow.listing_creation}&outcome=completed`);
    assert.equal(clean.body.count, 0);

    // The product was not listed here nor marked listed; every other one was.
    const listed: Array<{ sku: string }> = await h.dataSource.query(`SELECT sku FROM listings WHERE marketplace_id = $1`, [shop.marketplaceId]);
    assert.ok(!listed.some((l) => l.sku === refused));
    assert.equal(listed.length, products.length - body.failed_items_total);
    const [p] = await h.dataSource.query(`SELECT status FROM products WHERE supplier_id = $1 AND sku = $2`, [shop.supplierId, refused]);
    assert.notEqual(p.status, 'listed');
  });

  it('fails the step, and the run, when every item failed', async () => {
    // Only the refused product is left to list.
    const run = await runWorkflow(env.h, shop.workflow.listing_creation);
    assert.equal(run.status, 'failed');
    const step = run.steps.create_listings as unknown as { status: string; error_message: string; failed_items_total: number };
    assert.equal(step.status, 'failed');
    assert.match(step.error_message, /every item failed/);
    const detail = (await api(`/executions/${run.executionId}/`)).body as ExecutionBody;
    assert.equal(detail.outcome, 'failed');
    const failedStep = detail.steps.find((s) => s.step_key === 'create_listings')!;
    assert.ok(failedStep.failed_items_total >= 1);
    assert.ok(failedStep.failed_items.some((f) => f.code === 'HTTP_CLIENT_ERROR'));
  });
});
