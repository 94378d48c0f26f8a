import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { eventually, startHarness, type Harness } from '@test/support/harness';
import { testExecutors } from '@test/support/executors';
import { startWorkerProcess } from '@test/support/worker-process-control';

describe('interpreter: crash recovery', () => {
  let h: Harness;
  let worker: ChildProcess | null = null;
  before(async () => {
    // The harness provides the client and services; the worker runs in a child process we can kill.
    h = await startHarness({ executors: testExecutors(() => h.dataSource), startWorker: false });
  });
  after(async () => {
    worker?.kill('SIGKILL');
    await h.close();
  });

  it('kill -9 of the worker during 20 concurrent runs: a fresh worker finishes them all, each side effect applied once', async () => {
    const id = await h.createWorkflow({
      steps: [
        { key: 'effect1', name: 'quick effect', step_type: 'test_side_effect', config: { ms: 0 } },
        { key: 'effect2', name: 'slow effect', step_type: 'test_side_effect', config: { ms: 3000 }, timeout_seconds: 5, retry_delay_seconds: 0 },
      ],
    });
    worker = await startWorkerProcess(h.taskQueue);
    const runs = await Promise.all(Array.from({ length: 20 }, (_, i) => h.start(id, { n: i })));
    const ids = runs.map((r) => r.execution_id);
    // Wait until every run's slow step has applied its effect (and is still sleeping), then kill the worker without
    // warning. (Waiting for the attempt only left a window, under load, where the kill came before the effect.)
    await eventually(async () => {
      const rows: Array<{ n: number }> = await h.dataSource.query(
        `SELECT count(DISTINCT execution_id)::int AS n FROM test_side_effects WHERE step_key = 'effect2' AND execution_id = ANY($1)`,
        [ids],
      );
      return rows[0].n === 20;
    }, 60_000, 'all runs in their slow step');
    worker.kill('SIGKILL');
    const killedAt = Date.now();
    await new Promise((r) => worker!.once('exit', r));

    worker = await startWorkerProcess(h.taskQueue);
    const results = await Promise.all(ids.map((e) => h.wait(e)));
    const recoveredMs = Date.now() - killedAt;
    console.log(`# crash recovery: 20 runs finished ${recoveredMs} ms after kill -9`);
    assert.deepEqual(results.map((r) => r.status), Array(20).fill('completed'));

    const effects: Array<{ execution_id: string; n: number }> = await h.dataSource.query(
      `SELECT execution_id, count(*)::int AS n FROM test_side_effects WHERE execution_id = ANY($1) GROUP BY execution_id`,
      [ids],
    );
    assert.equal(effects.length, 20);
    assert.ok(effects.every((e) => e.n === 2), 'two side effects per run, no more');
    const attempts: Array<{ step_key: string; max: number }> = await h.dataSource.query(
      `SELECT step_key, max(attempt)::int AS max FROM test_events WHERE execution_id = ANY($1) AND kind = 'attempt' GROUP BY step_key`,
      [ids],
    );
    const byStep = Object.fromEntries(attempts.map((a) => [a.step_key, a.max]));
    assert.equal(byStep.effect1, 1, 'completed steps are not re-executed after the crash');
    assert.ok(byStep.effect2 >= 2, 'the interrupted step was retried');
    // The retried attempt found the effect already applied: the idempotency key held.
    for (const r of results) {
      const out = (r.result as { output: { applied: boolean; attempt: number } }).output;
      assert.equal(out.applied, out.attempt === 1);
    }
    const rows: Array<{ status: string; n: number }> = await h.dataSource.query(
      `SELECT status, count(*)::int AS n FROM workflow_step_executions WHERE execution_id = ANY($1) GROUP BY status`,
      [ids],
    );
    assert.deepEqual(rows, [{ status: 'completed', n: 40 }], 'no duplicate or stale projection rows');
  });
});
