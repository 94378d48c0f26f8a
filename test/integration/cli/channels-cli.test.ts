import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startApi, type ApiHarness } from '@test/integration/api/support';
import { startRoutedServer, json, type RoutedServer } from '@test/integration/executors/http-executors-support';
import { mailboxStore, startSmtpCatcher, type SmtpCatcher } from '@src/channels/smtp-catcher';
import { eventually } from '@test/support/harness';
import { runCli } from '@test/support/cli';

const suffix = randomUUID().slice(0, 8);

/** `merchflow channels ...` on the database directly and through the API (--api-url), against a real webhook receiver and SMTP catcher. */
describe('merchflow channels CLI', () => {
  let api: ApiHarness;
  let hooks: RoutedServer;
  let catcher: SmtpCatcher;

  before(async () => {
    hooks = await startRoutedServer();
    hooks.route(`/hook/${suffix}`, (_req, res) => json(res, 200, { ok: true }));
    let store: ((mail: Parameters<ReturnType<typeof mailboxStore>>[0]) => Promise<void>) | null = null;
    catcher = await startSmtpCatcher({ store: (mail) => store!(mail) });
    api = await startApi({ env: { SMTP_URL: catcher.url, HTTP_ALLOW_HOSTS: hooks.hostPort } });
    store = mailboxStore(api.h.dataSource);
  });
  after(async () => {
    await api?.h.dataSource.query(`DELETE FROM notification_channels WHERE name LIKE $1`, [`%-${suffix}`]).catch(() => undefined);
    await api?.close();
    await Promise.all([hooks?.close(), catcher?.close()]);
  });

  const cli = (args: string[], env: Record<string, string> = {}) =>
    runCli(args, { LOG_LEVEL: process.env.LOG_LEVEL, SMTP_URL: catcher.url, HTTP_ALLOW_HOSTS: hooks.hostPort, ...env });

  it('creates, lists, updates, test-sends, disables and deletes channels on the database directly', async () => {
    const mail = `ops-${suffix}`;
    const bad = await cli(['channels', 'create', '--name', mail, '--type', 'email', '--recipients', 'not-an-address']);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /config\.recipients/);
    const created = await cli(['channels', 'create', '--name', mail, '--type', 'email', '--recipients', 'ops@example.com', '--from', 'merchflow@example.com']);
    assert.equal(created.code, 0, created.stderr);
    const channel = JSON.parse(created.stdout) as { id: number; config: Record<string, unknown> };
    assert.deepEqual(channel.config, { recipients: ['ops@example.com'], from: 'merchflow@example.com' });

    // Changing one config field keeps the others.
    const updated = await cli(['channels', 'update', mail, '--recipients', 'ops@example.com, oncall@example.com']);
    assert.equal(updated.code, 0, updated.stderr);
    assert.deepEqual(JSON.parse(updated.stdout).config, { recipients: ['ops@example.com', 'oncall@example.com'], from: 'merchflow@example.com' });

    const list = await cli(['channels', 'list']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`${mail}\\s+email\\s+to ops@example.com, oncall@example.com\\s+yes`));

    const test = await cli(['channels', 'test', String(channel.id)]);
    assert.equal(test.code, 0, test.stdout + test.stderr);
    assert.match(test.stdout, new RegExp(`test message sent through ${mail}`));
    const [received] = await eventually(async () => {
      const rows: Array<{ subject: string; rcpt_to: string[] }> = await api.h.dataSource.query(`SELECT subject, rcpt_to FROM mailbox_messages WHERE subject = $1`, [`Merchflow test of channel ${mail}`]);
      return rows.length > 0 ? rows : null;
    });
    assert.deepEqual([...received.rcpt_to].sort(), ['oncall@example.com', 'ops@example.com']);

    assert.equal((await cli(['channels', 'disable', mail])).code, 0);
    assert.match((await cli(['channels', 'list'])).stdout, new RegExp(`${mail}\\s+email\\s+.*\\s+no`));
    const deleted = await cli(['channels', 'delete', mail]);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.match(deleted.stdout, new RegExp(`deleted channel ${mail}`));
    const gone = await cli(['channels', 'test', mail]);
    assert.equal(gone.code, 2);
    assert.match(gone.stderr, new RegExp(`no channel named ${mail}`));
  });

  it('does the same through the API with --api-url, and a failing test send exits 1 with the reason', async () => {
    const hook = `hook-${suffix}`;
    const env = { MERCHFLOW_API_KEY: api.keys.admin, DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none', TEMPORAL_ADDRESS: '127.0.0.1:1' };
    const remote = ['--api-url', api.base];
    const created = await cli(['channels', 'create', '--name', hook, '--type', 'webhook', '--url', `${hooks.origin}/hook/${suffix}`, ...remote], env);
    assert.equal(created.code, 0, created.stderr);
    const list = await cli(['channels', 'list', '--json', ...remote], env);
    assert.equal(list.code, 0, list.stderr);
    assert.ok((JSON.parse(list.stdout) as Array<{ name: string }>).some((c) => c.name === hook));
    const before = hooks.requestsTo(`/hook/${suffix}`).length;
    const test = await cli(['channels', 'test', hook, '--json', ...remote], env);
    assert.equal(test.code, 0, test.stdout + test.stderr);
    assert.equal(JSON.parse(test.stdout).ok, true);
    assert.equal(hooks.requestsTo(`/hook/${suffix}`).length, before + 1);
    // Pointed at a path the receiver answers 404: the test send fails and says why.
    const moved = await cli(['channels', 'update', hook, '--url', `${hooks.origin}/nowhere/${suffix}`, ...remote], env);
    assert.equal(moved.code, 0, moved.stderr);
    const failed = await cli(['channels', 'test', hook, ...remote], env);
    assert.equal(failed.code, 1);
    assert.match(failed.stdout, new RegExp(`test of ${hook} FAILED: .*404`));
    assert.equal((await cli(['channels', 'disable', hook, ...remote], env)).code, 0);
    assert.equal((await cli(['channels', 'delete', hook, ...remote], env)).code, 0);
    assert.ok(!(JSON.parse((await cli(['channels', 'list', '--json', ...remote], env)).stdout) as Array<{ name: string }>).some((c) => c.name === hook));
  });
});
