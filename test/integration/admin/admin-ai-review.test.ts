/**
 * The run page's AI review panel in a real headless Chromium: the held items
 * with the original and the AI's proposal, approve / edit / reject one by
 * one, then the run goes on and the panel shows who decided what.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { eventually } from '@test/support/harness';
import { startOpenAIStub, type OpenAIStub } from '@test/support/openai-stub';
import { startApi, uniqueCode, type ApiHarness } from '../api/support';
import { launchChromium, signInAdmin, skipWithoutChromium, openAdminTab, unexpectedPageErrors } from '@test/support/browser';

const API_KEY = 'sk-review-ui';

describe('admin UI: the review of AI answers', { skip: skipWithoutChromium }, () => {
  let api: ApiHarness;
  let stub: OpenAIStub;
  let browser: Browser;
  let page: Page;
  let origin: string;
  let pageErrors: string[] = [];

  before(async () => {
    stub = await startOpenAIStub({ apiKey: API_KEY, confidence: (data) => (data.unsure ? 0.3 : 0.9) });
    const env = { OPENAI_BASE_URL: stub.baseUrl, OPENAI_API_KEY: API_KEY, OPENAI_MODEL: 'stub-model' };
    api = await startApi({ env, workerEnv: env });
    origin = api.base.replace(/\/orchestration\/api$/, '');
    browser = await launchChromium();
    ({ page, errors: pageErrors } = await openAdminTab(browser));
  });
  after(async () => {
    // Leave the run page first, so no request of its auto-refresh is still in the API when the API shuts down.
    await page?.goto('about:blank').catch(() => undefined);
    await new Promise((r) => setTimeout(r, 500));
    await browser?.close();
    await api?.close();
    await stub?.close();
  });

  it('approves, edits and rejects held items from the run page; the run completes with the approved and edited ones', async () => {
    const code = uniqueCode('ui_review');
    const steps = [
      { key: 'enrich', name: 'Enrich', step_type: 'ai_process', config: { task_type: 'enrich_product', source_field: 'products', review: { below_confidence: 0.5 } } },
      { key: 'after', name: 'After', step_type: 'test_echo', config: {}, depends_on_steps: ['enrich'] },
    ];
    const wf = await api.request<{ id: number }>('POST', '/workflows/', { body: { code, name: code, steps } });
    assert.equal(wf.status, 201, wf.text);
    const products = [
      { sku: 'P-1', title: 'Sure' },
      { sku: 'P-2', title: 'Unsure two', unsure: true },
      { sku: 'P-3', title: 'Unsure three', unsure: true },
      { sku: 'P-4', title: 'Unsure four', unsure: true },
    ];
    const run = await api.request<{ execution_id: string }>('POST', `/workflows/${wf.body.id}/execute/`, { body: { input_data: { products } } });
    assert.equal(run.status, 202, run.text);
    const id = run.body.execution_id;
    await eventually(async () => ((await api.request<{ reviews: Array<{ status: string }> }>('GET', `/executions/${id}/reviews/`)).body.reviews[0]?.status === 'waiting' ? true : null), 30_000, 'the review opens');

    await signInAdmin(page, origin, api.keys.operator);
    await page.waitForSelector('h1:has-text("Dashboard")');
    await page.goto(`${origin}/orchestration/admin/#/executions/${encodeURIComponent(id)}`);
    await page.waitForSelector('#ai-review table.ai-review');
    assert.match((await page.textContent('#ai-review h2')) ?? '', /AI review · enrich\s+waiting · 0 of 3 decided/);
    assert.deepEqual(await page.$$eval('#ai-review tbody tr', (trs) => trs.map((tr) => tr.getAttribute('data-key'))), ['P-2', 'P-3', 'P-4']);
    // The original and the proposal side by side.
    const cells = await page.$$eval('#ai-review tr[data-key="P-2"] pre', (pres) => pres.map((p) => JSON.parse(p.textContent ?? 'null') as Record<string, unknown>));
    assert.deepEqual(cells[0], products[1]);
    assert.equal(cells[1].sku, 'P-2');
    assert.ok(cells[1].ai, 'the proposal carries the AI answer');
    // The run-wide approval buttons are not offered for a review.
    assert.equal(await page.$('[data-approve]'), null);

    await page.click('#ai-review tr[data-key="P-2"] [data-decide="approve"]');
    await page.waitForSelector('#ai-review tr[data-key="P-2"] .decision');
    await page.fill('#ai-review tr[data-key="P-3"] textarea.review-edit', JSON.stringify({ sku: 'P-3', title: 'Edited in the UI' }));
    await page.click('#ai-review tr[data-key="P-3"] [data-decide="edit"]');
    await page.waitForSelector('#ai-review tr[data-key="P-3"] .decision');
    await page.fill('#ai-review tr[data-key="P-4"] input.review-reason', 'misleading title');
    await page.click('#ai-review tr[data-key="P-4"] [data-decide="reject"]');

    // Every item decided: the run goes on and the page follows it to the end.
    const done = await eventually(async () => {
      const r = await api.request<{ status: string; output_data: { input: { products: Array<{ sku: string; title: string }> } } }>('GET', `/executions/${id}/`);
      return r.body.status === 'completed' ? r.body : null;
    }, 30_000, 'the run completes');
    assert.deepEqual(done.output_data.input.products.map((p) => [p.sku, p.sku === 'P-3' ? p.title : null]), [['P-1', null], ['P-2', null], ['P-3', 'Edited in the UI']]);
    await page.reload();
    await page.waitForSelector('#ai-review h2:has-text("done")');
    const decisions = await page.$$eval('#ai-review tbody tr', (trs) => trs.map((tr) => tr.querySelector('.decision')?.textContent ?? ''));
    assert.deepEqual(decisions, ['approve', 'edit', 'reject']);
    assert.match((await page.textContent('#ai-review tr[data-key="P-4"]')) ?? '', /misleading title/);
    assert.match((await page.textContent('#ai-review tr[data-key="P-4"]')) ?? '', /key:test-operator-/);
    assert.deepEqual(unexpectedPageErrors(pageErrors), []);
  });
});
