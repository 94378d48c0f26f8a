import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerAddress } from 'smtp-server';
import type { RunResult } from '@engine/shared/contracts';
import type { ExecutorModule } from '@engine/activities/registry';
import { NOTIFICATION_STEP_TYPE, notificationExecutorModule, messageIdFor, verifyWebhookSignature } from '@engine/activities/notification';
import { startHarness, type Harness } from '@test/support/harness';
import { lazyExecutors } from '@test/support/deps';
import { testExecutors } from '@test/support/executors';
import { installSocketGuard, startServer, type SocketGuard, type TestServer } from '@test/integration/http/support';

const HOOK_SECRET_NAME = 'NOTIFY_TEST_HOOK_SECRET';
const HOOK_SECRET = `whsec_${Math.random().toString(36).slice(2)}`;

interface ReceivedMail {
  from: string;
  to: string[];
  headers: Record<string, string>;
  body: string;
}

/** Headers (lower-case, unfolded) and the decoded text body of a single-part message. */
function parseMail(raw: string): { headers: Record<string, string>; body: string } {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
  const headers: Record<string, string> = {};
  for (const line of head.split('\r\n')) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = raw.slice(split + 4);
  if (/quoted-printable/i.test(headers['content-transfer-encoding'] ?? '')) {
    body = body.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
  }
  return { headers, body: body.replace(/\r\n$/, '') };
}

/** A real SMTP server on 127.0.0.1 that records what it accepts and can refuse on cue. */
async function startSmtp() {
  const received: ReceivedMail[] = [];
  const refused: ReceivedMail[] = [];
  const state = { failNextData: 0 };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    onRcptTo(address: SMTPServerAddress, _session, cb) {
      if (address.address.startsWith('bounce@')) return cb(Object.assign(new Error('mailbox unavailable'), { responseCode: 550 }));
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const mail = {
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          ...parseMail(Buffer.concat(chunks).toString('utf8')),
        };
        if (state.failNextData > 0) {
          state.failNextData--;
          refused.push(mail);
          return cb(Object.assign(new Error('try again later'), { responseCode: 451 }));
        }
        received.push(mail);
        cb();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return { port, received, refused, state, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe(notificationExecutorModule.type, () => {
  let h: Harness;
  let guard: SocketGuard;
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  let hook: TestServer;
  /** What the webhook receiver answers, in order; then 200. */
  const answers: Array<{ status: number; headers?: Record<string, string> }> = [];
  const verified: boolean[] = [];

  /** The module as a worker without SMTP_URL would build it. */
  const noSmtpModule: ExecutorModule = {
    ...notificationExecutorModule,
    type: 'notification_without_smtp',
    create: (deps) => ({ ...notificationExecutorModule.create({ ...deps, config: { ...deps.config, smtp: { url: null, from: 'x@y.z' } } }), type: 'notification_without_smtp' }),
  };

  before(async () => {
    guard = installSocketGuard();
    process.env[`MERCHFLOW_SECRET_${HOOK_SECRET_NAME}`] = HOOK_SECRET;
    smtp = await startSmtp();
    hook = await startServer((req, res, body) => {
      // The receiver checks what a real one would: the signature over the exact bytes received.
      verified.push(verifyWebhookSignature(HOOK_SECRET, req.headers['x-merchflow-signature'], body, 300));
      const answer = answers.shift() ?? { status: 200 };
      res.writeHead(answer.status, { 'content-type': 'application/json', ...(answer.headers ?? {}) });
      res.end(JSON.stringify({ ok: answer.status < 300 }));
    });
    h = await startHarness({
      executors: [...lazyExecutors(() => h, [notificationExecutorModule, noSmtpModule]), ...testExecutors(() => h.dataSource)],
      env: { SMTP_URL: `smtp://127.0.0.1:${smtp.port}`, SMTP_FROM: 'merchflow@shop.example', HTTP_ALLOW_HOSTS: hook.hostPort },
    });
  });
  after(async () => {
    await h.close();
    await smtp.close();
    await hook.close();
    delete process.env[`MERCHFLOW_SECRET_${HOOK_SECRET_NAME}`];
    guard.restore();
    assert.deepEqual(guard.violations, [], 'no socket may reach a non-loopback address');
  });

  const notify = (key: string, config: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    key,
    name: key,
    step_type: NOTIFICATION_STEP_TYPE,
    config,
    retry_delay_seconds: 1,
    ...extra,
  });
  const counts = { key: 'count', name: 'count', step_type: 'test_echo', config: { output: { n: 42, low: ['A-1', 'B-2'] } } };

  async function run(steps: Array<Record<string, unknown>>, input: unknown = {}) {
    const id = await h.createWorkflow({ steps: steps as never });
    const started = await h.start(id, input);
    const res = await h.wait(started.execution_id);
    const stepRows = await h.executions.steps(started.execution_id);
    return { executionId: started.execution_id, code: (await h.workflows.get(id)).code, res, output: (res.result as RunResult | undefined)?.output as Record<string, unknown>, steps: stepRows };
  }
  const stepRow = (r: Awaited<ReturnType<typeof run>>, key: string) => r.steps.find((s) => s.step_key === key)!;

  it("sends the specification's email over SMTP with references resolved", async () => {
    const before = smtp.received.length;
    const r = await run([counts, notify('mail', { type: 'email', recipient: 'admin@company.com', subject: 'Workflow completed' })]);
    assert.equal(r.res.status, 'completed', String(r.res.error));
    const mail = smtp.received[before];
    assert.equal(mail.from, 'merchflow@shop.example');
    assert.deepEqual(mail.to, ['admin@company.com']);
    assert.equal(mail.headers.subject, 'Workflow completed');
    assert.equal(mail.headers.from, 'merchflow@shop.example');
    assert.match(mail.body, new RegExp(`run ${r.executionId}, step mail`));

    const templated = await run(
      [
        counts,
        notify('mail', {
          type: 'email',
          recipient: ['ops@shop.example', '$input.owner'],
          cc: 'audit@shop.example',
          subject: 'Import $input.supplier: $steps.count.n products',
          body: 'Supplier $input.supplier imported $steps.count.n products; low stock: ${steps.count.low}. Run $execution.id.',
        }),
      ],
      { supplier: 'ACME', owner: 'owner@shop.example' },
    );
    assert.equal(templated.res.status, 'completed', String(templated.res.error));
    const m = smtp.received.at(-1)!;
    assert.deepEqual(m.to.sort(), ['audit@shop.example', 'ops@shop.example', 'owner@shop.example']);
    assert.equal(m.headers.to, 'ops@shop.example, owner@shop.example');
    assert.equal(m.headers.cc, 'audit@shop.example');
    assert.equal(m.headers.subject, 'Import ACME: 42 products');
    assert.equal(m.body, `Supplier ACME imported 42 products; low stock: ["A-1","B-2"]. Run ${templated.executionId}.`);
    assert.equal(m.headers['message-id'], messageIdFor(`${templated.executionId}:mail`, 'merchflow@shop.example'));
    assert.equal(m.headers['x-merchflow-idempotency-key'], `${templated.executionId}:mail`);
    assert.deepEqual((templated.output as { accepted: string[] }).accepted.sort(), ['audit@shop.example', 'ops@shop.example', 'owner@shop.example']);
  });

  it('retries a temporary SMTP refusal with the same Message-ID, and does not retry a permanent one', async () => {
    smtp.state.failNextData = 1;
    const r = await run([notify('mail', { type: 'email', recipient: 'ops@shop.example', subject: 'retry me' }, { max_retries: 2 })]);
    assert.equal(r.res.status, 'completed', String(r.res.error));
    assert.equal(stepRow(r, 'mail').attempt, 2);
    const refused = smtp.refused.at(-1)!;
    const delivered = smtp.received.at(-1)!;
    assert.equal(delivered.headers.subject, 'retry me');
    assert.equal(refused.headers['message-id'], delivered.headers['message-id'], 'a receiver can drop the retried copy by Message-ID');

    const bounced = await run([notify('mail', { type: 'email', recipient: 'bounce@shop.example', subject: 'no' }, { max_retries: 3 })]);
    assert.equal(bounced.res.status, 'failed');
    assert.equal(stepRow(bounced, 'mail').error_details?.code, 'EMAIL_REJECTED');
    assert.equal(stepRow(bounced, 'mail').attempt, 1);

    // One of two recipients refused: the mail went to the other, and the refused one is a failed item.
    const partly = await run([notify('mail', { type: 'email', recipient: ['ops@shop.example', 'bounce@shop.example'], subject: 'half' })]);
    assert.equal(partly.res.status, 'completed', String(partly.res.error));
    assert.equal((partly.res.result as RunResult).outcome, 'completed_with_failures');
    const row = stepRow(partly, 'mail');
    assert.equal(row.failed_items_total, 1);
    assert.deepEqual(row.failed_items?.map((f) => [f.key, f.code]), [['bounce@shop.example', 'SMTP_RECIPIENT_REJECTED']]);
  });

  it('fails an email step for good when the worker has no SMTP_URL', async () => {
    const r = await run([{ ...notify('mail', { type: 'email', recipient: 'ops@shop.example', subject: 's' }, { max_retries: 3 }), step_type: 'notification_without_smtp' }]);
    assert.equal(r.res.status, 'failed');
    assert.equal(stepRow(r, 'mail').error_details?.code, 'NOTIFICATION_NOT_CONFIGURED');
    assert.equal(stepRow(r, 'mail').attempt, 1);
  });

  it('POSTs a signed webhook the receiver verifies, retrying 5xx and 429 with the same Idempotency-Key', async () => {
    answers.push({ status: 503 }, { status: 429, headers: { 'retry-after': '1' } });
    const first = hook.requests.length;
    const r = await run([
      counts,
      notify('hook', {
        type: 'webhook',
        url: `${hook.origin}/hooks/merchflow?shop=$input.shop`,
        secret: { secret: HOOK_SECRET_NAME },
        headers: { 'X-Shop': '$input.shop' },
        event: 'import.completed',
        message: 'Imported $steps.count.n products',
        data: { count: '$steps.count.n', low: '$steps.count.low' },
      }),
    ], { shop: 'eu-1' });
    assert.equal(r.res.status, 'completed', String(r.res.error));
    const sent = hook.requests.slice(first);
    assert.equal(sent.length, 3);
    assert.deepEqual(verified.slice(-3), [true, true, true]);
    const keys = new Set(sent.map((s) => s.headers['idempotency-key']));
    assert.deepEqual([...keys], [`${r.executionId}:hook`]);
    const last = sent[2];
    assert.equal(last.method, 'POST');
    assert.equal(last.url, '/hooks/merchflow?shop=eu-1');
    assert.equal(last.headers['content-type'], 'application/json');
    assert.equal(last.headers['x-shop'], 'eu-1');
    assert.equal(last.headers['x-merchflow-event'], 'import.completed');
    assert.match(String(last.headers['x-merchflow-signature']), new RegExp(`^t=${last.headers['x-merchflow-timestamp']},v1=[0-9a-f]{64}$`));
    assert.deepEqual(JSON.parse(last.body), {
      event: 'import.completed',
      execution_id: r.executionId,
      workflow_code: r.code,
      step_key: 'hook',
      message: 'Imported 42 products',
      data: { count: 42, low: ['A-1', 'B-2'] },
    });
    assert.deepEqual(r.output, { type: 'webhook', url: `${hook.origin}/hooks/merchflow`, status: 200, attempts: 3, idempotency_key: `${r.executionId}:hook`, signed: true });
    assert.equal(JSON.stringify(r.steps).includes(HOOK_SECRET), false, 'the secret appears in no step record');
  });

  it('does not retry a 4xx answer, and refuses hosts outside the allow-list before connecting', async () => {
    answers.push({ status: 400 });
    const rejected = await run([notify('hook', { type: 'webhook', url: `${hook.origin}/x` }, { max_retries: 3 })]);
    assert.equal(rejected.res.status, 'failed');
    assert.equal(stepRow(rejected, 'hook').error_details?.code, 'HTTP_CLIENT_ERROR');
    assert.equal(stepRow(rejected, 'hook').attempt, 1);

    const connectsBefore = guard.connects.length;
    for (const url of ['http://127.0.0.1:1/hook', 'http://169.254.169.254/latest/meta-data', 'http://[::ffff:127.0.0.1]:1/']) {
      const blocked = await run([notify('hook', { type: 'webhook', url }, { max_retries: 3 })]);
      assert.equal(blocked.res.status, 'failed', url);
      assert.equal(stepRow(blocked, 'hook').error_details?.code, 'SSRF_BLOCKED', url);
      assert.equal(stepRow(blocked, 'hook').attempt, 1);
    }
    assert.equal(guard.connects.slice(connectsBefore).filter((c) => c.port === 1 || c.host === '169.254.169.254').length, 0);
  });

  it('writes a log line with references interpolated at the configured level', async () => {
    const r = await run([counts, notify('log', { type: 'log', level: 'warn', message: 'Low stock on $steps.count.n items for $input.shop', fields: { shop: '$input.shop' } })], {
      shop: 'eu-1',
    });
    assert.equal(r.res.status, 'completed', String(r.res.error));
    assert.deepEqual(r.output, { type: 'log', level: 'warn', message: 'Low stock on 42 items for eu-1' });
    const line = h.logLines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'Low stock on 42 items for eu-1');
    assert.ok(line, 'the log line was written');
    assert.equal(line.level, 'warn');
    assert.equal(line.execution_id, r.executionId);
    assert.equal(line.shop, 'eu-1');
  });
});
