import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { effectiveRetry, normalizeDefinition, normalizeStep } from '@engine/dsl/normalize';
import { input, step } from './fixtures';
import type { StepInput } from '@engine/dsl/types';

describe(normalizeDefinition.name, () => {
  it('fills every step default', () => {
    const sut = normalizeDefinition(input([{ key: 'a', name: 'A', step_type: 'data_fetch' }]));
    assert.deepEqual(sut.steps[0], {
      key: 'a',
      name: 'A',
      step_type: 'data_fetch',
      order: 1,
      config: {},
      depends_on_steps: [],
      is_optional: false,
      can_run_parallel: false,
      parallel_group: null,
      condition: null,
      timeout_seconds: 300,
      can_retry: true,
      max_retries: null,
      retry_delay_seconds: null,
      retry_backoff: 2,
      max_retry_delay_seconds: 300,
      role: 'main',
      compensates: null,
    });
  });

  it('fills the workflow defaults and takes ids from meta', () => {
    const sut = normalizeDefinition(input([]), { workflow_id: 4, version_id: 9, version: 2 });
    assert.deepEqual(sut, {
      workflow_id: 4,
      version_id: 9,
      version: 2,
      code: 'test_flow',
      name: 'Test flow',
      workflow_type: 'custom',
      config: {},
      max_retries: 3,
      retry_delay_seconds: 5,
      max_parallel_steps: 10,
      input_schema: null,
      steps: [],
    });
  });

  it('uses 0 ids for an ad-hoc definition', () => {
    const sut = normalizeDefinition(input([]));
    assert.deepEqual([sut.workflow_id, sut.version_id, sut.version], [0, 0, 0]);
  });

  it('orders steps by position + 1 when order is missing, keeping explicit orders (0 included)', () => {
    const sut = normalizeDefinition(input([step('a'), step('b', { order: 0 }), step('c'), step('d', { order: 7 })]));
    assert.deepEqual(
      sut.steps.map((s) => s.order),
      [1, 0, 3, 7],
    );
  });

  it('keeps values that are given', () => {
    const given = step('a', {
      is_optional: true,
      can_run_parallel: true,
      parallel_group: 'g',
      condition: { type: 'value_check', path: 'config.x', operator: 'exists' },
      timeout_seconds: 60,
      can_retry: false,
      max_retries: 1,
      retry_delay_seconds: 2,
      retry_backoff: 3,
      max_retry_delay_seconds: 30,
      depends_on_steps: ['z'],
    });
    const sut = normalizeStep(given, 0);
    assert.deepEqual(sut, { ...given, order: 1, role: 'main', compensates: null });
  });

  it('copies config and lists so the input is never shared or mutated', () => {
    const raw = input([step('a', { config: { x: 1 }, depends_on_steps: [] })], { config: { y: 2 } });
    const sut = normalizeDefinition(raw);
    sut.steps[0].config.x = 99;
    sut.steps[0].depends_on_steps.push('q');
    sut.config.y = 99;
    assert.deepEqual(raw.steps[0].config, { x: 1 });
    assert.deepEqual(raw.steps[0].depends_on_steps, []);
    assert.deepEqual(raw.config, { y: 2 });
  });
});

describe(effectiveRetry.name, () => {
  const workflow = { max_retries: 3, retry_delay_seconds: 5 };

  it('inherits the workflow max_retries and delay', () => {
    assert.deepEqual(effectiveRetry(normalizeStep(step('a'), 0), workflow), {
      maxAttempts: 4,
      initialIntervalSeconds: 5,
      backoff: 2,
      maxIntervalSeconds: 300,
    });
  });

  it("takes the step's own settings over the workflow's", () => {
    const s = normalizeStep(step('a', { max_retries: 0, retry_delay_seconds: 1, retry_backoff: 1.5, max_retry_delay_seconds: 10 }), 0);
    assert.deepEqual(effectiveRetry(s, workflow), { maxAttempts: 1, initialIntervalSeconds: 1, backoff: 1.5, maxIntervalSeconds: 10 });
  });

  it('makes one attempt when can_retry is false', () => {
    const s = normalizeStep(step('a', { can_retry: false, max_retries: 10 }), 0);
    assert.equal(effectiveRetry(s, workflow).maxAttempts, 1);
  });

  it('never lets the maximum interval fall below the initial one', () => {
    const s = normalizeStep(step('a', { retry_delay_seconds: 600, max_retry_delay_seconds: 60 }), 0);
    assert.equal(effectiveRetry(s, workflow).maxIntervalSeconds, 600);
  });
});

describe('item-wise steps after a data_fetch', () => {
  const fetch = { key: 'fetch', name: 'Fetch', step_type: 'data_fetch', config: { source_type: 'http', url: 'http://127.0.0.1:1/x' } };
  const def = (steps: StepInput[]) => normalizeDefinition({ code: 'chain', name: 'Chain', steps });
  const configOf = (d: ReturnType<typeof def>, key: string) => d.steps.find((s) => s.key === key)!.config;

  it("read the fetch's items (and so does the next item-wise step), instead of its wrapper object", () => {
    const sut = def([
      fetch,
      { key: 'map', name: 'Map', step_type: 'data_transform', config: { transform_type: 'map', field_mappings: { sku: 'product_code' } } },
      { key: 'check', name: 'Check', step_type: 'data_validate', config: { validation_rules: [{ type: 'required', field: 'sku' }] } },
    ]);
    assert.equal(configOf(sut, 'map').source_field, 'items');
    assert.equal(configOf(sut, 'check').source_field, 'items');
  });

  it('leave alone a step that names its list, reads another input, or is a JSONata transform', () => {
    const sut = def([
      fetch,
      { key: 'own', name: 'Own', step_type: 'data_validate', config: { source_field: 'products', validation_rules: [] } },
      { key: 'ref', name: 'Ref', step_type: 'data_transform', config: { transform_type: 'map', input: '$steps.fetch.items', field_mappings: {} }, depends_on_steps: ['fetch'] },
      { key: 'expr', name: 'Expr', step_type: 'data_transform', config: { transform_type: 'jsonata', expression: 'items' }, depends_on_steps: ['fetch'] },
      { key: 'moved', name: 'Moved', step_type: 'data_transform', config: { transform_type: 'map', source_field: 'items', output_field: 'products', field_mappings: {} }, depends_on_steps: ['fetch'] },
      { key: 'after_moved', name: 'After', step_type: 'data_validate', config: { validation_rules: [] }, depends_on_steps: ['moved'] },
    ]);
    assert.equal(configOf(sut, 'own').source_field, 'products');
    assert.equal(configOf(sut, 'ref').source_field, undefined);
    assert.equal(configOf(sut, 'expr').source_field, undefined);
    assert.equal(configOf(sut, 'after_moved').source_field, undefined, 'the list moved to output_field: not guessed');
  });

  it('leave alone a step fed by two steps, or by something other than a fetch', () => {
    const sut = def([
      fetch,
      { key: 'other', name: 'Other', step_type: 'api_call', config: { url: 'http://127.0.0.1:1/y' }, order: 1 },
      { key: 'both', name: 'Both', step_type: 'data_validate', config: { validation_rules: [] }, depends_on_steps: ['fetch', 'other'] },
      { key: 'api', name: 'Api', step_type: 'data_validate', config: { validation_rules: [] }, depends_on_steps: ['other'] },
    ]);
    assert.equal(configOf(sut, 'both').source_field, undefined);
    assert.equal(configOf(sut, 'api').source_field, undefined);
  });
});
