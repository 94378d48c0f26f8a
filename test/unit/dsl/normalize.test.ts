import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { effectiveRetry, normalizeDefinition, normalizeStep } from '@engine/dsl/normalize';
import { input, step } from './fixtures';

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
