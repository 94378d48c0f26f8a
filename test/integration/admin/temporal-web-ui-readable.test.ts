/**
 * A run as an operator reads it in the Temporal Web UI (a dev server's, in a
 * real headless Chromium, payloads decrypted through the codec endpoint): the
 * run's summary names the workflow, trigger and supplier, its details link the
 * admin UI's run page, and the timeline labels each activity with the step's
 * name rather than its step type. Screenshot: WEB_UI_SCREENSHOT=docs/web-ui-run.png.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import { chromium, type Browser } from 'playwright-core';
import { defaultPayloadConverter } from '@temporalio/common';
import { loadConfig } from '@src/config/config';
import { createApp } from '@src/main';
import { Logger } from '@src/logging/logger';
import { ApiKeysService } from '@src/auth/api-keys.service';
import { eventually, startHarness, type Harness } from '@test/support/harness';
import { testExecutors } from '@test/support/executors';
import { startTemporalDevServer, type TemporalDevServer } from '../../../scripts/lib/temporal-server';
import { freePort } from '../../../scripts/lib/ports';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const skip = !fs.existsSync(CHROMIUM) && process.env.CI !== 'true' ? `no Chromium at ${CHROMIUM}` : false;

describe('Temporal Web UI: readable runs', { skip }, () => {
  let temporal: TemporalDevServer;
  let h: Harness;
  let app: INestApplication;
  let browser: Browser;
  let apiOrigin: string;
  let uiOrigin: string;
  let operatorKey: string;
  let executionId: string;
  const supplier = `acme-${randomUUID().slice(0, 6)}`;

  before(async () => {
    const uiPort = await freePort();
    temporal = await startTemporalDevServer({ port: await freePort(), uiPort, dbFile: null });
    uiOrigin = `http://127.0.0.1:${uiPort}`;
    await eventually(async () => (await fetch(`${uiOrigin}/api/v1/settings`)).ok, 60_000, 'the Temporal Web UI');
    h = await startHarness({ executors: testExecutors(() => h.dataSource), env: { TEMPORAL_ADDRESS: temporal.address } });
    const config = loadConfig({ ...process.env, TEMPORAL_ADDRESS: temporal.address, TEMPORAL_TASK_QUEUE: h.taskQueue, CODEC_CORS_ORIGINS: uiOrigin });
    app = await createApp(config, { stepTypes: testExecutors(() => h.dataSource), logger: new Logger({ level: 'error', format: 'json', sink: () => undefined }) });
    await app.listen(0, '127.0.0.1');
    apiOrigin = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
    operatorKey = (await new ApiKeysService(h.dataSource).create({ name: `ui-${randomUUID().slice(0, 8)}`, role: 'operator' })).key;
    const id = await h.createWorkflow({
      name: 'Supplier product import',
      steps: [
        { key: 'fetch', name: 'Fetch supplier catalogue', step_type: 'test_echo', config: { output: { items: [1, 2, 3] } } },
        { key: 'publish', name: 'Publish listings', step_type: 'test_echo', config: { output: { published: 3 } }, depends_on_steps: ['fetch'] },
      ],
    } as never);
    executionId = (await h.start(id, { supplier_id: supplier, api_token: 'not-for-the-summary' })).execution_id;
    assert.equal((await h.wait(executionId)).status, 'completed');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  });
  after(async () => {
    await browser?.close();
    await app?.close();
    await h?.close();
    await temporal?.stop();
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
