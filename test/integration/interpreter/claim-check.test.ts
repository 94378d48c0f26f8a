import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isPayloadRef } from '@engine/dsl/types';
import { eventually, startHarness, type Harness } from '@test/support/harness';
import { testExecutors } from '@test/support/executors';
import { historyStats } from '@test/support/history';

describe('interpreter: history stays small', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ executors: testExecutors(() => h.dataSource) });
  });
  after(async () => {
    await h.close();
  });

  it('claim-checks a 20 MB step output: later steps read it, history stays under 1 MB', async () => {
    const id = await h.createWorkflow({
      steps: [
        { key: 'big', name: 'big', step_type: 'test_big_output', config: { bytes: 20 * 1024 * 1024 }, timeout_seconds: 120 },
        { key: 'inspect', name: 'inspect', step_type: 'test_inspect', config: { first: '$steps.big.0.i', count_ref: '$input' } },
      ],
    });
    const run = await h.start(id);
    const res = await h.wait(run.execution_id);
    assert.equal(res.status, 'completed', String((res.error as Error | undefined)?.message));
    const out = (res.result as { output: { input_type: string; items: number; resolved: { first: number } } }).output;
    assert.equal(out.input_type, 'array', 'the next step received the array itself, not the reference');
    assert.ok(out.items > 20000);
    assert.equal(out.resolved.first, 0, 'references into the claim-checked output resolve');

    const stats = await historyStats(h.client, run.execution_id);
    console.log(`# 20 MB run: history ${stats.bytes} bytes, ${stats.events} events`);
    assert.ok(stats.bytes < 1024 * 1024, `history is ${stats.bytes} bytes`);

    const big = (await h.executions.steps(run.execution_id)).find((s) => s.step_key === 'big')!;
    assert.ok(big.output_payload_id, 'the projection links the payload');
    const payload = await h.dataSource.query(`SELECT size_bytes::bigint AS size FROM payloads WHERE id = $1`, [big.output_payload_id]);
    assert.ok(Number(payload[0].size) > 20 * 1024 * 1024);
  });

  it('keeps small outputs inline', async () => {
    const id = await h.createWorkflow({ steps: [{ key: 'small', name: 'small', step_type: 'test_big_output', config: { bytes: 1000 } }] });
    const run = await h.start(id);
    const res = await h.wait(run.execution_id);
    assert.ok(!isPayloadRef((res.result as { output: unknown }).output));
  });

  it('runs a 50-step workflow with a bounded history', async () => {
    const steps = Array.from({ length: 50 }, (_, i) => ({
      key: `s${i}`,
      name: `step ${i}`,
      step_type: 'test_echo',
      config: { output: { i, prev: i === 0 ? null : `$steps.s${i - 1}.i` } },
    }));
    const id = await h.createWorkflow({ steps, max_parallel_steps: 10 });
    const run = await h.start(id);
    const res = await h.wait(run.execution_id);
    assert.equal(res.status, 'completed');
    assert.deepEqual((res.result as { output: unknown }).output, { i: 49, prev: 48 });
    const stats = await historyStats(h.client, run.execution_id);
    console.log(`# 50-step run: history ${stats.bytes} bytes, ${stats.events} events`);
    assert.ok(stats.events < 50 * 12, `${stats.events} events`);
    const row = await h.executions.get(run.execution_id);
    assert.equal(row.completed_steps, 50);
  });

  it('evaluates a condition that reads into a claim-checked output, and fails the step (not the workflow task) when it cannot', async () => {
    const def = (value: number) => ({
      steps: [
        { key: 'big', name: 'big', step_type: 'test_big_output', config: { bytes: 400 * 1024 } },
        { key: 'pause', name: 'pause', step_type: 'test_sleep', config: { ms: 1500 }, depends_on_steps: ['big'] },
        {
          key: 'gated',
          name: 'gated',
          step_type: 'test_echo',
          config: { output: 'ran' },
          depends_on_steps: ['pause'],
          condition: { type: 'value_check' as const, path: 'steps.big.0.i', operator: 'equals' as const, value },
        },
      ],
    });
    const okId = await h.createWorkflow(def(0));
    const ok = await h.start(okId);
    assert.equal(((await h.wait(ok.execution_id)).result as { output: unknown }).output, 'ran', 'condition true through the payload');

    const brokenId = await h.createWorkflow(def(0));
    const broken = await h.start(brokenId);
    // While `pause` runs, the stored payload disappears: the condition can no longer be evaluated.
    await eventually(async () => (await h.executions.steps(broken.execution_id)).some((s) => s.step_key === 'pause' && s.status === 'running'));
    await h.dataSource.query(`DELETE FROM payloads WHERE execution_id = $1`, [broken.execution_id]);
    // A fresh worker, so no payload is left in a worker's memory either.
    await h.stopWorker();
    await h.startWorker();
    const res = await h.wait(broken.execution_id);
    assert.equal(res.status, 'failed');
    const gated = (await h.executions.steps(broken.execution_id)).find((s) => s.step_key === 'gated')!;
    assert.equal(gated.status, 'failed');
    assert.match(gated.error_message ?? '', /condition: .*payload .* not found/);
  });
});
