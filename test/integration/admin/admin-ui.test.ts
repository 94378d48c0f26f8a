/**
 * The admin UI in a real headless Chromium (Debian's, driven by
 * playwright-core) against the API and worker over the real stack.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startApi, type ApiHarness } from '../api/support';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// CI installs Chromium (.ci/run); on a workstation without it the suite is skipped, never silently in CI.
const skip = !fs.existsSync(CHROMIUM) && process.env.CI !== 'true' ? `no Chromium at ${CHROMIUM}` : false;

describe('admin UI', { skip }, () => {
  let api: ApiHarness;
  let browser: Browser;
  let page: Page;
  let origin: string;
  const pageErrors: string[] = [];

  before(async () => {
    api = await startApi();
    origin = api.base.replace(/\/orchestration\/api$/, '');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    page = await browser.newPage();
    // The whole suite shares two cores: give the page room before calling it stuck.
    page.setDefaultTimeout(60_000);
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && pageErrors.push(m.text()));
  });
  after(async () => {
    await browser?.close();
    await api?.close();
  });

  async function signIn(key: string) {
    await page.goto(`${origin}/orchestration/admin/`);
    // Start signed out: the key lives in this tab's sessionStorage.
    await page.evaluate('sessionStorage.clear()');
    await page.reload();
    await page.fill('#key', key);
    await page.click('#login button[type=submit]');
  }

  it('asks for a key, refuses a wrong one and signs in with a valid one', async () => {
    const res = await page.goto(`${origin}/`);
    assert.equal(new URL(page.url()).pathname, '/orchestration/admin/', 'the root redirects to the admin UI');
    assert.match(res!.headers()['content-security-policy'] ?? '', /default-src 'self'/);
    await signIn('mf_wrong_key');
    await page.waitForSelector('#toast:not([hidden])');
    assert.match(await page.textContent('#toast') ?? '', /not accepted/);
    await signIn(api.keys.viewer);
    await page.waitForSelector('h1:has-text("Dashboard")');
    assert.equal(await page.isVisible('#nav'), true);
  });

  it('runs a workflow and follows its progress to the end, with step details and a Temporal link', async () => {
    await signIn(api.keys.operator);
    const created = await api.request<{ id: number }>('POST', '/workflows/', {
      body: {
        code: `ui_${Date.now()}`,
        name: 'UI <script>alert(1)</script> flow',
        steps: [
          { key: 'first', name: 'First', step_type: 'test_echo', config: { output: { n: '$input.n' } } },
          { key: 'slow', name: 'Slow', step_type: 'test_sleep', config: { ms: 1500 } },
          { key: 'review', name: 'Review', step_type: 'approval', config: {} },
        ],
      },
    });
    assert.equal(created.status, 201);
    await page.goto(`${origin}/orchestration/admin/#/workflows/${created.body.id}`);
    await page.waitForSelector('#execute');
    // Names are shown as text, never run as markup.
    assert.ok((await page.textContent('h1'))!.includes('<script>alert(1)</script>'));
    await page.fill('#input', '{"n": 7}');
    await page.click('#execute');
    await page.waitForURL(/#\/executions\//);
    // The page polls the run: wait for the approval button, approve, and see the run complete.
    await page.waitForSelector('[data-approve="review"]', { timeout: 60_000 });
    assert.ok(await page.isVisible('progress'));
    await page.click('[data-approve="review"]');
    await page.waitForSelector('.toolbar .status.completed', { timeout: 60_000 });
    const rows = await page.$$eval('table tbody tr', (trs) => trs.map((tr) => tr.textContent ?? ''));
    assert.equal(rows.length, 3);
    assert.ok(rows.every((r) => r.includes('completed')), rows.join('\n'));
    const link = await page.getAttribute('a[target=_blank][href*="/workflows/"]', 'href');
    assert.match(link ?? '', /\/namespaces\/default\/workflows\//);
    assert.match((await page.textContent('pre')) ?? '', /"n": 7/);
  });

  it('lists runs, workflows and statistics', async () => {
    await page.goto(`${origin}/orchestration/admin/#/executions`);
    await page.waitForSelector('table tbody tr');
    assert.ok((await page.$$('table tbody tr')).length >= 1);
    await page.goto(`${origin}/orchestration/admin/#/`);
    await page.waitForSelector('.cards .card');
    const cards = await page.$$eval('.cards .card', (cs) => cs.map((c) => c.textContent ?? ''));
    assert.ok(cards.some((c) => /Runs/.test(c)));
    await page.goto(`${origin}/orchestration/admin/#/workflows`);
    await page.waitForSelector('table tbody tr');
  });

  it('shows a run that completed with failures, its failed items, and filters runs by it', async () => {
    const wf = await api.request<{ id: number }>('POST', '/workflows/', {
      body: { code: `ui_f_${Date.now()}`, name: 'Failed items', steps: [{ key: 'publish', name: 'Publish', step_type: 'test_items', config: { items: ['SKU-1', 'SKU-<b>2</b>', 'SKU-3'], fail: ['SKU-<b>2</b>'] } }] },
    });
    assert.equal(wf.status, 201);
    const started = await api.request<{ execution_id: string }>('POST', `/workflows/${wf.body.id}/execute/`, { body: { input_data: {} } });
    assert.equal(started.status, 202);
    const id = started.body.execution_id;
    await page.goto(`${origin}/orchestration/admin/#/executions/${encodeURIComponent(id)}`);
    await page.waitForSelector('.toolbar .status.completed_with_failures', { timeout: 60_000 });
    assert.match((await page.textContent('.toolbar .status.completed_with_failures')) ?? '', /completed with failures · 1/);
    const failed = await page.$$eval('table.failed-items tbody tr', (trs) => trs.map((tr) => tr.textContent ?? ''));
    assert.equal(failed.length, 1);
    assert.match(failed[0], /publish.*SKU-<b>2<\/b>.*TEST_ITEM_FAILED.*failed for good/, 'item keys are shown as text');
    await page.goto(`${origin}/orchestration/admin/#/executions?status=completed_with_failures`);
    await page.waitForSelector(`a[href="#/executions/${encodeURIComponent(id)}"]`);
    const runs = await page.$$eval('table tbody tr', (trs) => trs.map((tr) => tr.textContent ?? ''));
    assert.ok(runs.every((r) => r.includes('completed with failures')), runs.join('\n'));
  });

  it('shows an operator-only action failing for a viewer as a clear message', async () => {
    const wf = await api.request<{ id: number }>('POST', '/workflows/', {
      body: { code: `ui_v_${Date.now()}`, name: 'Viewer check', steps: [{ key: 'a', name: 'A', step_type: 'test_echo', config: {} }] },
    });
    await signIn(api.keys.viewer);
    await page.waitForSelector('h1:has-text("Dashboard")');
    await page.goto(`${origin}/orchestration/admin/#/workflows/${wf.body.id}`);
    await page.waitForSelector('#execute');
    await page.click('#execute');
    await page.waitForSelector('#toast.bad:not([hidden])');
    assert.match((await page.textContent('#toast')) ?? '', /FORBIDDEN/);
  });

  it('raised no script errors', () => {
    assert.deepEqual(pageErrors.filter((e) => !/401|403|Failed to load resource/.test(e)), []);
  });
});
