import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  activeSteps,
  failedRequiredSteps,
  failureHandlers,
  isRunFinished,
  isSatisfied,
  readySteps,
  runOutcome,
} from '@engine/dsl/scheduler';
import { definition, step } from './fixtures';

const diamond = definition([
  step('a'),
  step('b', { depends_on_steps: ['a'] }),
  step('c', { depends_on_steps: ['a'], is_optional: true }),
  step('d', { depends_on_steps: ['b', 'c'] }),
]);

describe(readySteps.name, () => {
  it('starts with the steps that wait for nothing; absent keys are pending', () => {
    assert.deepEqual(readySteps(diamond, {}), ['a']);
  });

  it('releases both branches of a diamond, and the join only when both are done', () => {
    assert.deepEqual(readySteps(diamond, { a: 'completed' }), ['b', 'c']);
    assert.deepEqual(readySteps(diamond, { a: 'completed', b: 'completed', c: 'running' }), []);
    assert.deepEqual(readySteps(diamond, { a: 'completed', b: 'completed', c: 'completed' }), ['d']);
  });

  it('treats skipped and failed-optional dependencies as satisfied, failed-required ones not', () => {
    assert.deepEqual(readySteps(diamond, { a: 'completed', b: 'skipped', c: 'failed' }), ['d']);
    assert.deepEqual(readySteps(diamond, { a: 'completed', b: 'failed', c: 'completed' }), []);
  });

  it('never returns a step that is not pending', () => {
    assert.deepEqual(readySteps(diamond, { a: 'completed', b: 'running', c: 'waiting' }), []);
  });

  it('sorts by order then key', () => {
    const after = { depends_on_steps: ['m'] };
    const def = definition([step('m', { order: 0 }), step('b', { order: 2, ...after }), step('z', { order: 1, ...after }), step('a', { order: 2, ...after })]);
    assert.deepEqual(readySteps(def, { m: 'completed' }), ['z', 'a', 'b']);
  });

  it('runs the members of a parallel group together', () => {
    const def = definition([
      step('fetch', { order: 1 }),
      step('amazon', { order: 2, parallel_group: 'marketplace_updates', can_run_parallel: true }),
      step('ebay', { order: 3, parallel_group: 'marketplace_updates', can_run_parallel: true }),
      step('report', { order: 4 }),
    ]);
    assert.deepEqual(readySteps(def, { fetch: 'completed' }), ['amazon', 'ebay']);
    assert.deepEqual(readySteps(def, { fetch: 'completed', amazon: 'completed', ebay: 'running' }), []);
    assert.deepEqual(readySteps(def, { fetch: 'completed', amazon: 'completed', ebay: 'completed' }), ['report']);
  });

  it('never schedules compensation or on-failure steps', () => {
    const def = definition([step('a'), step('undo_a', { role: 'compensation', compensates: 'a' }), step('alert', { role: 'on_failure' })]);
    assert.deepEqual(readySteps(def, {}), ['a']);
    assert.deepEqual(readySteps(def, { a: 'completed' }), []);
  });
});

describe(isSatisfied.name, () => {
  it('accepts completed, skipped and optional failures', () => {
    assert.equal(isSatisfied({ is_optional: false }, 'completed'), true);
    assert.equal(isSatisfied({ is_optional: false }, 'skipped'), true);
    assert.equal(isSatisfied({ is_optional: true }, 'failed'), true);
    assert.equal(isSatisfied({ is_optional: false }, 'failed'), false);
    assert.equal(isSatisfied({ is_optional: true }, 'cancelled'), false);
    assert.equal(isSatisfied({ is_optional: false }, 'waiting'), false);
  });
});

describe(runOutcome.name, () => {
  it('is running while steps are active or ready', () => {
    assert.equal(runOutcome(diamond, {}), 'running');
    assert.equal(runOutcome(diamond, { a: 'waiting' }), 'running');
    assert.equal(isRunFinished(diamond, { a: 'completed' }), false);
  });

  it('completes when every main step is settled', () => {
    const states = { a: 'completed', b: 'skipped', c: 'failed', d: 'completed' } as const;
    assert.equal(runOutcome(diamond, states), 'completed');
    assert.equal(isRunFinished(diamond, states), true);
  });

  it('fails on a required failure, once the running siblings have stopped', () => {
    assert.equal(runOutcome(diamond, { a: 'completed', b: 'failed', c: 'running' }), 'running');
    assert.equal(runOutcome(diamond, { a: 'completed', b: 'failed', c: 'cancelled' }), 'failed');
    assert.deepEqual(failedRequiredSteps(diamond, { a: 'completed', b: 'failed', c: 'failed' }), ['b']);
  });

  it('is cancelled when a step was cancelled without a failure', () => {
    assert.equal(runOutcome(diamond, { a: 'completed', b: 'cancelled', c: 'cancelled' }), 'cancelled');
  });

  it('fails when steps are left that can never start', () => {
    const def = definition([step('a', { depends_on_steps: ['ghost'] })]);
    assert.equal(runOutcome(def, {}), 'failed');
  });

  it('completes at once with no main steps', () => {
    assert.equal(runOutcome(definition([]), {}), 'completed');
  });
});

describe(activeSteps.name, () => {
  it('lists running and waiting main steps', () => {
    assert.deepEqual(activeSteps(diamond, { a: 'completed', b: 'running', c: 'waiting' }), ['b', 'c']);
  });
});

describe(failureHandlers.name, () => {
  it('compensates completed steps in reverse completion order, then runs on-failure steps by order', () => {
    const def = definition([
      step('a'),
      step('b'),
      step('c'),
      step('undo_a', { role: 'compensation', compensates: 'a' }),
      step('undo_c', { role: 'compensation', compensates: 'c' }),
      step('page', { role: 'on_failure', order: 20 }),
      step('email', { role: 'on_failure', order: 10 }),
    ]);
    assert.deepEqual(failureHandlers(def, ['a', 'c', 'b']), { compensations: ['undo_c', 'undo_a'], onFailure: ['email', 'page'] });
    assert.deepEqual(failureHandlers(def, []), { compensations: [], onFailure: ['email', 'page'] });
  });
});
