import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, startHarness, type Harness } from '@test/support/harness';
import { testExecutors } from '@test/support/executors';

interface Event {
  step_key: string;
  kind: string;
  attempt: number;
  data: any;
}

async function events(h: Harness, executionId: string): Promise<Event[]> {
  return h.dataSource.query(`SELECT step_key, kind, attempt, data FROM test_events WHERE execution_id = $1 ORDER BY id`, [executionId]);
}

async function sideEffects(h: Harness, executionId: string, stepKey?: string): Promise<number> {
  const rows: Array<{ n: string }> = await h.dataSource.query(
    `SELECT count(*) AS n FROM test_side_effects WHERE execution_id = $1 AND ($2::text IS NULL OR step_key = $2)`,
    [executionId, stepKey ?? null],
  );
  return Number(rows[0].n);
}

async function stepStatuses(h: Harness, executionId: string): Promise<Record<string, string>> {
  return Object.fromEntries((await h.executions.steps(executionId)).map((s) => [s.step_key, s.status]));
}

/** a (3 items) then b (many slow items), each with its own undo. */
function sagaSteps(b: Record<string, unknown>, extra: unknown[] = []) {
  return [
    { key: 'a', name: 'apply a', step_type: 'test_items', config: { count: 3 } },
    { key: 'b', name: 'apply b', step_type: 'test_items', config: b, max_retries: 0, timeout_seconds: 300 },
    { key: 'undo_a', name: 'Undo a', step_type: 'test_undo', config: {}, role: 'compensation', compensates: 'a' },
    { key: 'undo_b', name: 'Undo b', step_type: 'test_undo', config: {}, role: 'compensation', compensates: 'b' },
    ...extra,
  ];
}

describe('interpreter: the saga (cancel, partial steps, restart)', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ executors: testExecutors(() => h.dataSource) });
  });
  after(async () => {
    await h.close();
  });

  it('cancelling a run stops the running step, undoes it and the completed steps in reverse, then records cancelled', async () => {
    const id = await h.createWorkflow({ steps: sagaSteps({ count: 400, ms: 100 }) as never });
    const run = await h.start(id);
    await eventually(async () => (await sideEffects(h, run.execution_id, 'b')) >= 3, 30_000, 'b to apply some items');
    await h.executions.cancel(run.execution_id);
    const res = await h.wait(run.execution_id);
    assert.equal(res.status, 'cancelled');

    const evs = await events(h, run.execution_id);
    const items = evs.filter((e) => e.step_key === 'b' && e.kind === 'item').length;
    assert.ok(items < 400, `b stopped part way (${items} of 400 items)`);
    assert.ok(evs.some((e) => e.step_key === 'b' && e.kind === 'cancelled'), 'b saw the cancellation');
    // Reverse order: b (cancelled part way) first, then a; b's undo got exactly what b had done.
    const undos = evs.filter((e) => e.kind === 'undo');
    assert.deepEqual(undos.map((e) => e.step_key), ['undo_b', 'undo_a']);
    assert.equal(undos[0].data.input.done.length, items);
    assert.equal(await sideEffects(h, run.execution_id), 0, 'nothing the run applied is left');

    const row = await h.executions.get(run.execution_id);
    assert.equal(row.status, 'cancelled');
    assert.deepEqual((row.error_details as any).compensated.undone, ['b', 'a']);
    assert.deepEqual(await stepStatuses(h, run.execution_id), { a: 'completed', b: 'cancelled', undo_b: 'completed', undo_a: 'completed' });
  });

  it('a failed step that got part way is compensated with its partial output, and the on-failure step learns what was undone', async () => {
    const id = await h.createWorkflow({
      steps: sagaSteps({ count: 10, fail_at: 4 }, [
        { key: 'notify', name: 'notify', step_type: 'test_echo', config: { output: { report: '$execution.compensated', text: 'Compensation: $execution.compensated.summary' } }, role: 'on_failure' },
      ]) as never,
    });
    const run = await h.start(id);
    const res = await h.wait(run.execution_id);
    assert.equal(res.status, 'failed');
    const evs = await events(h, run.execution_id);
    const undoB = evs.find((e) => e.kind === 'undo' && e.step_key === 'undo_b');
    assert.ok(undoB, 'the failed step was compensated');
    assert.equal(undoB.data.input.done.length, 4, 'with the 4 items it had applied');
    assert.equal(await sideEffects(h, run.execution_id), 0);
    assert.deepEqual(
      evs.filter((e) => e.kind === 'undo').map((e) => e.step_key),
      ['undo_b', 'undo_a'],
    );
    const notify = evs.find((e) => e.step_key === 'notify' && e.kind === 'ran');
    assert.ok(notify);
    assert.deepEqual(notify.data.input.compensated.undone, ['b', 'a']);
    const row = await h.executions.get(run.execution_id);
    assert.deepEqual((row.error_details as any).compensated.failed, []);
    assert.deepEqual((row.error_details as any).failed_steps, ['b']);
  });

  it('a failed step without a partial output is compensated with its input; a failed undo is reported, not hidden', async () => {
    const id = await h.createWorkflow({
      steps: [
        { key: 'a', name: 'apply a', step_type: 'test_items', config: { count: 2 } },
        { key: 'b', name: 'apply b', step_type: 'test_items', config: { count: 5, fail_at: 2, partial: false }, max_retries: 0 },
        { key: 'undo_a', name: 'Undo a', step_type: 'test_undo', config: { fail: true }, role: 'compensation', compensates: 'a' },
        { key: 'undo_b', name: 'Undo b', step_type: 'test_undo', config: {}, role: 'compensation', compensates: 'b' },
        { key: 'notify', name: 'notify', step_type: 'test_echo', config: { output: 'Compensation: $execution.compensated.summary' }, role: 'on_failure' },
      ] as never,
    });
    const run = await h.start(id);
    assert.equal((await h.wait(run.execution_id)).status, 'failed');
    const evs = await events(h, run.execution_id);
    const undoB = evs.find((e) => e.kind === 'undo' && e.step_key === 'undo_b')!;
    assert.deepEqual(undoB.data.input, { done: ['a-0', 'a-1'].map((k) => k.replace('a-', `${run.execution_id}:a:`)) }, "b's input: a's output");
    assert.equal(await sideEffects(h, run.execution_id, 'a'), 0, 'undo_b took the keys from its input (a listed them)');
    const stepRows = await stepStatuses(h, run.execution_id);
    assert.equal(stepRows.undo_a, 'failed');
    const row = await h.executions.get(run.execution_id);
    assert.deepEqual((row.error_details as any).compensated.failed, ['a']);
    assert.match((row.error_details as any).compensated.summary, /NOT undone: Undo a \(for a\) failed/);

    // Restart cannot reuse a's output: its undo failed, so the shop may be half undone.
    await assert.rejects(h.executions.restart(run.execution_id), (err: any) => err.code === 'COMPENSATION_FAILED' && /from_step "a"/.test(err.message));
  });

  it('restart re-runs the steps the saga undid (and what follows them) instead of reusing their outputs', async () => {
    const id = await h.createWorkflow({
      steps: [
        { key: 'fetch', name: 'fetch', step_type: 'test_echo', config: { output: { n: 2 } } },
        { key: 'a', name: 'apply a', step_type: 'test_items', config: { count: '$steps.fetch.n' } },
        { key: 'c', name: 'check', step_type: 'test_fail', config: { non_retryable: '$input.fail', fail_times: '$input.fail_times' } },
        { key: 'undo_a', name: 'Undo a', step_type: 'test_undo', config: {}, role: 'compensation', compensates: 'a' },
      ] as never,
    });
    const first = await h.start(id, { fail: true });
    assert.equal((await h.wait(first.execution_id)).status, 'failed');
    assert.equal(await sideEffects(h, first.execution_id), 0, 'the saga undid a');

    const second = await h.executions.restart(first.execution_id, { input_overrides: { fail: false, fail_times: 0 }, task_queue: h.taskQueue });
    const res = await h.wait(second.execution_id);
    assert.equal(res.status, 'completed');
    const evs = await events(h, second.execution_id);
    assert.equal(evs.filter((e) => e.step_key === 'a' && e.kind === 'item').length, 2, 'a ran again');
    assert.ok(!evs.some((e) => e.step_key === 'fetch'), 'fetch (never undone) was reused');
    assert.equal(await sideEffects(h, second.execution_id, 'a'), 2, 'a is applied, as after a clean run');
    const rows = await h.executions.steps(second.execution_id);
    assert.deepEqual((rows.find((r) => r.step_key === 'fetch')!.output_summary as any).restored_from, first.execution_id);
  });
});
