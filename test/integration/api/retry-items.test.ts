import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startSandbox, type Sandbox } from '@src/sandbox';
import { eventually } from '@test/support/harness';
import { startApi, uniqueCode, type ApiHarness } from './support';
import { runCli } from '@test/support/cli';

/**
 * Issue 13 items 3 and 4 on the real stack: an import of PRODUCTS supplier
 * products (10 % invalid) listed one call per SKU on the sandbox marketplace,
 * 2 % of the listings refused for good; the ledger and its CSV export, then
 * retry-items once the marketplace accepts them (no duplicate listing);
 * an order batch whose one label fails for good, retried for that order;
 * a restart that picks up a fixed definition; an edited step output.
 */
const PRODUCTS = Number(process.env.RETRY_ITEMS_PRODUCTS ?? 10_000);
const INVALID = Math.floor(PRODUCTS * 0.1);
const REJECTED = Math.floor(PRODUCTS * 0.02);



interface Run {
  execution_id: string;
  status: string;
  outcome: string;
  version: number;
  trigger_type: string;
  restarted_from: string | null;
  recovery: Record<string, unknown> | null;
}

function importSteps(sandbox: Sandbox, markup = 1.5) {
  return [
    {
      key: 'fetch',
      name: 'Fetch products',
      step_type: 'data_fetch',
      config: {
        source_type: 'http',
        url: `${sandbox.urls.supplier}/products`,
        pagination: { type: 'page', page_param: 'page', size_param: 'page_size', page_size: 1000, items_path: 'items', total_pages_path: 'total_pages' },
      },
      timeout_seconds: 300,
    },
    {
      key: 'validate',
      name: 'Validate',
      step_type: 'data_validate',
      config: {
        source_field: 'items',
        max_invalid_ratio: 0.5,
        validation_rules: [
          { type: 'required', field: 'sku' },
          { type: 'required', field: 'name' },
          { type: 'required', field: 'cost_price' },
          { type: 'min_value', field: 'cost_price', min_value: 0.01 },
        ],
      },
      timeout_seconds: 300,
    },
    {
      key: 'price',
      name: 'Price',
      step_type: 'data_transform',
      config: {
        transform_type: 'map',
        source_field: 'items',
        mapping_rules: { sku: 'sku', title: 'name', price: { expression: `$round(cost_price * ${markup}, 2)` } },
      },
      timeout_seconds: 300,
    },
    {
      key: 'list',
      name: 'List on the marketplace',
      step_type: 'api_call',
      config: {
        url: `${sandbox.urls.marketplace}/listings`,
        method: 'POST',
        body_mode: 'per_item',
        items_field: 'items',
        item_key_field: 'sku',
        body: { sku: '$sku', title: '$title', price: '$price' },
        expected_status: [200, 201],
        response_mapping: { listing_id: 'id', price: 'price' },
        concurrency: 8,
        continue_on_item_error: true,
      },
      timeout_seconds: 1800,
    },
  ];
}

describe('retry only the failed items; version choice; edit a step output and continue', { timeout: 1_800_000 }, () => {
  let sandbox: Sandbox;
  let api: ApiHarness;
  let workflowId: number;
  let first: string;
  const rejected: string[] = [];

  const admin = async <T = Record<string, unknown>>(path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${sandbox.urls.admin}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    assert.ok(res.ok, `${path}: ${res.status}`);
    return (await res.json()) as T;
  };
  const state = () => admin<{ listings: number; idempotent_replays: number; labels: number; orders_with_several_labels: number; idempotency_conflicts: number }>('/state');
  const finished = async (id: string, timeoutMs = 900_000): Promise<Run> =>
    eventually(
      async () => {
        const r = await api.request<Run>('GET', `/executions/${id}/`);
        return ['completed', 'failed', 'cancelled'].includes(r.body.status) ? r.body : null;
      },
      timeoutMs,
      `run ${id} ends`,
    );
  const counts = async (id: string) =>
    (await api.request<{ by_status: Record<string, number>; by_reason: Array<{ step_key: string; status: string; reason_code: string | null; count: number }> }>('GET', `/executions/${id}/items/counts/`)).body;

  before(async () => {
    sandbox = await startSandbox({ products: PRODUCTS, invalidRate: 0.1, seed: 13, initialOrders: 0 });
    const host = new URL(sandbox.urls.admin).host;
    // Pages of 2,500: the import's lists are paged (PayloadStore.pageWriter), and a retry replaces one of them by the kept items.
    api = await startApi({ env: { HTTP_ALLOW_HOSTS: host }, workerEnv: { HTTP_ALLOW_HOSTS: host, ITEM_PAGE_SIZE: '2500' } });
    // 2 % of the products, all valid ones, are refused by the marketplace for good.
    const catalogue = sandbox.state.catalogue;
    for (let i = 0; rejected.length < REJECTED && i < PRODUCTS; i += 7) {
      if (catalogue.defectOf(i) === null) rejected.push(catalogue.skuOf(i));
    }
    for (const sku of rejected) await admin('/marketplace/reject-listing', { sku });
  });
  after(async () => {
    await api?.close();
    await sandbox?.close();
  });

  it(`imports ${PRODUCTS} products: the ledger counts every invalid and failed item, and the CSV lists exactly the failed SKUs`, async () => {
    const code = uniqueCode('retry');
    const wf = await api.request<{ id: number }>('POST', '/workflows/', { body: { code, name: code, steps: importSteps(sandbox) } });
    assert.equal(wf.status, 201, wf.text);
    workflowId = wf.body.id;
    const started = Date.now();
    const run = await api.request<Run>('POST', `/workflows/${workflowId}/execute/`, { body: { input_data: {} } });
    assert.equal(run.status, 202, run.text);
    first = run.body.execution_id;
    const done = await finished(first);
    console.log(`# first run of ${PRODUCTS} products: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    assert.equal(done.status, 'completed');
    assert.equal(done.outcome, 'completed_with_failures');

    const c = await counts(first);
    const of = (step: string, status: string) => c.by_reason.filter((r) => r.step_key === step && r.status === status).reduce((n, r) => n + r.count, 0);
    assert.equal(of('validate', 'invalid'), INVALID);
    assert.equal(of('validate', 'ok'), PRODUCTS - INVALID);
    assert.equal(of('list', 'failed'), REJECTED);
    assert.equal(of('list', 'ok'), PRODUCTS - INVALID - REJECTED);
    assert.equal((await state()).listings, PRODUCTS - INVALID - REJECTED);

    const csv = await api.request('GET', `/executions/${first}/items/export/?status=failed&format=csv`);
    assert.equal(csv.status, 200, csv.text);
    const lines = csv.text.trim().split('\r\n').slice(1);
    assert.deepEqual(lines.map((l) => l.split(',')[1]).sort(), [...rejected].sort());
    assert.ok(lines.every((l) => l.split(',')[4] === 'HTTP_CLIENT_ERROR'), lines[0]);
  });

  it('refuses a retry whose filter matches nothing, naming the filter', async () => {
    const none = await api.request<{ code: string; message: string; details: Record<string, unknown> }>('POST', `/executions/${first}/retry-items/`, { body: { reasons: ['NO_SUCH_REASON'] } });
    assert.equal(none.status, 422, none.text);
    assert.equal(none.body.code, 'NO_ITEMS_TO_RETRY');
    assert.match(none.body.message, /reasons NO_SUCH_REASON/);
    assert.equal(none.body.details.field, 'reasons');
    const badVersion = await api.request<{ message: string }>('POST', `/executions/${first}/retry-items/`, { body: { version: 'latest' } });
    assert.equal(badVersion.status, 400, badVersion.text);
    assert.match(badVersion.text, /version/);
    const badStep = await api.request<{ code: string }>('POST', `/executions/${first}/retry-items/`, { body: { step: 'nope' } });
    assert.equal(badStep.status, 400, badStep.text);
    assert.equal(badStep.body.code, 'STEP_NOT_FOUND');
  });

  it('retries only the failed listings once the marketplace accepts them, and creates no duplicate', async () => {
    for (const sku of rejected) await admin('/marketplace/reject-listing', { sku, enabled: false });
    const before = await state();
    const res = await api.request<Run & { retry: { step: string; count: number; version: number; version_choice: string; other_steps: Record<string, number> } }>(
      'POST',
      `/executions/${first}/retry-items/`,
      { body: { step: 'list' } },
    );
    assert.equal(res.status, 202, res.text);
    assert.equal(res.body.retry.step, 'list');
    assert.equal(res.body.retry.count, REJECTED);
    assert.equal(res.body.retry.version_choice, 'original', 'no newer version: the run keeps its own');
    assert.equal(res.body.trigger_type, 'retry_items');
    assert.equal(res.body.restarted_from, first);
    assert.deepEqual(res.body.recovery?.reused_steps, ['fetch', 'validate', 'price']);
    assert.equal(res.body.recovery?.idempotency_root, first);
    const started = Date.now();
    const retry = await finished(res.body.execution_id);
    console.log(`# retry of ${REJECTED} items: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    assert.equal(retry.outcome, 'completed');
    const c = await counts(retry.execution_id);
    assert.deepEqual(c.by_status, { ok: REJECTED, invalid: 0, failed: 0, skipped: 0 }, 'only the retried items went through the list step');
    const afterRetry = await state();
    assert.equal(afterRetry.listings, before.listings + REJECTED);
    assert.equal(afterRetry.listings, PRODUCTS - INVALID);

    // The same retry again (the first run's failed items): the marketplace sees the same keys and lists nothing twice.
    const again = await api.request<Run>('POST', `/executions/${first}/retry-items/`, { body: { step: 'list' } });
    assert.equal(again.status, 202, again.text);
    assert.equal((await finished(again.body.execution_id)).outcome, 'completed');
    const afterAgain = await state();
    assert.equal(afterAgain.listings, PRODUCTS - INVALID, 'no duplicate listing');
    assert.equal(afterAgain.idempotent_replays, afterRetry.idempotent_replays + REJECTED, 'every call was answered as a replay');
    assert.equal(afterAgain.idempotency_conflicts, 0);

    // A retry of the retry keeps the first run as its idempotency root.
    const chained = await api.request<{ code: string }>('POST', `/executions/${res.body.execution_id}/retry-items/`, { body: {} });
    assert.equal(chained.status, 422, 'the retry left nothing to retry');
    assert.equal(chained.body.code, 'NO_ITEMS_TO_RETRY');
  });

  it('retries one invalid product with an input override; it goes through every later step', async () => {
    const invalid = await api.request<{ results: Array<{ item_key: string; reason_code: string }> }>('GET', `/executions/${first}/items/?step=validate&reason=min_value&page_size=1`);
    const sku = invalid.body.results[0].item_key;
    const before = await state();
    const res = await api.request<Run & { retry: { step: string; count: number } }>('POST', `/executions/${first}/retry-items/`, {
      body: { keys: [sku], overrides: { [sku]: { cost_price: 12.5 } } },
    });
    assert.equal(res.status, 202, res.text);
    assert.deepEqual([res.body.retry.step, res.body.retry.count], ['validate', 1]);
    const done = await finished(res.body.execution_id);
    assert.equal(done.outcome, 'completed');
    const items = await api.request<{ results: Array<{ step_key: string; item_key: string; status: string }> }>('GET', `/executions/${done.execution_id}/items/`);
    assert.deepEqual(
      items.body.results.map((i) => [i.step_key, i.item_key, i.status]),
      [
        ['list', sku, 'ok'],
        ['validate', sku, 'ok'],
      ],
    );
    assert.equal((await state()).listings, before.listings + 1);
    const listing = await fetch(`${sandbox.urls.marketplace}/listings?sku=${encodeURIComponent(sku)}`).then((r) => r.json() as Promise<{ items: Array<{ price: number }> }>);
    assert.equal(listing.items[0].price, 18.75, 'priced from the overridden cost');

    const wrong = await api.request<{ code: string; details: { field: string } }>('POST', `/executions/${first}/retry-items/`, { body: { keys: [sku], overrides: { 'NOT-THERE': { a: 1 } } } });
    assert.equal(wrong.status, 400, wrong.text);
    assert.equal(wrong.body.details.field, 'overrides.NOT-THERE');
  });

  it('restarts on the current version by default after the definition was fixed, re-running the changed step and what follows', async () => {
    const wf = await api.request<{ current_version: number }>('PATCH', `/workflows/${workflowId}/`, { body: { steps: importSteps(sandbox, 2) } });
    assert.equal(wf.status, 200, wf.text);
    const before = await state();
    const res = await api.request<Run>('POST', `/executions/${first}/restart/`, { body: {} });
    assert.equal(res.status, 202, res.text);
    assert.equal(res.body.version, 2);
    assert.equal(res.body.recovery?.version_choice, 'current');
    assert.deepEqual(res.body.recovery?.changed_steps, ['price']);
    assert.deepEqual(res.body.recovery?.reused_steps, ['fetch', 'validate']);
    assert.deepEqual(res.body.recovery?.rerun_steps, ['price', 'list']);
    const done = await finished(res.body.execution_id);
    assert.equal(done.outcome, 'completed');
    assert.equal(done.version, 2);
    // Every SKU the first run (or its retries) listed is answered as a replay: per-item keys derive from the first run.
    const after = await state();
    assert.equal(after.listings, before.listings, 'no listing created twice');
    assert.equal(after.idempotency_conflicts, 0);

    const original = await api.request<Run>('POST', `/executions/${first}/restart/`, { body: { version: 'original', from_step: 'list' } });
    assert.equal(original.status, 202, original.text);
    assert.equal(original.body.version, 1);
    assert.equal(original.body.recovery?.version_choice, 'original');
    assert.equal((await finished(original.body.execution_id)).status, 'completed');
  });

  it("edits a step's output and continues from the next step, audited; refuses an output of the wrong shape", async () => {
    const bad = await api.request<{ code: string; message: string }>('POST', `/executions/${first}/steps/price/output/`, { body: { output: { items: 'no list' } } });
    assert.equal(bad.status, 422, bad.text);
    assert.equal(bad.body.code, 'OUTPUT_INVALID');
    assert.match(bad.body.message, /output\.items/);
    const scalar = await api.request<{ code: string }>('POST', `/executions/${first}/steps/price/output/`, { body: { output: 5 } });
    assert.equal(scalar.status, 422, scalar.text);
    const unknown = await api.request<{ code: string }>('POST', `/executions/${first}/steps/nope/output/`, { body: { output: {} } });
    assert.equal(unknown.status, 400, unknown.text);

    const sku = 'EDITED-0001';
    const output = { items: [{ sku, title: 'Edited by hand', price: 9.99 }] };
    const before = await state();
    const res = await api.request<Run & { edit: { id: number; edited_by: string; reason: string; after: unknown; before: { items: unknown[] } } }>(
      'POST',
      `/executions/${first}/steps/price/output/`,
      { body: { output, reason: 'one listing by hand' } },
    );
    assert.equal(res.status, 202, res.text);
    assert.equal(res.body.trigger_type, 'edit_output');
    assert.match(res.body.edit.edited_by, /^key:test-admin/);
    assert.equal(res.body.edit.reason, 'one listing by hand');
    assert.deepEqual(res.body.edit.after, output);
    assert.equal(res.body.edit.before.items.length, PRODUCTS - INVALID, 'before: the output the step had');
    assert.deepEqual(res.body.recovery?.rerun_steps, ['list']);
    const done = await finished(res.body.execution_id);
    assert.equal(done.outcome, 'completed');
    assert.equal((await state()).listings, before.listings + 1, 'only the edited item was listed');
    const detail = await api.request<{ edits: Array<{ id: number; step_key: string; new_execution_id: string; after: unknown }> }>('GET', `/executions/${done.execution_id}/`);
    assert.deepEqual(
      detail.body.edits.map((e) => [e.id, e.step_key, e.new_execution_id]),
      [[res.body.edit.id, 'price', done.execution_id]],
    );
    const onOld = await api.request<{ edits: Array<{ id: number }> }>('GET', `/executions/${first}/`);
    assert.ok(onOld.body.edits.some((e) => e.id === res.body.edit.id), 'the edited run lists the edit too');
    // The memo keeps the edit: Temporal's record of the new run says what it continued from.
    const desc = await api.h.client.workflow.getHandle(done.execution_id).describe();
    const memo = desc.memo as { recovery?: { edits?: Array<{ id: number; reason: string }> } };
    assert.equal(memo.recovery?.edits?.[0].id, res.body.edit.id);
  });

  it('refuses to retry items of, or edit an output of, a run that is still running (409)', async () => {
    const code = uniqueCode('running');
    const wf = await api.request<{ id: number }>('POST', '/workflows/', { body: { code, name: code, steps: [{ key: 'slow', name: 'slow', step_type: 'test_sleep', config: { ms: 60_000 }, timeout_seconds: 120 }] } });
    const run = await api.request<Run>('POST', `/workflows/${wf.body.id}/execute/`, { body: { input_data: {} } });
    const id = run.body.execution_id;
    const retry = await api.request<{ code: string }>('POST', `/executions/${id}/retry-items/`, { body: {} });
    assert.equal(retry.status, 409, retry.text);
    assert.equal(retry.body.code, 'EXECUTION_RUNNING');
    const edit = await api.request<{ code: string }>('POST', `/executions/${id}/steps/slow/output/`, { body: { output: {} } });
    assert.equal(edit.status, 409, edit.text);
    assert.equal(edit.body.code, 'EXECUTION_RUNNING');
    await api.request('POST', `/executions/${id}/cancel/`);
    await finished(id, 120_000);
  });

  it('ships the one order whose label failed for good once, by retrying that order', async () => {
    const made = await admin<{ items: Array<{ id: string }> }>('/orders', { count: 5 });
    const orders = made.items.map((o) => o.id);
    const failing = orders[2];
    await admin('/carrier/fail', { enabled: true, order_ids: [failing] });
    const code = uniqueCode('labels');
    const steps = [
      {
        key: 'fetch_orders',
        name: 'Fetch new orders',
        step_type: 'data_fetch',
        config: { source_type: 'http', url: `${sandbox.urls.marketplace}/orders?status=new`, pagination: { type: 'page', page_param: 'page', size_param: 'page_size', page_size: 100, items_path: 'items', total_pages_path: 'total_pages' } },
      },
      {
        key: 'labels',
        name: 'Buy labels',
        step_type: 'api_call',
        config: {
          url: `${sandbox.urls.carrier}/labels`,
          method: 'POST',
          body_mode: 'per_item',
          items_field: 'items',
          item_key_field: 'id',
          body: { order_id: '$id', ship_to: '$shipping_address' },
          expected_status: [200, 201],
          response_mapping: { label_id: 'id', tracking_number: 'tracking_number' },
          continue_on_item_error: true,
        },
      },
    ];
    const wf = await api.request<{ id: number }>('POST', '/workflows/', { body: { code, name: code, steps } });
    assert.equal(wf.status, 201, wf.text);
    const run = await api.request<Run>('POST', `/workflows/${wf.body.id}/execute/`, { body: { input_data: {} } });
    const done = await finished(run.body.execution_id);
    assert.equal(done.outcome, 'completed_with_failures');
    const failed = await api.request<{ results: Array<{ item_key: string; reason_code: string }> }>('GET', `/executions/${done.execution_id}/items/?status=failed`);
    assert.deepEqual(
      failed.body.results.map((i) => i.item_key),
      [failing],
    );
    const labelsBefore = (await state()).labels;
    await admin('/carrier/fail', { enabled: false });
    const retry = await api.request<Run & { retry: { count: number } }>('POST', `/executions/${done.execution_id}/retry-items/`, { body: { keys: [failing] } });
    assert.equal(retry.status, 202, retry.text);
    assert.equal(retry.body.retry.count, 1);
    assert.equal((await finished(retry.body.execution_id)).outcome, 'completed');
    // Once more, from the CLI through the API: the label is not bought twice.
    const twice = await runCli(['executions', 'retry-items', done.execution_id, '--key', failing, '--wait', '--api-url', api.base], { MERCHFLOW_API_KEY: api.keys.operator });
    assert.equal(twice.code, 0, twice.stderr);
    assert.match(twice.stderr, /retrying 1 item\(s\) of step labels on version 1 \(original\)/);
    const bad = await runCli(['executions', 'retry-items', done.execution_id, '--version', 'newest']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--version must be current or original/);
    const s = await state();
    assert.equal(s.labels, labelsBefore + 1, 'one label for the order, though retried twice');
    assert.equal(s.orders_with_several_labels, 0);
  });
});
