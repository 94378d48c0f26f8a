import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from '@test/support/harness';
import { testExecutors } from '@test/support/executors';

async function events(h: Harness, executionId: string): Promise<Array<{ step_key: string; kind: string; attempt: number; at: Date }>> {
  return h.dataSource.query(`SELECT step_key, kind, attempt, at FROM test_events WHERE execution_id = $1 ORDER BY id`, [executionId]);
}

describe('interpreter: failures, retries, compensation, timeouts', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ executors: testExecutors(() => h.dataSource) });
  });
  after(async () => {
    await h.close();
  });

  it('retries a step that fails twice, with exponential backoff, then succeeds', async () => {
    const id = await h.createWorkflow({
      steps: [{ key: 'flaky', name: 'flaky', step_type: 'test_fail', config: { fail_times: 2 }, max_retries: 3, retry_delay_seconds: 1, retry_backoff: 2 }],
    });
    const run = await h.start(id);
    const res = await h.wait(run.execution_id);
    assert.equal(res.status, 'completed');
    assert.deepEqual((res.result as { output: unknown }).output, { succeeded_on_attempt: 3 });
    const attempts = (await events(h, run.execution_id)).filter((e) => e.kind === 'attempt');
    assert.deepEqual(attempts.map((a) => a.attempt), [1, 2, 3]);
    // The backoff schedule itself (10 s, 20 s, 40 s) is asserted in skipped time by the fast suite
    // (test/unit/workflows/interpreter.test.ts), not with wall-clock gaps that stretch under load.
    const step = (await h.executions.steps(run.execution_id))[0];
    assert.equal(step.status, 'completed');
    assert.equal(step.attempt, 3);
    assert.equal(step.max_attempts, 4);
  });

  it('fails the run when a required step exhausts its retries, compensates in reverse and runs the on-failure step', async () => {
    const id = await h.createWorkflow({
      steps: [
        { key: 'reserve', name: 'reserve', step_type: 'test_echo', config: { output: { reserved: 'R1' } } },
        { key: 'charge', name: 'charge', step_type: 'test_echo', config: { output: { charged: 'C1' } } },
        { key: 'ship', name: 'ship', step_type: 'test_fail', config: {}, max_retries: 1, retry_delay_seconds: 0 },
        { key: 'never', name: 'never', step_type: 'test_echo', config: {} },
        { key: 'release', name: 'release', step_type: 'test_echo', config: {}, role: 'compensation', compensates: 'reserve' },
        { key: 'refund', name: 'refund', step_type: 'test_echo', config: {}, role: 'compensation', compensates: 'charge' },
        { key: 'alert', name: 'alert', step_type: 'test_echo', config: { output: { alerted: '$execution.error' } }, role: 'on_failure' },
      ],
    });
    const run = await h.start(id);
    const res = await h.wait(run.execution_id);
    assert.equal(res.status, 'failed');
    const ran = (await events(h, run.execution_id)).filter((e) => e.kind === 'ran').map((e) => e.step_key);
    assert.deepEqual(ran, ['reserve', 'charge', 'refund', 'release', 'alert']);
    const compInputs: Array<{ step_key: string; data: { input: unknown } }> = await h.dataSource.query(
      `SELECT step_key, data FROM test_events WHERE execution_id = $1 AND step_key IN ('release', 'refund') ORDER BY id`,
      [run.execution_id],
    );
    assert.deepEqual(compInputs.map((c) => c.data.input), [{ charged: 'C1' }, { reserved: 'R1' }], 'each compensation gets the output of the step it undoes');
    const row = await h.executions.get(run.execution_id);
    assert.equal(row.status, 'failed');
    assert.match(row.error_message ?? '', /step "ship" failed: planned failure 2 of ship/);
    const steps = await h.executions.steps(run.execution_id);
    const byKey = Object.fromEntries(steps.map((s) => [s.step_key, s]));
    assert.equal(byKey.ship.status, 'failed');
    assert.equal(byKey.ship.attempt, 2);
    assert.equal(byKey.never, undefined, 'a step after the failure never starts');
    assert.equal(byKey.release.status, 'completed');
    assert.equal(byKey.release.role, 'compensation');
    assert.equal(byKey.alert.role, 'on_failure');
    const wf = await h.workflows.get(id);
    assert.equal(wf.failed_executions, 1);
  });

  it('cancels running siblings when a required step fails', async () => {
    const id = await h.createWorkflow({
      steps: [
        { key: 'slow', name: 'slow', step_type: 'test_sleep', config: { ms: 20000 }, order: 1, parallel_group: 'g', timeout_seconds: 60 },
        { key: 'boom', name: 'boom', step_type: 'test_fail', config: { non_retryable: true }, order: 1, parallel_group: 'g' },
      ],
    });
    const run = await h.start(id);
    const res = await h.wait(run.execution_id);
    assert.equal(res.status, 'failed');
    // Cancelled, not waited for: the 20 s step never reports completing.
    const kinds = (await events(h, run.execution_id)).filter((e) => e.step_key === 'slow').map((e) => e.kind);
    assert.deepEqual(kinds, ['started', 'cancelled']);
    const slow = (await h.executions.steps(run.execution_id)).find((s) => s.step_key === 'slow')!;
    assert.equal(slow.status, 'cancelled');
  });

  it('times out a step after timeout_seconds (start-to-close) and retries it', async () => {
    const id = await h.createWorkflow({
      steps: [{ key: 'hang', name: 'hang', step_type: 'test_sleep', config: { ms: 30000 }, timeout_seconds: 1, max_retries: 1, retry_delay_seconds: 0 }],
    });
    const run = await h.start(id);
    const res = await h.wait(run.execution_id);
    assert.equal(res.status, 'failed');
    const started = (await events(h, run.execution_id)).filter((e) => e.kind === 'started');
    assert.equal(started.length, 2, 'one retry after the timeout');
    const step = (await h.executions.steps(run.execution_id))[0];
    assert.equal(step.status, 'failed');
    assert.match(step.error_message ?? '', /timeout|timed out/i);
  });

  it('does not retry configuration errors (non-retryable)', async () => {
    const id = await h.createWorkflow({
      steps: [{ key: 'bad', name: 'bad', step_type: 'test_fail', config: { non_retryable: true }, max_retries: 5, retry_delay_seconds: 0 }],
    });
    const run = await h.start(id);
    assert.equal((await h.wait(run.execution_id)).status, 'failed');
    const attempts = (await events(h, run.execution_id)).filter((e) => e.kind === 'attempt');
    assert.equal(attempts.length, 1);
  });

  it('rejects a definition with an invalid executor config, naming the step and field', async () => {
    await assert.rejects(
      h.createWorkflow({ steps: [{ key: 'x', name: 'x', step_type: 'test_echo', config: { fail_validation: true } }] }),
      (err: Error & { code?: string }) => err.code === 'DEFINITION_INVALID' && /x/.test(err.message) && /fail_validation/.test(err.message),
    );
    await assert.rejects(
      h.createWorkflow({ steps: [{ key: 'x', name: 'x', step_type: 'no_such_type', config: {} }] }),
      (err: Error & { code?: string }) => err.code === 'DEFINITION_INVALID' && /no_such_type/.test(err.message),
    );
  });
});
