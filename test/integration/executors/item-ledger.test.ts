import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from '@test/support/harness';
import { lazyExecutors } from '@test/support/deps';
import { installSocketGuard, type SocketGuard } from '@test/integration/http/support';
import { json, runDefinition, startRoutedServer, type RoutedServer } from '@test/integration/executors/http-executors-support';
import { apiCallExecutorModule, API_CALL_STEP_TYPE } from '@engine/activities/api_call';

interface LedgerRow {
  item_key: string;
  item_index: number;
  status: string;
  reason_code: string | null;
  message: string | null;
  attempt: number;
  payload: unknown;
}

/** The item ledger written by a real worker, read straight from PostgreSQL. */
describe('item ledger of api_call per-item steps', () => {
  let h: Harness;
  let guard: SocketGuard;
  let api: RoutedServer;

  before(async () => {
    guard = installSocketGuard();
    api = await startRoutedServer();
    h = await startHarness({ executors: lazyExecutors(() => h, [apiCallExecutorModule]), env: { HTTP_ALLOW_HOSTS: api.hostPort } });
  });
  after(async () => {
    await h?.close();
    await api?.close();
    guard?.restore();
    assert.deepEqual(guard.violations, [], 'no socket may reach a non-loopback address');
  });

  const ledger = (executionId: string): Promise<LedgerRow[]> =>
    h.dataSource.query(
      `SELECT * FROM (
         SELECT e.v->>0 AS item_key, (e.v->>1)::int AS item_index, e.v->>2 AS status, e.v->>3 AS reason_code, e.v->>4 AS message, b.attempt,
                (e.v->5)::jsonb AS payload
           FROM item_outcome_batches b, json_array_elements(b.items) AS e(v)
          WHERE b.execution_id = $1
         UNION ALL
         SELECT k.key, (r.v->>0)::int + k.ord::int - 1, 'ok', NULL, NULL, b.attempt, 'null'::jsonb
           FROM item_outcome_batches b, json_array_elements(b.ok_runs) AS r(v), json_array_elements_text(r.v->1) WITH ORDINALITY AS k(key, ord)
          WHERE b.execution_id = $1) o
        ORDER BY item_index, attempt`,
      [executionId],
    );

  it('records each item: ok once its call answered, failed with the reason and the item when it did not', async () => {
    api.route('/ledger/listings', (_req, res, body) => {
      const sku = (JSON.parse(body) as { sku: string }).sku;
      return sku.startsWith('BAD') ? json(res, 422, { error: `${sku} has no title` }) : json(res, 201, { id: `L-${sku}` });
    });
    const items = [{ sku: 'A-1' }, { sku: 'BAD-1', price: 3 }, { sku: 'A-2' }, { sku: 'BAD-2' }];
    const run = await runDefinition(
      h,
      [
        {
          key: 'list',
          name: 'List',
          step_type: API_CALL_STEP_TYPE,
          config: { url: `${api.origin}/ledger/listings`, method: 'POST', body_mode: 'per_item', item_key_field: 'sku', continue_on_item_error: true, max_failed_items: 5, concurrency: 2 },
        },
      ],
      items,
    );
    assert.equal(run.status, 'completed', String(run.error));
    const rows = await ledger(run.executionId);
    assert.deepEqual(
      rows.map((r) => [r.item_key, r.item_index, r.status, r.reason_code, r.attempt]),
      [
        ['A-1', 0, 'ok', null, 1],
        ['BAD-1', 1, 'failed', 'HTTP_CLIENT_ERROR', 1],
        ['A-2', 2, 'ok', null, 1],
        ['BAD-2', 3, 'failed', 'HTTP_CLIENT_ERROR', 1],
      ],
    );
    assert.match(rows[1].message ?? '', /422/);
    assert.deepEqual(rows[1].payload, { sku: 'BAD-1', price: 3 });
    assert.equal(rows[0].payload, null, 'an item that went through keeps no copy');
  });

  it('keeps the latest outcome of an item a retried attempt sent again', async () => {
    let first = true;
    api.route('/ledger/flaky', (_req, res, body) => {
      const sku = (JSON.parse(body) as { sku: string }).sku;
      if (sku === 'B' && first) {
        first = false;
        return json(res, 503, { error: 'try later' });
      }
      return json(res, 200, { sku });
    });
    const run = await runDefinition(
      h,
      [
        {
          key: 'call',
          name: 'Call',
          step_type: API_CALL_STEP_TYPE,
          config: { url: `${api.origin}/ledger/flaky`, method: 'POST', body_mode: 'per_item', item_key_field: 'sku', concurrency: 1, retry: { attempts: 1 } },
          max_retries: 2,
          retry_delay_seconds: 1,
        },
      ],
      [{ sku: 'A' }, { sku: 'B' }],
    );
    assert.equal(run.status, 'completed', String(run.error));
    // Every attempt's outcomes are kept; the API shows each item's latest.
    const rows = await ledger(run.executionId);
    // (A retry that resumes after its checkpoint does not send A again: A's second row is optional.)
    assert.deepEqual(
      rows.filter((r) => r.item_key === 'B').map((r) => [r.status, r.attempt]),
      [
        ['failed', 1],
        ['ok', 2],
      ],
    );
    assert.deepEqual(rows.find((r) => r.item_key === 'A' && r.attempt === 1)?.status, 'ok');
    assert.match(rows.find((r) => r.item_key === 'B' && r.attempt === 1)?.message ?? '', /503/);
  });
});
