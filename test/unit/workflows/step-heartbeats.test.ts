/**
 * The step runner's heartbeats on the time-skipping test server: an executor's
 * heartbeat details survive the runner's own heartbeats and come back to the
 * retried attempt as `ctx.checkpoint`, so a per-item step resumes after its
 * last confirmed item. (A hung executor, left to the heartbeat timeout, is in
 * test/integration/interpreter/hung-step.test.ts: that timeout is real time.)
 * The real step runner runs the step; its PostgreSQL-backed collaborators
 * (projection, payload store) are in-memory here.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildStepActivities } from '@engine/activities/runtime/step-runner';
import { FastEnv, Recorder, runInput, step } from './time-skipping';
import { itemsExecutor, runnerDeps } from './items-executor';

describe('step runner heartbeats (time-skipping)', () => {
  let sut: FastEnv;
  before(async () => {
    sut = await FastEnv.start();
  });
  after(async () => {
    await sut.close();
  });

  it('keeps the executor\'s heartbeat details, so a retried per-item step resumes after its last confirmed item', async () => {
    const processed: Array<{ attempt: number; item: number }> = [];
    const seen: unknown[] = [];
    const rec = new Recorder();
    rec.steps.items = buildStepActivities([itemsExecutor(processed, 'fail', seen)], runnerDeps()).items;
    const { result } = await sut.run(runInput([step('push', { step_type: 'items', max_retries: 2, retry_delay_seconds: 5 })]), rec);
    assert.equal((result as { status: string }).status, 'completed', JSON.stringify(result));
    assert.deepEqual(seen, [undefined, { next: 3 }]);
    assert.deepEqual(processed, [
      { attempt: 1, item: 0 },
      { attempt: 1, item: 1 },
      { attempt: 1, item: 2 },
      { attempt: 2, item: 3 },
      { attempt: 2, item: 4 },
      { attempt: 2, item: 5 },
    ]);
  });
});
