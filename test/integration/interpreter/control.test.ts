import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { progressQuery } from '@engine/shared/contracts';
import { eventually, startHarness, type Harness } from '@test/support/harness';
import { testExecutors } from '@test/support/executors';

async function events(h: Harness, executionId: string): Promise<Array<{ step_key: string; kind: string; attempt: number }>> {
  return h.dataSource.query(`SELECT step_key, kind, attempt FROM test_events WHERE execution_id = $1 ORDER BY id`, [executionId]);
}

async function waitForStep(h: Harness, executionId: string, key: string, status: string): Promise<void> {
  await eventually(async () => {
    const p = await h.client.workflow.getHandle(executionId).query(progressQuery);
    return p.steps.find((s) => s.key === key)?.status === status;
  }, 30_000, `step ${key} to be ${status}`);
}

describe('interpreter: cancellation, approval, restart', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ executors: testExecutors(() => h.dataSource) });
  });
  after(async () => {
    await h.close();
  });

  it('cancels a run mid-step: the running activity is cancelled and the run recorded as cancelled', async () => {
    const id = await h.createWorkflow({
      steps: [
        { key: 'a', name: 'a', step_type: 'test_echo', config: {} },
        { key: 'slow', name: 'slow', step_type: 'test_sleep', config: { ms: 60000 }, timeout_seconds: 120 },
        { key: 'c', name: 'c', step_type: 'test_echo', config: {} },
      ],
    });
    const run = await h.start(id);
    await eventually(async () => (await events(h, run.execution_id)).some((e) => e.step_key === 'slow' && e.kind === 'started'));
    await h.executions.cancel(run.execution_id);
    const res = await h.wait(run.execution_id);
    assert.equal(res.status, 'cancelled');
    const kinds = (await events(h, run.execution_id)).filter((e) => e.step_key === 'slow').map((e) => e.kind);
    assert.deepEqual(kinds, ['started', 'cancelled'], 'the activity saw the cancellation');
    const row = await h.executions.get(run.execution_id);
    assert.equal(row.status, 'cancelled');
    const steps = Object.fromEntries((await h.executions.steps(run.execution_id)).map((s) => [s.step_key, s.status]));
    assert.deepEqual(steps, { a: 'completed', slow: 'cancelled' });
  });

  const approvalDef = (config: Record<string, unknown> = {}) => ({
    steps: [
      { key: 'prepare', name: 'prepare', step_type: 'test_echo', config: { output: { price: 10 } } },
      { key: 'review', name: 'Review prices', step_type: 'approval', config },
      { key: 'publish', name: 'publish', step_type: 'test_echo', config: { output: { approved_data: '$steps.review.data' } } },
    ],
  });

  it('waits at an approval step and continues with the approver data when approved', async () => {
    const id = await h.createWorkflow(approvalDef({ instructions: 'check' }));
    const run = await h.start(id);
    await waitForStep(h, run.execution_id, 'review', 'waiting');
    const waiting = (await h.executions.steps(run.execution_id)).find((s) => s.step_key === 'review')!;
    assert.equal(waiting.status, 'waiting');
    await h.executions.signal(run.execution_id, { step_key: 'review', decision: 'approve', data: { price: 12 }, by: 'ops@example.com' });
    const res = await h.wait(run.execution_id);
    assert.equal(res.status, 'completed');
    assert.deepEqual((res.result as { output: unknown }).output, { approved_data: { price: 12 } });
    const review = (await h.executions.steps(run.execution_id)).find((s) => s.step_key === 'review')!;
    assert.equal(review.status, 'completed');
  });

  it('fails the run when the approval is rejected', async () => {
    const id = await h.createWorkflow(approvalDef());
    const run = await h.start(id);
    await waitForStep(h, run.execution_id, 'review', 'waiting');
    await h.executions.signal(run.execution_id, { step_key: 'review', decision: 'reject', by: 'ops', comment: 'too cheap' });
    assert.equal((await h.wait(run.execution_id)).status, 'failed');
    const row = await h.executions.get(run.execution_id);
    assert.match(row.error_message ?? '', /rejected by ops: too cheap/);
    assert.equal((await h.executions.steps(run.execution_id)).find((s) => s.step_key === 'publish'), undefined);
  });

  // Approval timeouts (reject, and approve on timeout) are in the fast suite, test/unit/workflows/interpreter.test.ts: a day skipped, not a second waited.

  it('restarts a failed run from its failed step, reusing the outputs of completed steps', async () => {
    const id = await h.createWorkflow({
      steps: [
        { key: 'fetch', name: 'fetch', step_type: 'test_echo', config: { output: { items: [1, 2, 3] } } },
        { key: 'transform', name: 'transform', step_type: 'test_fail', config: { fail_times: '$input.fail_times' }, max_retries: 0 },
        { key: 'store', name: 'store', step_type: 'test_echo', config: {} },
      ],
    });
    const first = await h.start(id, { fail_times: 5 });
    assert.equal((await h.wait(first.execution_id)).status, 'failed');

    // The failing step reads fail_times from the input: fix it with input_overrides.
    const second = await h.executions.restart(first.execution_id, { input_overrides: { fail_times: 0 }, task_queue: h.taskQueue });
    const res = await h.wait(second.execution_id);
    assert.equal(res.status, 'completed');
    assert.deepEqual((res.result as { output: { input: unknown } }).output.input, { succeeded_on_attempt: 1 });
    const ranAgain = (await events(h, second.execution_id)).map((e) => e.step_key);
    assert.ok(!ranAgain.includes('fetch'), 'fetch was reused, not re-run');
    assert.ok(ranAgain.includes('transform'));
    const row = await h.executions.get(second.execution_id);
    assert.equal(row.restarted_from, first.execution_id);
    assert.equal(row.trigger_type, 'restart');
    assert.equal(row.completed_steps, 3);
    const fetchRow = (await h.executions.steps(second.execution_id)).find((s) => s.step_key === 'fetch')!;
    assert.equal(fetchRow.status, 'completed');
    assert.deepEqual(fetchRow.output_summary, { restored_from: first.execution_id });
  });

  it('reruns from a chosen step with edited input, re-running everything downstream of it', async () => {
    const id = await h.createWorkflow({
      steps: [
        { key: 'a', name: 'a', step_type: 'test_echo', config: { output: { v: 'a' } } },
        { key: 'b', name: 'b', step_type: 'test_echo', config: { output: { v: '$input.label' } } },
        { key: 'c', name: 'c', step_type: 'test_echo', config: {} },
      ],
    });
    const first = await h.start(id, { label: 'old' });
    assert.equal((await h.wait(first.execution_id)).status, 'completed');
    const second = await h.executions.restart(first.execution_id, { from_step: 'b', input_overrides: { label: 'new' }, task_queue: h.taskQueue });
    const res = await h.wait(second.execution_id);
    assert.deepEqual((res.result as { output: { input: unknown } }).output.input, { v: 'new' });
    const ran = (await events(h, second.execution_id)).map((e) => e.step_key);
    assert.deepEqual(ran, ['b', 'c']);
    await assert.rejects(h.executions.restart(first.execution_id, { from_step: 'nope' }), /from_step/);
  });

  it('pins a run to its definition version: edits made while it runs apply only to later runs', async () => {
    const id = await h.createWorkflow(approvalDef());
    const run = await h.start(id);
    await waitForStep(h, run.execution_id, 'review', 'waiting');
    const edited = approvalDef();
    edited.steps[2].config = { output: { version: 'two' } } as never;
    const { definition } = await h.workflows.update(id, { steps: edited.steps as never });
    assert.equal(definition.version, 2);
    await h.executions.signal(run.execution_id, { step_key: 'review', decision: 'approve', data: 'v1 data' });
    const res = await h.wait(run.execution_id);
    assert.deepEqual((res.result as { output: unknown }).output, { approved_data: 'v1 data' }, 'the running run kept version 1');
    assert.equal((await h.executions.get(run.execution_id)).version, 1);

    const next = await h.start(id);
    assert.equal(next.version, 2);
    await waitForStep(h, next.execution_id, 'review', 'waiting');
    await h.executions.signal(next.execution_id, { step_key: 'review', decision: 'approve' });
    assert.deepEqual(((await h.wait(next.execution_id)).result as { output: unknown }).output, { version: 'two' });
    // An identical edit does not create a version.
    const same = await h.workflows.update(id, { steps: edited.steps as never });
    assert.equal(same.definition.version, 2);
    assert.equal((await h.workflows.versions(id)).length, 2);
  });
});
