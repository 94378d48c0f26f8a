import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { ApiKeysService } from '@src/auth/api-keys.service';
import { isErrorShape, startApi, startReplica, type ApiHarness } from './support';

/** Polls `check` every 25 ms until it holds, failing after `timeoutMs`. */
async function pollUntil(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

type Role = 'viewer' | 'operator' | 'admin';

/**
 * The least role of every route. A route the API serves that is missing here
 * fails the route-table test: a new route cannot ship without deciding who may call it.
 */
const MATRIX: Record<string, Role | 'public'> = {
  'GET /health': 'public',
  'GET /templates': 'viewer',
  'POST /templates/{name}/create': 'admin',
  'GET /workflows': 'viewer',
  'POST /workflows': 'admin',
  'POST /workflows/validate': 'viewer',
  'GET /workflows/{id}': 'viewer',
  'PATCH /workflows/{id}': 'admin',
  'DELETE /workflows/{id}': 'admin',
  'GET /workflows/{id}/versions': 'viewer',
  'POST /workflows/{id}/execute': 'operator',
  'GET /executions': 'viewer',
  'GET /executions/{id}': 'viewer',
  'POST /executions/{id}/cancel': 'operator',
  'POST /executions/{id}/restart': 'operator',
  'POST /executions/{id}/signal': 'operator',
  'POST /executions/{id}/retry-items': 'operator',
  'GET /executions/{id}/steps/{step_key}/output': 'viewer',
  'POST /executions/{id}/steps/{step_key}/output': 'operator',
  'GET /executions/{id}/items': 'viewer',
  'GET /executions/{id}/items/counts': 'viewer',
  'GET /executions/{id}/items/export': 'viewer',
  'GET /executions/{id}/items/{itemId}/payload': 'viewer',
  'GET /executions/{id}/reviews': 'viewer',
  'POST /executions/{id}/reviews/{step}/items/{key}': 'operator',
  'POST /executions/{id}/reviews/{step}/rest': 'operator',
  'GET /step-types': 'viewer',
  'GET /schedules': 'viewer',
  'POST /schedules': 'admin',
  'GET /schedules/{id}': 'viewer',
  'PATCH /schedules/{id}': 'admin',
  'DELETE /schedules/{id}': 'admin',
  'POST /schedules/{id}/pause': 'operator',
  'POST /schedules/{id}/unpause': 'operator',
  'POST /schedules/{id}/trigger': 'operator',
  'GET /stats': 'viewer',
  'GET /api-keys': 'admin',
  'POST /api-keys': 'admin',
  'DELETE /api-keys/{id}': 'admin',
  'POST /codec/decode': 'operator',
  'POST /codec/encode': 'operator',
  'POST /codec/session': 'operator',
  'DELETE /codec/session': 'public',
  'GET /secrets': 'admin',
  'POST /secrets': 'admin',
  'GET /secrets/{name}': 'admin',
  'PUT /secrets/{name}': 'admin',
  'DELETE /secrets/{name}': 'admin',
  'GET /channels': 'viewer',
  'POST /channels': 'admin',
  'GET /channels/{id}': 'viewer',
  'PATCH /channels/{id}': 'admin',
  'DELETE /channels/{id}': 'admin',
  'POST /channels/{id}/disable': 'admin',
  'POST /channels/{id}/test': 'operator',
  'GET /mailbox': 'operator',
  'GET /suppliers': 'viewer',
  'POST /suppliers': 'admin',
  'GET /suppliers/{id}': 'viewer',
  'PATCH /suppliers/{id}': 'admin',
  'DELETE /suppliers/{id}': 'admin',
  'POST /suppliers/{id}/disable': 'admin',
  'POST /suppliers/{id}/test': 'operator',
  'GET /marketplaces': 'viewer',
  'POST /marketplaces': 'admin',
  'GET /marketplaces/{id}': 'viewer',
  'PATCH /marketplaces/{id}': 'admin',
  'DELETE /marketplaces/{id}': 'admin',
  'POST /marketplaces/{id}/disable': 'admin',
  'POST /marketplaces/{id}/test': 'operator',
  'GET /carriers': 'viewer',
  'POST /carriers': 'admin',
  'GET /carriers/{id}': 'viewer',
  'PATCH /carriers/{id}': 'admin',
  'DELETE /carriers/{id}': 'admin',
  'POST /carriers/{id}/disable': 'admin',
  'POST /carriers/{id}/test': 'operator',
};

const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };

/** Params that name nothing, so an allowed call changes nothing (404/400), a refused one is 403. */
function concrete(path: string): string {
  return path.replace('{id}', '2147483647').replace('{name}', 'no_such_template').replace('{itemId}', '1-1');
}

describe('API key auth', () => {
  const envKey = `env-admin-${randomBytes(12).toString('hex')}`;
  let api: ApiHarness;
  let routes: string[];

  before(async () => {
    api = await startApi({ env: { MERCHFLOW_ADMIN_API_KEY: envKey } });
    const doc = await api.request<{ paths: Record<string, Record<string, unknown>> }>('GET', '/docs-json', { key: api.keys.viewer });
    assert.equal(doc.status, 200);
    routes = Object.entries(doc.body.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`));
  });
  after(async () => {
    await api?.close();
  });

  it('documents exactly the routes the router serves, and every one is in the matrix', () => {
    const stack = (api.app.getHttpAdapter().getInstance() as { router: { stack: Array<{ route?: { path: string; methods: Record<string, boolean> } }> } }).router.stack;
    const served = stack
      // nestjs-pino's request logging is middleware Nest mounts as a catch-all route ({/*splat}, every method): not an endpoint.
      .filter((l) => l.route && l.route.path.startsWith(api.config.http.basePath) && l.route.path !== `${api.config.http.basePath}{/*splat}`)
      .flatMap((l) => Object.keys(l.route!.methods).map((m) => `${m.toUpperCase()} ${l.route!.path.slice(api.config.http.basePath.length).replace(/:(\w+)/g, '{$1}')}`))
      .filter((r) => !/ \/docs/.test(r));
    assert.ok(served.length >= Object.keys(MATRIX).length, `router routes: ${served.join(', ')}`);
    assert.deepEqual([...new Set(served)].sort(), [...routes].sort(), 'the OpenAPI document lists every served route');
    assert.deepEqual([...routes].sort(), Object.keys(MATRIX).sort(), 'every route has a role in the matrix');
  });

  it('answers 401 on every route but health without a key, and with a bad one', async () => {
    for (const route of routes) {
      const [method, path] = route.split(' ');
      for (const key of [null, 'mf_aaaaaaaa_' + 'b'.repeat(43), 'not-a-key']) {
        const r = await api.request(method, `${concrete(path)}/`, { key, body: method === 'GET' || method === 'DELETE' ? undefined : {} });
        if (MATRIX[route] === 'public') {
          assert.equal(r.status, 200, route);
          continue;
        }
        assert.equal(r.status, 401, `${route} with ${key}: ${r.status} ${r.text}`);
        assert.equal(r.body.code, 'UNAUTHENTICATED');
        assert.ok(isErrorShape(r.body));
        assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer/);
      }
    }
  });

  it('answers 403 for a role too low and lets the right roles through, on every route', async () => {
    for (const route of routes) {
      const need = MATRIX[route];
      if (need === 'public') continue;
      const [method, path] = route.split(' ');
      for (const role of ['viewer', 'operator', 'admin'] as const) {
        const r = await api.request(method, `${concrete(path)}/`, { key: api.keys[role], body: method === 'GET' || method === 'DELETE' ? undefined : {} });
        if (RANK[role] >= RANK[need]) {
          assert.ok(r.status !== 401 && r.status !== 403 && r.status < 500, `${route} as ${role}: ${r.status} ${r.text}`);
        } else {
          assert.equal(r.status, 403, `${route} as ${role}: ${r.status} ${r.text}`);
          assert.equal(r.body.code, 'FORBIDDEN');
          assert.equal((r.body.details as { required_role: string }).required_role, need);
        }
      }
    }
  });

  it('accepts the key as Authorization: Bearer (any case) or X-API-Key', async () => {
    const viaHeader = await api.request('GET', '/stats/', { key: null, headers: { 'x-api-key': api.keys.viewer } });
    assert.equal(viaHeader.status, 200);
    const lower = await api.request('GET', '/stats/', { key: null, headers: { authorization: `bearer ${api.keys.viewer}` } });
    assert.equal(lower.status, 200);
    const basic = await api.request('GET', '/stats/', { key: null, headers: { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` } });
    assert.equal(basic.status, 401);
  });

  it('creates keys (shown once, stored hashed), lists them without secrets, and revokes them', async () => {
    const created = await api.request<{ id: number; key: string; prefix: string; role: string; is_active: boolean }>('POST', '/api-keys/', { body: { name: 'ci-bot', role: 'operator' } });
    assert.equal(created.status, 201, created.text);
    assert.match(created.body.key, /^mf_[a-z0-9]{8}_[A-Za-z0-9_-]{43}$/);
    assert.equal(created.body.prefix, created.body.key.slice(0, 11));
    assert.equal(created.body.role, 'operator');
    const [stored] = await api.h.dataSource.query(`SELECT * FROM api_keys WHERE id = $1`, [created.body.id]);
    assert.equal(stored.key_hash, createHash('sha256').update(created.body.key).digest('hex'));
    assert.ok(!JSON.stringify(stored).includes(created.body.key.slice(12)), 'the secret is not stored');

    const list = await api.request<{ results: Array<Record<string, unknown>> }>('GET', '/api-keys/?page_size=100');
    assert.equal(list.status, 200);
    const listed = list.body.results.find((k) => k.id === created.body.id)!;
    assert.equal(listed.prefix, created.body.prefix);
    assert.ok(!('key' in listed) && !('key_hash' in listed));

    const ok = await api.request('POST', '/workflows/2147483647/execute/', { key: created.body.key, body: {} });
    assert.equal(ok.status, 404, 'the new operator key works');
    assert.equal((await api.request('POST', '/workflows/', { key: created.body.key, body: {} })).status, 403);

    const revoked = await api.request<{ revoked_at: string; is_active: boolean }>('DELETE', `/api-keys/${created.body.id}/`);
    assert.equal(revoked.status, 200);
    assert.equal(revoked.body.is_active, false);
    assert.equal((await api.request('GET', '/stats/', { key: created.body.key })).status, 401);
    const all = await api.request<{ results: Array<{ id: number }> }>('GET', '/api-keys/?include_revoked=true&page_size=100');
    assert.ok(all.body.results.some((k) => k.id === created.body.id));
    const active = await api.request<{ results: Array<{ id: number }> }>('GET', '/api-keys/?page_size=100');
    assert.ok(!active.body.results.some((k) => k.id === created.body.id));

    for (const body of [{ name: 'x', role: 'root' }, { role: 'viewer' }, { name: 'x', role: 'viewer', expires_at: '2001-01-01T00:00:00Z' }, { name: 'x', role: 'viewer', key: 'mine' }]) {
      const r = await api.request('POST', '/api-keys/', { body });
      assert.equal(r.status, 400, JSON.stringify(body));
    }
    assert.equal((await api.request('DELETE', '/api-keys/2147483647/')).status, 404);
  });

  it('refuses an expired key', async () => {
    const svc = new ApiKeysService(api.h.dataSource);
    const { record, key } = await svc.create({ name: 'short-lived', role: 'viewer', expires_at: new Date(Date.now() + 60_000) });
    assert.equal((await api.request('GET', '/stats/', { key })).status, 200);
    await api.h.dataSource.query(`UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1`, [record.id]);
    const fresh = new ApiKeysService(api.h.dataSource);
    assert.equal(await fresh.authenticate(key), null);
    // The change is announced: the running API's cache forgets the key too.
    await pollUntil(async () => (await api.request('GET', '/stats/', { key })).status === 401, 'the API refuses a key expired by hand');
  });

  it('refuses a key from the moment it expires, although its answer was cached', async () => {
    const app = api.app.get(ApiKeysService);
    await pollUntil(async () => app.cacheLive, 'the API listens for key changes');
    const expiresAt = new Date(Date.now() + 1_500);
    const { key } = await new ApiKeysService(api.h.dataSource).create({ name: 'expiring', role: 'viewer', expires_at: expiresAt });
    assert.equal((await api.request('GET', '/stats/', { key })).status, 200, 'valid before its expiry (and now cached)');
    await pollUntil(async () => Date.now() > expiresAt.getTime(), 'the expiry passes');
    const after = await api.request('GET', '/stats/', { key });
    assert.equal(after.status, 401, 'refused on the first request after expires_at');
    assert.equal(after.body.code, 'UNAUTHENTICATED');
  });

  it('stops a key revoked on one API replica on every other replica, within a short bound', async () => {
    const replica = await startReplica(api);
    try {
      await pollUntil(async () => replica.app.get(ApiKeysService).cacheLive && api.app.get(ApiKeysService).cacheLive, 'both replicas listen for key changes');
      const created = await api.request<{ id: number; key: string }>('POST', '/api-keys/', { body: { name: 'two-replicas', role: 'viewer' } });
      assert.equal(created.status, 201, created.text);
      const key = created.body.key;
      // Warm both caches.
      for (let i = 0; i < 3; i++) {
        assert.equal((await replica.request('GET', '/stats/', { key })).status, 200);
        assert.equal((await api.request('GET', '/stats/', { key })).status, 200);
      }
      const revokedAt = Date.now();
      assert.equal((await api.request('DELETE', `/api-keys/${created.body.id}/`)).status, 200);
      assert.equal((await api.request('GET', '/stats/', { key })).status, 401, 'refused at once where it was revoked');
      // Far below the 5 s the cache would otherwise keep an answer.
      await pollUntil(async () => (await replica.request('GET', '/stats/', { key })).status === 401, 'the other replica refuses the revoked key', 2_500);
      const took = Date.now() - revokedAt;
      for (let i = 0; i < 5; i++) assert.equal((await replica.request('GET', '/stats/', { key })).status, 401, 'and keeps refusing it');
      assert.ok(took < 2_500, `took ${took} ms`);
    } finally {
      await replica.close();
    }
  });

  it('forgets its cache when the listener loses the database, so a change it could not hear still counts, and listens again', async () => {
    const svc = api.app.get(ApiKeysService);
    await pollUntil(async () => svc.cacheLive, 'the API listens for key changes');
    const { record, key } = await new ApiKeysService(api.h.dataSource).create({ name: 'while-deaf', role: 'viewer' });
    assert.equal((await api.request('GET', '/stats/', { key })).status, 200, 'valid (and now cached)');
    // Cut the listener's connection from the database side, then change the key while nobody listens.
    await api.h.dataSource.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'merchflow-api-keys' AND datname = current_database()`);
    await pollUntil(async () => !svc.cacheLive, 'the API notices the lost listener');
    await api.h.dataSource.query(`UPDATE api_keys SET revoked_at = now() WHERE id = $1`, [record.id]);
    assert.equal((await api.request('GET', '/stats/', { key })).status, 401, 'the revocation is seen without its notification');
    await pollUntil(async () => svc.cacheLive, 'the listener reconnects', 15_000);
    assert.equal((await api.request('GET', '/stats/', { key })).status, 401);
  });

  it('seeds MERCHFLOW_ADMIN_API_KEY as an admin key at boot, and rotates it', async () => {
    const r = await api.request('POST', '/api-keys/', { key: envKey, body: { name: 'made-by-env-admin', role: 'viewer' } });
    assert.equal(r.status, 201, r.text);
    const [row] = await api.h.dataSource.query(`SELECT role, source, revoked_at FROM api_keys WHERE key_hash = $1`, [createHash('sha256').update(envKey).digest('hex')]);
    assert.deepEqual([row.role, row.source, row.revoked_at], ['admin', 'env', null]);

    const svc = new ApiKeysService(api.h.dataSource);
    const next = `env-admin-${randomBytes(12).toString('hex')}`;
    await svc.seedAdminKey(next);
    assert.equal(await svc.authenticate(envKey), null, 'the previous environment key is revoked');
    assert.equal((await svc.authenticate(next))?.role, 'admin');
    await assert.rejects(svc.seedAdminKey('short'), /MERCHFLOW_ADMIN_API_KEY/);
  });
});
