/**
 * A hung step is detected by its heartbeat timeout: the executor reports
 * progress, then goes silent; the step runner stops heartbeating for it, so
 * Temporal ends the attempt after the heartbeat timeout (10 s: real time, which
 * is why this is not in the fast suite) and the retry resumes from the last
 * checkpoint. The step's own timeout (an hour) cannot be what ended it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildStepActivities } from '@engine/activities/runtime/step-runner';
import { FastEnv, Recorder, runInput, step } from '../../unit/workflows/time-skipping';
import { itemsExecutor, runnerDeps } from '../../unit/workflows/items-executor';

describe('hung step', () => {
  let sut: FastEnv;
  before(async () => {
    sut = await FastEnv.start();
  });
  after(async () => {
    await sut.close();
  });

  it('is left to the heartbeat timeout, and retried from its checkpoint', async () => {
    const processed: Array<{ attempt: number; item: number }> = [];
    const seen: unknown[] = [];
    const reasons: string[] = [];
    const rec = new Recorder();
    rec.steps.items = buildStepActivities([itemsExecutor(processed, 'hang', seen, reasons)], runnerDeps()).items;
    const { result } = await sut.run(runInput([step('push', { step_type: 'items', timeout_seconds: 3600, max_retries: 2, retry_delay_seconds: 1 })]), rec);
    assert.equal((result as { status: string }).status, 'completed', JSON.stringify(result));
    assert.deepEqual(seen, [undefined, { next: 3 }]);
    assert.deepEqual(processed.map((p) => [p.attempt, p.item]), [[1, 0], [1, 1], [1, 2], [2, 3], [2, 4], [2, 5]]);
    assert.equal(reasons.length, 1);
    assert.match(reasons[0], /reported no progress for \d+ s: hung/, `attempt 1 was stopped as hung (reason: ${reasons[0]})`);
  });
});
