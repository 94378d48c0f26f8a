import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConditionInvalidError, deepEqual, evaluateCondition, validateCondition } from '@engine/dsl/conditions';
import { PayloadRefEncountered } from '@engine/dsl/references';
import type { Condition, ConditionOperator } from '@engine/dsl/types';
import { runContext } from './fixtures';

const ctx = runContext({
  input: { total: 150, code: '042', sku: 'A1', created: '2024-03-01T10:00:00Z', tags: ['new', 'sale'], dims: { w: 1, h: 2 }, empty: null },
  steps: { fetch: { count: 3, status: 'ok' }, big: { $payload: { id: 'p', size: 1, sha256: 'x' } } },
  config: { enable_ai_enrichment: true, threshold: '100', region: 'eu' },
  execution: { trigger: 'schedule' },
});

const check = (path: string, operator: ConditionOperator, value?: unknown): boolean =>
  evaluateCondition({ type: 'value_check', path, operator, ...(value === undefined ? {} : { value }) }, ctx);

describe(evaluateCondition.name, () => {
  it("evaluates the specification's example against workflow.config", () => {
    const cond: Condition = { type: 'value_check', path: 'workflow.config.enable_ai_enrichment', value: true, operator: 'equals' };
    assert.equal(evaluateCondition(cond, ctx), true);
    assert.equal(evaluateCondition(cond, runContext({ config: { enable_ai_enrichment: false } })), false);
    assert.equal(evaluateCondition(cond, runContext()), false);
  });

  it('reads every root, with or without the leading $', () => {
    assert.equal(check('config.region', 'equals', 'eu'), true);
    assert.equal(check('$config.region', 'equals', 'eu'), true);
    assert.equal(check('$workflow.config.region', 'equals', 'eu'), true);
    assert.equal(check('input.total', 'equals', 150), true);
    assert.equal(check('$input.tags[1]', 'equals', 'sale'), true);
    assert.equal(check('steps.fetch.count', 'equals', 3), true);
    assert.equal(check('execution.trigger', 'equals', 'schedule'), true);
  });

  it('reads the current item through $ paths', () => {
    const cond: Condition = { type: 'value_check', path: '$.price', operator: 'gt', value: 10 };
    assert.equal(evaluateCondition(cond, { ...ctx, item: { price: 11 } }), true);
    assert.equal(evaluateCondition({ ...cond, path: 'price' }, { ...ctx, item: { price: 11 } }), true);
  });

  it('equals and not_equals compare deeply and strictly', () => {
    assert.equal(check('input.dims', 'equals', { h: 2, w: 1 }), true);
    assert.equal(check('input.dims', 'equals', { w: 1 }), false);
    assert.equal(check('input.tags', 'equals', ['new', 'sale']), true);
    assert.equal(check('input.tags', 'equals', ['sale', 'new']), false);
    assert.equal(check('input.total', 'equals', '150'), false);
    assert.equal(check('input.total', 'not_equals', 151), true);
    assert.equal(check('input.dims', 'not_equals', { w: 1, h: 2 }), false);
    assert.equal(check('input.missing', 'not_equals', 'x'), true);
  });

  it('orders numbers, numeric strings as numbers, other strings lexicographically', () => {
    assert.equal(check('input.total', 'gt', 100), true);
    assert.equal(check('input.total', 'gte', 150), true);
    assert.equal(check('input.total', 'lt', 150), false);
    assert.equal(check('input.total', 'lte', 150), true);
    assert.equal(check('input.total', 'gt', '99'), true, 'numeric string value');
    assert.equal(check('config.threshold', 'lt', 99), false, 'numeric string actual: 100 > 99');
    assert.equal(check('input.code', 'gt', 41), true, "'042' reads as 42");
    assert.equal(check('input.created', 'gt', '2024-01-31T00:00:00Z'), true, 'ISO dates');
    assert.equal(check('input.created', 'lt', '2024-02-01'), false);
    assert.equal(check('input.sku', 'lt', 'B'), true);
  });

  it('makes ordering operators false for values that have no order', () => {
    assert.equal(check('input.missing', 'gt', 0), false);
    assert.equal(check('input.missing', 'lte', 0), false);
    assert.equal(check('input.empty', 'lt', 1), false);
    assert.equal(check('input.sku', 'gt', 5), false);
    assert.equal(check('input.dims', 'gte', 0), false);
  });

  it('in: element of a list by deep equality, or substring of a string', () => {
    assert.equal(check('config.region', 'in', ['us', 'eu']), true);
    assert.equal(check('config.region', 'in', ['us']), false);
    assert.equal(check('input.dims', 'in', [{ w: 1, h: 2 }]), true);
    assert.equal(check('input.total', 'in', ['150']), false);
    assert.equal(check('config.region', 'in', 'eu-west'), true);
    assert.equal(check('config.region', 'in', 'us-east'), false);
    assert.equal(check('input.total', 'in', '150'), false);
    assert.equal(check('input.missing', 'in', []), false);
  });

  it('exists: present unless undefined or null; value false inverts it', () => {
    assert.equal(check('input.total', 'exists'), true);
    assert.equal(check('input.total', 'exists', true), true);
    assert.equal(check('input.missing', 'exists'), false);
    assert.equal(check('input.empty', 'exists'), false);
    assert.equal(check('input.missing', 'exists', false), true);
    assert.equal(check('input.total', 'exists', false), false);
    assert.equal(check('steps.big', 'exists'), true);
  });

  it('combines with all, any and not', () => {
    const yes: Condition = { type: 'value_check', path: 'input.total', operator: 'gt', value: 1 };
    const no: Condition = { type: 'value_check', path: 'input.total', operator: 'lt', value: 1 };
    assert.equal(evaluateCondition({ type: 'all', conditions: [yes, yes] }, ctx), true);
    assert.equal(evaluateCondition({ type: 'all', conditions: [yes, no] }, ctx), false);
    assert.equal(evaluateCondition({ type: 'any', conditions: [no, yes] }, ctx), true);
    assert.equal(evaluateCondition({ type: 'any', conditions: [no, no] }, ctx), false);
    assert.equal(evaluateCondition({ type: 'not', condition: no }, ctx), true);
    assert.equal(evaluateCondition({ type: 'all', conditions: [] }, ctx), true);
    assert.equal(evaluateCondition({ type: 'any', conditions: [] }, ctx), false);
    const nested: Condition = { type: 'all', conditions: [{ type: 'any', conditions: [no, { type: 'not', condition: no }] }, yes] };
    assert.equal(evaluateCondition(nested, ctx), true);
  });

  it('asks for the payload when comparing a stored payload or reading into it', () => {
    assert.throws(() => check('steps.big', 'equals', 1), PayloadRefEncountered);
    assert.throws(() => check('steps.big.items', 'exists'), PayloadRefEncountered);
  });

  it('resolves prototype-walking paths to nothing', () => {
    assert.equal(check('input.constructor', 'exists'), false);
    assert.equal(check('input.__proto__', 'exists'), false);
    assert.equal(check('workflow.config.constructor.name', 'equals', 'Object'), false);
  });

  it('throws ConditionInvalidError for what validation rejects', () => {
    const bad = { type: 'value_check', path: 'input.total', operator: 'like', value: 1 } as unknown as Condition;
    assert.throws(() => evaluateCondition(bad, ctx), (err: unknown) => err instanceof ConditionInvalidError && err.code === 'BAD_CONDITION');
    assert.throws(() => evaluateCondition({ type: 'maybe' } as unknown as Condition, ctx), ConditionInvalidError);
    assert.throws(() => check('a..b', 'exists'), ConditionInvalidError);
  });
});

describe(validateCondition.name, () => {
  it('accepts well-formed conditions', () => {
    const cond = {
      type: 'all',
      conditions: [
        { type: 'value_check', path: 'workflow.config.enable_ai_enrichment', value: true, operator: 'equals' },
        { type: 'not', condition: { type: 'value_check', path: '$steps.a.count', operator: 'exists' } },
        { type: 'value_check', path: 'input.region', operator: 'in', value: ['eu', 'us'] },
        { type: 'value_check', path: 'input.when', operator: 'gte', value: '2024-01-01' },
      ],
    };
    assert.deepEqual(validateCondition(cond, 'condition'), []);
  });

  it('names the field of each problem', () => {
    const cond = {
      type: 'any',
      conditions: [
        { type: 'value_check', path: 'input.x', operator: 'like', value: 1 },
        { type: 'value_check', operator: 'equals', value: 1 },
        { type: 'value_check', path: 'a..b', operator: 'exists' },
        { type: 'when' },
        { type: 'value_check', path: 'input.x', operator: 'in', value: 5 },
        { type: 'value_check', path: 'input.x', operator: 'exists', value: 'yes' },
        { type: 'value_check', path: 'input.x', operator: 'gt', value: { n: 1 } },
        { type: 'value_check', path: 'input.__proto__.x', operator: 'exists' },
      ],
    };
    assert.deepEqual(
      validateCondition(cond, 'condition').map((i) => i.field),
      [
        'condition.conditions[0].operator',
        'condition.conditions[1].path',
        'condition.conditions[2].path',
        'condition.conditions[3].type',
        'condition.conditions[4].value',
        'condition.conditions[5].value',
        'condition.conditions[6].value',
        'condition.conditions[7].path',
      ],
    );
  });

  it('rejects non-objects, empty combinators and a missing inner condition', () => {
    assert.equal(validateCondition('x', 'condition')[0].field, 'condition');
    assert.equal(validateCondition({ type: 'all', conditions: [] }, 'c')[0].field, 'c.conditions');
    assert.equal(validateCondition({ type: 'not' }, 'c')[0].field, 'c.condition');
  });

  it('stops at deep nesting and cycles without throwing', () => {
    let deep: unknown = { type: 'value_check', path: 'input.x', operator: 'exists' };
    for (let i = 0; i < 10_000; i++) deep = { type: 'not', condition: deep };
    assert.match(validateCondition(deep, 'condition')[0].message, /deeper than/);
    const cyclic: { type: string; condition?: unknown } = { type: 'not' };
    cyclic.condition = cyclic;
    assert.match(validateCondition(cyclic, 'condition')[0].message, /deeper than/);
  });
});

describe(deepEqual.name, () => {
  it('compares own keys of objects and arrays', () => {
    assert.equal(deepEqual({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] }), true);
    assert.equal(deepEqual([1], { 0: 1 }), false);
    assert.equal(deepEqual({ constructor: 1 }, { constructor: 2 }), false);
    assert.equal(deepEqual(null, {}), false);
  });
});
