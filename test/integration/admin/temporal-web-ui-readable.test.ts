/**
 * A run as an operator reads it in the Temporal Web UI (a dev server's, in a
 * real headless Chromium, payloads decrypted through the codec endpoint): the
 * run's summary names the workflow, trigger and supplier, its details link the
 * admin UI's run page, and the timeline labels each activity with the step's
 * name rather than its step type. Screenshot: WEB_UI_SCREENSHOT=docs/web-ui-run.png.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Browser } from 'playwright-core';
import { defaultPayloadConverter } from '@temporalio/common';
import { eventually, type Harness } from '@test/support/harness';
import { startWebUiStack, type WebUiStack } from '@test/support/web-ui-stack';
import { skipWithoutChromium } from '@test/support/browser';

const skip = skipWithoutChromium;

describe('Temporal Web UI: readable runs', { skip }, () => {
  let stack: WebUiStack | undefined;
  let h: Harness;
  let browser: Browser;
  let apiOrigin: string;
  let uiOrigin: string;
  let operatorKey: string;
  let executionId: string;
  const supplier = `acme-${randomUUID().slice(0, 6)}`;

  before(async () => {
    stack = await startWebUiStack('ui');
    ({ h, browser, apiOrigin, uiOrigin, operatorKey } = stack);
    const id = await h.createWorkflow({
      name: 'Supplier product import',
      steps: [
        { key: 'fetch', name: 'Fetch supplier catalogue', step_type: 'test_echo', config: { output: { items: [1, 2, 3] } } },
        { key: 'publish', name: 'Publish listings', step_type: 'test_echo', config: { output: { published: 3 } }, depends_on_steps: ['fetch'] },
      ],
    } as never);
    executionId = (await h.start(id, { supplier_id: supplier, api_token: 'not-for-the-summary' })).execution_id;
    assert.equal((await h.wait(executionId)).status, 'completed');
  });
  after(async () => {
    await stack?.close();
  });

  it('records the summary, details, step-named activities and current details in the run', async () => {
    const handle = h.client.workflow.getHandle(executionId);
    const desc = await handle.describe();
    const summary = await desc.staticSummary();
    assert.match(summary ?? '', /^Supplier product import · api · supplier_id=acme-/);
    assert.ok(!summary!.includes('not-for-the-summary'), 'secret-looking inputs stay out');
    const details = await desc.staticDetails();
    assert.match(details ?? '', /version 1/);
    assert.ok(details!.includes(`/orchestration/admin/#/executions/${executionId}`), details);
    const history = await h.history(executionId);
    const scheduled = history.events!.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'test_echo');
    assert.equal(scheduled.length, 2);
    // h.history() decodes every payload, the activities' summaries (user metadata) included.
    const summaries = scheduled.map((e) => defaultPayloadConverter.fromPayload(e.userMetadata!.summary!));
    assert.deepEqual(summaries, ['Fetch supplier catalogue (fetch)', 'Publish listings (publish)']);
    const meta = (await handle.query('__temporal_workflow_metadata')) as { currentDetails?: string };
    assert.match(meta.currentDetails ?? '', /\*\*Steps done:\*\* 2 of 2/);
  });

  it('shows step names on the timeline and the summary in the Web UI', async () => {
    const context = await browser.newContext({ bypassCSP: true, viewport: { width: 1440, height: 1000 } });
    const page = await context.newPage();
    page.setDefaultTimeout(60_000);
    await page.goto(`${apiOrigin}/orchestration/admin/`);
    await page.fill('#key', operatorKey);
    await Promise.all([page.waitForResponse((r) => r.url().endsWith('/codec/session') && r.status() === 200), page.click('#login button[type=submit]')]);
    await page.waitForSelector('h1:has-text("Dashboard")');
    await page.goto(`${uiOrigin}/namespaces/default/workflows`);
    const endpoint = JSON.stringify(JSON.stringify(`${apiOrigin}/orchestration/api/codec`));
    await page.evaluate(`localStorage.setItem('endpoint', ${endpoint}); localStorage.setItem('includeCredentials', 'true'); localStorage.setItem('overrideRemoteCodecConfiguration', 'true')`);
    await page.goto(`${uiOrigin}/namespaces/default/workflows/${encodeURIComponent(executionId)}`);
    // Markdown (summary, details) renders in sandboxed iframes: read every frame.
    const pageText = async () => (await Promise.all(page.frames().map((f) => f.evaluate('document.body ? document.body.innerText : ""').catch(() => '')))).join('\n');
    const expectText = async (text: string) =>
      eventually(async () => (await pageText()).includes(text), 30_000, `"${text}" on the page`).catch(async (err: Error) => {
        await page.screenshot({ path: '/tmp/merchflow-web-ui-failed.png', fullPage: true });
        throw new Error(`${err.message} (screenshot /tmp/merchflow-web-ui-failed.png); it reads:\n${await pageText()}`);
      });
    // The timeline labels each activity "<step type> • <step name> (<key>)".
    await expectText('Fetch supplier catalogue (fetch)');
    await expectText('Publish listings (publish)');
    await page.screenshot({ path: process.env.WEB_UI_SCREENSHOT ?? '/tmp/merchflow-web-ui-run.png' });
    // The run's summary and details (decrypted through the codec endpoint) under "User Metadata".
    await page.getByText('User Metadata', { exact: true }).first().click();
    await expectText(`supplier_id=${supplier}`);
    await expectText('Supplier product import · api');
    await expectText(`run ${executionId}`);
    await expectText('Steps done: 2 of 2');
    await context.close();
  });
});
