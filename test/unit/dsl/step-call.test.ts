/**
 * The reference form of a step activity's input (temporal/shared/step-call.ts):
 * what the worker rebuilds from it and the stored version is the request the
 * interpreter would have sent, and what it leaves out is what the definition holds.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeDefinition } from '@engine/dsl/normalize';
import { effectiveRetry } from '@engine/dsl/normalize';
import type { StepDefinition, WorkflowDefinition } from '@engine/dsl/types';
import type { StepRequest } from '@engine/shared/contracts';
import { fromStepCall, isStepCall, toStepCall } from '@engine/shared/step-call';

const def: WorkflowDefinition = {
  ...normalizeDefinition({
    code: 'shop_sync',
    name: 'Shop sync',
    config: { region: 'eu', big: 'x'.repeat(500) },
    max_retries: 2,
    steps: [
      { key: 'fetch', name: 'Fetch', step_type: 'data_fetch', config: { url: 'http://127.0.0.1/items?q=$input.q&run=$execution.id' } },
      { key: 'shape', name: 'Shape', step_type: 'data_transform', config: { mapping: { id: '$.sku', src: '$steps.fetch.source', at: '$execution.started_at' } }, timeout_seconds: 90, max_retries: 5 },
      { key: 'undo', name: 'Undo', step_type: 'api_call', config: { url: 'http://127.0.0.1/undo' }, role: 'compensation', compensates: 'fetch' },
    ],
  }),
  workflow_id: 4,
  version_id: 17,
  version: 3,
};

/** A request as the interpreter builds it (Run.request). */
function request(step: StepDefinition, input: unknown, runInput: unknown, steps: Record<string, unknown>, execution: Record<string, unknown> = {}): StepRequest {
  const id = 'run-1';
  return {
    execution_id: id,
    workflow_code: def.code,
    step_key: step.key,
    step_name: step.name,
    step_type: step.step_type,
    role: step.role,
    config: step.config,
    input,
    context: {
      input: runInput,
      steps,
      config: def.config,
      execution: {
        id,
        execution_id: id,
        workflow_code: def.code,
        workflow_name: def.name,
        workflow_type: def.workflow_type,
        version: def.version,
        trigger_type: 'api',
        triggered_by: null,
        started_at: '2026-12-03T08:00:00.000Z',
        status: 'running',
        error: null,
        ...execution,
      },
    },
    max_attempts: effectiveRetry(step, def).maxAttempts,
    timeout_seconds: step.timeout_seconds,
    idempotency_key: `${id}:${step.key}`,
    compensates: step.compensates,
  };
}

const [fetch, shape, undo] = def.steps;

describe('step call by reference', () => {
  it('rebuilds the request of a first step, whose input is the run input, writing that input once', () => {
    const runInput = { q: 'shoes' };
    const req = request(fetch, runInput, runInput, {});
    const call = toStepCall(req, def);
    assert.ok(isStepCall(call));
    assert.ok(!isStepCall(req));
    assert.deepEqual(call, { step_ref: { version_id: 17, step_key: 'fetch' }, input: runInput, run_input_is_input: true, execution: { trigger_type: 'api', started_at: '2026-12-03T08:00:00.000Z' } });
    assert.deepEqual(fromStepCall(call, def, 'run-1'), req);
  });

  it('carries the referenced outputs and the run facts, and nothing the definition holds', () => {
    const req = request(shape, { $payload: { id: 'p1' } }, { q: 'shoes' }, { fetch: { source: 'feed' } }, { triggered_by: 'ops@example.test', status: 'failed', error: 'boom' });
    const call = toStepCall(req, def);
    const text = JSON.stringify(call);
    for (const held of ['Shape', 'data_transform', 'mapping', 'xxxxx', 'shop_sync', 'idempotency']) assert.ok(!text.includes(held), `${held} left out`);
    // The config does not mention the run's input: it is not sent.
    assert.equal('run_input' in call, false);
    const back = fromStepCall(call, def, 'run-1');
    assert.deepEqual(back, { ...req, context: { ...req.context, input: undefined } });
    assert.equal(back.max_attempts, 6);
    assert.equal(back.timeout_seconds, 90);
    assert.equal(text.length < JSON.stringify(req).length / 3, true);
  });

  it('keeps the run input for a later step whose config reads it, and the compensated report of on-failure steps', () => {
    const later = { ...def, steps: def.steps.map((s) => (s.key === 'undo' ? { ...s, config: { url: 'http://127.0.0.1/undo/$input.q', why: '$execution.compensated.summary' } } : s)) };
    const step = later.steps[2];
    const req = request(step, { n: 1 }, { q: 'shoes' }, {}, { compensated: { undone: ['fetch'] } });
    const call = toStepCall(req, later);
    assert.deepEqual(call.run_input, { q: 'shoes' });
    assert.deepEqual(fromStepCall(call, later, 'run-1'), req);
    assert.equal(fromStepCall(call, later, 'run-1').compensates, 'fetch');
  });

  it('leaves the run facts out for a step whose config does not mention `execution`', () => {
    const req = request(undo, { n: 1 }, { q: 'shoes' }, {}, { triggered_by: 'ops@example.test' });
    const call = toStepCall(req, def);
    assert.deepEqual(call, { step_ref: { version_id: 17, step_key: 'undo' }, input: { n: 1 } });
    const back = fromStepCall(call, def, 'run-1');
    // What the definition holds is rebuilt; the run facts nothing could read are not.
    assert.deepEqual(back.context.execution, { ...req.context.execution, trigger_type: undefined, triggered_by: null, started_at: undefined });
    assert.deepEqual({ ...back, context: null }, { ...req, context: null });
    // A slim definition says what the whole config mentions.
    assert.deepEqual(toStepCall(req, def, { input: true, execution: true }).execution, { trigger_type: 'api', started_at: '2026-12-03T08:00:00.000Z', triggered_by: 'ops@example.test' });
  });

  it('carries a recovery run\'s idempotency root and item subset to the worker', () => {
    const step = def.steps[1];
    const req: StepRequest = { ...request(step, { items: [] }, {}, {}), idempotency_root: 'first-run', items_subset: true };
    const back = fromStepCall(toStepCall(req, def), def, 'run-1');
    assert.equal(back.idempotency_root, 'first-run');
    assert.equal(back.items_subset, true);
  });

  it('carries the config keys a fan-out child sets over its stored version, and the worker merges them', () => {
    const child = { ...def, config: { ...def.config, marketplace_id: 9 }, config_overrides: { marketplace_id: 9 } };
    const call = toStepCall(request(child.steps[1], null, {}, {}), child);
    assert.deepEqual(call.config_overrides, { marketplace_id: 9 });
    const back = fromStepCall(call, def, 'run-1');
    assert.deepEqual(back.context.config, { region: 'eu', big: 'x'.repeat(500), marketplace_id: 9 });
    assert.equal(toStepCall(request(def.steps[1], null, {}, {}), def).config_overrides, undefined);
  });

  it('refuses a step the version does not have, naming it', () => {
    const call = toStepCall(request(undo, null, {}, {}), def);
    assert.throws(() => fromStepCall({ ...call, step_ref: { version_id: 17, step_key: 'gone' } }, def, 'run-1'), /has no step "gone"/);
  });
});
