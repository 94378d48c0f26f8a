/**
 * The run page's item ledger in a real headless Chromium: counts by reason,
 * the items that did not go through, one item's raw payload, and the CSV
 * download, over the real stack.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { runToCompletion, startApi, type ApiHarness } from '../api/support';
import { launchChromium, signInAdmin, skipWithoutChromium, openAdminTab, unexpectedPageErrors } from '@test/support/browser';

const skip = skipWithoutChromium;

describe('admin UI: a run\'s items', { skip }, () => {
  let api: ApiHarness;
  let browser: Browser;
  let page: Page;
  let origin: string;
  let pageErrors: string[] = [];

  before(async () => {
    api = await startApi();
    origin = api.base.replace(/\/orchestration\/api$/, '');
    browser = await launchChromium();
    ({ page, errors: pageErrors } = await openAdminTab(browser, { acceptDownloads: true }));
  });
  after(async () => {
    await browser?.close();
    await api?.close();
  });

  it('shows the invalid items grouped by reason, one item\'s payload, and downloads them as CSV', async () => {
    const validate = {
      key: 'validate',
      name: 'Validate',
      step_type: 'data_validate',
      config: { source_field: 'products', validation_rules: [{ type: 'required', field: 'sku' }, { type: 'min_value', field: 'price', min_value: 0.01 }] },
    };
    const products = [{ sku: 'OK-1', price: 1 }, { sku: 'CHEAP-1', price: 0 }, { price: 3 }, { sku: 'CHEAP-2', price: -1 }, { sku: 'OK-2', price: 2 }];
    const id = await runToCompletion(api, [validate], { products }, 'ui_items');

    await signInAdmin(page, origin, api.keys.viewer);
    await page.waitForSelector('h1:has-text("Dashboard")');
    await page.goto(`${origin}/orchestration/admin/#/executions/${encodeURIComponent(id)}`);
    await page.waitForSelector('#items-ledger h2');
    assert.match((await page.textContent('#items-ledger h2')) ?? '', /5 · 2 ok · 3 invalid · 0 failed · 0 skipped/);
    const reasons = await page.$$eval('#items-ledger table.item-reasons tbody td', (tds) => tds.map((td) => td.textContent?.trim() ?? ''));
    // Four cells a row: step, outcome, reason, count.
    const rows = Array.from({ length: reasons.length / 4 }, (_, i) => reasons.slice(i * 4 + 1, i * 4 + 4).join(' '));
    assert.deepEqual(rows.sort(), ['invalid min_value 2', 'invalid required 1', 'ok — 2']);
    // By default the items that did not go through.
    const keys = await page.$$eval('#items-ledger table.items tbody tr td:nth-child(2)', (tds) => tds.map((td) => td.textContent));
    assert.deepEqual(keys, ['CHEAP-1', '2', 'CHEAP-2']);
    // One reason as a filter.
    await page.click('#items-ledger [data-filter-reason="min_value"]');
    await page.waitForSelector('#items-all');
    assert.deepEqual(await page.$$eval('#items-ledger table.items tbody tr td:nth-child(2)', (tds) => tds.map((td) => td.textContent)), ['CHEAP-1', 'CHEAP-2']);
    // The raw item.
    await page.click('#items-ledger table.items tbody tr:first-child [data-item]');
    await page.waitForSelector('#item-payload:not([hidden])');
    const shown = (await page.textContent('#item-payload')) ?? '';
    assert.match(shown, /validate · CHEAP-1/);
    assert.deepEqual(JSON.parse(shown.slice(shown.indexOf('\n') + 1)), { sku: 'CHEAP-1', price: 0 });
    // The download: the filtered items as CSV.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#items-csv')]);
    const csv = fs.readFileSync((await download.path())!, 'utf8').trim().split('\r\n');
    assert.equal(csv[0].split(',')[1], 'item_key');
    assert.deepEqual(
      csv
        .slice(1)
        .map((l) => l.split(',')[1])
        .sort(),
      ['CHEAP-1', 'CHEAP-2'],
    );
    // A viewer's key may not open a codec session (403): the page goes on without it.
    assert.deepEqual(unexpectedPageErrors(pageErrors), []);
  });
});
