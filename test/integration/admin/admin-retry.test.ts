/**
 * "Retry failed items" on the run page in a real headless Chromium: the
 * operator filters the items by reason, retries them on the fixed (current)
 * definition version chosen in the dialog, and sees the new run complete them.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { startApi, uniqueCode, type ApiHarness } from '../api/support';
import { eventually } from '@test/support/harness';
import { launchChromium, signInAdmin, skipWithoutChromium, openAdminTab, unexpectedPageErrors } from '@test/support/browser';

const skip = skipWithoutChromium;

const validate = (min: number) => ({
  key: 'validate',
  name: 'Validate',
  step_type: 'data_validate',
  config: { source_field: 'products', validation_rules: [{ type: 'required', field: 'sku' }, { type: 'min_value', field: 'price', min_value: min }] },
});

describe('admin UI: retry failed items', { skip }, () => {
  let api: ApiHarness;
  let browser: Browser;
  let page: Page;
  let origin: string;
  let pageErrors: string[] = [];

  before(async () => {
    api = await startApi();
    origin = api.base.replace(/\/orchestration\/api$/, '');
    browser = await launchChromium();
    ({ page, errors: pageErrors } = await openAdminTab(browser));
  });
  after(async () => {
    await browser?.close();
    await api?.close();
  });

  it('retries the items of one reason on the fixed version, chosen in the dialog', async () => {
    const code = uniqueCode('ui_retry');
    const wf = await api.request<{ id: number }>('POST', '/workflows/', { body: { code, name: code, steps: [validate(0.01)] } });
    assert.equal(wf.status, 201, wf.text);
    const products = [{ sku: 'OK-1', price: 1 }, { sku: 'FREE-1', price: 0 }, { price: 3 }, { sku: 'FREE-2', price: 0 }];
    const run = await api.request<{ execution_id: string }>('POST', `/workflows/${wf.body.id}/execute/`, { body: { input_data: { products } } });
    const id = run.body.execution_id;
    await eventually(async () => ((await api.request<{ status: string }>('GET', `/executions/${id}/`)).body.status === 'completed' ? true : null), 60_000, 'first run');
    // The rule is fixed: free items are fine now (version 2).
    const fixed = await api.request('PATCH', `/workflows/${wf.body.id}/`, { body: { steps: [validate(0)] } });
    assert.equal(fixed.status, 200, fixed.text);

    await signInAdmin(page, origin, api.keys.operator);
    await page.waitForSelector('h1:has-text("Dashboard")');
    await page.goto(`${origin}/orchestration/admin/#/executions/${encodeURIComponent(id)}`);
    await page.waitForSelector('#items-retry');
    assert.equal((await page.textContent('#items-retry'))?.trim(), 'Retry failed items');
    await page.click('#items-ledger [data-filter-reason="min_value"]');
    await page.waitForSelector('#items-retry:has-text("Retry failed items (min_value)")');
    await page.click('#items-retry');
    await page.waitForSelector('dialog#recover-dialog[open]');
    assert.equal(await page.isChecked('dialog#recover-dialog input[value="current"]'), true, 'a newer version exists: current is preselected');
    assert.match((await page.textContent('dialog#recover-dialog')) ?? '', /current \(v2\)/);
    await page.click('#recover-ok');
    await page.waitForURL((url) => url.hash.startsWith('#/executions/') && !url.hash.includes(encodeURIComponent(id)));
    await page.waitForSelector('#recovery');
    assert.match((await page.textContent('#recovery')) ?? '', /Retry of items · version current \(v2, the earlier run was v1\)/);
    const next = decodeURIComponent(new URL(page.url()).hash.replace('#/executions/', ''));
    await eventually(async () => ((await api.request<{ status: string }>('GET', `/executions/${next}/`)).body.status === 'completed' ? true : null), 60_000, 'retry run');
    const items = await api.request<{ results: Array<{ item_key: string; status: string }> }>('GET', `/executions/${next}/items/`);
    assert.deepEqual(items.body.results.map((i) => [i.item_key, i.status]), [['FREE-1', 'ok'], ['FREE-2', 'ok']], 'only the items of that reason, now valid');
    assert.deepEqual(unexpectedPageErrors(pageErrors), []);
  });
  it("edits a step's output in the run page and continues from it, the edit recorded", async () => {
    const code = uniqueCode('ui_edit');
    const wf = await api.request<{ id: number }>('POST', '/workflows/', { body: { code, name: code, steps: [validate(0.01)] } });
    assert.equal(wf.status, 201, wf.text);
    const run = await api.request<{ execution_id: string }>('POST', `/workflows/${wf.body.id}/execute/`, { body: { input_data: { products: [{ sku: 'A-1', price: 2 }, { sku: 'B-1', price: 5 }] } } });
    const id = run.body.execution_id;
    await eventually(async () => ((await api.request<{ status: string }>('GET', `/executions/${id}/`)).body.status === 'completed' ? true : null), 60_000, 'first run');

    await signInAdmin(page, origin, api.keys.operator);
    await page.waitForSelector('h1:has-text("Dashboard")');
    await page.goto(`${origin}/orchestration/admin/#/executions/${encodeURIComponent(id)}`);
    await page.click('[data-edit-output="validate"]');
    await page.waitForSelector('dialog#edit-output-dialog[open]');
    // The editor holds the output as later steps read it: both products passed.
    const shown = JSON.parse(await page.inputValue('#edit-output-json')) as { products: Array<{ sku: string }> };
    assert.deepEqual(shown.products.map((p) => p.sku), ['A-1', 'B-1']);
    await page.fill('#edit-output-json', JSON.stringify({ ...shown, products: shown.products.slice(1) }));
    await page.fill('#edit-output-reason', 'A-1 is withdrawn');
    await page.click('dialog#edit-output-dialog button[value="ok"]');
    await page.waitForURL((url) => url.hash.startsWith('#/executions/') && !url.hash.includes(encodeURIComponent(id)));
    await page.waitForSelector('#recovery');
    assert.match((await page.textContent('#recovery')) ?? '', /Continued from an edited output/);
    const next = decodeURIComponent(new URL(page.url()).hash.replace('#/executions/', ''));
    const done = await eventually(async () => {
      const r = await api.request<{ status: string; edits: Array<{ step_key: string; reason: string; edited_by: string; after: { products: Array<{ sku: string }> } }> }>('GET', `/executions/${next}/`);
      return r.body.status === 'completed' ? r.body : null;
    }, 60_000, 'the continued run');
    assert.deepEqual(done.edits.map((e) => [e.step_key, e.reason, e.after.products.map((p) => p.sku)]), [['validate', 'A-1 is withdrawn', ['B-1']]]);
    assert.match(done.edits[0].edited_by, /operator/);
    assert.deepEqual(unexpectedPageErrors(pageErrors), []);
  });
});
