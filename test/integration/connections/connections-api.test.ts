import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { startSandbox, type Sandbox } from '@src/sandbox';
import { echoDefinition, isErrorShape, startApi, uniqueCode, type ApiHarness } from '@test/integration/api/support';

const suffix = randomUUID().slice(0, 8).toUpperCase();
const GOOD = `SANDBOX_KEY_${suffix}`;
const WRONG = `WRONG_KEY_${suffix}`;
const SANDBOX_KEY = `sbx-${randomBytes(12).toString('hex')}`;
const WRONG_VALUE = `wrong-${randomBytes(12).toString('hex')}`;

type Conn = { id: number; code: string; endpoint: string; credentials: Record<string, unknown>; is_active: boolean; disabled_at: string | null; field_mapping: Record<string, string> };
type Problems = { code: string; message: string; details: { errors: Array<{ field: string; message: string }> } };

describe('secrets and connections API', () => {
  let api: ApiHarness;
  let sandbox: Sandbox;

  before(async () => {
    sandbox = await startSandbox({ products: 20, seed: 3, apiKey: SANDBOX_KEY });
    api = await startApi({ env: { MERCHFLOW_MASTER_KEY: randomBytes(32).toString('base64'), HTTP_ALLOW_HOSTS: new URL(sandbox.url).host } });
  });

  after(async () => {
    if (process.env.DEBUG_LOGS) console.log(api?.logLines.join('\n'));
    await api?.h.dataSource.query(`DELETE FROM secrets WHERE name LIKE $1`, [`%${suffix}`]).catch(() => undefined);
    await api?.close();
    await sandbox?.close();
  });

  const fieldsOf = (body: unknown) => (body as Problems).details.errors.map((e) => e.field);

  it('secrets are write-only: created, replaced, listed with times, never returned, admin only', async () => {
    const created = await api.request('POST', '/secrets/', { body: { name: GOOD, value: SANDBOX_KEY, description: 'sandbox key' } });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body.name, GOOD);
    assert.ok(!created.text.includes(SANDBOX_KEY), 'the value is not echoed');
    const again = await api.request('POST', '/secrets/', { body: { name: GOOD, value: 'other-value-123' } });
    assert.equal(again.status, 409);
    assert.equal(again.body.code, 'SECRET_EXISTS');

    const put = await api.request('PUT', `/secrets/${WRONG}/`, { body: { value: WRONG_VALUE } });
    assert.equal(put.status, 201, put.text);
    const replaced = await api.request('PUT', `/secrets/${WRONG}/`, { body: { value: WRONG_VALUE } });
    assert.equal(replaced.status, 200, replaced.text);

    const list = await api.request<{ results: Array<Record<string, unknown>> }>('GET', '/secrets/');
    assert.equal(list.status, 200);
    const mine = list.body.results.find((s) => s.name === GOOD)!;
    assert.deepEqual(Object.keys(mine).sort(), ['created_at', 'created_by', 'description', 'last_used_at', 'name', 'updated_at']);
    assert.equal(mine.last_used_at, null);
    assert.ok(!list.text.includes(SANDBOX_KEY) && !list.text.includes(WRONG_VALUE));
    const one = await api.request('GET', `/secrets/${GOOD}/`);
    assert.equal(one.status, 200);
    assert.ok(!one.text.includes(SANDBOX_KEY));

    // Stored encrypted: no row holds the value in clear.
    const rows: Array<Record<string, Buffer>> = await api.h.dataSource.query(`SELECT * FROM secrets WHERE name = $1`, [GOOD]);
    const dump = JSON.stringify(rows) + rows.map((r) => Object.values(r).map((v) => (Buffer.isBuffer(v) ? v.toString('latin1') : '')).join('')).join('');
    assert.ok(!dump.includes(SANDBOX_KEY), 'the row holds no clear value');

    for (const role of ['viewer', 'operator'] as const) {
      const res = await api.request('GET', '/secrets/', { key: api.keys[role] });
      assert.equal(res.status, 403, `${role} may not list secrets`);
    }
    const bad = await api.request('POST', '/secrets/', { body: { name: '9bad name', value: 'x' } });
    assert.equal(bad.status, 400);
    assert.deepEqual(fieldsOf(bad.body), ['name']);
    const empty = await api.request('PUT', `/secrets/EMPTY_${suffix}/`, { body: { value: '' } });
    assert.equal(empty.status, 400);
    assert.deepEqual(fieldsOf(empty.body), ['value']);
  });

  it('refuses inline credentials and bad fields with a 400 naming each field', async () => {
    const base = { code: uniqueCode('sup'), name: 'Bad', endpoint: sandbox.urls.supplier };
    const inline = await api.request('POST', '/suppliers/', { body: { ...base, credentials: { type: 'bearer', token: SANDBOX_KEY } } });
    assert.equal(inline.status, 400);
    assert.ok(isErrorShape(inline.body));
    assert.deepEqual(fieldsOf(inline.body), ['credentials.token', 'credentials.secret']);
    assert.match(inline.body.message as string, /credentials\.token: inline credentials are refused/);
    assert.ok(!inline.text.includes(SANDBOX_KEY), 'the refused value is not echoed');

    const topLevel = await api.request('POST', '/suppliers/', { body: { ...base, api_key: 'abc' } });
    assert.deepEqual(fieldsOf(topLevel.body), ['api_key']);
    const inUrl = await api.request('POST', '/suppliers/', { body: { ...base, endpoint: 'http://user:pw@127.0.0.1:1/x' } });
    assert.deepEqual(fieldsOf(inUrl.body), ['endpoint']);
    const unknownSecret = await api.request('POST', '/suppliers/', { body: { ...base, credentials: { type: 'bearer', secret: `NOPE_${suffix}` } } });
    assert.deepEqual(fieldsOf(unknownSecret.body), ['credentials.secret']);
    const mapping = await api.request('POST', '/suppliers/', { body: { ...base, field_mapping: { title: '$trim(' } } });
    assert.deepEqual(fieldsOf(mapping.body), ['field_mapping.title']);
    const budget = await api.request('POST', '/suppliers/', { body: { ...base, rate_budget: { requests_per_second: -1, burst: 1.5 } } });
    assert.deepEqual(fieldsOf(budget.body), ['rate_budget.requests_per_second', 'rate_budget.burst']);
    const platform = await api.request('POST', '/suppliers/', { body: { ...base, platform: 'magento' } });
    assert.deepEqual(fieldsOf(platform.body), ['platform']);
    const missing = await api.request('POST', '/carriers/', { body: {} });
    assert.deepEqual(fieldsOf(missing.body), ['code', 'name', 'endpoint']);
    const viewer = await api.request('POST', '/suppliers/', { key: api.keys.viewer, body: base });
    assert.equal(viewer.status, 403);
  });

  it('tests a connection: good credentials read and map a sample item, wrong ones are reported as not authenticated', async () => {
    const good = await api.request<Conn>('POST', '/suppliers/', {
      body: {
        code: uniqueCode('sup'),
        name: 'Sandbox supplier',
        endpoint: `${sandbox.urls.supplier}/`,
        platform: 'sandbox',
        credentials: { type: 'bearer', secret: GOOD },
        field_mapping: { sku: 'sku', title: '$uppercase(title)' },
        rate_budget: { requests_per_second: 10, burst: 20, max_concurrent: 4 },
      },
    });
    assert.equal(good.status, 201, good.text);
    assert.equal(good.body.endpoint, sandbox.urls.supplier);
    const tested = await api.request<{ ok: boolean; reachable: boolean; authenticated: boolean; sample: { item: { sku: string; title: string }; mapped: Record<string, unknown> } }>(
      'POST',
      `/suppliers/${good.body.id}/test/`,
      { key: api.keys.operator },
    );
    assert.equal(tested.status, 200, tested.text);
    assert.equal(tested.body.ok, true, tested.text);
    assert.equal(tested.body.reachable, true);
    assert.equal(tested.body.authenticated, true);
    const item = tested.body.sample.item;
    assert.equal(item.sku, sandbox.catalogue.product(0).sku, 'the first product of the sandbox');
    assert.equal(tested.body.sample.mapped.sku, item.sku);
    assert.equal(tested.body.sample.mapped.title, typeof item.title === 'string' ? item.title.toUpperCase() : undefined);
    assert.ok(!tested.text.includes(SANDBOX_KEY));
    const secret = await api.request('GET', `/secrets/${GOOD}/`);
    assert.ok(secret.body.last_used_at, 'the test marks the secret used');

    const wrong = await api.request<Conn>('POST', '/marketplaces/', {
      body: { code: uniqueCode('mkt'), name: 'Wrong key', endpoint: sandbox.urls.marketplace, credentials: { type: 'api_key', secret: WRONG, header: 'X-API-Key' }, markup_percent: 20 },
    });
    assert.equal(wrong.status, 201, wrong.text);
    const refused = await api.request<{ ok: boolean; reachable: boolean; authenticated: boolean; status: number; reason: string }>('POST', `/marketplaces/${wrong.body.id}/test/`);
    assert.equal(refused.body.ok, false);
    assert.equal(refused.body.reachable, true);
    assert.equal(refused.body.authenticated, false);
    assert.equal(refused.body.status, 401);
    assert.match(refused.body.reason, new RegExp(`refused the credentials.*${WRONG}`));
    assert.ok(!refused.text.includes(WRONG_VALUE));

    const carrier = await api.request<Conn>('POST', '/carriers/', { body: { code: uniqueCode('car'), name: 'Carrier', endpoint: sandbox.urls.carrier, credentials: { type: 'bearer', secret: GOOD } } });
    assert.equal(carrier.status, 201, carrier.text);
    const carrierTest = await api.request<{ ok: boolean; authenticated: boolean }>('POST', `/carriers/${carrier.body.id}/test/`);
    assert.equal(carrierTest.body.ok, true, carrierTest.text);
    assert.equal(carrierTest.body.authenticated, true);

    const down = await api.request<Conn>('POST', '/suppliers/', { body: { code: uniqueCode('sup'), name: 'Down', endpoint: 'http://127.0.0.1:1/supplier/v1' } });
    const unreachable = await api.request<{ ok: boolean; reachable: boolean; reason: string }>('POST', `/suppliers/${down.body.id}/test/`);
    assert.equal(unreachable.body.ok, false);
    assert.equal(unreachable.body.reachable, false);
    assert.ok(unreachable.body.reason.length > 0);
  });

  it('disables without losing history, refuses to delete a connection a schedule uses (409 naming it), deletes an unused one', async () => {
    const created = await api.request<Conn>('POST', '/suppliers/', { body: { code: uniqueCode('sup'), name: 'Scheduled', endpoint: sandbox.urls.supplier } });
    const id = created.body.id;
    const wf = await api.request<{ id: number }>('POST', '/workflows/', { body: echoDefinition(uniqueCode('wf')) });
    assert.equal(wf.status, 201, wf.text);
    const schedule = await api.request<{ id: number }>('POST', '/schedules/', { body: { workflow_id: wf.body.id, name: `nightly ${suffix}`, cron_expression: '0 3 * * *', input_data: { supplier_id: id } } });
    assert.equal(schedule.status, 201, schedule.text);

    const refused = await api.request<{ code: string; message: string; details: { schedules: Array<{ id: number; name: string }> } }>('DELETE', `/suppliers/${id}/`);
    assert.equal(refused.status, 409);
    assert.equal(refused.body.code, 'CONNECTION_IN_USE');
    assert.deepEqual(refused.body.details.schedules.map((s) => s.id), [schedule.body.id]);
    assert.match(refused.body.message, new RegExp(`nightly ${suffix}`));

    // A product refers to the supplier: disabling keeps it, and the supplier can be read and enabled again.
    await api.h.dataSource.query(`INSERT INTO products (supplier_id, external_id, sku, title, content_hash) VALUES ($1, 'x1', 'SKU-X1', 'Kept', repeat('0', 64))`, [id]);
    const disabled = await api.request<Conn>('POST', `/suppliers/${id}/disable/`);
    assert.equal(disabled.status, 200, disabled.text);
    if (process.env.DEBUG_LOGS) console.log(disabled.text);
    assert.equal(disabled.body.is_active, false);
    assert.ok(disabled.body.disabled_at);
    const [{ n }] = await api.h.dataSource.query(`SELECT count(*)::int AS n FROM products WHERE supplier_id = $1`, [id]);
    assert.equal(n, 1);
    const inactive = await api.request<{ results: Conn[] }>('GET', '/suppliers/?active=false');
    assert.ok(inactive.body.results.some((c) => c.id === id));
    const enabled = await api.request<Conn>('PATCH', `/suppliers/${id}/`, { body: { is_active: true, name: 'Back' } });
    assert.equal(enabled.body.is_active, true);
    assert.equal(enabled.body.disabled_at, null);

    await api.request('DELETE', `/schedules/${schedule.body.id}/`);
    const history = await api.request('DELETE', `/suppliers/${id}/`);
    assert.equal(history.status, 409);
    assert.equal(history.body.code, 'CONNECTION_HAS_HISTORY');

    const unused = await api.request<Conn>('POST', '/carriers/', { body: { code: uniqueCode('car'), name: 'Unused', endpoint: sandbox.urls.carrier } });
    const deleted = await api.request('DELETE', `/carriers/${unused.body.id}/`);
    assert.equal(deleted.status, 200, deleted.text);
    assert.equal((await api.request('GET', `/carriers/${unused.body.id}/`)).status, 404);
  });

  it('refuses to delete a secret a connection names', async () => {
    const res = await api.request('DELETE', `/secrets/${GOOD}/`);
    assert.equal(res.status, 409);
    assert.equal(res.body.code, 'SECRET_IN_USE');
  });
});
