/**
 * The slim definition a stored version's run carries in its start input
 * (temporal/shared/slim-definition.ts): what it keeps (everything the
 * interpreter reads), what it strips (the rest of the configs, the input
 * schema, fields at their default), and that the interpreter's view of it
 * leads to the same requests on the worker as the whole definition.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeDefinition } from '@engine/dsl/normalize';
import { effectiveDependencies, inputSources } from '@engine/dsl/graph';
import { referencedSteps } from '@engine/dsl/references';
import type { StepDefinition, WorkflowDefinition } from '@engine/dsl/types';
import type { StepRequest } from '@engine/shared/contracts';
import { INTERPRETER_REVISION } from '@engine/shared/contracts';
import { fromStepCall, toStepCall } from '@engine/shared/step-call';
import { configReads, inflateDefinition, slimDefinition, startDefinition } from '@engine/shared/slim-definition';

const def: WorkflowDefinition = {
  ...normalizeDefinition({
    code: 'shop_sync',
    name: 'Shop sync',
    config: { region: 'eu', enable_ai: true },
    max_retries: 2,
    max_parallel_steps: 4,
    input_schema: { type: 'object', properties: { q: { type: 'string' } } },
    fan_out: { over: 'marketplaces' },
    steps: [
      { key: 'fetch', name: 'Fetch', step_type: 'data_fetch', config: { url: 'http://127.0.0.1/items?q=$input.q', headers: { a: 'b'.repeat(200) } } },
      {
        key: 'shape',
        name: 'shape',
        step_type: 'data_transform',
        config: { mapping: { id: '$.sku', src: '$steps.fetch.source' } },
        timeout_seconds: 90,
        max_retries: 5,
        retry_backoff: 3,
        condition: { type: 'value_check', path: 'workflow.config.enable_ai', operator: 'equals', value: true },
      },
      { key: 'enrich', name: 'Enrich', step_type: 'ai_process', order: 2, parallel_group: 'g', can_run_parallel: true, is_optional: true, config: { prompt: 'Describe {{title}}', review: { threshold: 0.8, timeout_seconds: 3600, on_timeout: 'approve' } } },
      { key: 'check', name: 'Check', step_type: 'approval', depends_on_steps: ['shape', 'enrich'], config: { timeout_seconds: 86400, on_timeout: 'reject', instructions: 'Check the prices' } },
      { key: 'push', name: 'Push', step_type: 'api_call', config: { url: 'http://127.0.0.1/push', body: '$steps.check.data', note: '{{ $execution.started_at }}' }, can_retry: false, retry_delay_seconds: 7, max_retry_delay_seconds: 60 },
      { key: 'undo', name: 'Undo', step_type: 'api_call', config: { url: 'http://127.0.0.1/undo' }, role: 'compensation', compensates: 'fetch' },
      { key: 'tell', name: 'Tell', step_type: 'notification', config: { message: 'failed' }, role: 'on_failure' },
    ],
  }),
  workflow_id: 4,
  version_id: 17,
  version: 3,
};

/** What the interpreter keeps of a step besides its config. */
function withoutConfig(s: StepDefinition): Omit<StepDefinition, 'config'> {
  const { config: _c, ...rest } = s;
  return rest;
}

describe('slim definition', () => {
  it('keeps every field the interpreter reads and inflates back to the same steps, configs aside', () => {
    const { definition, reads } = inflateDefinition(slimDefinition(def));
    assert.deepEqual(definition.steps.map(withoutConfig), def.steps.map(withoutConfig));
    const { steps: _s, input_schema: _i, ...workflow } = def;
    const { steps: _s2, input_schema, ...inflated } = definition;
    assert.deepEqual(inflated, workflow);
    assert.equal(input_schema, null);
    // The graph the interpreter schedules by is the same.
    assert.deepEqual(effectiveDependencies(definition), effectiveDependencies(def));
    assert.deepEqual(inputSources(definition), inputSources(def));
    for (const s of def.steps) assert.deepEqual(reads.get(s.key), configReads(s.config), s.key);
  });

  it('keeps of the configs only what the interpreter reads: approval timeouts, the ai review\'s timeout, and what each config references', () => {
    const slim = slimDefinition(def);
    const by = Object.fromEntries(slim.steps.map((s) => [s.key, s]));
    assert.deepEqual(by.check.config, { timeout_seconds: 86400, on_timeout: 'reject' });
    assert.deepEqual(by.enrich.config, { review: { timeout_seconds: 3600, on_timeout: 'approve' } });
    for (const key of ['fetch', 'shape', 'push', 'undo', 'tell']) assert.equal(by[key].config, undefined, key);
    assert.deepEqual(by.shape.reads, ['fetch']);
    assert.deepEqual(by.push.reads, ['check']);
    assert.equal(by.fetch.reads_input, true);
    assert.equal(by.shape.reads_input, undefined);
    assert.equal(by.push.reads_execution, true);
    assert.equal(by.fetch.reads_execution, undefined);
    assert.ok(!JSON.stringify(slim).includes('bbbb'));
    assert.ok(!JSON.stringify(slim).includes('Check the prices'));
    assert.equal('input_schema' in slim, false);
    // Fields at their default, and a name that is the key, are left out; the rest stays.
    assert.deepEqual(by.fetch, { key: 'fetch', name: 'Fetch', step_type: 'data_fetch', reads_input: true });
    assert.equal(by.shape.name, undefined);
    assert.equal(by.shape.timeout_seconds, 90);
    assert.deepEqual(by.shape.condition, def.steps[1].condition);
    assert.deepEqual(by.undo, { key: 'undo', name: 'Undo', step_type: 'api_call', role: 'compensation', compensates: 'fetch' });
    assert.equal(by.enrich.order, 2);
    assert.equal(by.check.order, undefined);
    assert.deepEqual(slim.fan_out, def.fan_out);
    assert.deepEqual(slim.config, def.config);
    assert.ok(JSON.stringify(slim).length < JSON.stringify(def).length / 2);
  });

  it('leads to the same requests on the worker as the whole definition', () => {
    const { definition: seen, reads } = inflateDefinition(slimDefinition(def));
    const outputs: Record<string, unknown> = { fetch: { items: [1] }, check: { data: { ok: true } } };
    for (const step of def.steps) {
      const view = seen.steps.find((s) => s.key === step.key)!;
      // The interpreter's request for the step, from the whole definition and from the slim one (Run.request).
      const build = (s: StepDefinition, fromConfig: Iterable<string>, d: WorkflowDefinition): StepRequest => {
        const steps: Record<string, unknown> = {};
        for (const k of new Set([...fromConfig, ...referencedSteps(s.condition, 'condition')])) if (outputs[k] !== undefined) steps[k] = outputs[k];
        return {
          execution_id: 'run-1',
          workflow_code: d.code,
          step_key: s.key,
          step_name: s.name,
          step_type: s.step_type,
          role: s.role,
          config: s.config,
          input: { q: 'shoes' },
          context: { input: { q: 'x' }, steps, config: d.config, execution: { trigger_type: 'api', triggered_by: null, started_at: '2026-12-03T08:00:00.000Z', status: 'running', error: null } },
          max_attempts: 1,
          timeout_seconds: s.timeout_seconds,
          idempotency_key: `run-1:${s.key}`,
          compensates: s.compensates,
        };
      };
      const whole = toStepCall(build(step, referencedSteps(step.config), def), def);
      const slim = toStepCall(build(view, reads.get(step.key)!.steps, seen), seen, reads.get(step.key));
      assert.deepEqual(slim, whole, step.key);
      // The worker rebuilds the request from the stored (whole) version.
      assert.deepEqual(fromStepCall(slim, def, 'run-1'), fromStepCall(whole, def, 'run-1'), step.key);
    }
  });

  it('starts a stored version slim, marked, and an ad-hoc definition whole', () => {
    const stored = startDefinition(def);
    assert.equal(stored.slim_definition, true);
    assert.deepEqual(stored.definition, slimDefinition(def));
    const adhoc = { ...def, workflow_id: 0, version_id: 0, version: 0 };
    assert.deepEqual(startDefinition(adhoc), { definition: adhoc, revision: INTERPRETER_REVISION });
    assert.equal(stored.revision, INTERPRETER_REVISION);
    assert.throws(() => slimDefinition(adhoc), /stored definition version/);
  });
});
