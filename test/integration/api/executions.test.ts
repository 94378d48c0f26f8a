import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eventually } from '@test/support/harness';
import { isErrorShape, startApi, uniqueCode, type ApiHarness } from './support';

interface Detail {
  id: number;
  execution_id: string;
  status: string;
  workflow_code: string;
  trigger_type: string;
  restarted_from: string | null;
  input_data: unknown;
  output_data: unknown;
  error_message: string | null;
  temporal_ui_url: string;
  progress: { source: string; status: string; total_steps: number; completed_steps: number; running_steps: string[]; percent: number };
  steps: Array<{ step_key: string; status: string; attempt: number; started_at: string | null; completed_at: string | null; duration_ms: number | null; error_message: string | null }>;
}

describe('executions API', () => {
  let api: ApiHarness;
  before(async () => {
    api = await startApi();
  });
  after(async () => {
    await api?.close();
  });

  async function workflow(steps: unknown[], extra: Record<string, unknown> = {}): Promise<{ id: number; code: string }> {
    const code = uniqueCode('ex');
    const r = await api.request<{ id: number; code: string }>('POST', '/workflows/', { body: { code, name: code, steps, ...extra } });
    assert.equal(r.status, 201, r.text);
    return r.body;
  }

  async function execute(id: number, input: Record<string, unknown> = {}): Promise<{ id: number; execution_id: string }> {
    const r = await api.request<{ id: number; execution_id: string }>('POST', `/workflows/${id}/execute/`, { body: { input_data: input } });
    assert.equal(r.status, 202, r.text);
    return r.body;
  }

  const detail = (id: string | number) => api.request<Detail>('GET', `/executions/${id}/`);
  const until = (id: string | number, pred: (d: Detail) => boolean, what: string) =>
    eventually(async () => {
      const r = await detail(id);
      return pred(r.body) ? r.body : null;
    }, 30_000, what);

  it('takes the trigger type a caller may claim, and refuses input that is not an object, naming the field', async () => {
    const wf = await workflow([{ key: 'only', name: 'Only', step_type: 'test_echo', config: {} }]);
    const manual = await api.request<{ execution_id: string; trigger_type: string }>('POST', `/workflows/${wf.id}/execute/`, { body: { input_data: {}, trigger_type: 'manual' } });
    assert.equal(manual.status, 202, manual.text);
    assert.equal(manual.body.trigger_type, 'manual');
    assert.equal((await detail(manual.body.execution_id)).body.trigger_type, 'manual');
    const plain = await api.request<{ trigger_type: string }>('POST', `/workflows/${wf.id}/execute/`, { body: {} });
    assert.equal(plain.body.trigger_type, 'api');
    const claimed = await api.request<{ code: string; message: string }>('POST', `/workflows/${wf.id}/execute/`, { body: { trigger_type: 'schedule' } });
    assert.equal(claimed.status, 400);
    assert.match(claimed.body.message, /trigger_type: must be one of api, manual/);
    for (const bad of ['abc', 999, [1, 2], null]) {
      const r = await api.request<{ code: string; message: string }>('POST', `/workflows/${wf.id}/execute/`, { body: { input_data: bad } });
      if (bad === null) {
        // null is "no input": the run gets {}.
        assert.equal(r.status, 202, r.text);
        continue;
      }
      assert.equal(r.status, 400, `${JSON.stringify(bad)}: ${r.text}`);
      assert.match(r.body.message, /input_data/);
    }
  });

  it('refuses at execute time a run whose required AI step would run without a model (409 naming it)', async () => {
    const ai = (extra: Record<string, unknown>) => ({ key: 'enrich', name: 'Enrich', step_type: 'ai_process', config: { task_type: 'enrich_product' }, ...extra });
    const required = await workflow([ai({})]);
    const r = await api.request<{ code: string; message: string; details: { steps: string[]; setting: string } }>('POST', `/workflows/${required.id}/execute/`, { body: { input_data: {} } });
    assert.equal(r.status, 409, r.text);
    assert.equal(r.body.code, 'AI_NOT_CONFIGURED');
    assert.deepEqual(r.body.details, { steps: ['enrich'], setting: 'OPENAI_API_KEY' });
    assert.match(r.body.message, /enrich would run without a model: set OPENAI_API_KEY/);
    // Turned off by the workflow's config (the templates' enable_ai_* flags), or optional: the run may start.
    const flag = { type: 'value_check', path: 'workflow.config.enable_ai', operator: 'equals', value: true };
    const off = await workflow([ai({ condition: flag })], { config: { enable_ai: false } });
    assert.equal((await api.request('POST', `/workflows/${off.id}/execute/`, { body: { input_data: {} } })).status, 202);
    const on = await workflow([ai({ condition: flag })], { config: { enable_ai: true } });
    assert.equal((await api.request('POST', `/workflows/${on.id}/execute/`, { body: { input_data: {} } })).status, 409);
    const optional = await workflow([ai({ is_optional: true })]);
    assert.equal((await api.request('POST', `/workflows/${optional.id}/execute/`, { body: { input_data: {} } })).status, 202);
    // A condition on what earlier steps return cannot be known before the run: not refused on a guess.
    const later = await workflow([
      { key: 'first', name: 'First', step_type: 'test_echo', config: {} },
      ai({ depends_on_steps: ['first'], condition: { type: 'value_check', path: 'steps.first.count', operator: 'gt', value: 0 } }),
    ]);
    assert.equal((await api.request('POST', `/workflows/${later.id}/execute/`, { body: { input_data: {} } })).status, 202);
  });

  it('skips an optional AI step without a model with the reason, and the run completes at full progress', async () => {
    const wf = await workflow([
      { key: 'first', name: 'First', step_type: 'test_echo', config: { output: [{ sku: 'A-1', title: 'Mug' }] } },
      { key: 'enrich', name: 'Enrich', step_type: 'ai_process', is_optional: true, config: { task_type: 'enrich_product' }, depends_on_steps: ['first'] },
      { key: 'last', name: 'Last', step_type: 'test_echo', config: {}, depends_on_steps: ['enrich'] },
    ]);
    const run = await execute(wf.id);
    const done = await until(run.execution_id, (d) => ['completed', 'failed', 'cancelled'].includes(d.status), 'the run to end');
    assert.equal(done.status, 'completed', JSON.stringify(done));
    assert.equal(done.progress.percent, 100);
    const enrich = done.steps.find((s) => s.step_key === 'enrich') as Detail['steps'][number] & { output_summary: { reason?: string } | null };
    assert.equal(enrich.status, 'skipped');
    assert.equal(enrich.error_message, null);
    assert.match(String(enrich.output_summary?.reason), /^no model configured: set OPENAI_API_KEY/);
    assert.equal(done.steps.find((s) => s.step_key === 'last')?.status, 'completed');
  });

  it('shows live progress while running, then cancels the run', async () => {
    const wf = await workflow([
      { key: 'first', name: 'First', step_type: 'test_echo', config: {} },
      { key: 'nap', name: 'Nap', step_type: 'test_sleep', config: { ms: 120_000 }, timeout_seconds: 300, depends_on_steps: ['first'] },
      { key: 'after_nap', name: 'After', step_type: 'test_echo', depends_on_steps: ['nap'] },
    ]);
    const run = await execute(wf.id, { label: 'live' });
    const running = await until(run.execution_id, (d) => d.progress.source === 'live' && d.progress.running_steps.includes('nap'), 'nap to run');
    assert.equal(running.status, 'running');
    assert.equal(running.progress.total_steps, 3);
    assert.equal(running.progress.completed_steps, 1);
    assert.equal(running.progress.percent, 33.3);
    assert.deepEqual(running.steps.map((s) => [s.step_key, s.status]), [['first', 'completed'], ['nap', 'running'], ['after_nap', 'pending']]);
    assert.deepEqual(running.input_data, { label: 'live' });
    assert.ok(running.steps[1].started_at);

    const cancel = await api.request<{ cancel_requested: boolean; execution_id: string }>('POST', `/executions/${run.id}/cancel/`, { key: api.keys.operator });
    assert.equal(cancel.status, 202, cancel.text);
    assert.equal(cancel.body.cancel_requested, true);
    const cancelled = await until(run.execution_id, (d) => d.status === 'cancelled', 'the run to be cancelled');
    assert.equal(cancelled.progress.source, 'projection');
    assert.equal(cancelled.steps.find((s) => s.step_key === 'nap')?.status, 'cancelled');
    const again = await api.request('POST', `/executions/${run.execution_id}/cancel/`, { key: api.keys.operator });
    assert.equal(again.status, 409);
    assert.equal(again.body.code, 'EXECUTION_FINISHED');
  });

  it('runs an order workflow once at a time per marketplace: a second execute is a 409 naming the running run', async () => {
    const wf = await workflow([{ key: 'nap', name: 'Nap', step_type: 'test_sleep', config: { ms: 120_000 }, timeout_seconds: 300 }], {
      workflow_type: 'order_processing',
      config: { marketplace_id: 5 },
    });
    const first = await execute(wf.id);
    const second = await api.request('POST', `/workflows/${wf.id}/execute/`, { body: { input_data: {} } });
    assert.equal(second.status, 409, second.text);
    assert.ok(isErrorShape(second.body), second.text);
    assert.equal(second.body.code, 'WORKFLOW_ALREADY_RUNNING');
    assert.equal((second.body.details as { execution_id: string }).execution_id, first.execution_id);
    assert.match(second.body.message as string, /marketplace:5/);

    const cancel = await api.request('POST', `/executions/${first.id}/cancel/`, { key: api.keys.operator });
    assert.equal(cancel.status, 202, cancel.text);
    await until(first.execution_id, (d) => d.status === 'cancelled', 'the first run to be cancelled');
    const third = await execute(wf.id);
    assert.notEqual(third.execution_id, first.execution_id, 'once it is over the next run starts');
    await api.request('POST', `/executions/${third.id}/cancel/`, { key: api.keys.operator });
    await until(third.execution_id, (d) => d.status === 'cancelled', 'the third run to be cancelled');

    // Requests racing with one idempotency key get the one run they started, never the 409 its slot would give another.
    const key = `race-${Date.now()}`;
    const raced = await Promise.all(
      Array.from({ length: 6 }, () => api.request<{ execution_id: string; id: number }>('POST', `/workflows/${wf.id}/execute/`, { body: { input_data: {}, idempotency_key: key } })),
    );
    assert.deepEqual(raced.map((r) => r.status), [202, 202, 202, 202, 202, 202], raced.map((r) => r.text).join('\n'));
    assert.equal(new Set(raced.map((r) => r.body.execution_id)).size, 1);
    await api.request('POST', `/executions/${raced[0].body.id}/cancel/`, { key: api.keys.operator });
  });

  it('signals an approval step, checking the step first', async () => {
    const wf = await workflow([
      { key: 'prepare', name: 'Prepare', step_type: 'test_echo', config: { output: { price: 10 } } },
      { key: 'review', name: 'Review', step_type: 'approval', config: { instructions: 'check it' }, depends_on_steps: ['prepare'] },
    ]);
    const run = await execute(wf.id);
    const waiting = await until(run.execution_id, (d) => d.steps.some((s) => s.step_key === 'review' && s.status === 'waiting'), 'the approval to wait');
    assert.deepEqual(waiting.progress.running_steps, ['review']);

    const cases: Array<[Record<string, unknown>, number, string]> = [
      [{ step_key: 'ghost', decision: 'approve' }, 400, 'STEP_NOT_FOUND'],
      [{ step_key: 'prepare', decision: 'approve' }, 400, 'NOT_AN_APPROVAL_STEP'],
      [{ step_key: 'review', decision: 'maybe' }, 400, 'VALIDATION_FAILED'],
      [{ decision: 'approve' }, 400, 'VALIDATION_FAILED'],
      [{ step_key: 'review', decision: 'approve', comment: 7 }, 400, 'VALIDATION_FAILED'],
    ];
    for (const [body, status, code] of cases) {
      const r = await api.request('POST', `/executions/${run.id}/signal/`, { body, key: api.keys.operator });
      assert.equal(r.status, status, JSON.stringify(body) + r.text);
      assert.equal(r.body.code, code);
    }
    const ok = await api.request<{ accepted: boolean }>('POST', `/executions/${run.id}/signal/`, {
      body: { step_key: 'review', decision: 'approve', data: { price: 12 }, comment: 'fine' },
      key: api.keys.operator,
    });
    assert.equal(ok.status, 202, ok.text);
    assert.equal(ok.body.accepted, true);
    const done = await until(run.execution_id, (d) => d.status === 'completed', 'the run to complete');
    assert.deepEqual((done.output_data as { data: unknown }).data, { price: 12 });
    assert.match(String((done.output_data as { by: string }).by), /^key:test-operator-/);
    const late = await api.request('POST', `/executions/${run.id}/signal/`, { body: { step_key: 'review', decision: 'approve' }, key: api.keys.operator });
    assert.equal(late.status, 409);
  });

  it('shows what the saga undid, and refuses to restart over an undo that failed unless from_step re-runs the step', async () => {
    const wf = await workflow([
      { key: 'a', name: 'Apply a', step_type: 'test_items', config: { count: 2 } },
      { key: 'b', name: 'Apply b', step_type: 'test_items', config: { count: 5, fail_at: 2 }, max_retries: 0 },
      { key: 'undo_a', name: 'Undo a', step_type: 'test_undo', config: { fail: true }, role: 'compensation', compensates: 'a' },
      { key: 'undo_b', name: 'Undo b', step_type: 'test_undo', config: {}, role: 'compensation', compensates: 'b' },
    ]);
    const run = await execute(wf.id);
    const failed = await until(run.execution_id, (d) => d.status === 'failed', 'the run to fail');
    const body = failed as unknown as {
      compensations: Array<{ step_key: string; step_status: string; compensation_step: string; status: string; error_message: string | null }>;
      error_details: { compensated: { undone: string[]; failed: string[] } };
    };
    assert.deepEqual(
      body.compensations.map((c) => [c.step_key, c.step_status, c.compensation_step, c.status]).sort(),
      [
        ['a', 'completed', 'undo_a', 'failed'],
        ['b', 'failed', 'undo_b', 'completed'],
      ],
    );
    assert.match(body.compensations.find((c) => c.step_key === 'a')!.error_message ?? '', /undo undo_a failed/);
    assert.deepEqual(body.error_details.compensated, { ...body.error_details.compensated, undone: ['b'], failed: ['a'] });

    const refused = await api.request('POST', `/executions/${run.id}/restart/`, { body: {}, key: api.keys.operator });
    assert.equal(refused.status, 409, refused.text);
    assert.ok(isErrorShape(refused.body));
    assert.equal(refused.body.code, 'COMPENSATION_FAILED');
    assert.match(refused.body.message as string, /step "a".*from_step "a"/);
    const fromA = await api.request('POST', `/executions/${run.id}/restart/`, { body: { from_step: 'a' }, key: api.keys.operator });
    assert.equal(fromA.status, 202, fromA.text);
  });

  it('shows a failure with its step error, then restarts from the failed step with input overrides', async () => {
    const wf = await workflow(
      [
        { key: 'load', name: 'Load', step_type: 'test_echo', config: { output: { ok: true } } },
        { key: 'flaky', name: 'Flaky', step_type: 'test_fail', config: { fail_times: '$input.fail_times' }, depends_on_steps: ['load'], max_retries: 0 },
      ],
      { retry_delay_seconds: 0 },
    );
    const run = await execute(wf.id, { fail_times: 5 });
    const failed = await until(run.execution_id, (d) => d.status === 'failed', 'the run to fail');
    assert.match(failed.error_message ?? '', /step "flaky" failed/);
    const flaky = failed.steps.find((s) => s.step_key === 'flaky')!;
    assert.equal(flaky.status, 'failed');
    assert.equal(flaky.attempt, 1);
    assert.match(flaky.error_message ?? '', /planned failure/);
    assert.ok(flaky.duration_ms !== null);

    const notAStep = await api.request('POST', `/executions/${run.id}/restart/`, { body: { from_step: 'nope' }, key: api.keys.operator });
    assert.equal(notAStep.status, 400);
    assert.match(notAStep.body.message as string, /from_step/);
    const badOverrides = await api.request('POST', `/executions/${run.id}/restart/`, { body: { input_overrides: 'x' }, key: api.keys.operator });
    assert.equal(badOverrides.status, 400);
    assert.match(badOverrides.body.message as string, /input_overrides/);

    const restarted = await api.request<{ execution_id: string; restarted_from: string; trigger_type: string }>('POST', `/executions/${run.execution_id}/restart/`, {
      body: { input_overrides: { fail_times: 0 } },
      key: api.keys.operator,
    });
    assert.equal(restarted.status, 202, restarted.text);
    assert.equal(restarted.body.restarted_from, run.execution_id);
    assert.equal(restarted.body.trigger_type, 'restart');
    const done = await until(restarted.body.execution_id, (d) => d.status === 'completed', 'the restarted run to complete');
    assert.deepEqual(done.input_data, { fail_times: 0 });
    const loads: Array<{ n: string }> = await api.h.dataSource.query(`SELECT count(*) AS n FROM test_events WHERE execution_id = $1 AND step_key = 'load'`, [restarted.body.execution_id]);
    assert.equal(Number(loads[0].n), 0, 'the completed step was reused, not re-run');

    const running = await execute((await workflow([{ key: 'nap', name: 'Nap', step_type: 'test_sleep', config: { ms: 10_000 } }])).id);
    await until(running.execution_id, (d) => d.status === 'running', 'running');
    const busy = await api.request('POST', `/executions/${running.id}/restart/`, { body: {}, key: api.keys.operator });
    assert.equal(busy.status, 409);
    assert.equal(busy.body.code, 'EXECUTION_RUNNING');
    await api.request('POST', `/executions/${running.id}/cancel/`, { key: api.keys.operator });
  });

  it('lists with filters and pagination', async () => {
    const wf = await workflow([{ key: 'only', name: 'Only', step_type: 'test_echo' }]);
    const before = new Date(Date.now() - 1000).toISOString();
    const runs = [await execute(wf.id), await execute(wf.id), await execute(wf.id)];
    for (const r of runs) await api.h.wait(r.execution_id);
    await until(runs[2].execution_id, (d) => d.status === 'completed', 'projection');

    type ListBody = { count: number; page: number; page_size: number; results: Array<{ execution_id: string; workflow_code: string; status: string; temporal_ui_url: string }> };
    const byCode = await api.request<ListBody>('GET', `/executions/?workflow=${wf.code}`);
    assert.equal(byCode.status, 200);
    assert.equal(byCode.body.count, 3);
    assert.deepEqual(byCode.body.results.map((r) => r.execution_id), runs.map((r) => r.execution_id).reverse(), 'newest first');
    assert.ok(byCode.body.results.every((r) => r.workflow_code === wf.code && r.temporal_ui_url.endsWith(r.execution_id)));
    assert.equal((await api.request<ListBody>('GET', `/executions/?workflow=${wf.id}`)).body.count, 3);
    const paged = await api.request<ListBody>('GET', `/executions/?workflow=${wf.code}&page_size=2&page=2`);
    assert.deepEqual([paged.body.count, paged.body.page, paged.body.page_size, paged.body.results.length], [3, 2, 2, 1]);
    const filtered = await api.request<ListBody>('GET', `/executions/?workflow=${wf.code}&status=completed&trigger_type=api&created_after=${encodeURIComponent(before)}`);
    assert.equal(filtered.body.count, 3);
    assert.equal((await api.request<ListBody>('GET', `/executions/?workflow=${wf.code}&status=failed`)).body.count, 0);
    assert.equal((await api.request<ListBody>('GET', `/executions/?workflow=${wf.code}&created_before=${encodeURIComponent(before)}`)).body.count, 0);
    assert.equal((await api.request<ListBody>('GET', `/executions/?workflow=${wf.code}&created_after=2000-01-01`)).body.count, 3);
    for (const q of ['status=done', 'trigger_type=robot', 'created_after=yesterday', 'created_before=2024-13-45', 'page_size=1000', 'schedule=x']) {
      const r = await api.request('GET', `/executions/?${q}`);
      assert.equal(r.status, 400, q);
      assert.ok(isErrorShape(r.body));
      assert.match(r.body.message as string, new RegExp(q.split('=')[0]));
    }
  });

  it('answers unknown and malformed execution ids', async () => {
    assert.equal((await detail('999999999999')).status, 404);
    assert.equal((await detail('no-such-run-1')).status, 404);
    const bad = await detail('bad%20id');
    assert.equal(bad.status, 400);
    assert.match((bad.body as unknown as { message: string }).message, /^id:/);
    assert.equal((await api.request('POST', '/executions/999999999999/cancel/', { key: api.keys.operator })).status, 404);
  });
});
