/**
 * The Secrets and Connections pages of the admin UI in a real headless
 * Chromium, against the API over the real stack and a sandbox that wants a key.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { startSandbox, type Sandbox } from '@src/sandbox';
import { startApi, type ApiHarness } from '../api/support';
import { launchChromium, signInAdmin, skipWithoutChromium } from '@test/support/browser';

const skip = skipWithoutChromium;

describe('admin UI: secrets and connections', { skip }, () => {
  let api: ApiHarness;
  let sandbox: Sandbox;
  let browser: Browser;
  let page: Page;
  let origin: string;
  const pageErrors: string[] = [];
  const suffix = randomUUID().slice(0, 8).toUpperCase();
  const SECRET = `UI_SANDBOX_KEY_${suffix}`;
  const VALUE = `ui-${randomBytes(12).toString('hex')}`;

  before(async () => {
    sandbox = await startSandbox({ products: 5, seed: 9, apiKey: VALUE });
    api = await startApi({ env: { MERCHFLOW_MASTER_KEY: randomBytes(32).toString('base64'), HTTP_ALLOW_HOSTS: new URL(sandbox.url).host } });
    origin = api.base.replace(/\/orchestration\/api$/, '');
    browser = await launchChromium();
    page = await browser.newPage();
    page.setDefaultTimeout(60_000);
    page.on('pageerror', (e) => pageErrors.push(e.message));
    // The browser's own favicon request is not a page response; any 404 the page asks for is.
    page.on('response', (r) => r.status() === 404 && pageErrors.push(`404 ${r.url()}`));
    page.on('console', (m) => m.type() === 'error' && !/status of (400|409|404)/.test(m.text()) && pageErrors.push(m.text()));
    await signInAdmin(page, origin, api.keys.admin);
    await page.waitForSelector('h1:has-text("Dashboard")');
  });
  after(async () => {
    await api?.h.dataSource.query(`DELETE FROM suppliers WHERE credentials->>'secret' = $1`, [SECRET]).catch(() => undefined);
    await api?.h.dataSource.query(`DELETE FROM secrets WHERE name = $1`, [SECRET]).catch(() => undefined);
    await browser?.close();
    await api?.close();
    await sandbox?.close();
  });

  it('stores a secret without ever showing its value, then creates a supplier naming it and tests it', async () => {
    await page.goto(`${origin}/orchestration/admin/#/secrets`);
    await page.waitForSelector('#s-set');
    await page.fill('#s-name', SECRET);
    await page.fill('#s-value', VALUE);
    await page.fill('#s-description', 'sandbox key');
    await page.click('#s-set button[type=submit]');
    await page.waitForSelector(`tr[data-secret="${SECRET}"]`);
    assert.ok(!(await page.content()).includes(VALUE), 'the page never holds the value once saved');

    await page.goto(`${origin}/orchestration/admin/#/connections/suppliers`);
    await page.waitForSelector('#c-create');
    const code = `ui-${suffix.toLowerCase()}`;
    await page.fill('#c-code', code);
    await page.fill('#c-name', 'UI supplier');
    await page.fill('#c-endpoint', sandbox.urls.supplier);
    await page.selectOption('#c-auth', 'bearer');
    await page.selectOption('#c-secret', SECRET);
    // A bad mapping first: the server's problem is shown by field.
    await page.fill('#c-mapping', '{"title": "$uppercase("}');
    await page.click('#c-create button[type=submit]');
    await page.waitForSelector('#c-problems:not([hidden])');
    assert.match((await page.textContent('#c-problems')) ?? '', /field_mapping\.title/);
    await page.fill('#c-mapping', '{"sku": "sku", "title": "$uppercase(title)"}');
    await page.fill('#c-budget', '{"requests_per_second": 10, "burst": 20}');
    await page.click('#c-create button[type=submit]');
    await page.waitForSelector(`td code:has-text("${code}")`);
    const [row] = await api.h.dataSource.query(`SELECT id, credentials, rate_budget FROM suppliers WHERE code = $1`, [code]);
    assert.deepEqual(row.credentials, { type: 'bearer', secret: SECRET });
    assert.deepEqual(row.rate_budget, { requests_per_second: 10, burst: 20 });

    await page.click(`tr[data-connection="${row.id}"] button[data-test]`);
    await page.waitForSelector('#c-mapped');
    const text = (await page.textContent('#c-test')) ?? '';
    assert.match(text, /reachable: yes · authenticated: yes/);
    const mapped = JSON.parse((await page.textContent('#c-mapped')) ?? '{}') as { sku: string };
    assert.equal(mapped.sku, sandbox.catalogue.product(0).sku);
    assert.ok(!(await page.content()).includes(VALUE));

    await page.click(`tr[data-connection="${row.id}"] button[data-disable]`);
    await page.waitForSelector(`tr[data-connection="${row.id}"] button[data-enable]`);
    assert.deepEqual(pageErrors, []);
  });

  it('creates an email channel, with the server\'s problems shown by field first', async () => {
    const name = `ui-ops-${suffix.toLowerCase()}`;
    await page.goto(`${origin}/orchestration/admin/#/channels`);
    await page.waitForSelector('#ch-create');
    await page.fill('#ch-name', name);
    await page.selectOption('#ch-type', 'email');
    await page.fill('#ch-config', '{"recipients": ["not-an-address"]}');
    await page.click('#ch-create button[type=submit]');
    await page.waitForSelector('#ch-problems:not([hidden])');
    assert.match((await page.textContent('#ch-problems')) ?? '', /config\.recipients/);
    await page.fill('#ch-config', `{"recipients": ["ops-${suffix.toLowerCase()}@example.com"]}`);
    await page.click('#ch-create button[type=submit]');
    await page.waitForSelector(`td code:has-text("${name}")`);
    const [row] = await api.h.dataSource.query(`SELECT id, type, config FROM notification_channels WHERE name = $1`, [name]);
    assert.deepEqual(row.config, { recipients: [`ops-${suffix.toLowerCase()}@example.com`] });
    await api.h.dataSource.query(`DELETE FROM notification_channels WHERE id = $1`, [row.id]);
    assert.deepEqual(pageErrors, []);
  });
});
