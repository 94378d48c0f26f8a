import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startApi, type ApiHarness } from '../api/support';
import type { StepStats } from '@src/stats/stats.service';

describe('per-step statistics', () => {
  let api: ApiHarness;
  before(async () => {
    api = await startApi();
  });
  after(async () => {
    await api?.close();
  });

  it('/stats/ gives per-step percentiles, failure rates and retries, and the slowest steps first', async () => {
    const id = await api.h.createWorkflow({
      steps: [
        { key: 'quick', name: 'Quick', step_type: 'test_echo', config: { output: { ok: true } } },
        { key: 'slow', name: 'Slow', step_type: 'test_sleep', config: { ms: 400 }, depends_on_steps: ['quick'] },
        { key: 'flaky', name: 'Flaky', step_type: 'test_fail', config: { fail_times: 1 }, depends_on_steps: ['quick'], max_retries: 2, retry_delay_seconds: 0 },
        { key: 'broken', name: 'Broken', step_type: 'test_fail', config: { non_retryable: true }, is_optional: true, depends_on_steps: ['slow'] },
      ],
    } as never);
    for (let i = 0; i < 2; i++) {
      const run = await api.h.start(id, {});
      assert.equal((await api.h.wait(run.execution_id)).status, 'completed');
    }
    const res = await api.request<{ steps: StepStats[]; slowest_steps: StepStats[] }>('GET', `/stats/?workflow=${id}`, { key: api.keys.viewer });
    assert.equal(res.status, 200);
    const byKey = new Map(res.body.steps.filter((s) => s.workflow_id === id).map((s) => [s.step_key, s]));
    assert.deepEqual([...byKey.keys()].sort(), ['broken', 'flaky', 'quick', 'slow']);
    const slow = byKey.get('slow')!;
    assert.equal(slow.executions, 2);
    assert.equal(slow.failure_rate, 0);
    assert.ok(slow.p50_duration_seconds! >= 0.4 && slow.p95_duration_seconds! >= slow.p50_duration_seconds! && slow.p99_duration_seconds! >= slow.p95_duration_seconds!, JSON.stringify(slow));
    const flaky = byKey.get('flaky')!;
    assert.equal(flaky.retries, 2, 'one retry in each run');
    assert.equal(flaky.failure_rate, 0);
    const broken = byKey.get('broken')!;
    assert.equal(broken.failures, 2);
    assert.equal(broken.failure_rate, 1);
    assert.equal(broken.p95_duration_seconds, null, 'no completed execution to time');
    // The bottleneck view: a 400 ms sleep outlasts an echo.
    const slowest = res.body.slowest_steps.filter((s) => s.workflow_id === id).map((s) => s.step_key);
    assert.equal(slowest[0], 'slow');
    assert.ok(!slowest.includes('broken'));
  });
});
