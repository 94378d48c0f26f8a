/**
 * The interpreter's fan-out path on the time-skipping test server: a run of a
 * definition with `fan_out` and no supplier / marketplace in its input starts
 * one child workflow per listed row, at most `max_concurrent` at a time; one
 * failing child does not fail the others; a child id that exists already is
 * not started again. The listing and the projection are in-memory fakes
 * (./time-skipping); the integration test (test/integration/commerce/fan-out)
 * runs the real ones against the sandbox.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { FanOutSummary, FanOutTarget } from '@engine/dsl/fan-out';
import type { RunResult } from '@engine/shared/contracts';
import { FastEnv, Recorder, failureType, maybeRecord, runInput, slim, step } from './time-skipping';

const suppliers: FanOutTarget[] = [
  { id: 1, code: 'north', name: 'North', endpoint: 'http://127.0.0.1:1/north' },
  { id: 2, code: 'south', name: 'South', endpoint: 'http://127.0.0.1:1/south' },
];

describe('fan-out (time-skipping)', () => {
  let sut: FastEnv;
  before(async () => {
    sut = await FastEnv.start();
  });
  after(async () => {
    await sut.close();
  });

  it('runs one child per supplier; one failing child leaves the other completed and the parent completed with failures', async () => {
    const rec = new Recorder();
    rec.targets.suppliers = suppliers;
    const input = runInput(
      [step('fetch', { config: { fail_for: { supplier_id: 2 }, message: 'supplier 2 answered 500' } }), step('store', { config: { output: { supplier: '$input.supplier_id' } } })],
      { fan_out: { over: 'suppliers' } },
      {},
    );
    const { result, history, workflowId } = await sut.run(input, rec);
    const r = result as RunResult;
    assert.equal(r.status, 'completed');
    assert.equal(r.outcome, 'completed_with_failures');
    assert.equal(r.failed_items_total, 1);
    const summary = r.output as FanOutSummary;
    assert.deepEqual([summary.total, summary.completed, summary.failed], [2, 1, 1]);
    assert.deepEqual(
      summary.children.map((c) => [c.execution_id, c.status]),
      [[`${workflowId}:supplier-1`, 'completed'], [`${workflowId}:supplier-2`, 'failed']],
    );
    assert.match(summary.children[1].error ?? '', /supplier 2 answered 500/);
    assert.match(summary.summary, /1 completed, 1 failed \(supplier 2 south: .*supplier 2 answered 500/);
    // Each child ran the steps with its own supplier id, in its input and its config.
    assert.deepEqual(rec.calls.filter((c) => c.step_key === 'store').map((c) => c.execution_id), [`${workflowId}:supplier-1`]);
    // Children run side by side: their events come in either order.
    const childStarts = rec.runs.filter((e) => e.kind === 'started' && e.execution_id !== workflowId).sort((a, b) => a.execution_id.localeCompare(b.execution_id));
    assert.deepEqual(
      childStarts.map((e) => e.kind === 'started' && [e.execution_id, e.trigger_type, e.parent_execution_id, (e.input as { supplier_id: number }).supplier_id]),
      [
        [`${workflowId}:supplier-1`, 'fan_out', workflowId, 1],
        [`${workflowId}:supplier-2`, 'fan_out', workflowId, 2],
      ],
    );
    // The parent's bookkeeping: started with the child count, one row per child, finished completed.
    const parentStart = rec.runs.find((e) => e.kind === 'started' && e.execution_id === workflowId);
    assert.equal(parentStart?.kind === 'started' && parentStart.total_steps, 2);
    const finalRows = rec.rows.filter((x) => x.execution_id === workflowId && x.completed_at);
    assert.deepEqual(finalRows.map((x) => [x.step_key, x.status, x.failed_items_total]).sort(), [['supplier_1', 'completed', 0], ['supplier_2', 'failed', 1]]);
    assert.equal(rec.finished(workflowId)?.status, 'completed');
    // The parent's history starts two child workflows, with ids derived from its own.
    const starts = (history.events ?? []).filter((e) => e.startChildWorkflowExecutionInitiatedEventAttributes);
    assert.deepEqual(starts.map((e) => e.startChildWorkflowExecutionInitiatedEventAttributes!.workflowId), [`${workflowId}:supplier-1`, `${workflowId}:supplier-2`]);
    maybeRecord('fan-out-partial-failure', history);
  });

  it('fails the parent only when every child failed', async () => {
    const rec = new Recorder();
    rec.targets.suppliers = suppliers;
    const { error, workflowId } = await sut.run(runInput([step('fetch', { config: { fail: true, non_retryable: true } })], { fan_out: { over: 'suppliers' } }), rec);
    assert.equal(failureType(error), 'FAN_OUT_FAILED');
    assert.equal(rec.finished(workflowId)?.status, 'failed');
    assert.match(rec.finished(workflowId)?.error_message ?? '', /every supplier run failed/);
  });

  it('ends completed with a clear summary when there is no active supplier', async () => {
    const rec = new Recorder();
    const { result } = await sut.run(runInput([step('fetch')], { fan_out: { over: 'suppliers' } }), rec);
    const r = result as RunResult;
    assert.equal(r.outcome, 'completed');
    assert.equal((r.output as FanOutSummary).summary, 'no active suppliers: nothing to run');
    assert.equal(rec.calls.length, 0);
  });

  it('runs as before when the input names the supplier, and narrows to supplier_ids', async () => {
    const rec = new Recorder();
    rec.targets.suppliers = suppliers;
    const one = await sut.run(runInput([step('fetch')], { fan_out: { over: 'suppliers' } }, { supplier_id: 7 }), rec);
    assert.equal((one.result as RunResult).status, 'completed');
    assert.deepEqual(rec.listings, []);
    assert.deepEqual(rec.calls.map((c) => c.execution_id), [one.workflowId]);

    const rec2 = new Recorder();
    rec2.targets.suppliers = suppliers;
    const some = await sut.run(runInput([step('fetch')], { fan_out: { over: 'suppliers' } }, { supplier_ids: [2] }), rec2);
    assert.deepEqual(rec2.listings, [{ over: 'suppliers', ids: [2] }]);
    assert.deepEqual(rec2.calls.map((c) => c.execution_id), [`${some.workflowId}:supplier-2`]);
  });

  it('runs at most max_concurrent children at once', async () => {
    const rec = new Recorder();
    rec.targets.suppliers = Array.from({ length: 5 }, (_, i) => ({ id: i + 1, code: `s${i + 1}`, name: `S${i + 1}`, endpoint: null }));
    const { result } = await sut.run(runInput([step('work', { config: { ms: 150 } })], { fan_out: { over: 'suppliers', max_concurrent: 2 } }), rec);
    assert.equal((result as RunResult).outcome, 'completed');
    assert.equal(rec.calls.length, 5);
    assert.equal(rec.maxConcurrent, 2);
  });

  it('gives a marketplace child its marketplace id and endpoint in its config', async () => {
    const rec = new Recorder();
    rec.targets.marketplaces = [
      { id: 4, code: 'shopify_like', name: 'Shop A', endpoint: 'http://127.0.0.1:1/a/v1' },
      { id: 9, code: 'woo_like', name: 'Shop B', endpoint: 'http://127.0.0.1:1/b/v1' },
    ];
    const { result, workflowId } = await sut.run(
      runInput([step('push', { config: { output: { to: '$config.marketplace_id' } } })], {
        fan_out: { over: 'marketplaces' },
        config: { marketplace_id: null, marketplace_url: 'http://127.0.0.1:1/default' },
      }),
      rec,
    );
    assert.equal((result as RunResult).outcome, 'completed');
    const children = rec.runs.filter((e) => e.kind === 'started' && e.execution_id !== workflowId).map((e) => e.execution_id).sort();
    assert.deepEqual(children, [`${workflowId}:marketplace-4`, `${workflowId}:marketplace-9`]);
    const pushes = rec.calls.filter((c) => c.step_key === 'push');
    assert.equal(pushes.length, 2);
    // The child's definition (in its start event) carries the marketplace and its endpoint.
    const childHistory = await sut.env.client.workflow.getHandle(`${workflowId}:marketplace-9`).fetchHistory();
    const start = childHistory.events![0].workflowExecutionStartedEventAttributes!;
    const { defaultPayloadConverter } = await import('@temporalio/common');
    const args = defaultPayloadConverter.fromPayload(start.input!.payloads![0]) as { definition: { config: Record<string, unknown> }; input: Record<string, unknown> };
    assert.deepEqual([args.definition.config.marketplace_id, args.definition.config.marketplace_url, args.input.marketplace_id], [9, 'http://127.0.0.1:1/b/v1', 9]);
    assert.equal(start.parentWorkflowExecution?.workflowId, workflowId);
  });

  it('starts a slim parent\'s children slim, with their marketplace over the stored config', async () => {
    const rec = new Recorder();
    rec.targets.marketplaces = [{ id: 9, code: 'woo_like', name: 'Shop B', endpoint: 'http://127.0.0.1:1/b/v1' }];
    const input = runInput([step('push', { config: { output: 'pushed', extra: 'w'.repeat(200) } })], {
      fan_out: { over: 'marketplaces' },
      config: { marketplace_id: null, marketplace_url: 'http://127.0.0.1:1/default' },
    });
    const { result, workflowId } = await sut.run(slim(input, rec), rec);
    assert.equal((result as RunResult).outcome, 'completed');
    const childHistory = await sut.env.client.workflow.getHandle(`${workflowId}:marketplace-9`).fetchHistory();
    const start = childHistory.events![0].workflowExecutionStartedEventAttributes!;
    const { defaultPayloadConverter } = await import('@temporalio/common');
    const args = defaultPayloadConverter.fromPayload(start.input!.payloads![0]) as { slim_definition?: boolean; definition: { config: Record<string, unknown>; steps: Array<{ config?: unknown }> } };
    assert.equal(args.slim_definition, true);
    assert.equal(args.definition.steps[0].config, undefined);
    assert.deepEqual([args.definition.config.marketplace_id, args.definition.config.marketplace_url], [9, 'http://127.0.0.1:1/b/v1']);
    // The child's call carries the overrides; the worker merges them over the stored config.
    const push = rec.sent.find((c) => 'step_ref' in c && 'config_overrides' in c) as { config_overrides?: unknown };
    assert.deepEqual(push.config_overrides, { marketplace_id: 9, marketplace_url: 'http://127.0.0.1:1/b/v1' });
    assert.equal(rec.calls.filter((c) => c.step_key === 'push').length, 1);
  });

  it('never starts a second child for an id that exists: it reads that child\'s outcome instead', async () => {
    const rec = new Recorder();
    rec.targets.suppliers = suppliers;
    const parentId = `fast-${randomUUID()}`;
    const def = runInput([step('fetch')], { fan_out: { over: 'suppliers' } });
    // A child of this parent id ran already (as after a reset of the parent, or a re-run under its id).
    await sut.runAlone({ ...def, input: { supplier_id: 1 } }, rec, `${parentId}:supplier-1`);
    rec.existing.set(`${parentId}:supplier-1`, { status: 'completed', failed_items_total: 0, completed_steps: 1, failed_steps: 0, skipped_steps: 0, error_message: null });
    const before = rec.calls.length;
    const { result } = await sut.run(def, rec, undefined, parentId);
    const r = result as RunResult;
    assert.equal(r.outcome, 'completed');
    assert.deepEqual((r.output as FanOutSummary).children.map((c) => [c.id, c.status]), [[1, 'completed'], [2, 'completed']]);
    // Only supplier 2's child ran a step: supplier 1's was not started again.
    assert.deepEqual(rec.calls.slice(before).map((c) => c.execution_id), [`${parentId}:supplier-2`]);
  });
});
