/**
 * Failed items through the interpreter and the projection: a step that
 * completes with failed items makes the run "completed with failures" (in its
 * result, its progress query and its rows); a step whose items all failed fails.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { progressQuery, type RunResult } from '@engine/shared/contracts';
import { startHarness, type Harness } from '@test/support/harness';
import { testExecutors } from '@test/support/executors';

describe('interpreter: failed items', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ executors: testExecutors(() => h.dataSource) });
  });
  after(async () => {
    await h.close();
  });

  async function run(steps: unknown[]) {
    const id = await h.createWorkflow({ steps: steps as never });
    const started = await h.start(id, {});
    const res = await h.wait(started.execution_id);
    return { id: started.execution_id, res, row: await h.executions.get(started.execution_id), steps: await h.executions.steps(started.execution_id) };
  }

  it('counts failed items on the step, the run, the progress query and the result', async () => {
    const r = await run([
      { key: 'a', name: 'a', step_type: 'test_item_failures', config: { items: ['A', 'B', 'C', 'D'], fail: ['B', 'D'] } },
      { key: 'b', name: 'b', step_type: 'test_item_failures', config: { items: ['E', 'F'], fail: ['F'] } },
      { key: 'c', name: 'c', step_type: 'test_echo', config: { output: '$steps.a' } },
    ]);
    assert.equal(r.res.status, 'completed', String(r.res.error));
    const result = r.res.result as RunResult;
    assert.deepEqual([result.status, result.outcome, result.failed_items_total], ['completed', 'completed_with_failures', 3]);
    const progress = await h.client.workflow.getHandle(r.id).query(progressQuery);
    assert.equal(progress.failed_items_total, 3);
    assert.deepEqual(progress.steps.map((s) => [s.key, s.failed_items_total]), [['a', 2], ['b', 1], ['c', 0]], 'a step passing failed items on does not count them');
    assert.deepEqual([r.row.status, r.row.failed_items_total], ['completed', 3]);
    const a = r.steps.find((s) => s.step_key === 'a')!;
    assert.deepEqual([a.status, a.failed_items_total, a.output_summary?.failed_items], ['completed', 2, 2]);
    assert.deepEqual(a.failed_items?.map((f) => [f.key, f.index, f.code]), [['B', 1, 'TEST_ITEM_FAILED'], ['D', 3, 'TEST_ITEM_FAILED']]);
    assert.equal(r.steps.find((s) => s.step_key === 'c')!.failed_items_total, 0);
  });

  it('a run without failed items is a plain completed run', async () => {
    const r = await run([{ key: 'a', name: 'a', step_type: 'test_item_failures', config: { items: ['A'] } }]);
    assert.deepEqual([(r.res.result as RunResult).outcome, r.row.failed_items_total], ['completed', 0]);
  });

  it('fails the step and the run when every item failed, unless max_failed_items tolerates them', async () => {
    const r = await run([{ key: 'a', name: 'a', step_type: 'test_item_failures', config: { items: ['A', 'B'], fail: ['A', 'B'] } }]);
    assert.equal(r.res.status, 'failed');
    const a = r.steps.find((s) => s.step_key === 'a')!;
    assert.equal(a.status, 'failed');
    assert.equal(a.error_details?.code, 'ITEMS_FAILED');
    assert.match(a.error_message ?? '', /2 of 2 items failed \(every item failed\)/);
    assert.equal(a.attempt, 1, 'items that failed for good are not retried as a step');
    assert.deepEqual([a.failed_items_total, a.failed_items?.map((f) => f.key)], [2, ['A', 'B']]);
    assert.equal(r.row.status, 'failed');

    const tolerated = await run([{ key: 'a', name: 'a', step_type: 'test_item_failures', config: { items: ['A', 'B'], fail: ['A', 'B'], max_failed_items: 2 } }]);
    assert.equal((tolerated.res.result as RunResult).outcome, 'completed_with_failures');
  });

  it('an optional step whose items all failed lets the run complete, with failures', async () => {
    const r = await run([
      { key: 'a', name: 'a', step_type: 'test_item_failures', config: { items: ['A', 'B'], fail: ['A', 'B'] }, is_optional: true },
      { key: 'b', name: 'b', step_type: 'test_echo', config: {} },
    ]);
    assert.equal(r.res.status, 'completed', String(r.res.error));
    const result = r.res.result as RunResult;
    assert.deepEqual([result.outcome, result.failed_items_total], ['completed_with_failures', 2]);
    assert.deepEqual([r.row.status, r.row.failed_items_total], ['completed', 2]);
    assert.equal(r.steps.find((s) => s.step_key === 'a')!.status, 'failed');
  });
});
