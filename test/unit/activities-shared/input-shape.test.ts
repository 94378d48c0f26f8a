/**
 * Run-time shape mismatches: every item-wise executor fails a step whose input
 * is not the shape its config reads with one non-retryable STEP_INPUT_INVALID
 * message (what it expected, what it got, where), never completing with nulls.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readsItemFields, resolveReferences } from '@engine/dsl/references';
import type { RunContext } from '@engine/dsl/types';
import type { ExecutorDeps, StepExecutionContext } from '@engine/activities/runtime/executor';
import { errorCode } from '@engine/activities/shared/errors';
import { describeShape, inputShapeError, requireObjectItems } from '@engine/activities/shared/input-shape';
import { transformData } from '@engine/activities/data_transform';
import { validateData } from '@engine/activities/data_validate';
import { itemsOf } from '@engine/activities/database_query/executor';
import { createApiCallExecutor } from '@engine/activities/api_call';
import { createAiProcessExecutor } from '@engine/activities/ai_process';
import { Logger } from '@src/logging/logger';

/** Asserts a STEP_INPUT_INVALID, non-retryable, whose message matches `message`. */
async function rejectsShape(p: Promise<unknown> | (() => unknown), message: RegExp): Promise<void> {
  await assert.rejects(async () => (typeof p === 'function' ? p() : p), (e: unknown) => {
    assert.equal(errorCode(e), 'STEP_INPUT_INVALID', String(e));
    assert.equal((e as { nonRetryable?: boolean }).nonRetryable, true);
    assert.match((e as Error).message, message);
    return true;
  });
}

function context(input: unknown): StepExecutionContext {
  const run: RunContext = { input, steps: {}, config: {}, execution: { id: 'exec-1' } };
  return {
    execution_id: 'exec-1',
    workflow_code: 'wf',
    step_key: 'step',
    attempt: 1,
    max_attempts: 1,
    idempotency_key: 'exec-1:step',
    input,
    run,
    resolve: (value, item) => resolveReferences(value, item === undefined ? run : { ...run, item }),
    heartbeat: () => undefined,
    signal: new AbortController().signal,
    logger: new Logger({ level: 'error', format: 'json', sink: () => undefined }),
    compensates: null,
    resolveSecrets: async (value) => value,
  } as StepExecutionContext;
}

describe(describeShape.name, () => {
  it('says what a value is in a few words', () => {
    assert.equal(describeShape(null), 'null');
    assert.equal(describeShape(undefined), 'nothing (undefined)');
    assert.equal(describeShape('x'), 'a string');
    assert.equal(describeShape(42), 'a number');
    assert.equal(describeShape([]), 'an empty list');
    assert.equal(describeShape([1, 2, 3]), 'a list of 3 numbers');
    assert.equal(describeShape([1, 'a']), 'a list of 2 values (number, string)');
    assert.equal(describeShape({ a: 1, b: 2 }), 'an object with keys [a, b]');
  });
});

describe(inputShapeError.name, () => {
  it('names the path, what was expected, what was found and the fix', () => {
    const err = inputShapeError({ expected: 'a list of items or {items: [...]}', got: { a: 1, b: 2 }, hint: 'set config.items_path' });
    assert.equal(err.message, 'the step input is an object with keys [a, b]; expected a list of items or {items: [...]}: set config.items_path');
    assert.equal(err.type, 'STEP_INPUT_INVALID');
    assert.equal(err.nonRetryable, true);
    assert.match(inputShapeError({ expected: 'a list', got: undefined, path: 'products' }).message, /^the step input at "products" is nothing/);
  });
});

describe(requireObjectItems.name, () => {
  it('passes objects and names the first item that is not one', async () => {
    requireObjectItems([{ a: 1 }, {}], 'the rule reads fields');
    await rejectsShape(() => requireObjectItems([{ a: 1 }, 7], 'the rule reads fields', 'products'), /^the step input at "products\[1\]" is a number; expected an object, since the rule reads fields/);
  });
});

describe(readsItemFields.name, () => {
  it('tells item field reads from the item itself and from run values', () => {
    assert.equal(readsItemFields({ url: 'https://x.test/p/$sku' }), true);
    assert.equal(readsItemFields({ title: '${title} (new)' }), true);
    assert.equal(readsItemFields(['$.a.b']), true);
    assert.equal(readsItemFields({ body: '$' }), false);
    assert.equal(readsItemFields({ supplier: '$input.supplier_id', n: '$steps.a.count', price: 'US$5' }), false);
  });
});

describe('item-wise executors on a wrong shape', () => {
  it('data_transform: a list of scalars for a map, a scalar input, a missing source_field list', async () => {
    const map = { transform_type: 'map', mapping_rules: { title: 'name' } };
    await rejectsShape(transformData([1, 2], map), /^the step input at "\[0\]" is a number; expected an object, since transform_type map reads fields of each item/);
    await rejectsShape(transformData({ products: ['a'] }, { ...map, source_field: 'products' }), /at "products\[0\]" is a string/);
    await rejectsShape(transformData(42, map), /^the step input is a number; expected a list of items, or an object/);
    await rejectsShape(transformData({ items: [] }, { ...map, source_field: 'products' }), /at "products" is nothing .*the input's fields are items/);
    // JSONata takes any shape.
    assert.deepEqual((await transformData([1, 2], { transform_type: 'jsonata', expression: '$sum($)' })).output, 3);
  });

  it('data_validate: a list of strings when a rule reads a field; no field read, no requirement', async () => {
    await rejectsShape(validateData(['A-1'], { validation_rules: [{ type: 'required', field: 'sku' }] }), /expected an object, since rule required reads field "sku"/);
    const custom = await validateData([1, 5], { validation_rules: [{ type: 'custom', expression: '$ > 2', message: 'too small' }] });
    assert.equal(custom.counts.valid_count, 1);
  });

  it('database_query: records that are not objects when record_mapping reads their fields, and a missing items_field list', async () => {
    await rejectsShape(() => itemsOf([1, 2], undefined, 'record_mapping reads fields of each item'), /at "\[0\]" is a number; expected an object, since record_mapping reads fields/);
    await rejectsShape(() => itemsOf({ rows: [] }, 'products'), /at "products" is nothing .*expected a list of records \(items_field\): the input's fields are rows/);
    await rejectsShape(() => itemsOf('text', undefined), /^the step input is a string; expected a list of records or one record/);
    assert.deepEqual(itemsOf([1, 2], undefined), [1, 2], 'a mapping that reads only the item itself takes scalars');
  });

  it('api_call per item: an object instead of a list, and items that are not objects when the URL reads their fields', async () => {
    const sut = createApiCallExecutor({} as ExecutorDeps, { client: { request: async () => ({ status: 200, headers: {}, body: null, url: '', attempts: 1 }) } as never });
    await rejectsShape(sut.execute({ url: 'https://a.example/$sku' }, context({ not: 'a list' })), /^the step input is an object with keys \[not\]; expected a list of items/);
    await rejectsShape(sut.execute({ url: 'https://a.example/$sku' }, context(['A', 'B'])), /at "\[0\]" is a string; expected an object, since url \/ headers \/ query \/ body read fields/);
  });

  it('ai_process: a wrapper object without source_field', async () => {
    const sut = createAiProcessExecutor({} as ExecutorDeps);
    await rejectsShape(sut.execute({ task_type: 'enrich_product' }, context({ items: [{ sku: 'A' }], count: 1 })), /^the step input is an object with keys \[items, count\]; expected a list of items: set config.source_field/);
  });
});
