import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { startHarness, type Harness } from '@test/support/harness';
import { lazyExecutors } from '@test/support/deps';
import { installSocketGuard, startServer, type SocketGuard, type TestServer } from '@test/integration/http/support';
import { json, runDefinition, runFootprint, startRoutedServer, type RoutedServer } from '@test/integration/executors/http-executors-support';
import { apiCallExecutorModule, API_CALL_STEP_TYPE } from '@engine/activities/api_call';
import { storeSecret } from '@engine/activities/runtime/secret-store';
import { ApiKeysService } from '@src/auth/api-keys.service';
import { createApp } from '@src/main';
import { Logger } from '@src/logging/logger';

const suffix = randomUUID().slice(0, 8).toUpperCase();
/** Secret names unique to this file; values live in process.env, where the worker's env resolver reads them. */
const SECRET = {
  token: `APICALL_TOKEN_${suffix}`,
  key: `APICALL_KEY_${suffix}`,
  password: `APICALL_PASSWORD_${suffix}`,
  clientSecret: `APICALL_CLIENT_SECRET_${suffix}`,
  canary: `APICALL_CANARY_${suffix}`,
  echoed: `APICALL_ECHOED_${suffix}`,
};
/** Kept in the encrypted store (not the environment). */
const STORED_NAME = `APICALL_STORED_${suffix}`;
const STORED_VALUE = `STORED-${randomBytes(12).toString('hex')}`;
const VALUES = {
  token: `tok-${randomBytes(8).toString('hex')}`,
  key: `key-${randomBytes(8).toString('hex')}`,
  password: `pw-${randomBytes(8).toString('hex')}`,
  clientSecret: `cs-${randomBytes(8).toString('hex')}`,
  canary: `CANARY-${randomBytes(12).toString('hex')}`,
  echoed: `ECHOED-${randomBytes(12).toString('hex')}`,
};

const call = (key: string, config: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  key,
  name: key,
  step_type: API_CALL_STEP_TYPE,
  config,
  ...extra,
});

const call_ = (key: string, config: Record<string, unknown>, extra: Record<string, unknown> = {}) => call(key, config, extra);

describe('api_call executor in workflow runs', () => {
  let h: Harness;
  let guard: SocketGuard;
  /** Allow-listed. */
  let api: RoutedServer;
  /** Not allow-listed: an internal service on loopback. */
  let internal: TestServer;
  /** Allow-listed too, but no credentials are configured for it. */
  let other: TestServer;

  before(async () => {
    for (const k of Object.keys(SECRET) as Array<keyof typeof SECRET>) process.env[`MERCHFLOW_SECRET_${SECRET[k]}`] = VALUES[k];
    guard = installSocketGuard();
    api = await startRoutedServer();
    internal = await startServer((_req, res) => res.end('internal data'));
    other = await startServer((req, res) => json(res, 200, { authorization: req.headers.authorization ?? null, key: req.headers['x-api-key'] ?? null }));
    h = await startHarness({
      executors: lazyExecutors(() => h, [apiCallExecutorModule]),
      env: { HTTP_ALLOW_HOSTS: `${api.hostPort},${other.hostPort}`, MERCHFLOW_MASTER_KEY: randomBytes(32).toString('base64') },
    });
    await storeSecret(h.config, h.dataSource, STORED_NAME, STORED_VALUE, 'api-call.test');
  });

  after(async () => {
    await h?.dataSource.query(`DELETE FROM secrets WHERE name = $1`, [STORED_NAME]).catch(() => undefined);
    await h?.close();
    await Promise.all([api?.close(), internal?.close(), other?.close()]);
    guard?.restore();
    for (const k of Object.values(SECRET)) delete process.env[`MERCHFLOW_SECRET_${k}`];
    assert.deepEqual(guard.violations, [], 'no socket may reach a non-loopback address');
  });

  it('rejects an invalid config when the definition is stored, naming the step and field', async () => {
    await assert.rejects(
      h.createWorkflow({ steps: [call('call', { url: `${api.origin}/x`, method: 'POST', auth_type: 'bearer', body: { title: '$title' } })] } as never),
      (err: { code?: string; details?: { issues?: Array<{ code: string; step: string; field: string }> } }) => {
        assert.equal(err.code, 'DEFINITION_INVALID');
        assert.ok(err.details?.issues?.some((i) => i.code === 'STEP_CONFIG_INVALID' && i.step === 'call' && i.field === 'config.token'), JSON.stringify(err.details));
        return true;
      },
    );
  });

  it('posts one request per item with $field bound, bearer auth and a per-item Idempotency-Key', async () => {
    let inFlight = 0;
    let peak = 0;
    api.route('/t1/listings', async (_req, res, body) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, 50));
      inFlight--;
      const b = JSON.parse(body) as { title: string };
      json(res, 201, { data: { id: `L-${b.title}` } });
    });
    const products = ['a', 'b', 'c', 'd', 'e'].map((t, i) => ({ sku: `SKU-${t}`, title: t, price: i + 0.5, internal_note: 'not sent' }));
    const run = await runDefinition(
      h,
      [
        call('call', {
          url: `${api.origin}/t1/listings`,
          method: 'POST',
          auth_type: 'bearer',
          token: { secret: SECRET.token },
          items_field: 'products',
          item_key_field: 'sku',
          concurrency: 2,
          headers: { 'X-Supplier': '$input.supplier_id' },
          body: { title: '$title', price: '$price' },
          response_mapping: { listing_id: 'data.id' },
        }),
      ],
      { supplier_id: 123, products },
    );
    assert.equal(run.status, 'completed', String(run.error));
    assert.deepEqual(run.output, {
      results: products.map((p) => ({ listing_id: `L-${p.title}` })),
      succeeded: 5,
      failed: 0,
      failed_items: [],
      failed_items_total: 0,
      failed_items_by_code: {},
    });
    const reqs = api.requestsTo('/t1/listings');
    assert.equal(reqs.length, 5);
    assert.ok(peak <= 2, `at most 2 requests in flight, saw ${peak}`);
    const bySku = new Map(reqs.map((r) => [(JSON.parse(r.body) as { title: string }).title, r]));
    for (const p of products) {
      const r = bySku.get(p.title)!;
      assert.deepEqual(JSON.parse(r.body), { title: p.title, price: p.price });
      assert.equal(r.headers.authorization, `Bearer ${VALUES.token}`);
      assert.equal(r.headers['x-supplier'], '123');
      assert.equal(r.headers['idempotency-key'], `${run.executionId}:call:${p.sku}`);
    }
    assert.equal(run.step('call').status, 'completed');
  });

  it('sends the whole input once in batch mode, keyed by workflow and step', async () => {
    api.route('/t2/bulk', (_req, res, body) => json(res, 200, { received: (JSON.parse(body) as unknown[]).length, job: { id: 'J1' } }));
    const run = await runDefinition(
      h,
      [call('push', { url: `${api.origin}/t2/bulk`, method: 'PUT', body_mode: 'batch', input: '$input.items', response_path: 'job' })],
      { items: [{ a: 1 }, { a: 2 }, { a: 3 }] },
    );
    assert.equal(run.status, 'completed', String(run.error));
    assert.deepEqual(run.output, { id: 'J1' });
    const [req] = api.requestsTo('/t2/bulk');
    assert.equal(req.method, 'PUT');
    assert.deepEqual(JSON.parse(req.body), [{ a: 1 }, { a: 2 }, { a: 3 }]);
    assert.equal(req.headers['idempotency-key'], `${run.executionId}:push`);
  });

  it('authenticates with an API key, basic auth and OAuth2 client credentials from secrets', async () => {
    api.route('/t3/key', (req, res) => json(res, 200, { ok: req.headers['x-shop-key'] === VALUES.key }));
    api.route('/t3/basic', (req, res) => json(res, 200, { ok: req.headers.authorization === `Basic ${Buffer.from(`merchflow:${VALUES.password}`).toString('base64')}` }));
    api.route('/t3/token', (req, res, body) => {
      const expected = `Basic ${Buffer.from(`client-1:${VALUES.clientSecret}`).toString('base64')}`;
      if (req.headers.authorization !== expected || !body.includes('grant_type=client_credentials')) return json(res, 401, { error: 'invalid_client' });
      return json(res, 200, { access_token: 'issued-token-1', token_type: 'Bearer', expires_in: 3600 });
    });
    // Echoes the token back, as a careless API might: the output must not carry it.
    api.route('/t3/oauth', (req, res) => json(res, 200, { ok: req.headers.authorization === 'Bearer issued-token-1', echo: req.headers.authorization }));
    const run = await runDefinition(h, [
      call('key', { url: `${api.origin}/t3/key`, auth: { type: 'api_key', key: { secret: SECRET.key }, header: 'X-Shop-Key' } }, { order: 1 }),
      call('basic', { url: `${api.origin}/t3/basic`, auth: { type: 'basic', username: 'merchflow', password: { secret: SECRET.password } } }, { order: 1 }),
      call(
        'oauth',
        {
          url: `${api.origin}/t3/oauth`,
          auth: { type: 'oauth2_client_credentials', token_url: `${api.origin}/t3/token`, client_id: 'client-1', client_secret: { secret: SECRET.clientSecret } },
        },
        { order: 1 },
      ),
    ]);
    assert.equal(run.status, 'completed', String(run.error));
    const out = run.output as Record<string, { ok: boolean; echo?: string }>;
    assert.deepEqual([out.key.ok, out.basic.ok, out.oauth.ok], [true, true, true]);
    assert.match(out.oauth.echo ?? '', /REDACTED/);
    assert.equal(api.requestsTo('/t3/token').length, 1);
    // The issued token is a credential too: it must not be echoed into history.
    assert.doesNotMatch(await runFootprint(h, run.executionId), /issued-token-1/);
  });

  it('keeps each Idempotency-Key stable across Temporal retries of the step, and the retry resumes after the confirmed items', async () => {
    api.route('/t4/orders', (req, res, body) => {
      const sku = (JSON.parse(body) as { sku: string }).sku;
      const seenB = api.requestsTo('/t4/orders').filter((r) => (JSON.parse(r.body) as { sku: string }).sku === 'B').length;
      if (sku === 'B' && seenB === 1) return json(res, 503, { error: 'try later' });
      return json(res, 200, { sku });
    });
    const run = await runDefinition(
      h,
      [
        call(
          'call',
          { url: `${api.origin}/t4/orders`, method: 'POST', body_mode: 'per_item', item_key_field: 'sku', concurrency: 1, retry: { attempts: 1 } },
          { max_retries: 2, retry_delay_seconds: 1 },
        ),
      ],
      [{ sku: 'A' }, { sku: 'B' }],
    );
    assert.equal(run.status, 'completed', String(run.error));
    assert.equal(run.step('call').attempt, 2, 'the 503 failed attempt 1; Temporal retried');
    const keys = api.requestsTo('/t4/orders').map((r) => [(JSON.parse(r.body) as { sku: string }).sku, r.headers['idempotency-key']]);
    // Attempt 1 confirmed A and failed on B; attempt 2 resumes from its checkpoint and sends only B, with the same key.
    assert.deepEqual(keys, [
      ['A', `${run.executionId}:call:A`],
      ['B', `${run.executionId}:call:B`],
      ['B', `${run.executionId}:call:B`],
    ]);
  });

  it('honours 429 with Retry-After before trying again', async () => {
    const arrivals: number[] = [];
    api.route('/t5/limited', (_req, res, _body, n) => {
      arrivals.push(Date.now());
      return n === 0 ? json(res, 429, { error: 'slow down' }, { 'retry-after': '1' }) : json(res, 200, { ok: true });
    });
    const run = await runDefinition(h, [call('call', { url: `${api.origin}/t5/limited`, method: 'POST', body: { x: 1 } })]);
    assert.equal(run.status, 'completed', String(run.error));
    assert.deepEqual(run.output, { ok: true });
    const reqs = api.requestsTo('/t5/limited');
    assert.equal(reqs.length, 2);
    assert.equal(run.step('call').attempt, 1, 'retried inside the attempt');
    assert.ok(arrivals[1] - arrivals[0] >= 950, `waited ${arrivals[1] - arrivals[0]} ms, Retry-After said 1 s`);
    assert.equal(reqs[0].headers['idempotency-key'], reqs[1].headers['idempotency-key']);
  });

  it('fails the run on a 4xx without retrying it', async () => {
    api.route('/t6/reject', (_req, res) => json(res, 422, { error: 'price must be positive' }));
    const run = await runDefinition(h, [call('call', { url: `${api.origin}/t6/reject`, method: 'POST', body: { price: -1 } }, { max_retries: 3, retry_delay_seconds: 1 })]);
    assert.equal(run.status, 'failed');
    const step = run.step('call');
    assert.equal(step.status, 'failed');
    assert.equal((step.error_details as { code?: string }).code, 'HTTP_CLIENT_ERROR');
    assert.equal(step.attempt, 1);
    assert.match(step.error_message ?? '', /422/);
    assert.equal(api.requestsTo('/t6/reject').length, 1);
  });

  it('percent-encodes item values placed in the URL, so they cannot change its path or query', async () => {
    api.route('/t9/items/a%2Fb%3Fc%3Dd', (_req, res) => json(res, 200, { ok: 'encoded' }));
    api.route('/t9/items/plain-1', (_req, res) => json(res, 200, { ok: 'plain' }));
    const run = await runDefinition(
      h,
      [call('call', { url: `${api.origin}/t9/items/$sku`, method: 'GET', item_key_field: 'sku' })],
      [{ sku: 'a/b?c=d' }, { sku: 'plain-1' }],
    );
    assert.equal(run.status, 'completed', String(run.error));
    assert.deepEqual((run.output as { results: unknown[] }).results, [{ ok: 'encoded' }, { ok: 'plain' }]);
    assert.equal(api.requestsTo('/t9/items/a').length, 0, 'the value did not become a path of its own');
  });

  it('a per-item step that fails part way is compensated with the items that went through (its partial output)', async () => {
    api.route('/t10/items', (_req, res, body) => {
      const b = JSON.parse(body) as { sku: string };
      return b.sku === 'bad' ? json(res, 422, { error: 'refused' }) : json(res, 201, { id: `lbl-${b.sku}` });
    });
    for (const id of ['lbl-ok1', 'lbl-ok2', 'lbl-ok3']) api.route(`/t10/undo/${id}`, (_req, res) => json(res, 200, { id, status: 'voided' }));
    const run = await runDefinition(
      h,
      [
        call('buy', { url: `${api.origin}/t10/items`, method: 'POST', body: { sku: '$sku' }, body_mode: 'per_item', item_key_field: 'sku', concurrency: 1 }, { max_retries: 0 }),
        call(
          'undo',
          { url: `${api.origin}/t10/undo/$id`, method: 'POST', body: {}, body_mode: 'per_item', items_field: 'results', item_key_field: 'id' },
          { role: 'compensation', compensates: 'buy' },
        ),
      ],
      [{ sku: 'ok1' }, { sku: 'ok2' }, { sku: 'bad' }, { sku: 'ok3' }],
    );
    assert.equal(run.status, 'failed');
    assert.equal(run.step('buy').status, 'failed');
    assert.equal(run.step('undo').status, 'completed');
    assert.deepEqual(
      ['lbl-ok1', 'lbl-ok2', 'lbl-ok3'].map((id) => api.requestsTo(`/t10/undo/${id}`).length),
      [1, 1, 0],
      'exactly what went through is undone',
    );
  });

  it('collects per-item failures with continue_on_item_error', async () => {
    api.route('/t7/items', (_req, res, body) => {
      const b = JSON.parse(body) as { sku: string };
      return b.sku === 'bad' ? json(res, 400, { error: 'bad sku' }) : json(res, 200, { sku: b.sku });
    });
    const run = await runDefinition(
      h,
      [call('call', { url: `${api.origin}/t7/items`, method: 'POST', body: { sku: '$sku' }, item_key_field: 'sku', continue_on_item_error: true })],
      [{ sku: 'ok1' }, { sku: 'bad' }, { sku: 'ok2' }],
    );
    assert.equal(run.status, 'completed', String(run.error));
    const out = run.output as { results: unknown[]; succeeded: number; failed: number; failed_items: Array<{ index: number; key: string; code: string; status: number }> };
    assert.deepEqual(out.results, [{ sku: 'ok1' }, null, { sku: 'ok2' }]);
    assert.equal(out.succeeded, 2);
    assert.equal(out.failed, 1);
    assert.deepEqual(
      out.failed_items.map((e) => [e.index, e.key, e.code, e.status]),
      [[1, 'bad', 'HTTP_CLIENT_ERROR', 400]],
    );
  });

  it('refuses a loopback server that is not allow-listed: SSRF_BLOCKED, and the server gets nothing', async () => {
    const before = guard.connectsToPort(internal.port).length;
    const run = await runDefinition(h, [call('call', { url: `${internal.origin}/admin`, method: 'POST', body: { x: 1 } }, { max_retries: 3, retry_delay_seconds: 1 })]);
    assert.equal(run.status, 'failed');
    const step = run.step('call');
    assert.equal((step.error_details as { code?: string }).code, 'SSRF_BLOCKED');
    assert.equal(step.attempt, 1, 'SSRF refusals are not retried');
    assert.match(step.error_message ?? '', /HTTP_ALLOW_HOSTS/);
    assert.equal(internal.requests.length, 0);
    assert.equal(guard.connectsToPort(internal.port).length, before, 'no socket was opened to the internal server');
  });

  it('refuses a redirect from an allowed host to a loopback port that is not allowed', async () => {
    api.route('/t9/redirect', (_req, res) => {
      res.writeHead(302, { location: `http://127.0.0.1:${internal.port}/steal` });
      res.end();
    });
    const run = await runDefinition(h, [call('call', { url: `${api.origin}/t9/redirect`, auth: { type: 'bearer', token: { secret: SECRET.token } } })]);
    assert.equal(run.status, 'failed');
    assert.equal((run.step('call').error_details as { code?: string }).code, 'SSRF_BLOCKED');
    assert.equal(api.requestsTo('/t9/redirect').length, 1);
    assert.equal(internal.requests.length, 0);
  });

  it('sends credentials only to the configured host, not to where it redirects', async () => {
    api.route('/t11/moved', (_req, res) => {
      res.writeHead(302, { location: `${other.origin}/landing` });
      res.end();
    });
    const run = await runDefinition(h, [
      call('call', { url: `${api.origin}/t11/moved`, auth: { type: 'bearer', token: { secret: SECRET.token } }, headers: { 'X-Api-Key': { secret: SECRET.key } } }),
    ]);
    assert.equal(run.status, 'completed', String(run.error));
    assert.deepEqual(run.output, { authorization: null, key: null });
    assert.equal(api.requestsTo('/t11/moved')[0].headers.authorization, `Bearer ${VALUES.token}`);
    assert.equal(api.requestsTo('/t11/moved')[0].headers['x-api-key'], VALUES.key);
    assert.equal(other.requests.at(-1)?.headers.authorization, undefined);
  });

  it('never lets a secret value reach history, the projection rows, stored payloads or logs', async () => {
    // Echoes what it received, credentials included, as a careless API might.
    api.route('/t10/echo', (req, res) => json(res, 200, { authorization: req.headers.authorization, url: req.url }));
    api.route('/t10/fail', (req, res) => json(res, 400, { error: `invalid key in ${req.url}`, authorization: req.headers.authorization }));
    const ok = await runDefinition(h, [call('call', { url: `${api.origin}/t10/echo`, auth: { type: 'bearer', token: { secret: SECRET.canary } } })]);
    assert.equal(ok.status, 'completed', String(ok.error));
    const echoed = ok.output as { authorization: string; url: string };
    assert.match(echoed.authorization, /^(Bearer )?\[REDACTED\]$/, 'the echoed credential is scrubbed from the output');

    const failed = await runDefinition(h, [
      call('call', { url: `${api.origin}/t10/fail`, query: { api_key: { secret: SECRET.canary } }, headers: { 'X-Canary': { secret: SECRET.canary } } }),
    ]);
    assert.equal(failed.status, 'failed');
    assert.equal((failed.step('call').error_details as { code?: string }).code, 'HTTP_CLIENT_ERROR');
    assert.match(failed.step('call').error_message ?? '', /REDACTED/);

    // The secret really went out...
    assert.equal(api.requestsTo('/t10/echo')[0].headers.authorization, `Bearer ${VALUES.canary}`);
    assert.ok(api.requestsTo('/t10/fail')[0].url.includes(VALUES.canary));
    // ...and came back nowhere.
    for (const run of [ok, failed]) {
      const footprint = await runFootprint(h, run.executionId);
      assert.ok(footprint.includes(run.executionId), 'the footprint covers the run');
      assert.ok(footprint.includes('[REDACTED]'), 'the footprint holds the decoded output or error');
      assert.ok(!footprint.includes(VALUES.canary), `the canary leaked into the footprint of ${run.executionId}`);
      assert.ok(!footprint.includes(Buffer.from(VALUES.canary).toString('base64')), 'the canary leaked base64-encoded');
    }
    const logs = h.logLines.join('\n');
    assert.ok(logs.includes(failed.executionId), 'the logs cover the failed run');
    assert.ok(!logs.includes(VALUES.canary), 'the canary leaked into the logs');
  });
  it('a secret set through the API reaches the remote and nothing else: no history, rows, logs or API answer holds it', async () => {
    const name = `APICALL_VIA_API_${suffix}`;
    const value = `VIAAPI-${randomBytes(12).toString('hex')}`;
    const lines: string[] = [];
    const app = await createApp(h.config, { logger: new Logger({ level: 'debug', format: 'json', sink: (l) => lines.push(l) }) });
    const answers: string[] = [];
    try {
      await app.listen(0, '127.0.0.1');
      const { port } = app.getHttpServer().address() as { port: number };
      const base = `http://127.0.0.1:${port}${h.config.http.basePath}`;
      const { key } = await new ApiKeysService(h.dataSource).create({ name: `canary-admin-${suffix}`, role: 'admin' });
      const call = async (method: string, path: string, body?: unknown) => {
        const res = await fetch(`${base}${path}`, {
          method,
          headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
          body: body ? JSON.stringify(body) : undefined,
        });
        const text = await res.text();
        answers.push(text);
        return { status: res.status, text };
      };
      assert.equal((await call('PUT', `/secrets/${name}/`, { value, description: 'canary' })).status, 201);
      const supplier = await call('POST', '/suppliers/', { code: `canary-${suffix.toLowerCase()}`, name: 'Canary', endpoint: `${api.origin}/t13`, credentials: { type: 'bearer', secret: name } });
      assert.equal(supplier.status, 201, supplier.text);
      const supplierId = (JSON.parse(supplier.text) as { id: number }).id;

      api.route('/t13/echo', (req, res) => json(res, 200, { authorization: req.headers.authorization }));
      api.route('/t13/fail', (req, res) => json(res, 401, { error: `bad token ${req.headers.authorization}` }));
      const ok = await runDefinition(h, [call_('call', { url: `${api.origin}/t13/echo`, auth: { type: 'bearer', token: { secret: name } } })]);
      assert.equal(ok.status, 'completed', String(ok.error));
      const failed = await runDefinition(h, [call_('call', { url: `${api.origin}/t13/fail`, auth: { type: 'bearer', token: { secret: name } } }, { max_retries: 0 })]);
      assert.equal(failed.status, 'failed');
      assert.equal(api.requestsTo('/t13/echo')[0].headers.authorization, `Bearer ${value}`, 'the value set through the API went out');

      // The connection test reads one item through the supplier's adapter; this remote echoes the credential in it.
      api.route('/t13/products', (req, res) => json(res, 200, { items: [{ sku: 'ECHO-1', external_id: 'e1', seen: String(req.headers.authorization) }], next_cursor: null }));
      const tested = await call('POST', `/suppliers/${supplierId}/test/`);
      assert.equal(tested.status, 200, tested.text);
      assert.match(tested.text, /ECHO-1/, 'the answer shows the sample item');
      assert.equal(api.requestsTo('/t13/products')[0].headers.authorization, `Bearer ${value}`, 'the connection test sent the stored value');
      for (const path of [`/executions/${failed.executionId}/items/`, `/executions/${failed.executionId}/items/export/?format=jsonl`, `/executions/${ok.executionId}/reviews/`]) {
        const res = await call('GET', path);
        assert.equal(res.status, 200, `${path}: ${res.text.slice(0, 200)}`);
      }
      for (const path of ['/secrets/', `/secrets/${name}/`, `/suppliers/${supplierId}/`, '/suppliers/', `/executions/${ok.executionId}/`, `/executions/${failed.executionId}/`]) {
        const res = await call('GET', path);
        assert.equal(res.status, 200, `${path}: ${res.text.slice(0, 200)}`);
      }
      const listed = JSON.parse(answers[answers.length - 6]) as { results: Array<{ name: string; last_used_at: string | null }> };
      assert.ok(listed.results.find((s) => s.name === name)?.last_used_at, 'the worker marked the secret used');
      for (const run of [ok, failed]) {
        const footprint = await runFootprint(h, run.executionId);
        assert.ok(footprint.includes(run.executionId));
        assert.ok(!footprint.includes(value), `the value leaked into the footprint of ${run.executionId}`);
        assert.ok(!footprint.includes(Buffer.from(value).toString('base64')), 'the value leaked base64-encoded');
      }
      const rows = JSON.stringify(await h.dataSource.query(`SELECT name, encode(ciphertext, 'escape') AS c, description FROM secrets WHERE name = $1`, [name]));
      assert.ok(!rows.includes(value), 'the secrets row holds no clear value');
      assert.equal((await call('DELETE', `/suppliers/${supplierId}/`)).status, 200);
      assert.equal((await call('DELETE', `/secrets/${name}/`)).status, 200);
    } finally {
      await app.close();
    }
    const all = answers.join('\n');
    assert.ok(all.includes(name), 'the answers cover the secret');
    assert.ok(!all.includes(value), 'the value leaked into an API answer');
    const logs = [...h.logLines, ...lines].join('\n');
    assert.ok(!logs.includes(value), 'the value leaked into the logs');
  });

  it('scrubs a secret from every later step of the run: a step that reads back what a remote echoed stores no value', async () => {
    // A remote that keeps what it is sent and hands it back later, to anyone.
    const kept: Record<string, string> = {};
    api.route('/t12/keep', (req, res) => {
      kept.env = String(req.headers['x-env-secret'] ?? '');
      kept.stored = String(req.headers['x-stored-secret'] ?? '');
      json(res, 201, { ok: true });
    });
    // Large enough to go to the payload store rather than the history.
    api.route('/t12/read', (_req, res) => json(res, 200, { kept: { ...kept }, note: `env=${kept.env}; stored=${kept.stored}`, pad: 'x'.repeat(300_000) }));
    api.route('/t12/fail', (_req, res) => json(res, 400, { error: `your key ${kept.env} / ${kept.stored} is wrong` }));
    const run = await runDefinition(h, [
      call('send', { url: `${api.origin}/t12/keep`, method: 'POST', body: {}, headers: { 'X-Env-Secret': { secret: SECRET.echoed }, 'X-Stored-Secret': { secret: STORED_NAME } } }),
      call('read_back', { url: `${api.origin}/t12/read` }, { depends_on_steps: ['send'] }),
      call('read_fail', { url: `${api.origin}/t12/fail` }, { depends_on_steps: ['read_back'], is_optional: true, max_retries: 0 }),
    ]);
    assert.equal(run.status, 'completed', String(run.error));
    // The secrets really went out and really came back to the later steps...
    assert.equal(kept.env, VALUES.echoed);
    assert.equal(kept.stored, STORED_VALUE);
    assert.equal(api.requestsTo('/t12/read').length, 1);
    assert.equal(run.step('read_fail').status, 'failed');
    assert.match(run.step('read_fail').error_message ?? '', /your key \[REDACTED\] \/ \[REDACTED\]/);
    // ...and are stored nowhere: Temporal history, the execution and step rows, the payload store...
    const footprint = await runFootprint(h, run.executionId);
    assert.ok(footprint.includes('[REDACTED]'), 'the footprint holds the scrubbed outputs');
    assert.ok(footprint.includes('x'.repeat(1000)), 'the footprint covers the offloaded payload');
    for (const value of [VALUES.echoed, STORED_VALUE]) {
      assert.ok(!footprint.includes(value), `${value} leaked into the run's footprint`);
      assert.ok(!footprint.includes(Buffer.from(value).toString('base64')), `${value} leaked base64-encoded`);
    }
    const [row] = await h.dataSource.query(`SELECT output_data FROM workflow_executions WHERE execution_id = $1`, [run.executionId]);
    assert.ok(row.output_data !== null, 'the run has an output');
    // ...the API's answer...
    const lines: string[] = [];
    const app = await createApp(h.config, { logger: new Logger({ level: 'debug', format: 'json', sink: (l) => lines.push(l) }) });
    try {
      await app.listen(0, '127.0.0.1');
      const { port } = app.getHttpServer().address() as { port: number };
      const { key } = await new ApiKeysService(h.dataSource).create({ name: `canary-${suffix}`, role: 'viewer' });
      const res = await fetch(`http://127.0.0.1:${port}${h.config.http.basePath}/executions/${run.executionId}/`, { headers: { authorization: `Bearer ${key}` } });
      const text = await res.text();
      assert.equal(res.status, 200, text.slice(0, 300));
      assert.ok(text.includes('read_back'), 'the answer covers the steps');
      for (const value of [VALUES.echoed, STORED_VALUE]) assert.ok(!text.includes(value), `${value} leaked into the API answer`);
    } finally {
      await app.close();
    }
    // ...and the logs.
    const logs = [...h.logLines, ...lines].join('\n');
    assert.ok(logs.includes(run.executionId), 'the logs cover the run');
    for (const value of [VALUES.echoed, STORED_VALUE]) assert.ok(!logs.includes(value), `${value} leaked into the logs`);
  });
});
