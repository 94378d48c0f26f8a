/**
 * Every supplier and every marketplace in one run, on the real stack: a
 * product import over two suppliers (one pointing at a path the sandbox does
 * not serve) runs as a parent with two child workflows; the failing supplier
 * leaves the other's products stored and the parent "completed with
 * failures"; a listing run over two marketplaces; the API's children and
 * parent links; the admin run page's list of children in Chromium.
 *
 * The test database is shared with other test files (their suppliers and
 * marketplaces stay active), so the runs narrow the fan-out to this test's
 * rows with `supplier_ids` / `marketplace_ids`; `{}` (every active row) is the
 * same path without the narrowing (test/unit/workflows/fan-out.test.ts).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { startSandbox, type Sandbox } from '@src/sandbox';
import { SANDBOX_MARKETPLACE_REQUIREMENTS } from '@src/commerce/seed';
import { startApi, type ApiHarness } from '../api/support';
import { createShop, type Shop } from './support';
import { launchChromium, signInAdmin, skipWithoutChromium } from '@test/support/browser';

interface Child {
  execution_id: string;
  status: string;
  outcome: string;
  kind: string;
  target_id: number;
  error_message: string | null;
}

describe('fan-out: every supplier and every marketplace in one run', () => {
  let sandbox: Sandbox;
  let api: ApiHarness;
  let shop: Shop;
  let parentId = '';

  before(async () => {
    sandbox = await startSandbox({ initialOrders: 0 });
    api = await startApi({ workerEnv: { HTTP_ALLOW_HOSTS: `127.0.0.1:${sandbox.port}` } });
    shop = await createShop(api.h, sandbox);
  });
  after(async () => {
    await api?.close();
    await sandbox?.close();
  });

  async function execute(workflowId: number, input: unknown): Promise<string> {
    const r = await api.request<{ execution_id: string }>('POST', `/workflows/${workflowId}/execute/`, { body: { input_data: input } });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    await api.h.wait(r.body.execution_id);
    return r.body.execution_id;
  }

  it('imports two suppliers as two child runs; the failing one does not fail the other', async () => {
    const [{ id: broken }] = await api.h.dataSource.query(
      `INSERT INTO suppliers (code, name, api_base_url, settings) VALUES ($1, 'Broken', $2, '{}') RETURNING id`,
      [`${shop.tag}_broken`, `${sandbox.url}/no-such-supplier/v1`],
    );
    parentId = await execute(shop.workflow.product_import, { supplier_ids: [shop.supplierId, broken] });

    const detail = (await api.request<Record<string, any>>('GET', `/executions/${encodeURIComponent(parentId)}/`)).body;
    assert.equal(detail.status, 'completed', JSON.stringify(detail.output_data ?? detail.error_message));
    assert.equal(detail.outcome, 'completed_with_failures');
    assert.equal(detail.parent_execution_id, null);
    // Listed in the order they started (concurrently): sorted here by supplier.
    const children = (detail.children as Child[]).sort((a, b) => a.target_id - b.target_id);
    assert.deepEqual(
      children.map((c) => [c.execution_id, c.kind, c.target_id, c.status]),
      [
        [`${parentId}:supplier-${shop.supplierId}`, 'supplier', shop.supplierId, 'completed'],
        [`${parentId}:supplier-${broken}`, 'supplier', broken, 'failed'],
      ].sort((a, b) => (a[2] as number) - (b[2] as number)),
    );
    assert.match(children.find((c) => c.target_id === broken)!.error_message ?? '', /fetch_products/);
    assert.equal(detail.output_data.total, 2);
    assert.match(detail.output_data.summary, /1 completed, 1 failed/);

    // The good supplier's products are stored by its child run.
    const [{ n }] = await api.h.dataSource.query(`SELECT count(*)::int AS n FROM products WHERE supplier_id = $1`, [shop.supplierId]);
    assert.ok(n > 0, 'products of the good supplier were stored');

    // A child is a run like any other, pointing at its parent.
    const good = children.find((c) => c.target_id === shop.supplierId)!;
    const child = (await api.request<Record<string, any>>('GET', `/executions/${encodeURIComponent(good.execution_id)}/`)).body;
    assert.deepEqual([child.parent_execution_id, child.trigger_type, child.input_data.supplier_id], [parentId, 'fan_out', shop.supplierId]);
    assert.equal(child.steps.find((s: { step_key: string }) => s.step_key === 'store_products').status, 'completed');
    const listed = (await api.request<{ results: Array<{ execution_id: string }> }>('GET', `/executions/?parent=${encodeURIComponent(parentId)}`)).body;
    assert.deepEqual(listed.results.map((r) => r.execution_id).sort(), children.map((c) => c.execution_id).sort());

    // In Temporal, the children are the parent's child workflows.
    const desc = await api.h.client.workflow.getHandle(good.execution_id).describe();
    assert.equal(desc.parentExecution?.workflowId, parentId);
  });

  it('lists on two marketplaces in one listing run', async () => {
    const [{ id: second }] = await api.h.dataSource.query(
      `INSERT INTO marketplaces (code, name, api_base_url, settings, markup_percent, currency, requirements) VALUES ($1, 'Second', $2, '{}', 30, 'USD', $3) RETURNING id`,
      [`${shop.tag}_m2`, `${sandbox.url}/marketplace/v1`, JSON.stringify(SANDBOX_MARKETPLACE_REQUIREMENTS)],
    );
    const wf = await api.h.workflows.get(shop.workflow.listing_creation);
    await api.h.workflows.update(shop.workflow.listing_creation, { config: { ...wf.config, marketplace_id: null } });
    const id = await execute(shop.workflow.listing_creation, { marketplace_ids: [shop.marketplaceId, second] });
    const detail = (await api.request<Record<string, any>>('GET', `/executions/${encodeURIComponent(id)}/`)).body;
    const children = (detail.children as Child[]).sort((a, b) => a.target_id - b.target_id);
    assert.deepEqual(children.map((c) => [c.kind, c.target_id, c.status]), [['marketplace', Math.min(shop.marketplaceId, second), 'completed'], ['marketplace', Math.max(shop.marketplaceId, second), 'completed']], JSON.stringify(children));
    assert.equal(detail.outcome, 'completed');
    // Each child stored its listings under its own marketplace.
    const rows: Array<{ marketplace_id: number }> = await api.h.dataSource.query(`SELECT DISTINCT marketplace_id FROM listings WHERE marketplace_id = ANY($1::int[])`, [[shop.marketplaceId, second]]);
    assert.ok(rows.length >= 1, 'listings were stored');
  });

  it('shows the children on the admin run page, and a child its parent', { skip: skipWithoutChromium }, async () => {
    const origin = api.base.replace(/\/orchestration\/api$/, '');
    const browser: Browser = await launchChromium();
    try {
      const page = await browser.newPage();
      page.setDefaultTimeout(60_000);
      await signInAdmin(page, origin, api.keys.viewer);
      await page.waitForSelector('h1:has-text("Dashboard")');
      await page.goto(`${origin}/orchestration/admin/#/executions/${encodeURIComponent(parentId)}`);
      await page.waitForSelector('#children');
      const links = await page.$$eval('#children tbody tr td:first-child a', (as) => as.map((a) => a.textContent));
      assert.equal(links.length, 2);
      assert.ok(links.every((l) => l?.startsWith(`${parentId}:supplier-`)));
      await page.click('#children tbody tr:first-child td:first-child a');
      await page.waitForSelector('#parent-run');
      assert.match((await page.textContent('#parent-run')) ?? '', new RegExp(`child of ${parentId}`));
    } finally {
      await browser.close();
    }
  });
});
