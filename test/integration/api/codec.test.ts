/**
 * Payload encryption end to end: a run's input and outputs are ciphertext in
 * the Temporal history as the server stores it (read with the raw Temporal
 * CLI), and plaintext to an operator through the codec endpoint (the CLI's
 * --codec-endpoint, a direct POST, or a browser on the Web UI's origin).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '@src/config/config';
import { Logger } from '@src/logging/logger';
import { createMerchflowWorker } from '@engine/worker';
import { clientCodecs, decodeHistoryPayloads, merchflowDataConverter } from '@engine/codec/data-converter';
import { testExecutors } from '@test/support/executors';
import { startHarness, type Harness } from '@test/support/harness';
import { startApi, isErrorShape, uniqueCode, type ApiHarness } from '@test/integration/api/support';

const run = promisify(execFile);
const ENCRYPTED_B64 = Buffer.from('binary/encrypted').toString('base64');

/** The CLI's JSON output with the data of every payload base64-decoded (it shows payloads as base64 when it cannot shorthand them). */
function readable(stdout: string): string {
  const parts = [stdout];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.data === 'string' && o.metadata) parts.push(Buffer.from(o.data, 'base64').toString('utf8'));
      Object.values(o).forEach(walk);
    }
  };
  walk(JSON.parse(stdout));
  return parts.join('\n');
}

describe('payload encryption and the codec endpoint', () => {
  let api: ApiHarness;
  let codecUrl: string;
  const canary = `canary-${randomUUID()}`;
  let executionId: string;

  before(async () => {
    api = await startApi();
    codecUrl = `${api.base}/codec`;
    assert.equal(api.config.payloadEncryption.enabled, true, 'npm test runs the integration tests with encryption on');
    const created = await api.request<{ id: number }>('POST', '/workflows/', {
      body: {
        code: uniqueCode('codec'),
        name: 'Codec canary',
        steps: [
          { key: 'echo', name: 'Echo', step_type: 'test_echo', config: { output: { token: '$input.supplier_token' } } },
          { key: 'again', name: 'Again', step_type: 'test_echo', config: { output: { seen: '$steps.echo.token' } }, depends_on_steps: ['echo'] },
        ],
      },
    });
    assert.equal(created.status, 201, created.text);
    const started = await api.request<{ execution_id: string }>('POST', `/workflows/${created.body.id}/execute/`, { body: { input_data: { supplier_token: canary } } });
    assert.equal(started.status, 202, started.text);
    executionId = started.body.execution_id;
    const done = await api.h.wait(executionId);
    assert.equal(done.status, 'completed');
    assert.match(JSON.stringify(done.result), new RegExp(canary), 'the client decrypts the result');
  });
  after(async () => {
    await api?.close();
  });

  const temporalCli = (...extra: string[]) =>
    run('temporal', ['workflow', 'show', '--workflow-id', executionId, '--output', 'json', '--address', api.config.temporal.address, '--namespace', api.config.temporal.namespace, ...extra], {
      maxBuffer: 32 * 1024 * 1024,
    });

  it('keeps inputs and step outputs out of the stored history in clear', async () => {
    const { stdout } = await temporalCli();
    assert.match(stdout, /EVENT_TYPE_WORKFLOW_EXECUTION_STARTED/, 'the CLI printed the history');
    assert.ok(!readable(stdout).includes(canary), 'the canary is not in the stored history, not even base64-decoded');
    assert.ok(stdout.includes(ENCRYPTED_B64), 'payloads carry the binary/encrypted encoding');
  });

  it('shows plaintext to the Temporal CLI through the codec endpoint with an operator key', async () => {
    const { stdout } = await temporalCli('--codec-endpoint', codecUrl, '--codec-auth', `Bearer ${api.keys.operator}`);
    assert.ok(readable(stdout).includes(canary), 'decoded history shows the canary');
    assert.ok(!stdout.includes(ENCRYPTED_B64), 'no payload left encrypted');
  });

  async function startedInput(): Promise<{ payloads: unknown[] }> {
    const { stdout } = await temporalCli();
    const history = JSON.parse(stdout) as { events: Array<Record<string, any>> };
    const input = history.events[0].workflowExecutionStartedEventAttributes.input;
    assert.ok(Array.isArray(input.payloads) && input.payloads.length === 1);
    return input;
  }

  it('decodes and encodes with a direct POST (remote codec protocol)', async () => {
    const input = await startedInput();
    const decoded = await api.request<{ payloads: Array<{ metadata: Record<string, string>; data: string }> }>('POST', '/codec/decode', { key: api.keys.operator, body: input });
    assert.equal(decoded.status, 200, decoded.text);
    assert.equal(Buffer.from(decoded.body.payloads[0].metadata.encoding, 'base64').toString(), 'json/plain');
    assert.match(Buffer.from(decoded.body.payloads[0].data, 'base64').toString(), new RegExp(canary));

    const encoded = await api.request<{ payloads: Array<{ metadata: Record<string, string>; data: string }> }>('POST', '/codec/encode', { key: api.keys.operator, body: decoded.body });
    assert.equal(encoded.status, 200, encoded.text);
    assert.equal(encoded.body.payloads[0].metadata.encoding, ENCRYPTED_B64);
    assert.ok(!Buffer.from(encoded.body.payloads[0].data, 'base64').toString('latin1').includes(canary));
    const again = await api.request<typeof decoded.body>('POST', '/codec/decode', { key: api.keys.operator, body: encoded.body });
    assert.deepEqual(again.body, decoded.body);
  });

  it('needs an operator key', async () => {
    const input = await startedInput();
    const none = await api.request('POST', '/codec/decode', { key: null, body: input });
    assert.equal(none.status, 401);
    assert.ok(isErrorShape(none.body));
    const viewer = await api.request('POST', '/codec/decode', { key: api.keys.viewer, body: input });
    assert.equal(viewer.status, 403);
    assert.equal((viewer.body as { code: string }).code, 'FORBIDDEN');
  });

  it('names the field of a malformed request and the key id it cannot decrypt', async () => {
    const bad = await api.request('POST', '/codec/decode', { key: api.keys.operator, body: { payloads: [{ metadata: { encoding: ENCRYPTED_B64 }, data: 'not base64!' }] } });
    assert.equal(bad.status, 400);
    assert.match((bad.body as { message: string }).message, /payloads\[0\]\.data: expected a base64 string/);
    const missing = await api.request('POST', '/codec/decode', { key: api.keys.operator, body: {} });
    assert.equal(missing.status, 400);
    assert.match((missing.body as { message: string }).message, /^payloads: expected an array/);

    const unknown = {
      payloads: [
        { metadata: { encoding: Buffer.from('json/plain').toString('base64') }, data: Buffer.from('1').toString('base64') },
        { metadata: { encoding: ENCRYPTED_B64, 'encryption-key-id': Buffer.from('retired-2019').toString('base64') }, data: randomBytes(40).toString('base64') },
      ],
    };
    const res = await api.request<{ code: string; message: string; details: Record<string, unknown> }>('POST', '/codec/decode', { key: api.keys.operator, body: unknown });
    assert.equal(res.status, 422);
    assert.equal(res.body.code, 'PAYLOAD_KEY_UNKNOWN');
    assert.equal(res.body.details.field, 'payloads[1]');
    assert.equal(res.body.details.key_id, 'retired-2019');
  });

  it('answers the Web UI origin with CORS, preflight included, and no other origin or route', async () => {
    const preflight = (origin: string, path = '/codec/decode') =>
      fetch(`${api.base}${path}`, {
        method: 'OPTIONS',
        headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type,x-namespace' },
      });
    const ok = await preflight('http://127.0.0.1:8233');
    assert.equal(ok.status, 204);
    assert.equal(ok.headers.get('access-control-allow-origin'), 'http://127.0.0.1:8233');
    assert.equal(ok.headers.get('access-control-allow-credentials'), 'true');
    assert.match(ok.headers.get('access-control-allow-headers') ?? '', /X-Namespace/i);
    assert.match(ok.headers.get('access-control-allow-methods') ?? '', /POST/);
    assert.equal((await preflight('http://localhost:8233')).headers.get('access-control-allow-origin'), 'http://localhost:8233');
    assert.equal((await preflight('https://evil.example')).headers.get('access-control-allow-origin'), null);
    assert.equal((await preflight('http://127.0.0.1:8233', '/workflows/')).headers.get('access-control-allow-origin'), null);

    const input = await startedInput();
    const actual = await api.request('POST', '/codec/decode', { key: api.keys.operator, body: input, headers: { Origin: 'http://127.0.0.1:8233', 'X-Namespace': 'default' } });
    assert.equal(actual.status, 200);
    assert.equal(actual.headers.get('access-control-allow-origin'), 'http://127.0.0.1:8233');
  });

  it('lets a browser use an HttpOnly session cookie instead of a header (Web UI "include credentials")', async () => {
    const session = await api.request('POST', '/codec/session', { key: api.keys.operator });
    assert.equal(session.status, 200, session.text);
    const cookie = session.headers.get('set-cookie') ?? '';
    assert.match(cookie, /^merchflow_codec_key=/);
    assert.match(cookie, /HttpOnly/i);
    assert.match(cookie, /SameSite=Strict/i);
    assert.match(cookie, /Path=\/orchestration\/api\/codec/);
    const pair = cookie.split(';')[0];
    const input = await startedInput();
    const withCookie = await api.request('POST', '/codec/decode', { key: null, body: input, headers: { Cookie: pair } });
    assert.equal(withCookie.status, 200);
    // The cookie opens the codec endpoints only.
    const elsewhere = await api.request('GET', '/workflows/', { key: null, headers: { Cookie: pair } });
    assert.equal(elsewhere.status, 401);
    const viewerSession = await api.request('POST', '/codec/session', { key: api.keys.viewer });
    assert.equal(viewerSession.status, 403);
    const cleared = await api.request('DELETE', '/codec/session', { key: null });
    assert.equal(cleared.status, 200);
    assert.match(cleared.headers.get('set-cookie') ?? '', /merchflow_codec_key=;.*Expires=Thu, 01 Jan 1970/i);
  });
});

describe('payload key rotation', () => {
  it('keeps runs started under the old key readable after a new key becomes active', async () => {
    const oldKey = `old:${randomBytes(32).toString('base64')}`;
    const newKey = `new:${randomBytes(32).toString('base64')}`;
    const before = loadConfig({ ...process.env, PAYLOAD_KEYS: oldKey, PAYLOAD_KEY_ID: 'old' });
    const afterRotation = loadConfig({ ...process.env, PAYLOAD_KEYS: `${oldKey},${newKey}`, PAYLOAD_KEY_ID: 'new' });
    const connection = await Connection.connect({ address: before.temporal.address });
    const h: Harness = await startHarness({ startWorker: false, executors: testExecutors(() => h.dataSource), env: { PAYLOAD_KEYS: oldKey, PAYLOAD_KEY_ID: 'old' } });
    let worker: Worker | null = null;
    let nativeConnection: NativeConnection | null = null;
    try {
      // Started by a client that only knows the old key; the worker comes up after the rotation.
      const id = await h.createWorkflow({ steps: [{ key: 'echo', name: 'Echo', step_type: 'test_echo', config: { output: { v: '$input.v' } } }] as never });
      const started = await h.start(id, { v: 'rotated' });
      nativeConnection = await NativeConnection.connect({ address: before.temporal.address });
      worker = await createMerchflowWorker({
        config: afterRotation,
        dataSource: h.dataSource,
        connection: nativeConnection,
        logger: new Logger({ level: 'error', format: 'json', sink: () => undefined }),
        taskQueue: h.taskQueue,
        executors: testExecutors(() => h.dataSource),
      });
      const running = worker.run();
      const rotatedClient = new Client({ connection, namespace: before.temporal.namespace, dataConverter: merchflowDataConverter(afterRotation) });
      const result = (await rotatedClient.workflow.getHandle(started.execution_id).result()) as { status: string };
      assert.equal(result.status, 'completed');
      assert.match(JSON.stringify(result), /"v":"rotated"/);

      const raw = await rotatedClient.workflow.getHandle(started.execution_id).fetchHistory();
      const keyIds = new Set<string>();
      for (const ev of raw.events ?? []) {
        for (const p of [...(ev.workflowExecutionStartedEventAttributes?.input?.payloads ?? []), ...(ev.activityTaskCompletedEventAttributes?.result?.payloads ?? [])]) {
          const id = p.metadata?.['encryption-key-id'];
          if (id) keyIds.add(Buffer.from(id).toString());
        }
      }
      assert.deepEqual([...keyIds].sort(), ['new', 'old'], 'the input is under the old key, the outputs under the new one');

      // A client that lost the old key names it instead of failing obscurely.
      const withoutOld = loadConfig({ ...process.env, PAYLOAD_KEYS: newKey, PAYLOAD_KEY_ID: 'new' });
      const forgetful = new Client({ connection, namespace: before.temporal.namespace, dataConverter: merchflowDataConverter(withoutOld) });
      await assert.rejects(decodeHistoryPayloads(raw, clientCodecs(forgetful)), /key id "old"/);
      assert.ok(forgetful);
      worker.shutdown();
      await running;
    } finally {
      await nativeConnection?.close();
      await connection.close();
      await h.close();
    }
  });
});
