/**
 * The Temporal Web UI (a dev server's, in a real headless Chromium) shows a
 * run's encrypted payloads decrypted through the API's codec endpoint, once
 * an operator signed in to the admin UI (which sets the codec cookie) and the
 * Web UI's codec setting sends credentials; without the cookie it does not.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { eventually, type Harness } from '@test/support/harness';
import { startWebUiStack, type WebUiStack } from '@test/support/web-ui-stack';
import { skipWithoutChromium } from '@test/support/browser';

const skip = skipWithoutChromium;

describe('Temporal Web UI with the codec endpoint', { skip }, () => {
  let stack: WebUiStack | undefined;
  let h: Harness;
  let browser: Browser;
  let apiOrigin: string;
  let uiOrigin: string;
  let operatorKey: string;
  let executionId: string;
  const canary = `canary-${randomUUID()}`;

  before(async () => {
    stack = await startWebUiStack('codec-ui');
    ({ h, browser, apiOrigin, uiOrigin, operatorKey } = stack);
    const id = await h.createWorkflow({ steps: [{ key: 'echo', name: 'Echo', step_type: 'test_echo', config: { output: { token: '$input.token' } } }] as never });
    executionId = (await h.start(id, { token: canary })).execution_id;
    assert.equal((await h.wait(executionId)).status, 'completed');
  });
  after(async () => {
    await stack?.close();
  });

  /** Opens the run in the Web UI with the codec endpoint set in the browser (credentials included); returns the decode statuses. */
  async function openRun(page: Page): Promise<number[]> {
    const statuses: number[] = [];
    page.on('response', (r) => {
      // The Web UI adds a query (?preserveStorageRefs=true).
      if (new URL(r.url()).pathname.endsWith('/codec/decode') && r.request().method() === 'POST') statuses.push(r.status());
    });
    await page.goto(`${uiOrigin}/namespaces/default/workflows`);
    // The Web UI's own codec settings (what its "Codec Server" dialog stores): endpoint, include credentials, browser over cluster.
    const endpoint = JSON.stringify(JSON.stringify(`${apiOrigin}/orchestration/api/codec`));
    await page.evaluate(`localStorage.setItem('endpoint', ${endpoint}); localStorage.setItem('includeCredentials', 'true'); localStorage.setItem('overrideRemoteCodecConfiguration', 'true')`);
    await page.goto(`${uiOrigin}/namespaces/default/workflows/${encodeURIComponent(executionId)}`);
    return statuses;
  }

  it('shows plaintext payloads to an operator signed in to the admin UI', async () => {
    const context = await browser.newContext({ bypassCSP: true });
    const page = await context.newPage();
    page.setDefaultTimeout(60_000);
    await page.goto(`${apiOrigin}/orchestration/admin/`);
    await page.fill('#key', operatorKey);
    await Promise.all([page.waitForResponse((r) => r.url().endsWith('/codec/session') && r.status() === 200), page.click('#login button[type=submit]')]);
    await page.waitForSelector('h1:has-text("Dashboard")');
    const statuses = await openRun(page);
    await page.waitForFunction(`document.body.innerText.includes(${JSON.stringify(canary)})`);
    assert.ok(statuses.length > 0 && statuses.every((s) => s === 200), `decode answers: ${statuses.join(', ')}`);
    await context.close();
  });

  it('shows no plaintext without the codec cookie', async () => {
    const context = await browser.newContext({ bypassCSP: true });
    const page = await context.newPage();
    page.setDefaultTimeout(60_000);
    const statuses = await openRun(page);
    await eventually(async () => statuses.length > 0, 60_000, 'the Web UI to call the codec endpoint');
    assert.ok(statuses.length > 0 && statuses.every((s) => s === 401), `decode answers: ${statuses.join(', ')}`);
    assert.ok(!String(await page.evaluate('document.body.innerText')).includes(canary), 'the canary is not shown');
    await context.close();
  });
});
