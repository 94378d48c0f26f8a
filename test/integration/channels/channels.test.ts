import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import { startHarness, type Harness } from '@test/support/harness';
import { lazyExecutors } from '@test/support/deps';
import { json, runDefinition, startRoutedServer, type RoutedServer } from '@test/integration/executors/http-executors-support';
import { notificationExecutorModule } from '@engine/activities/notification';
import { verifyWebhookSignature } from '@engine/activities/notification/signature';
import { headerOf, mailboxStore, startSmtpCatcher, type SmtpCatcher } from '@src/channels/smtp-catcher';
import { ApiKeysService } from '@src/auth/api-keys.service';
import { createApp } from '@src/main';
import { Logger } from '@src/logging/logger';

const suffix = randomUUID().slice(0, 8);
const SIGNING = `HOOK_SIGNING_${suffix.toUpperCase()}`;
const SIGNING_VALUE = `sign-${randomBytes(12).toString('hex')}`;
const SLACK = `SLACK_URL_${suffix.toUpperCase()}`;

describe('notification channels', () => {
  let h: Harness;
  let catcher: SmtpCatcher;
  let hooks: RoutedServer;
  let app: INestApplication;
  let base: string;
  let key: string;
  const lines: string[] = [];
  const ids: Record<string, number> = {};

  const api = async <T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T; text: string }> => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as T, text };
  };

  before(async () => {
    hooks = await startRoutedServer();
    let ds: Harness['dataSource'] | null = null;
    catcher = await startSmtpCatcher({ store: (mail) => mailboxStore(ds!)(mail) });
    h = await startHarness({
      executors: lazyExecutors(() => h, [notificationExecutorModule]),
      env: { SMTP_URL: catcher.url, HTTP_ALLOW_HOSTS: hooks.hostPort, MERCHFLOW_MASTER_KEY: randomBytes(32).toString('base64') },
    });
    ds = h.dataSource;
    app = await createApp(h.config, { logger: new Logger({ level: 'debug', format: 'json', sink: (l) => lines.push(l) }) });
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as { port: number };
    base = `http://127.0.0.1:${port}${h.config.http.basePath}`;
    key = (await new ApiKeysService(h.dataSource).create({ name: `channels-${suffix}`, role: 'admin' })).key;
    assert.equal((await api('PUT', `/secrets/${SIGNING}/`, { value: SIGNING_VALUE })).status, 201);
    assert.equal((await api('PUT', `/secrets/${SLACK}/`, { value: `${hooks.origin}/slack/${suffix}` })).status, 201);
  });

  after(async () => {
    await app?.close();
    await h?.dataSource.query(`DELETE FROM notification_channels WHERE name LIKE $1`, [`%-${suffix}`]).catch(() => undefined);
    await h?.dataSource.query(`DELETE FROM secrets WHERE name IN ($1, $2)`, [SIGNING, SLACK]).catch(() => undefined);
    await h?.close();
    await catcher?.close();
    await hooks?.close();
  });

  it('creates email, webhook and Slack channels; refuses inline secrets and bad fields naming them', async () => {
    const inline = await api<{ details: { errors: Array<{ field: string }> } }>('POST', '/channels/', { name: `bad-${suffix}`, type: 'webhook', config: { url: `${hooks.origin}/h`, secret: 'abc' } });
    assert.equal(inline.status, 400);
    assert.deepEqual(inline.body.details.errors.map((e) => e.field), ['config.secret']);
    const badMail = await api<{ details: { errors: Array<{ field: string }> } }>('POST', '/channels/', { name: `bad-${suffix}`, type: 'email', config: { recipients: ['not an address'] } });
    assert.deepEqual(badMail.body.details.errors.map((e) => e.field), ['config.recipients']);
    const noSecret = await api<{ details: { errors: Array<{ field: string }> } }>('POST', '/channels/', { name: `bad-${suffix}`, type: 'slack', config: { url_secret: 'NOT_STORED_X' } });
    assert.deepEqual(noSecret.body.details.errors.map((e) => e.field), ['config.url_secret']);

    for (const [name, type, config] of [
      ['ops', 'email', { recipients: [`ops-${suffix}@example.com`] }],
      ['hook', 'webhook', { url: `${hooks.origin}/hook/${suffix}`, signing_secret: SIGNING }],
      ['slack', 'slack', { url_secret: SLACK }],
    ] as const) {
      const res = await api<{ id: number }>('POST', '/channels/', { name: `${name}-${suffix}`, type, config });
      assert.equal(res.status, 201, res.text);
      ids[name] = res.body.id;
    }
    const list = await api<{ results: Array<{ name: string }> }>('GET', '/channels/');
    assert.ok(list.body.results.some((c) => c.name === `hook-${suffix}`));
    assert.ok(!list.text.includes(SIGNING_VALUE));
  });

  it('test-sends through each channel: the email lands in the local mailbox, the webhook is signed, Slack gets text', async () => {
    hooks.route(`/hook/${suffix}`, (_req, res) => json(res, 200, { ok: true }));
    hooks.route(`/slack/${suffix}`, (_req, res) => json(res, 200, { ok: true }));
    const mail = await api<{ ok: boolean; result: { accepted: string[] } }>('POST', `/channels/${ids.ops}/test/`);
    assert.equal(mail.body.ok, true, mail.text);
    assert.deepEqual(mail.body.result.accepted, [`ops-${suffix}@example.com`]);
    const box = await api<{ results: Array<{ to: string[]; subject: string; text: string }> }>('GET', '/mailbox/');
    const caught = box.body.results.find((m) => m.to.includes(`ops-${suffix}@example.com`));
    assert.ok(caught, box.text.slice(0, 300));
    assert.equal(caught.subject, `Merchflow test of channel ops-${suffix}`);
    assert.match(caught.text, /This is a test message/);

    const hook = await api<{ ok: boolean; result: { signed: boolean } }>('POST', `/channels/${ids.hook}/test/`);
    assert.equal(hook.body.ok, true, hook.text);
    assert.equal(hook.body.result.signed, true);
    const sent = hooks.requestsTo(`/hook/${suffix}`)[0];
    assert.ok(verifyWebhookSignature(SIGNING_VALUE, sent.headers['x-merchflow-signature'], sent.body), 'HMAC-SHA256 over the body sent');
    assert.equal((JSON.parse(sent.body) as { event: string }).event, 'channel.test');

    const slack = await api<{ ok: boolean }>('POST', `/channels/${ids.slack}/test/`);
    assert.equal(slack.body.ok, true, slack.text);
    assert.match((JSON.parse(hooks.requestsTo(`/slack/${suffix}`)[0].body) as { text: string }).text, /^\*Merchflow test of channel slack-/);
    assert.ok(!slack.text.includes(`/slack/${suffix}`), 'the Slack URL (a secret) is not reported');

    hooks.route(`/hook-down/${suffix}`, (_req, res) => json(res, 410, { error: 'gone' }));
    const down = await api<{ id: number }>('POST', '/channels/', { name: `down-${suffix}`, type: 'webhook', config: { url: `${hooks.origin}/hook-down/${suffix}` } });
    const failed = await api<{ ok: boolean; reason: string }>('POST', `/channels/${down.body.id}/test/`);
    assert.equal(failed.body.ok, false);
    assert.match(failed.body.reason, /410/);
  });

  it('routes notification steps to channels by name; an empty name logs; an unknown one fails naming the field', async () => {
    const notify = (k: string, channel: string, extra: Record<string, unknown> = {}, step: Record<string, unknown> = {}) => ({
      key: k,
      name: k,
      step_type: 'notification',
      ...step,
      config: { type: 'channel', channel, subject: 'Low stock: $input.count SKUs', message: 'SKUs below threshold: $input.skus', data: { skus: '$input.skus' }, ...extra },
    });
    const run = await runDefinition(h, [notify('email', `ops-${suffix}`), notify('hook', `hook-${suffix}`, { event: 'inventory.low_stock' }), notify('quiet', '')], { count: 2, skus: 'A1, B2' });
    assert.equal(run.status, 'completed', String(run.error));
    const box = await h.dataSource.query(`SELECT subject, raw FROM mailbox_messages WHERE rcpt_to ? $1 AND subject = 'Low stock: 2 SKUs'`, [`ops-${suffix}@example.com`]);
    assert.equal(box.length, 1);
    assert.match(box[0].raw, /SKUs below threshold: A1, B2/);
    assert.equal(headerOf(box[0].raw, 'X-Merchflow-Execution-Id'), run.executionId);
    const sent = hooks.requestsTo(`/hook/${suffix}`).at(-1)!;
    assert.equal(sent.headers['idempotency-key'], `${run.executionId}:hook`);
    assert.ok(verifyWebhookSignature(SIGNING_VALUE, sent.headers['x-merchflow-signature'], sent.body));
    assert.deepEqual(JSON.parse(sent.body), { event: 'inventory.low_stock', subject: 'Low stock: 2 SKUs', message: 'SKUs below threshold: A1, B2', data: { skus: 'A1, B2' } });
    assert.ok(h.logLines.some((l) => l.includes('SKUs below threshold: A1, B2') && l.includes(run.executionId)), 'the unnamed channel logged');

    const missing = await runDefinition(h, [notify('nowhere', `nowhere-${suffix}`, {}, { max_retries: 0 })]);
    assert.equal(missing.status, 'failed');
    assert.equal((missing.step('nowhere').error_details as { code?: string }).code, 'CHANNEL_NOT_FOUND');
    assert.match(missing.step('nowhere').error_message ?? '', /channel: no notification channel named/);

    const inUse = await api<{ code: string; message: string }>('DELETE', `/channels/${ids.ops}/`);
    assert.equal(inUse.status, 409);
    assert.equal(inUse.body.code, 'CHANNEL_IN_USE');
    const disabled = await api<{ is_active: boolean }>('POST', `/channels/${ids.ops}/disable/`);
    assert.equal(disabled.body.is_active, false);
    const off = await runDefinition(h, [notify('off', `ops-${suffix}`, {}, { max_retries: 0 })]);
    assert.equal((off.step('off').error_details as { code?: string }).code, 'CHANNEL_DISABLED');
    assert.ok(!lines.join('\n').includes(SIGNING_VALUE) && !h.logLines.join('\n').includes(SIGNING_VALUE));
  });
});
