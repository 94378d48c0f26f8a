import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DataSource } from 'typeorm';
import type { NativeConnection } from '@temporalio/worker';
import { LabelLimiter, OTHER_LABEL, WorkerMetrics, itemsProcessed } from '@engine/observability/worker-metrics';
import { checkHealth, checkReady } from '@engine/observability/worker-http';

describe(LabelLimiter.name, () => {
  it('lets the first values through and folds later new ones into _other', () => {
    const sut = new LabelLimiter(2);
    assert.deepEqual(sut.admit('a', 'x'), ['a', 'x']);
    assert.deepEqual(sut.admit('b', 'x'), ['b', 'x']);
    assert.deepEqual(sut.admit('c', 'x'), [OTHER_LABEL, OTHER_LABEL]);
    assert.deepEqual(sut.admit('a', 'x'), ['a', 'x'], 'a known value keeps its label');
  });
});

describe(WorkerMetrics.name, () => {
  const step = { workflow_code: 'wf', step_type: 'api_call', step_key: 'push' };

  it('counts retries, failed attempts by code, and failed items of a final failure', async () => {
    const sut = new WorkerMetrics();
    sut.attemptStarted(step, 1);
    sut.attemptFailed(step, 0.2, 'failed', 'HTTP_ERROR', false);
    sut.attemptStarted(step, 2);
    sut.attemptFailed(step, 0.3, 'failed', 'ITEMS_FAILED', true, 7);
    const text = await sut.registry.metrics();
    assert.match(text, /merchflow_step_retries_total\{workflow_code="wf",step_type="api_call",step_key="push"\} 1/);
    assert.match(text, /merchflow_step_attempt_failures_total\{step_type="api_call",code="HTTP_ERROR",final="false"\} 1/);
    assert.match(text, /merchflow_step_attempt_failures_total\{step_type="api_call",code="ITEMS_FAILED",final="true"\} 1/);
    assert.match(text, /merchflow_step_items_failed_total\{workflow_code="wf",step_type="api_call",step_key="push"\} 7/);
    assert.match(text, /merchflow_step_duration_seconds_count\{workflow_code="wf",step_type="api_call",step_key="push",outcome="failed"\} 2/);
  });

  it('bounds workflow code x step key series', async () => {
    const sut = new WorkerMetrics({ maxStepSeries: 3 });
    for (let i = 0; i < 10; i++) sut.attemptCompleted({ ...step, step_key: `k${i}` }, 0.01, { items: 1 });
    const text = await sut.registry.metrics();
    const keys = new Set([...text.matchAll(/merchflow_step_items_processed_total\{[^}]*step_key="([^"]+)"/g)].map((m) => m[1]));
    assert.deepEqual([...keys].sort(), ['_other', 'k0', 'k1', 'k2']);
    assert.match(text, /merchflow_step_items_processed_total\{workflow_code="_other",step_type="api_call",step_key="_other"\} 7/);
  });

  it('reads items processed from the usual summary fields', () => {
    assert.equal(itemsProcessed({ total: 10, valid_count: 8 }), 10);
    assert.equal(itemsProcessed({ output_count: 3 }), 3);
    assert.equal(itemsProcessed({ status: 'sent' }), null);
  });
});

describe('worker health', () => {
  const healthyConn = { healthService: { check: async () => ({ status: 1 }) } } as unknown as NativeConnection;
  const db = (ok: boolean) => ({ query: async () => (ok ? [{ '?column?': 1 }] : Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:5432'))) }) as unknown as DataSource;
  const deps = (over: Partial<Parameters<typeof checkHealth>[0]>) => ({
    registry: new WorkerMetrics().registry,
    workerState: () => 'RUNNING' as const,
    connection: () => healthyConn,
    dataSource: db(true),
    ...over,
  });

  it('passes while polling with Temporal and PostgreSQL answering', async () => {
    const r = await checkHealth(deps({}));
    assert.equal(r.ok, true);
  });

  it('fails naming PostgreSQL when it does not answer', async () => {
    const r = await checkHealth(deps({ dataSource: db(false) }));
    assert.equal(r.ok, false);
    assert.equal(r.checks.postgres.ok, false);
    assert.match(r.checks.postgres.error!, /ECONNREFUSED/);
    assert.equal(r.checks.temporal.ok, true);
  });

  it('fails when Temporal hangs (timeout) or the worker stopped polling', async () => {
    const hanging = { healthService: { check: () => new Promise(() => undefined) } } as unknown as NativeConnection;
    const r = await checkHealth(deps({ connection: () => hanging, workerState: () => 'STOPPING' }), 50);
    assert.equal(r.ok, false);
    assert.match(r.checks.temporal.error!, /did not answer within 50 ms/);
    assert.match(r.checks.polling.error!, /STOPPING/);
    assert.equal(checkReady({ workerState: () => 'DRAINING' }).ok, false);
    assert.equal(checkReady({ workerState: () => 'RUNNING' }).ok, true);
  });
});
