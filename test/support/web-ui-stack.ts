/**
 * What a Temporal Web UI browser test needs: a dev server with its Web UI (the
 * shared test server runs headless), a harness with a worker on it, an API
 * app whose codec endpoint the Web UI may call, an operator key and a headless
 * Chromium.
 */
import { randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import type { Browser } from 'playwright-core';
import { launchChromium } from '@test/support/browser';
import { loadConfig } from '@src/config/config';
import { createApp } from '@src/main';
import { Logger } from '@src/logging/logger';
import { ApiKeysService } from '@src/auth/api-keys.service';
import { eventually, startHarness, type Harness } from '@test/support/harness';
import { testExecutors } from '@test/support/executors';
import { startTemporalDevServer, type TemporalDevServer } from '../../scripts/lib/temporal-server';
import { freePort } from '../../scripts/lib/ports';

export interface WebUiStack {
  h: Harness;
  browser: Browser;
  apiOrigin: string;
  uiOrigin: string;
  operatorKey: string;
  close(): Promise<void>;
}

export async function startWebUiStack(keyName: string): Promise<WebUiStack> {
  let temporal: TemporalDevServer | undefined;
  let h: Harness | undefined;
  let app: INestApplication | undefined;
  let browser: Browser | undefined;
  const close = async () => {
    await browser?.close();
    await app?.close();
    await h?.close();
    await temporal?.stop();
  };
  try {
    const uiPort = await freePort();
    temporal = await startTemporalDevServer({ port: await freePort(), uiPort, dbFile: null });
    const uiOrigin = `http://127.0.0.1:${uiPort}`;
    // The frontend answers before the Web UI server does.
    await eventually(async () => (await fetch(`${uiOrigin}/api/v1/settings`)).ok, 60_000, 'the Temporal Web UI');
    const harness = await startHarness({ executors: testExecutors(() => harness.dataSource), env: { TEMPORAL_ADDRESS: temporal.address } });
    h = harness;
    const config = loadConfig({ ...process.env, TEMPORAL_ADDRESS: temporal.address, TEMPORAL_TASK_QUEUE: harness.taskQueue, CODEC_CORS_ORIGINS: uiOrigin });
    app = await createApp(config, { stepTypes: testExecutors(() => harness.dataSource), logger: new Logger({ level: 'error', format: 'json', sink: () => undefined }) });
    await app.listen(0, '127.0.0.1');
    const apiOrigin = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
    const operatorKey = (await new ApiKeysService(harness.dataSource).create({ name: `${keyName}-${randomUUID().slice(0, 8)}`, role: 'operator' })).key;
    browser = await launchChromium();
    return { h: harness, browser, apiOrigin, uiOrigin, operatorKey, close };
  } catch (err) {
    await close();
    throw err;
  }
}
