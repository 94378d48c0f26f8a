import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PayloadStore } from '@engine/activities/runtime/payload-store';
import { eventually, startHarness, type Harness } from '@test/support/harness';
import { testExecutors } from '@test/support/executors';

/** Projection writes, workflow statistics and the payload store's storage and retention (issue 14). */
describe('interpreter: bookkeeping and payloads', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ executors: testExecutors(() => h.dataSource) });
  });
  after(async () => {
    await h.close();
  });

  it('keeps step counts and workflow statistics exact, each run counted once', async () => {
    const id = await h.createWorkflow({
      steps: [
        { key: 'a', name: 'a', step_type: 'test_echo', config: { output: { n: 1 } } },
        { key: 'b', name: 'b', step_type: 'test_echo', config: { output: { n: 2 } } },
      ],
    });
    const failing = await h.createWorkflow({ steps: [{ key: 'x', name: 'x', step_type: 'test_fail', config: { non_retryable: true } }] });
    const runs = await Promise.all([h.start(id), h.start(id), h.start(id), h.start(failing)]);
    for (const r of runs) await h.wait(r.execution_id);
    const [wf] = await h.dataSource.query(`SELECT total_executions, successful_executions, failed_executions, average_duration_seconds::float AS avg FROM workflows WHERE id = $1`, [id]);
    assert.equal(wf.total_executions, 3);
    assert.equal(wf.successful_executions, 3);
    assert.equal(wf.failed_executions, 0);
    const [expected] = await h.dataSource.query(`SELECT avg(duration_seconds)::float AS avg FROM workflow_executions WHERE workflow_id = $1 AND status = 'completed'`, [id]);
    assert.ok(Math.abs(wf.avg - expected.avg) < 0.002, `average ${wf.avg} is the mean of the runs' ${expected.avg}`);
    const [bad] = await h.dataSource.query(`SELECT total_executions, successful_executions, failed_executions FROM workflows WHERE id = $1`, [failing]);
    assert.deepEqual(bad, { total_executions: 1, successful_executions: 0, failed_executions: 1 });
    const [row] = await h.dataSource.query(`SELECT status, completed_steps, failed_steps, current_step FROM workflow_executions WHERE execution_id = $1`, [runs[0].execution_id]);
    assert.deepEqual(row, { status: 'completed', completed_steps: 2, failed_steps: 0, current_step: null });
  });

  it('shows a long step as running with its counts, and ends it completed', async () => {
    const id = await h.createWorkflow({
      steps: [
        { key: 'quick', name: 'quick', step_type: 'test_echo', config: { output: 1 } },
        { key: 'slow', name: 'slow', step_type: 'test_sleep', config: { ms: 3000 } },
      ],
    });
    const run = await h.start(id);
    const seen = await eventually(async () => {
      const [r] = await h.dataSource.query(`SELECT current_step, completed_steps FROM workflow_executions WHERE execution_id = $1`, [run.execution_id]);
      return r?.current_step === 'slow' ? r : null;
    });
    assert.equal(seen.completed_steps, 1, 'the quick step is counted while the slow one runs');
    await h.wait(run.execution_id);
    const steps = await h.executions.steps(run.execution_id);
    assert.deepEqual(
      steps.map((s) => [s.step_key, s.status]),
      [
        ['quick', 'completed'],
        ['slow', 'completed'],
      ],
    );
    assert.ok(steps.every((s) => s.started_at && s.completed_at && s.duration_ms !== null));
  });

  it('stores large outputs as text where PostgreSQL has lz4, else gzipped by the worker, keeps a partial apart from the output, deletes payloads with their run and past retention', async () => {
    const id = await h.createWorkflow({ steps: [{ key: 'big', name: 'big', step_type: 'test_big_output', config: { bytes: 2 * 1024 * 1024 } }] });
    const run = await h.start(id);
    assert.equal((await h.wait(run.execution_id)).status, 'completed');
    const [p] = await h.dataSource.query(`SELECT body IS NOT NULL AS text, data IS NOT NULL AS gzip, size_bytes::bigint AS size FROM payloads WHERE execution_id = $1`, [run.execution_id]);
    const [{ lz4 }] = await h.dataSource.query(`SELECT attcompression::text = 'l' AS lz4 FROM pg_attribute WHERE attrelid = 'payloads'::regclass AND attname = 'body'`);
    assert.deepEqual({ text: p.text, gzip: p.gzip }, lz4 ? { text: true, gzip: false } : { text: false, gzip: true });
    assert.ok(Number(p.size) > 2 * 1024 * 1024);

    // Two kinds and two attempts of one step are four rows, never one overwriting another.
    const sut = new PayloadStore(h.dataSource, { thresholdBytes: 1024, cacheBytes: 0 });
    const big = (tag: string) => Array.from({ length: 200 }, (_, i) => ({ tag, i, pad: 'x'.repeat(20) }));
    const refs = [
      await sut.offload(run.execution_id, 'other', big('p1'), { kind: 'partial', attempt: 1 }),
      await sut.offload(run.execution_id, 'other', big('o1'), { kind: 'output', attempt: 1 }),
      await sut.offload(run.execution_id, 'other', big('o2'), { kind: 'output', attempt: 2 }),
    ];
    assert.equal(new Set(refs.map((r) => (r as { $payload: { id: string } }).$payload.id)).size, 3);
    const loaded = await Promise.all(refs.map((r) => sut.hydrate(r)));
    assert.deepEqual(
      loaded.map((v) => (v as Array<{ tag: string }>)[0].tag),
      ['p1', 'o1', 'o2'],
    );

    // Retention: nothing of a run that ended now; everything once it is older than the retention.
    const kept = async () => Number((await h.dataSource.query(`SELECT count(*) AS n FROM payloads WHERE execution_id = $1`, [run.execution_id]))[0].n);
    await sut.deleteExpired(1);
    assert.equal(await kept(), 4);
    await h.dataSource.query(`UPDATE workflow_executions SET completed_at = now() - interval '3 days' WHERE execution_id = $1`, [run.execution_id]);
    assert.ok((await sut.deleteExpired(2, 2)) <= 2, 'a batch is bounded by its limit');
    while ((await sut.deleteExpired(2, 2)) > 0);
    assert.equal(await kept(), 0);
    await assert.rejects(sut.load(refs[0] as never), /not found/);

    // Deleting a run deletes its payloads.
    const again = await h.start(id);
    await h.wait(again.execution_id);
    assert.equal((await h.dataSource.query(`SELECT 1 FROM payloads WHERE execution_id = $1`, [again.execution_id])).length, 1);
    await h.dataSource.query(`DELETE FROM workflow_executions WHERE execution_id = $1`, [again.execution_id]);
    assert.equal((await h.dataSource.query(`SELECT 1 FROM payloads WHERE execution_id = $1`, [again.execution_id])).length, 0);
  });
});
