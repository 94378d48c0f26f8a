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

  it('lets steps of equal order run side by side', () => {
    const sut = effectiveDependencies(definition([step('a', { order: 1 }), step('b', { order: 2 }), step('c', { order: 2 }), step('d', { order: 3 })]));
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
