import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { startHarness, type Harness } from '@test/support/harness';
import { lazyExecutors } from '@test/support/deps';
import { runDefinition, runFootprint } from '@test/integration/executors/http-executors-support';
import { apiCallExecutorModule } from '@engine/activities/api_call';
import { startSandbox, type Sandbox } from '@src/sandbox';

const suffix = randomUUID().slice(0, 8);
const SECRET = `CARRIER_KEY_${suffix.toUpperCase()}`;
const KEY = `carrier-${randomBytes(10).toString('hex')}`;

const shipTo = { name: 'Ada', line1: '1 Loop Rd', city: 'Localhost', postal_code: '12345', country: 'US' };

/** api_call's `connection`: a carrier of the carriers table, its credentials secret resolved in the worker, never in history. */
describe('api_call with a carrier connection', () => {
  let h: Harness;
  let secured: Sandbox;
  let carrierId: number;

  before(async () => {
    process.env[`MERCHFLOW_SECRET_${SECRET}`] = KEY;
    secured = await startSandbox({ products: 5, apiKey: KEY, initialOrders: 0 });
    h = await startHarness({ executors: lazyExecutors(() => h, [apiCallExecutorModule]), env: { HTTP_ALLOW_HOSTS: `127.0.0.1:${secured.port}` } });
    const [row] = (await h.dataSource.query(`INSERT INTO carriers (code, name, api_base_url, credentials) VALUES ($1, $1, $2, $3) RETURNING id`, [
      `cc-${suffix}`,
      secured.urls.carrier,
      JSON.stringify({ type: 'bearer', secret: SECRET }),
    ])) as Array<{ id: number }>;
    carrierId = row.id;
  });
  after(async () => {
    delete process.env[`MERCHFLOW_SECRET_${SECRET}`];
    await h?.close();
    await secured?.close();
  });

  const labelStep = (config: Record<string, unknown> = {}) => ({
    key: 'labels',
    name: 'labels',
    step_type: 'api_call',
    config: {
      connection: 'carrier:${input.carrier_id}',
      url: '/labels',
      method: 'POST',
      body_mode: 'per_item',
      items_field: 'orders',
      item_key_field: 'external_id',
      body: { order_id: '$external_id', ship_to: '$ship_to' },
      idempotency_key: `cc-${suffix}:$external_id:label`,
      response_mapping: { label_id: 'id', tracking_number: 'tracking_number' },
      ...config,
    },
  });

  it('buys labels with the carrier credentials, which appear nowhere in the run', async () => {
    const before = secured.state.counters.unauthorized;
    const run = await runDefinition(h, [labelStep()], { carrier_id: carrierId, orders: [{ external_id: `o1-${suffix}`, ship_to: shipTo }, { external_id: `o2-${suffix}`, ship_to: shipTo }] });
    assert.equal(run.status, 'completed', JSON.stringify(run.error));
    const out = run.output as { results: Array<{ label_id: string; tracking_number: string }>; succeeded: number };
    assert.equal(out.succeeded, 2);
    assert.ok(out.results.every((r) => typeof r.label_id === 'string' && r.tracking_number));
    assert.equal(secured.state.counters.unauthorized, before, 'every request was authenticated');
    assert.ok(!(await runFootprint(h, run.executionId)).includes(KEY), 'the key is not in history, rows or payloads');
  });

  it('refuses a URL outside the connection, and a disabled carrier, naming the field', async () => {
    const outside = await runDefinition(h, [labelStep({ url: `${secured.urls.marketplace}/orders/$external_id/acknowledge` })], { carrier_id: carrierId, orders: [{ external_id: 'x', ship_to: shipTo }] });
    assert.equal(outside.status, 'failed');
    const failure = (r: typeof outside) => JSON.stringify({ error: r.error, step: r.step('labels') });
    assert.match(failure(outside), /STEP_CONFIG_INVALID/);
    assert.match(failure(outside), /config\.url: must lie under the api_base_url of carrier cc-/);
    assert.ok(!failure(outside).includes(KEY));

    await h.dataSource.query(`UPDATE carriers SET is_active = false, disabled_at = now() WHERE id = $1`, [carrierId]);
    try {
      const disabled = await runDefinition(h, [labelStep()], { carrier_id: carrierId, orders: [{ external_id: 'y', ship_to: shipTo }] });
      assert.equal(disabled.status, 'failed');
      assert.match(failure(disabled), /SOURCE_INACTIVE/);
      const unknown = await runDefinition(h, [labelStep()], { carrier_id: 2_000_000_000, orders: [{ external_id: 'z', ship_to: shipTo }] });
      assert.match(failure(unknown), /SOURCE_NOT_FOUND/);
    } finally {
      await h.dataSource.query(`UPDATE carriers SET is_active = true, disabled_at = NULL WHERE id = $1`, [carrierId]);
    }
  });
});
