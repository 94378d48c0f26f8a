/**
 * Runs one workflow per interpreter feature and replays each fresh history
 * against the current workflow code. With RECORD_HISTORIES=1 it also writes
 * them to test/fixtures/histories, where the unit replay test keeps checking
 * that interpreter changes do not break executions already running.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { INTERPRETER_REVISION, progressQuery } from '@engine/shared/contracts';
import { eventually, startHarness, type Harness } from '@test/support/harness';
import { testExecutors } from '@test/support/executors';
import { merchflowDataConverter } from '@engine/codec/data-converter';

const fixtures = path.resolve(__dirname, '..', '..', '..', '..', 'test', 'fixtures', 'histories');
const bundle = path.resolve(__dirname, '..', '..', '..', 'workflow-bundle.js');

describe('interpreter: replay of recorded scenarios', () => {
  let h: Harness;
  const recorded: Array<{ name: string; workflowId: string }> = [];
  before(async () => {
    h = await startHarness({ executors: testExecutors(() => h.dataSource) });
  });
  after(async () => {
    await h.close();
  });

  async function scenario(name: string, steps: unknown[], drive?: (executionId: string) => Promise<void>, input: unknown = {}, config = {}) {
    const id = await h.createWorkflow({ steps: steps as never, config });
    const run = await h.start(id, input);
    if (drive) await drive(run.execution_id);
    await h.wait(run.execution_id);
    recorded.push({ name, workflowId: run.execution_id });
    return run.execution_id;
  }

  it('records scenarios covering each interpreter path', async () => {
    await scenario('linear-with-references', [
      { key: 'a', name: 'a', step_type: 'test_echo', config: { output: { n: '$input.n' } } },
      { key: 'b', name: 'b', step_type: 'test_echo', config: { output: { n: '$steps.a.n', label: 'n is $steps.a.n' } } },
    ], undefined, { n: 7 });
    await scenario('diamond-condition-optional', [
      { key: 'start', name: 'start', step_type: 'test_echo', config: { output: { go: true } } },
      { key: 'left', name: 'left', step_type: 'test_echo', config: {}, depends_on_steps: ['start'] },
      { key: 'right', name: 'right', step_type: 'test_echo', config: {}, depends_on_steps: ['start'], condition: { type: 'value_check', path: 'workflow.config.enabled', operator: 'equals', value: true } },
      { key: 'opt', name: 'opt', step_type: 'test_fail', config: { non_retryable: true }, depends_on_steps: ['start'], is_optional: true },
      { key: 'join', name: 'join', step_type: 'test_echo', config: {}, depends_on_steps: ['left', 'right', 'opt'] },
    ], undefined, {}, { enabled: false });
    await scenario('retry-then-fail-compensate', [
      { key: 'reserve', name: 'reserve', step_type: 'test_echo', config: { output: { id: 1 } } },
      { key: 'flaky', name: 'flaky', step_type: 'test_fail', config: { fail_times: 1 }, retry_delay_seconds: 0 },
      { key: 'boom', name: 'boom', step_type: 'test_fail', config: {}, max_retries: 0 },
      { key: 'release', name: 'release', step_type: 'test_echo', config: {}, role: 'compensation', compensates: 'reserve' },
      { key: 'notify', name: 'notify', step_type: 'test_echo', config: {}, role: 'on_failure' },
    ]);
    await scenario('approval-approved', [
      { key: 'review', name: 'review', step_type: 'approval', config: {} },
      { key: 'after', name: 'after', step_type: 'test_echo', config: { output: '$steps.review.data' } },
    ], async (executionId) => {
      await eventually(async () => (await h.client.workflow.getHandle(executionId).query(progressQuery)).steps[0].status === 'waiting');
      await h.executions.signal(executionId, { step_key: 'review', decision: 'approve', data: { ok: 1 } });
    });
    await scenario('cancelled-mid-step', [
      { key: 'slow', name: 'slow', step_type: 'test_sleep', config: { ms: 30000 }, timeout_seconds: 60 },
    ], async (executionId) => {
      await eventually(async () => (await h.client.workflow.getHandle(executionId).query(progressQuery)).steps[0].status === 'running');
      await h.executions.cancel(executionId);
    });
    await scenario('cancel-with-compensation', [
      { key: 'a', name: 'a', step_type: 'test_items', config: { count: 2 } },
      { key: 'b', name: 'b', step_type: 'test_items', config: { count: 600, ms: 100 }, timeout_seconds: 300 },
      { key: 'undo_a', name: 'undo a', step_type: 'test_undo', config: {}, role: 'compensation', compensates: 'a' },
      { key: 'undo_b', name: 'undo b', step_type: 'test_undo', config: {}, role: 'compensation', compensates: 'b' },
    ], async (executionId) => {
      await eventually(async () => (await h.dataSource.query(`SELECT 1 FROM test_events WHERE execution_id = $1 AND step_key = 'b' AND kind = 'item'`, [executionId])).length > 0);
      await h.executions.cancel(executionId);
    });
    await scenario('failure-compensates-partial-step', [
      { key: 'a', name: 'a', step_type: 'test_items', config: { count: 2 } },
      { key: 'b', name: 'b', step_type: 'test_items', config: { count: 5, fail_at: 3 }, max_retries: 0 },
      { key: 'undo_a', name: 'undo a', step_type: 'test_undo', config: {}, role: 'compensation', compensates: 'a' },
      { key: 'undo_b', name: 'undo b', step_type: 'test_undo', config: {}, role: 'compensation', compensates: 'b' },
      { key: 'notify', name: 'notify', step_type: 'test_echo', config: { output: '$execution.compensated.summary' }, role: 'on_failure' },
    ]);
    await scenario('completed-with-failures', [
      { key: 'list', name: 'list', step_type: 'test_item_failures', config: { items: ['A', 'B', 'C'], fail: ['B'] } },
      { key: 'after', name: 'after', step_type: 'test_echo', config: { output: { done: '$steps.list.done' } } },
    ]);
    // Since `perf-activity-reference`: step activities get a reference to the stored version and the values
    // resolved for them (temporal/shared/step-call.ts); the worker loads the rest from PostgreSQL.
    const refRun = await scenario('activity-reference', [
      { key: 'a', name: 'First', step_type: 'test_echo', config: { output: { n: '$input.n', region: '$config.region' } } },
      { key: 'b', name: 'Second', step_type: 'test_echo', config: { output: { n: '$steps.a.n', code: '$execution.workflow_code', q: '$input.q' } }, max_retries: 1 },
      { key: 'c', name: 'Third', step_type: 'test_echo', config: { output: { region: '$config.region', from_b: '$steps.b.n' } } },
    ], undefined, { n: 3, q: 'shoes' }, { region: 'eu', bulky: 'x'.repeat(2000) });
    const { result } = await h.wait(refRun);
    assert.deepEqual((result as { output: unknown }).output, { region: 'eu', from_b: 3 });
    const scheduled = ((await h.history(refRun)).events ?? []).flatMap((e) => (e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes] : []));
    assert.equal(scheduled.length, 3);
    const sent = scheduled.map((a) => JSON.parse(Buffer.from(a.input!.payloads![0].data!).toString()) as Record<string, unknown>);
    // The step's key is the activity id (revision 2); the reference names only the version.
    assert.deepEqual(scheduled.map((a) => a.activityId), ['a', 'b', 'c']);
    const version = (sent[0].step_ref as { version_id: number }).version_id;
    assert.deepEqual(sent.map((c) => c.step_ref), [{ version_id: version }, { version_id: version }, { version_id: version }]);
    // Neither the step's config nor the workflow's config is in the history once per step; the third step
    // does not read the run's input, so it is not sent either.
    for (const c of sent) assert.ok(!JSON.stringify(c).includes('xxxxxxxx') && !('config' in c), JSON.stringify(c));
    assert.equal(sent[0].run_input_is_input, true);
    assert.deepEqual(sent[1].run_input, { n: 3, q: 'shoes' });
    assert.equal('run_input' in sent[2] || 'run_input_is_input' in sent[2], false);
    // The outputs a step reads are sent with it; the worker rebuilt `$execution` (the code) from the version.
    const b = (sent[2].steps as { b: { n: number; code: string; q: string } }).b;
    assert.deepEqual({ n: b.n, q: b.q }, { n: 3, q: 'shoes' });
    assert.match(b.code, /^t-/);
    assert.deepEqual(Object.keys(sent[2].steps as object), ['b']);

    // The slim start input (temporal/shared/slim-definition.ts): every run the API starts carries the definition
    // without the steps' configs, marked `slim_definition`; no patch marker decides the by-reference calls.
    const slimRun = await scenario('slim-definition', [
      { key: 'fetch', name: 'Fetch', step_type: 'test_echo', config: { output: { n: '$input.n', big: 'y'.repeat(500) } } },
      { key: 'check', name: 'Check', step_type: 'approval', config: { timeout_seconds: 60, on_timeout: 'approve', instructions: 'z'.repeat(300) } },
      { key: 'push', name: 'Push', step_type: 'test_echo', config: { output: { n: '$steps.fetch.n', ok: '$steps.check.approved' } }, condition: { type: 'value_check', path: 'steps.fetch.n', operator: 'equals', value: 4 }, max_retries: 2 },
      { key: 'skip', name: 'skip', step_type: 'test_echo', config: {}, condition: { type: 'value_check', path: 'workflow.config.enabled', operator: 'equals', value: true } },
      { key: 'undo', name: 'Undo', step_type: 'test_echo', config: {}, role: 'compensation', compensates: 'fetch' },
    ], async (executionId) => {
      await eventually(async () => (await h.client.workflow.getHandle(executionId).query(progressQuery)).steps[1].status === 'waiting');
      await h.executions.signal(executionId, { step_key: 'check', decision: 'approve' });
    }, { n: 4 }, { enabled: false });
    const slimResult = (await h.wait(slimRun)).result as { status: string; output: unknown; steps: Record<string, { status: string }> };
    assert.equal(slimResult.status, 'completed');
    assert.deepEqual(Object.fromEntries(Object.entries(slimResult.steps).map(([k, v]) => [k, v.status])), { fetch: 'completed', check: 'completed', push: 'completed', skip: 'skipped', undo: 'pending' });
    assert.deepEqual(slimResult.output, { n: 4, ok: true });
    const slimHistory = (await h.history(slimRun)).events ?? [];
    const started = JSON.parse(Buffer.from(slimHistory[0].workflowExecutionStartedEventAttributes!.input!.payloads![0].data!).toString()) as {
      slim_definition?: boolean;
      definition: { steps: Array<{ key: string; config?: unknown }> };
    };
    assert.equal(started.slim_definition, true);
    assert.deepEqual(started.definition.steps.map((s) => [s.key, s.config ?? null]), [['fetch', null], ['check', { timeout_seconds: 60, on_timeout: 'approve' }], ['push', null], ['skip', null], ['undo', null]]);
    assert.equal(slimHistory.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch').length, 0);
    assert.ok(!slimHistory.some((e) => e.upsertWorkflowSearchAttributesEventAttributes));

    // A fan-out parent: one child workflow per listed supplier (narrowed to this test's two rows; the DB is shared).
    const suppliers: Array<{ id: number }> = await h.dataSource.query(
      `INSERT INTO suppliers (code, name, api_base_url) VALUES ($1, 'Fan A', 'http://127.0.0.1:1'), ($2, 'Fan B', 'http://127.0.0.1:1') RETURNING id`,
      [`fan_a_${Date.now()}`, `fan_b_${Date.now()}`],
    );
    const fanId = await h.createWorkflow({
      steps: [{ key: 'a', name: 'a', step_type: 'test_echo', config: { output: { supplier: '$input.supplier_id' } } }] as never,
      fan_out: { over: 'suppliers', max_concurrent: 1 },
    } as never);
    const fan = await h.start(fanId, { supplier_ids: suppliers.map((r) => r.id) });
    await h.wait(fan.execution_id);
    const [parent] = await h.dataSource.query(`SELECT status, total_steps FROM workflow_executions WHERE execution_id = $1`, [fan.execution_id]);
    assert.deepEqual([parent.status, parent.total_steps], ['completed', 2]);
    recorded.push({ name: 'fan-out-parent', workflowId: fan.execution_id });
    assert.equal(recorded.length, 11);
  });

  it('replays every fresh history with the current workflow code', async () => {
    // As stored (payloads encrypted by the codec), replayed with the worker's data converter...
    for (const r of recorded) {
      const stored = await h.client.workflow.getHandle(r.workflowId).fetchHistory();
      await Worker.runReplayHistory({ workflowBundle: { codePath: bundle }, dataConverter: merchflowDataConverter(h.config) }, stored, r.workflowId);
    }
    // ...and decrypted, which is what the fixtures keep (so the unit replay test needs no key).
    const histories = await Promise.all(recorded.map(async (r) => ({ ...r, history: await h.history(r.workflowId) })));
    for (const r of histories) {
      await Worker.runReplayHistory({ workflowBundle: { codePath: bundle } }, r.history, r.workflowId);
    }
    if (process.env.RECORD_HISTORIES === '1') {
      fs.mkdirSync(fixtures, { recursive: true });
      for (const r of histories) {
        // Only new scenarios: a history already recorded is what older workers wrote, and must keep replaying as it is.
        // A scenario recorded before the current interpreter revision (InterpreterInput.revision, which the API sets)
        // is recorded again under `<name>-revision-<n>`: both must replay.
        const name = [r.name, `${r.name}-revision-${INTERPRETER_REVISION}`].find((n) => !fs.existsSync(path.join(fixtures, `${n}.history.pb`)));
        if (!name) continue;
        // Protobuf bytes, exactly as Temporal stores them.
        fs.writeFileSync(path.join(fixtures, `${name}.history.pb`), temporal.api.history.v1.History.encode(r.history as temporal.api.history.v1.IHistory).finish());
      }
      console.log(`# recorded the new histories in ${fixtures}`);
    }
  });
});
