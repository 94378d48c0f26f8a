import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compensationsByTarget, failureHandlers, isSatisfied, readySteps } from '@engine/dsl/scheduler';
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

  it('starts two steps of equal order together only when both are marked can_run_parallel', () => {
    const unmarked = definition([step('a', { order: 1 }), step('b', { order: 1 })]);
    assert.deepEqual(readySteps(unmarked, {}), ['a']);
    assert.deepEqual(readySteps(unmarked, { a: 'completed' }), ['b']);
    const marked = definition([step('a', { order: 1, can_run_parallel: true }), step('b', { order: 1, can_run_parallel: true })]);
    assert.deepEqual(readySteps(marked, {}), ['a', 'b']);
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
    assert.deepEqual(failureHandlers(def, ['a', 'c', 'b']), {
      compensations: [
        { step: 'c', compensation: 'undo_c' },
        { step: 'a', compensation: 'undo_a' },
      ],
      onFailure: ['email', 'page'],
    });
    assert.deepEqual(failureHandlers(def, []), { compensations: [], onFailure: ['email', 'page'] });
  });

  it('breaks ties the same way every time: on-failure steps of equal order by key, a double compensation by definition order', () => {
    const def = definition([
      step('a'),
      step('undo_a_first', { role: 'compensation', compensates: 'a' }),
      step('undo_a_second', { role: 'compensation', compensates: 'a' }),
      step('zeta', { role: 'on_failure', order: 5 }),
      step('alpha', { role: 'on_failure', order: 5 }),
    ]);
    assert.deepEqual(failureHandlers(def, ['a']), { compensations: [{ step: 'a', compensation: 'undo_a_first' }], onFailure: ['alpha', 'zeta'] });
    assert.deepEqual([...compensationsByTarget(def)], [['a', 'undo_a_first']]);
  });

  it('compensates each step once even when it is listed twice', () => {
    const def = definition([step('a'), step('b'), step('undo_a', { role: 'compensation', compensates: 'a' })]);
    assert.deepEqual(failureHandlers(def, ['a', 'b', 'a']).compensations, [{ step: 'a', compensation: 'undo_a' }]);
  });
});
