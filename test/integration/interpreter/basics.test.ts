import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { progressQuery } from '@engine/shared/contracts';
import { startHarness, type Harness } from '@test/support/harness';
import { testExecutors } from '@test/support/executors';

const echo = (key: string, extra: Record<string, unknown> = {}) => ({ key, name: key, step_type: 'test_echo', config: {}, ...extra });

async function events(h: Harness, executionId: string): Promise<Array<{ step_key: string; kind: string; attempt: number; at: Date }>> {
  return h.dataSource.query(`SELECT step_key, kind, attempt, at FROM test_events WHERE execution_id = $1 ORDER BY id`, [executionId]);
}

describe('interpreter: DAG semantics', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ executors: testExecutors(() => h.dataSource) });
  });
  after(async () => {
    await h.close();
  });

  it('runs a linear workflow, feeding each step the output of the one before', async () => {
    const id = await h.createWorkflow({
      steps: [
        echo('first', { config: { output: { n: '$input.n', tag: 'a' } } }),
        echo('second', { config: { output: { from_first: '$steps.first.n', doubled: 'n=$steps.first.n' } } }),
        echo('third'),
      ],
    });
    const run = await h.start(id, { n: 21 });
    const res = await h.wait(run.execution_id);
    assert.equal(res.status, 'completed');
    const out = (res.result as { output: { input: unknown } }).output;
    assert.deepEqual(out.input, { from_first: 21, doubled: 'n=21' });

    const row = await h.executions.get(run.execution_id);
    assert.equal(row.status, 'completed');
    assert.equal(row.total_steps, 3);
    assert.equal(row.completed_steps, 3);
    assert.ok(row.duration_seconds !== null && row.duration_seconds >= 0);
    const steps = await h.executions.steps(run.execution_id);
    assert.deepEqual(steps.map((s) => [s.step_key, s.status, s.attempt]), [['first', 'completed', 1], ['second', 'completed', 1], ['third', 'completed', 1]]);
    const order = (await events(h, run.execution_id)).map((e) => e.step_key);
    assert.deepEqual(order, ['first', 'second', 'third']);

    const wf = await h.workflows.get(id);
    assert.equal(wf.total_executions, 1);
    assert.equal(wf.successful_executions, 1);
    assert.equal(wf.failed_executions, 0);
    assert.ok(wf.average_duration_seconds !== null);
  });

  it('fans out and in: a diamond runs both branches concurrently and joins their outputs by key', async () => {
    const id = await h.createWorkflow({
      steps: [
        echo('start', { config: { output: 1 } }),
        { key: 'left', name: 'left', step_type: 'test_sleep', config: { ms: 1500 }, depends_on_steps: ['start'] },
        { key: 'right', name: 'right', step_type: 'test_sleep', config: { ms: 1500 }, depends_on_steps: ['start'] },
        echo('join', { depends_on_steps: ['left', 'right'] }),
      ],
    });
    const run = await h.start(id);
    const res = await h.wait(run.execution_id);
    assert.equal(res.status, 'completed');
    const joined = (res.result as { output: { input: Record<string, unknown> } }).output.input;
    assert.deepEqual(joined, { left: { slept_ms: 1500 }, right: { slept_ms: 1500 } });
    const ev = await events(h, run.execution_id);
    const startedLeft = ev.find((e) => e.step_key === 'left' && e.kind === 'started')!.at.getTime();
    const startedRight = ev.find((e) => e.step_key === 'right' && e.kind === 'started')!.at.getTime();
    const finishedLeft = ev.find((e) => e.step_key === 'left' && e.kind === 'finished')!.at.getTime();
    const finishedRight = ev.find((e) => e.step_key === 'right' && e.kind === 'finished')!.at.getTime();
    // Both started before either finished: they overlapped.
    assert.ok(Math.max(startedLeft, startedRight) < Math.min(finishedLeft, finishedRight), 'branches did not overlap');
    const joinRan = ev.find((e) => e.step_key === 'join')!.at.getTime();
    assert.ok(joinRan >= Math.max(finishedLeft, finishedRight));
  });

  it('runs a parallel group together and waits for the whole group before the next order', async () => {
    const id = await h.createWorkflow({
      steps: [
        echo('prepare', { order: 1 }),
        { key: 'mk_a', name: 'a', step_type: 'test_sleep', order: 2, config: { ms: 1200 }, can_run_parallel: true, parallel_group: 'marketplace_updates' },
        { key: 'mk_b', name: 'b', step_type: 'test_sleep', order: 2, config: { ms: 1200 }, can_run_parallel: true, parallel_group: 'marketplace_updates' },
        { key: 'mk_c', name: 'c', step_type: 'test_sleep', order: 3, config: { ms: 300 }, can_run_parallel: true, parallel_group: 'marketplace_updates' },
        echo('after', { order: 4 }),
      ],
    });
    const run = await h.start(id);
    assert.equal((await h.wait(run.execution_id)).status, 'completed');
    const ev = await events(h, run.execution_id);
    const at = (k: string, kind: string) => ev.find((e) => e.step_key === k && e.kind === kind)!.at.getTime();
    assert.ok(Math.max(at('mk_a', 'started'), at('mk_b', 'started'), at('mk_c', 'started')) < Math.min(at('mk_a', 'finished'), at('mk_b', 'finished')));
    const afterRan = ev.find((e) => e.step_key === 'after')!.at.getTime();
    assert.ok(afterRan >= Math.max(at('mk_a', 'finished'), at('mk_b', 'finished'), at('mk_c', 'finished')));
  });

  it('skips a step whose condition is false, passing its input through, and runs it when true', async () => {
    const def = {
      config: { enable_ai_enrichment: false },
      steps: [
        echo('fetch', { config: { output: { products: ['a', 'b'] } } }),
        echo('enrich', {
          config: { output: { enriched: true } },
          condition: { type: 'value_check', path: 'workflow.config.enable_ai_enrichment', value: true, operator: 'equals' },
        }),
        echo('store'),
      ],
    };
    const offId = await h.createWorkflow(def as never);
    const off = await h.start(offId);
    const offRes = await h.wait(off.execution_id);
    assert.equal(offRes.status, 'completed');
    assert.deepEqual((offRes.result as { output: { input: unknown } }).output.input, { products: ['a', 'b'] });
    const offSteps = await h.executions.steps(off.execution_id);
    assert.equal(offSteps.find((s) => s.step_key === 'enrich')!.status, 'skipped');
    assert.equal((await h.executions.get(off.execution_id)).skipped_steps, 1);

    const onId = await h.createWorkflow({ ...def, config: { enable_ai_enrichment: true } } as never);
    const on = await h.start(onId);
    const onRes = await h.wait(on.execution_id);
    assert.deepEqual((onRes.result as { output: { input: unknown } }).output.input, { enriched: true });
    assert.equal((await h.executions.steps(on.execution_id)).find((s) => s.step_key === 'enrich')!.status, 'completed');
  });

  it('records an optional step failure and continues the run', async () => {
    const id = await h.createWorkflow({
      steps: [
        echo('a', { config: { output: { x: 1 } } }),
        { key: 'flaky', name: 'flaky', step_type: 'test_fail', config: { non_retryable: true }, is_optional: true },
        echo('c'),
      ],
    });
    const run = await h.start(id);
    const res = await h.wait(run.execution_id);
    assert.equal(res.status, 'completed');
    assert.deepEqual((res.result as { output: { input: unknown } }).output.input, { x: 1 }, 'the failed optional step passes its input through');
    const steps = await h.executions.steps(run.execution_id);
    const flaky = steps.find((s) => s.step_key === 'flaky')!;
    assert.equal(flaky.status, 'failed');
    assert.match(flaky.error_message ?? '', /fatal failure in flaky/);
    assert.equal(steps.find((s) => s.step_key === 'c')!.status, 'completed');
    const row = await h.executions.get(run.execution_id);
    assert.equal(row.status, 'completed');
    assert.equal(row.failed_steps, 1);
  });

  it('answers the progress query while running', async () => {
    const id = await h.createWorkflow({
      steps: [echo('a'), { key: 'slow', name: 'slow', step_type: 'test_sleep', config: { ms: 3000 } }, echo('c')],
    });
    const run = await h.start(id);
    const handle = h.client.workflow.getHandle(run.execution_id);
    let progress = await handle.query(progressQuery);
    for (let i = 0; i < 100 && !progress.running_steps.includes('slow'); i++) {
      await new Promise((r) => setTimeout(r, 100));
      progress = await handle.query(progressQuery);
    }
    assert.equal(progress.status, 'running');
    assert.equal(progress.total_steps, 3);
    assert.equal(progress.completed_steps, 1);
    assert.deepEqual(progress.running_steps, ['slow']);
    const slow = progress.steps.find((s) => s.key === 'slow')!;
    assert.equal(slow.status, 'running');
    assert.ok(slow.started_at);
    assert.equal((await h.wait(run.execution_id)).status, 'completed');
    const done = await handle.query(progressQuery);
    assert.equal(done.status, 'completed');
    assert.equal(done.completed_steps, 3);
  });

  it('tags runs with search attributes so operators can filter them', async () => {
    const id = await h.createWorkflow({ workflow_type: 'product_import', steps: [echo('a')] });
    const wf = await h.workflows.get(id);
    const run = await h.start(id);
    await h.wait(run.execution_id);
    const desc = await h.client.workflow.getHandle(run.execution_id).describe();
    assert.equal(desc.type, 'productImportWorkflow');
    assert.deepEqual(desc.searchAttributes.MerchflowWorkflowCode, [wf.code]);
    assert.deepEqual(desc.searchAttributes.MerchflowTriggerType, ['api']);
    assert.deepEqual(desc.searchAttributes.MerchflowVersion, [1]);
    assert.equal((desc.memo as Record<string, unknown>).workflow_id, id);
  });

  it('never starts a second run for the same idempotency key', async () => {
    const id = await h.createWorkflow({ steps: [echo('a')] });
    const key = `idem-${Date.now()}-${Math.random()}`;
    const [a, b] = await Promise.all([h.start(id, {}, { idempotency_key: key }), h.start(id, {}, { idempotency_key: key })]);
    assert.equal(a.execution_id, b.execution_id);
    await h.wait(a.execution_id);
    const count = await h.dataSource.query(`SELECT count(*)::int AS n FROM workflow_executions WHERE idempotency_key = $1`, [key]);
    assert.equal(count[0].n, 1);
  });
});
