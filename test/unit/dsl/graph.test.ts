import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  dependencyEdges,
  effectiveDependencies,
  findCycle,
  inputSources,
  mainSteps,
  upstreamOf,
} from '@engine/dsl/graph';
import { definition, step } from './fixtures';

/** a → (b, c) → d, with explicit dependencies. */
const diamond = definition([
  step('a'),
  step('b', { depends_on_steps: ['a'] }),
  step('c', { depends_on_steps: ['a'] }),
  step('d', { depends_on_steps: ['b', 'c'] }),
]);

/** a(1), b(2, g), c(3, g), d(4): the group members do not wait for each other. */
const grouped = definition([
  step('a', { order: 1 }),
  step('b', { order: 2, parallel_group: 'g' }),
  step('c', { order: 3, parallel_group: 'g' }),
  step('d', { order: 4 }),
]);

describe(effectiveDependencies.name, () => {
  it('orders steps without depends_on_steps by order (implicit ordering)', () => {
    const sut = effectiveDependencies(definition([step('a'), step('b'), step('c')]));
    assert.deepEqual(sut, { a: [], b: ['a'], c: ['a', 'b'] });
  });

  it('runs two steps of equal order side by side when both are marked can_run_parallel', () => {
    const marked = { order: 2, can_run_parallel: true };
    const sut = effectiveDependencies(definition([step('a', { order: 1 }), step('b', marked), step('c', marked), step('d', { order: 3 })]));
    assert.deepEqual(sut, { a: [], b: ['a'], c: ['a'], d: ['a', 'b', 'c'] });
  });

  it('makes the later key of two equal-order steps wait for the other unless both are marked', () => {
    const sut = effectiveDependencies(
      definition([step('a', { order: 1 }), step('c', { order: 2 }), step('b', { order: 2, can_run_parallel: true }), step('d', { order: 2, can_run_parallel: true })]),
    );
    // b and d are both marked: side by side; c (unmarked) waits for b, and d waits for c.
    assert.deepEqual(sut, { a: [], c: ['a', 'b'], b: ['a'], d: ['a', 'c'] });
  });

  it('lets equal-order members of one parallel_group run side by side whether marked or not', () => {
    const sut = effectiveDependencies(definition([step('x', { order: 1, parallel_group: 'g' }), step('y', { order: 1, parallel_group: 'g' }), step('z', { order: 1, parallel_group: 'h' })]));
    assert.deepEqual(sut, { x: [], y: [], z: ['x', 'y'] });
  });

  it('adds no same-order edge to or from a step with explicit depends_on_steps', () => {
    const sut = effectiveDependencies(definition([step('a', { order: 1, depends_on_steps: ['b'] }), step('b', { order: 1 }), step('c', { order: 1 })]));
    assert.deepEqual(sut, { a: ['b'], b: [], c: ['b'] });
    assert.equal(findCycle(sut), null);
  });

  it('keeps the earlier rule (equal orders never wait) with sameOrder: parallel', () => {
    const sut = effectiveDependencies(definition([step('a', { order: 1 }), step('b', { order: 2 }), step('c', { order: 2 }), step('d', { order: 3 })]), { sameOrder: 'parallel' });
    assert.deepEqual(sut, { a: [], b: ['a'], c: ['a'], d: ['a', 'b', 'c'] });
  });

  it('excludes members of the same parallel group', () => {
    assert.deepEqual(effectiveDependencies(grouped), { a: [], b: ['a'], c: ['a'], d: ['a', 'b', 'c'] });
  });

  it('uses explicit depends_on_steps as given (diamond)', () => {
    assert.deepEqual(effectiveDependencies(diamond), { a: [], b: ['a'], c: ['a'], d: ['b', 'c'] });
  });

  it('leaves compensation and on-failure steps out of the DAG', () => {
    const sut = effectiveDependencies(
      definition([step('a'), step('undo_a', { role: 'compensation', compensates: 'a' }), step('alert', { role: 'on_failure' }), step('b')]),
    );
    assert.deepEqual(sut, { a: [], b: ['a'] });
  });

  it('ignores a second step with the same key', () => {
    const sut = effectiveDependencies(definition([step('a'), step('a', { depends_on_steps: ['x'] }), step('b')]));
    assert.deepEqual(sut, { a: [], b: ['a'] });
  });
});

describe(inputSources.name, () => {
  it('feeds the first step the run input and later steps the previous layer only', () => {
    const sut = inputSources(definition([step('a'), step('b', { order: 2 }), step('c', { order: 2 }), step('d', { order: 3 })]));
    assert.deepEqual(sut, { a: [], b: ['a'], c: ['a'], d: ['b', 'c'] });
  });

  it('feeds a step that waits for an equal-order sibling the previous layer, not the sibling', () => {
    const sut = inputSources(definition([step('a'), step('b', { order: 2 }), step('c', { order: 2 }), step('d', { order: 3 })]));
    assert.deepEqual(sut, { a: [], b: ['a'], c: ['a'], d: ['b', 'c'] });
    assert.deepEqual(inputSources(definition([step('x', { order: 1 }), step('y', { order: 1 })])), { x: [], y: [] });
  });

  it('feeds explicit dependencies as listed (diamond join)', () => {
    assert.deepEqual(inputSources(diamond).d, ['b', 'c']);
  });

  it('feeds a step after a parallel group from the latest layer', () => {
    assert.deepEqual(inputSources(grouped), { a: [], b: ['a'], c: ['a'], d: ['c'] });
  });

  it('feeds a compensation step the output of the step it undoes, an on-failure step the run input', () => {
    const sut = inputSources(definition([step('a'), step('undo_a', { role: 'compensation', compensates: 'a' }), step('alert', { role: 'on_failure' })]));
    assert.deepEqual(sut, { a: [], undo_a: ['a'], alert: [] });
  });
});

describe(upstreamOf.name, () => {
  it('is transitive', () => {
    assert.deepEqual(upstreamOf(diamond, 'd'), new Set(['a', 'b', 'c']));
    assert.deepEqual(upstreamOf(diamond, 'b'), new Set(['a']));
    assert.deepEqual(upstreamOf(diamond, 'a'), new Set());
  });

  it('does not count siblings or group members as upstream', () => {
    assert.equal(upstreamOf(diamond, 'c').has('b'), false);
    assert.equal(upstreamOf(grouped, 'c').has('b'), false);
  });

  it('gives a compensation step its target and the target’s upstream, an on-failure step every main step', () => {
    const def = definition([
      step('a'),
      step('b'),
      step('undo_b', { role: 'compensation', compensates: 'b' }),
      step('alert', { role: 'on_failure' }),
    ]);
    assert.deepEqual(upstreamOf(def, 'undo_b'), new Set(['b', 'a']));
    assert.deepEqual(upstreamOf(def, 'alert'), new Set(['a', 'b']));
  });

  it('is empty for an unknown key', () => {
    assert.deepEqual(upstreamOf(diamond, 'nope'), new Set());
  });
});

describe(findCycle.name, () => {
  it('returns null for a DAG', () => {
    assert.equal(findCycle(effectiveDependencies(diamond)), null);
  });

  it('returns the cycle as a closed path of keys', () => {
    assert.deepEqual(findCycle({ a: ['c'], b: ['a'], c: ['b'] }), ['a', 'c', 'b', 'a']);
  });

  it('finds a self-dependency', () => {
    assert.deepEqual(findCycle({ a: ['a'] }), ['a', 'a']);
  });

  it('finds a cycle made of an explicit and an implicit dependency', () => {
    const def = definition([step('a', { depends_on_steps: ['b'] }), step('b')]);
    assert.deepEqual(findCycle(effectiveDependencies(def)), ['a', 'b', 'a']);
  });

  it('ignores dependencies on unknown keys', () => {
    assert.equal(findCycle({ a: ['ghost'] }), null);
  });
});

describe(mainSteps.name, () => {
  it('keeps main steps only, first of each key', () => {
    const def = definition([step('a'), step('x', { role: 'on_failure' }), step('a', { name: 'again' })]);
    assert.deepEqual(
      mainSteps(def).map((s) => s.name),
      ['Step a'],
    );
  });
});

describe(dependencyEdges.name, () => {
  it('draws implicit order dependencies without the arrows they imply', () => {
    assert.deepEqual(dependencyEdges(grouped), [['a', 'b'], ['a', 'c'], ['b', 'd'], ['c', 'd']]);
    const chain = definition([step('a', { order: 1 }), step('b', { order: 2 }), step('c', { order: 3 })]);
    assert.deepEqual(dependencyEdges(chain), [['a', 'b'], ['b', 'c']]);
  });

  it('draws the edge between unmarked steps of equal order, and none between marked ones', () => {
    const unmarked = definition([step('a', { order: 1 }), step('b', { order: 2 }), step('c', { order: 2 })]);
    assert.deepEqual(dependencyEdges(unmarked), [['a', 'b'], ['b', 'c']]);
    const marked = definition([step('a', { order: 1 }), step('b', { order: 2, can_run_parallel: true }), step('c', { order: 2, can_run_parallel: true })]);
    assert.deepEqual(dependencyEdges(marked), [['a', 'b'], ['a', 'c']]);
  });

  it('keeps explicit edges that nothing else implies, and only main steps', () => {
    const def = definition([
      step('a'),
      step('b', { depends_on_steps: ['a'] }),
      step('c', { depends_on_steps: ['a', 'b'] }),
      step('undo_b', { role: 'compensation', compensates: 'b' }),
    ]);
    assert.deepEqual(dependencyEdges(def), [['a', 'b'], ['b', 'c']]);
    assert.deepEqual(dependencyEdges(diamond), [['a', 'b'], ['a', 'c'], ['b', 'd'], ['c', 'd']]);
  });
});
