import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { StatsService } from '@src/stats/stats.service';
import { isErrorShape, startApi, startReplica, type ApiHarness } from './support';

describe('error shape, limits and docs', () => {
  let api: ApiHarness;
  before(async () => {
    api = await startApi();
  });
  after(async () => {
    await api?.close();
  });

  it('answers unknown routes and methods with 404 in the error shape', async () => {
    for (const [method, path] of [['GET', '/nowhere/'], ['PUT', '/workflows/'], ['GET', '/workflows/1/nothing/'], ['POST', '/stats/']]) {
      const r = await api.request(method, path, { body: method === 'GET' ? undefined : {} });
      assert.equal(r.status, 404, `${method} ${path}`);
      assert.ok(isErrorShape(r.body));
      assert.equal(r.body.code, 'NOT_FOUND');
    }
  });

  it('answers bad bodies: malformed JSON 400, not JSON 415, too large 413', async () => {
    const malformed = await api.request('POST', '/workflows/', { raw: '{"code": ' });
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.code, 'BODY_INVALID_JSON');
    const text = await api.request('POST', '/workflows/', { raw: 'code=a', headers: { 'content-type': 'text/plain' } });
    assert.equal(text.status, 415);
    assert.equal(text.body.code, 'UNSUPPORTED_MEDIA_TYPE');
    const big = await api.request('POST', '/workflows/validate/', { body: { code: 'x', name: 'x', steps: [], config: { blob: 'x'.repeat(1_200_000) } } });
    assert.equal(big.status, 413);
    assert.equal(big.body.code, 'PAYLOAD_TOO_LARGE');
    const array = await api.request('POST', '/workflows/validate/', { raw: '[{"code":"x"}]' });
    assert.equal(array.status, 400);
    assert.equal(array.body.code, 'BODY_INVALID');
    const proto = await api.request('POST', '/workflows/1/execute/', { raw: '{"input_data":{"__proto__":{"admin":true}}}' });
    assert.equal(proto.status, 400);
    assert.match(proto.body.message as string, /input_data\.__proto__/);
  });

  it('answers an unexpected error with a generic 500, logged with its request id', async () => {
    const stats = api.app.get(StatsService);
    const original = stats.compute.bind(stats);
    stats.compute = async () => {
      throw new Error('boom: connection string postgres://secret@db');
    };
    try {
      const r = await api.request('GET', '/stats/?created_after=2020-01-01T00:00:00Z', { headers: { 'x-request-id': 'req-12345' } });
      assert.equal(r.status, 500);
      assert.deepEqual(r.body, { code: 'INTERNAL', message: 'internal server error', details: { request_id: 'req-12345' } });
      assert.equal(r.headers.get('x-request-id'), 'req-12345');
      const logged = api.logLines.find((l) => l.includes('req-12345'));
      assert.ok(logged, 'logged');
      assert.match(logged!, /"level":"error"/);
      assert.match(logged!, /boom/);
      // nestjs-pino's request line: the request id, method, path and status; never the key or the query string.
      const requestLine = api.logLines.map((l) => JSON.parse(l) as Record<string, any>).find((l) => l.msg === 'request errored' && l.request_id === 'req-12345');
      assert.ok(requestLine, `a request log line:\n${api.logLines.join('\n')}`);
      assert.deepEqual(requestLine.req, { method: 'GET', path: `${api.config.http.basePath}/stats/` });
      assert.equal(requestLine.res.status, 500);
      const raw = JSON.stringify(requestLine);
      assert.ok(!raw.includes(api.keys.admin) && !raw.includes('created_after'), raw);
    } finally {
      stats.compute = original;
    }
  });

  it('serves the OpenAPI document and the interactive docs to a key holder', async () => {
    const json = await api.request<{ openapi: string; paths: Record<string, unknown>; components: { securitySchemes: Record<string, unknown>; schemas: Record<string, unknown> } }>(
      'GET',
      '/docs-json',
      { key: api.keys.viewer },
    );
    assert.equal(json.status, 200);
    assert.match(json.body.openapi, /^3\./);
    assert.ok(json.body.paths['/workflows/{id}/execute']);
    assert.ok(json.body.components.securitySchemes.bearer && json.body.components.securitySchemes.api_key);
    for (const schema of ['CreateWorkflowDto', 'StepDto', 'ExecuteWorkflowDto', 'CreateScheduleDto', 'SignalExecutionDto']) assert.ok(json.body.components.schemas[schema], schema);
    const html = await fetch(`${api.base}/docs`, { headers: { 'x-api-key': api.keys.viewer } });
    assert.equal(html.status, 200);
    assert.match(html.headers.get('content-type') ?? '', /text\/html/);
    assert.match(await html.text(), /swagger/i);
    // A browser answers the Basic challenge: the key as the password opens the UI.
    const basic = await fetch(`${api.base}/docs/`, { headers: { authorization: `Basic ${Buffer.from(`any:${api.keys.viewer}`).toString('base64')}` } });
    assert.equal(basic.status, 200);
    assert.equal((await api.request('GET', '/stats/', { key: null, headers: { authorization: `Basic ${Buffer.from(`any:${api.keys.viewer}`).toString('base64')}` } })).status, 401, 'Basic is for the docs only');
  });

  it('refuses the OpenAPI document and UI without a valid key (OPENAPI_PUBLIC unset)', async () => {
    assert.equal(api.config.http.openApiPublic, false);
    const revoked = await api.request<{ id: number; key: string }>('POST', '/api-keys/', { body: { name: 'docs-revoked', role: 'viewer' } });
    assert.equal((await api.request('DELETE', `/api-keys/${revoked.body.id}/`)).status, 200);
    for (const path of ['/docs-json', '/docs-yaml', '/docs', '/docs/', '/docs/swagger-ui-init.js', '/docs-json?x=1']) {
      for (const key of [null, 'mf_aaaaaaaa_' + 'b'.repeat(43), revoked.body.key]) {
        const r = await api.request('GET', path, { key });
        assert.equal(r.status, 401, `${path} with ${key}: ${r.status} ${r.text.slice(0, 200)}`);
        assert.ok(isErrorShape(r.body), path);
        assert.equal(r.body.code, 'UNAUTHENTICATED');
        assert.ok(!r.text.includes('/workflows/{id}/execute'), 'nothing of the document leaks');
        assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer .*Basic/);
      }
    }
  });

  it('serves the docs without a key when OPENAPI_PUBLIC=true', async () => {
    const replica = await startReplica(api, { OPENAPI_PUBLIC: 'true' });
    try {
      const json = await replica.request<{ paths: Record<string, unknown> }>('GET', '/docs-json', { key: null });
      assert.equal(json.status, 200);
      assert.ok(json.body.paths['/workflows/{id}/execute']);
      assert.equal((await replica.request('GET', '/docs', { key: null })).status, 200);
      assert.equal((await replica.request('GET', '/stats/', { key: null })).status, 401, 'the API itself still needs a key');
    } finally {
      await replica.close();
    }
  });

  it('keeps health public', async () => {
    const r = await api.request<{ status: string; database: { status: string }; temporal: { status: string } }>('GET', '/health/', { key: null });
    assert.equal(r.status, 200);
    assert.deepEqual([r.body.status, r.body.database.status, r.body.temporal.status], ['ok', 'up', 'up']);
  });
});
