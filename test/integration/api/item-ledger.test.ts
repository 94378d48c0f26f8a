import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runToCompletion, startApi, type ApiHarness } from './support';
import { runCli } from '@test/support/cli';

interface Item {
  id: number;
  step_key: string;
  item_key: string;
  item_index: number | null;
  status: string;
  reason_code: string | null;
  message: string | null;
  attempt: number;
  has_payload: boolean;
}

/** Ten products, three of them invalid for three different reasons. */
const PRODUCTS = [
  { sku: 'ABC-1', price: 10 },
  { sku: 'ABC-2', price: 0 },
  { sku: 'ABC-3', price: 5 },
  { price: 7 },
  { sku: 'ABC-5', price: 3 },
  { sku: 'abc-6', price: 4 },
  { sku: 'ABC-7', price: 8 },
  { sku: 'ABC-8', price: 9 },
  { sku: 'ABC-9', price: 1 },
  { sku: 'ABC-10', price: 2 },
];



describe('per-item ledger API', () => {
  let api: ApiHarness;
  let executionId: string;
  before(async () => {
    api = await startApi();
    const validate = {
      key: 'validate',
      name: 'Validate',
      step_type: 'data_validate',
      config: {
        source_field: 'products',
        validation_rules: [
          { type: 'required', field: 'sku' },
          { type: 'min_value', field: 'price', min_value: 0.01 },
          { type: 'pattern', field: 'sku', pattern: '^[A-Z]{3}-\\d+$' },
        ],
      },
    };
    executionId = await runToCompletion(api, [validate], { products: PRODUCTS }, 'ledger');
  });
  after(async () => {
    await api?.close();
  });

  it('records every item of the step, the invalid ones with their reason, and pages and filters them', async () => {
    const all = await api.request<{ count: number; results: Item[] }>('GET', `/executions/${executionId}/items/?page_size=100`);
    assert.equal(all.status, 200, all.text);
    assert.equal(all.body.count, 10);
    assert.deepEqual(
      all.body.results.map((i) => i.item_index),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
    const invalid = await api.request<{ count: number; results: Item[] }>('GET', `/executions/${executionId}/items/?status=invalid`);
    assert.equal(invalid.body.count, 3);
    assert.deepEqual(
      invalid.body.results.map((i) => [i.item_key, i.reason_code, i.has_payload]),
      [
        ['ABC-2', 'min_value', true],
        ['3', 'required', true],
        ['abc-6', 'pattern', true],
      ],
    );
    assert.match(invalid.body.results[0].message!, /price/);
    const ok = all.body.results.find((i) => i.item_key === 'ABC-1')!;
    assert.equal(ok.status, 'ok');
    assert.equal(ok.has_payload, false, 'an item that went through keeps no copy');
    const searched = await api.request<{ count: number; results: Item[] }>('GET', `/executions/${executionId}/items/?q=abc-6`);
    assert.deepEqual(
      searched.body.results.map((i) => i.item_key),
      ['abc-6'],
    );
    const paged = await api.request<{ count: number; page: number; results: Item[] }>('GET', `/executions/${executionId}/items/?page=2&page_size=4`);
    assert.equal(paged.body.count, 10);
    assert.deepEqual(
      paged.body.results.map((i) => i.item_index),
      [4, 5, 6, 7],
    );
  });

  it('counts items by outcome and by reason', async () => {
    const r = await api.request<{ by_status: Record<string, number>; by_reason: Array<{ step_key: string; status: string; reason_code: string | null; count: number }> }>(
      'GET',
      `/executions/${executionId}/items/counts/`,
    );
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body.by_status, { ok: 7, invalid: 3, failed: 0, skipped: 0 });
    assert.deepEqual(r.body.by_reason[0], { step_key: 'validate', status: 'ok', reason_code: null, count: 7 });
    assert.deepEqual(
      r.body.by_reason
        .slice(1)
        .map((x) => x.reason_code)
        .sort(),
      ['min_value', 'pattern', 'required'],
    );
  });

  it('exports the invalid items as CSV and as JSON Lines with the items themselves', async () => {
    const csv = await api.request('GET', `/executions/${executionId}/items/export/?status=invalid&format=csv`);
    assert.equal(csv.status, 200, csv.text);
    assert.match(csv.headers.get('content-type') ?? '', /text\/csv/);
    assert.match(csv.headers.get('content-disposition') ?? '', /attachment; filename=".*-items-invalid\.csv"/);
    const lines = csv.text.trim().split('\r\n');
    assert.equal(lines[0], 'step_key,item_key,item_index,status,reason_code,message,attempt,recorded_at');
    assert.deepEqual(
      lines
        .slice(1)
        .map((l) => l.split(',')[1])
        .sort(),
      ['3', 'ABC-2', 'abc-6'],
    );
    const jsonl = await api.request('GET', `/executions/${executionId}/items/export/?status=invalid&format=jsonl`);
    const rows = jsonl.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Item & { item: unknown });
    assert.equal(rows.length, 3);
    assert.deepEqual(rows.find((r) => r.item_key === '3')!.item, { price: 7 });
  });

  it('serves the kept item of one outcome, and names the field of a bad filter', async () => {
    const invalid = await api.request<{ results: Item[] }>('GET', `/executions/${executionId}/items/?status=invalid&reason=min_value`);
    const one = invalid.body.results[0];
    const payload = await api.request<{ item: unknown; item_key: string }>('GET', `/executions/${executionId}/items/${one.id}/payload/`);
    assert.equal(payload.status, 200, payload.text);
    assert.deepEqual(payload.body.item, { sku: 'ABC-2', price: 0 });
    const ok = (await api.request<{ results: Item[] }>('GET', `/executions/${executionId}/items/?status=ok&page_size=1`)).body.results[0];
    assert.equal((await api.request('GET', `/executions/${executionId}/items/${ok.id}/payload/`)).status, 404);
    const bad = await api.request<{ message: string }>('GET', `/executions/${executionId}/items/?status=broken`);
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /status/);
    assert.equal((await api.request('GET', `/executions/no-such-run/items/`)).status, 404);
  });

  it('lists and exports the items with the CLI, directly and through the API', async () => {
    const table = await runCli(['executions', 'items', executionId, '--status', 'invalid']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /STEP\s+ITEM\s+#\s+STATUS\s+REASON\s+MESSAGE/);
    assert.match(table.stdout, /validate\s+abc-6\s+5\s+invalid\s+pattern/);
    assert.match(table.stdout, /3 of 3 \(page 1\)/);
    for (const remote of [[], ['--api-url', api.base]]) {
      const csv = await runCli(['executions', 'items', executionId, '--status', 'invalid', '--csv', ...remote], { MERCHFLOW_API_KEY: api.keys.viewer });
      assert.equal(csv.code, 0, csv.stderr);
      const lines = csv.stdout.trim().split('\r\n');
      assert.equal(lines[0], 'step_key,item_key,item_index,status,reason_code,message,attempt,recorded_at', remote.join(' '));
      assert.deepEqual(
        lines
          .slice(1)
          .map((l) => l.split(',')[1])
          .sort(),
        ['3', 'ABC-2', 'abc-6'],
      );
    }
    const jsonl = await runCli(['executions', 'items', executionId, '--reason', 'required', '--jsonl', '--api-url', api.base], { MERCHFLOW_API_KEY: api.keys.viewer });
    assert.equal(jsonl.code, 0, jsonl.stderr);
    assert.deepEqual(JSON.parse(jsonl.stdout.trim()).item, { price: 7 });
    const bad = await runCli(['executions', 'items', executionId, '--status', 'broken']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--status must be one of ok, invalid, failed, skipped/);
  });
});
