import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RunContext } from '@engine/dsl/types';
import type { StepExecutionContext } from '@engine/activities/runtime/executor';
import {
  checkValidateConfig,
  createDataValidateExecutor,
  DATA_VALIDATE_STEP_TYPE,
  dataValidateExecutorModule,
  hasType,
  resolveValidateConfig,
  thresholdFailure,
  validateData,
  validateDataValidateConfig,
  validateItems,
  type ValidationRule,
} from '@engine/activities/data_validate';

const run = (over: Partial<RunContext> = {}): RunContext => ({ input: {}, steps: {}, config: {}, execution: {}, ...over });
const fieldsOf = (issues: Array<{ field: string }>) => issues.map((i) => i.field);

async function rejectsWithCode(promise: Promise<unknown>, code: string): Promise<{ message: string; type: string; nonRetryable: boolean; details?: unknown[] }> {
  let caught: unknown;
  await assert.rejects(promise, (err: unknown) => {
    caught = err;
    return (err as { type?: string }).type === code;
  });
  return caught as { message: string; type: string; nonRetryable: boolean; details?: unknown[] };
}

/** The reasons of each invalid item, as `index: rule(field)` strings, for compact assertions. */
async function reasons(items: unknown[], rules: ValidationRule[], r?: RunContext): Promise<string[]> {
  const { invalid } = await validateItems(items, rules, { run: r });
  return invalid.flatMap((x) => x.errors.map((e) => `${x.index}: ${e.rule}(${e.field})`));
}

describe(validateDataValidateConfig.name, () => {
  it("accepts the specification's example config", () => {
    assert.deepEqual(
      validateDataValidateConfig({
        validation_rules: [
          { type: 'required', field: 'sku' },
          { type: 'min_value', field: 'price', min_value: 0.01 },
        ],
      }),
      [],
    );
  });

  it('accepts every rule type and option', () => {
    const config = {
      source_field: 'products',
      max_invalid_ratio: 0.1,
      max_invalid_count: 10,
      fail_on_invalid: false,
      include_invalid_items: false,
      validation_rules: [
        { type: 'required', field: 'sku', allow_empty: true, message: 'SKU missing' },
        { type: 'max_value', field: 'price', max_value: 10_000 },
        { type: 'min_value', field: 'released', min_value: '2000-01-01' },
        { type: 'type', field: 'price', expected: 'number' },
        { type: 'type', field: 'email', expected_type: 'email' },
        { type: 'min_length', field: 'title', min_length: 3 },
        { type: 'max_length', field: 'images', max_length: 10 },
        { type: 'pattern', field: 'sku', pattern: '^[A-Z0-9-]{3,32}$', flags: 'i' },
        { type: 'enum', field: 'condition', values: ['new', 'used'], case_insensitive: true },
        { type: 'in', field: 'qty_unit', values: [1, 'pcs'] },
        { type: 'unique', field: 'sku', case_insensitive: true },
        { type: 'unique', fields: ['supplier_id', 'supplier_sku'] },
        { type: 'custom', expression: 'price >= cost_price', message: 'price below cost' },
        { type: 'custom', field: 'price', expression: '$config.strict ? price > 1 : true' },
      ],
    };
    assert.deepEqual(validateDataValidateConfig(config), []);
  });

  it('accepts run references for values, and checks them once resolved', () => {
    const config = {
      max_invalid_ratio: '$config.max_invalid_ratio',
      validation_rules: [
        { type: 'min_value', field: 'price', min_value: '$config.min_price' },
        { type: 'pattern', field: 'sku', pattern: '$config.sku_pattern' },
        { type: 'enum', field: 'condition', values: '$config.conditions' },
      ],
    };
    assert.deepEqual(validateDataValidateConfig(config), []);
    const resolved = resolveValidateConfig(config, run({ config: { max_invalid_ratio: 2, min_price: 'cheap', sku_pattern: '(a+)+', conditions: [] } }));
    assert.deepEqual(fieldsOf(checkValidateConfig(resolved, 'runtime')), [
      'max_invalid_ratio',
      'validation_rules[1].pattern',
      'validation_rules[2].values',
    ]);
    assert.equal((resolved.validation_rules as Array<{ min_value: unknown }>)[0].min_value, 'cheap', 'a string bound is allowed (compared as text)');
  });

  it('names the field of every problem', () => {
    const rule = (r: Record<string, unknown>) => ({ validation_rules: [r] });
    const cases: Array<[Record<string, unknown>, string[]]> = [
      [{}, ['validation_rules']],
      [{ validation_rules: [] }, ['validation_rules']],
      [{ validation_rules: 'required' }, ['validation_rules']],
      [{ validation_rules: ['sku'] }, ['validation_rules[0]']],
      [rule({ type: 'mandatory', field: 'sku' }), ['validation_rules[0].type']],
      [rule({ field: 'sku' }), ['validation_rules[0].type']],
      [rule({ type: 'required' }), ['validation_rules[0].field']],
      [rule({ type: 'required', field: 'a..b' }), ['validation_rules[0].field']],
      [rule({ type: 'required', field: '__proto__' }), ['validation_rules[0].field']],
      [rule({ type: 'required', field: 'sku', min_value: 1 }), ['validation_rules[0].min_value']],
      [rule({ type: 'required', field: 'sku', allow_empty: 'no' }), ['validation_rules[0].allow_empty']],
      [rule({ type: 'required', field: 'sku', message: '' }), ['validation_rules[0].message']],
      [rule({ type: 'min_value', field: 'price' }), ['validation_rules[0].min_value']],
      [rule({ type: 'min_value', field: 'price', min_value: [1] }), ['validation_rules[0].min_value']],
      [rule({ type: 'max_value', field: 'price', max_value: null }), ['validation_rules[0].max_value']],
      [rule({ type: 'type', field: 'price' }), ['validation_rules[0].expected']],
      [rule({ type: 'type', field: 'price', expected: 'money' }), ['validation_rules[0].expected']],
      [rule({ type: 'type', field: 'price', expected: 'number', expected_type: 'number' }), ['validation_rules[0].expected_type']],
      [rule({ type: 'min_length', field: 'title', min_length: -1 }), ['validation_rules[0].min_length']],
      [rule({ type: 'max_length', field: 'title', max_length: 2.5 }), ['validation_rules[0].max_length']],
      [rule({ type: 'pattern', field: 'sku' }), ['validation_rules[0].pattern']],
      [rule({ type: 'pattern', field: 'sku', pattern: '(a+)+' }), ['validation_rules[0].pattern']],
      [rule({ type: 'pattern', field: 'sku', pattern: '([a-z])\\1' }), ['validation_rules[0].pattern']],
      [rule({ type: 'pattern', field: 'sku', pattern: '[' }), ['validation_rules[0].pattern']],
      [rule({ type: 'pattern', field: 'sku', pattern: 'a'.repeat(600) }), ['validation_rules[0].pattern']],
      [rule({ type: 'pattern', field: 'sku', pattern: 'a', flags: 'g' }), ['validation_rules[0].flags']],
      [rule({ type: 'enum', field: 'c' }), ['validation_rules[0].values']],
      [rule({ type: 'in', field: 'c', values: [] }), ['validation_rules[0].values']],
      [rule({ type: 'unique' }), ['validation_rules[0].field']],
      [rule({ type: 'unique', fields: [] }), ['validation_rules[0].fields']],
      [rule({ type: 'unique', field: 'a', fields: ['b'] }), ['validation_rules[0].fields']],
      [rule({ type: 'unique', fields: ['a', ''] }), ['validation_rules[0].fields[1]']],
      [rule({ type: 'custom' }), ['validation_rules[0].expression']],
      [rule({ type: 'custom', expression: 'price >' }), ['validation_rules[0].expression']],
      [{ ...rule({ type: 'required', field: 'sku' }), max_invalid_ratio: 1.5 }, ['max_invalid_ratio']],
      [{ ...rule({ type: 'required', field: 'sku' }), max_invalid_count: -1 }, ['max_invalid_count']],
      [{ ...rule({ type: 'required', field: 'sku' }), fail_on_invalid: 'yes' }, ['fail_on_invalid']],
      [{ ...rule({ type: 'required', field: 'sku' }), source_field: 'invalid' }, ['source_field']],
      [{ ...rule({ type: 'required', field: 'sku' }), source_field: 'a', items_field: 'b' }, ['items_field']],
      [{ ...rule({ type: 'required', field: 'sku' }), rules: [] }, ['rules']],
    ];
    for (const [config, fields] of cases) assert.deepEqual(fieldsOf(validateDataValidateConfig(config)), fields, JSON.stringify(config).slice(0, 200));
  });

  it('explains what is wrong in the message', () => {
    const [issue] = validateDataValidateConfig({ validation_rules: [{ type: 'pattern', field: 'sku', pattern: '(\\d+)*$' }] });
    assert.match(issue.message, /nests quantifiers/);
    const unknown = validateDataValidateConfig({ validation_rules: [{ type: 'min_value', field: 'p', min: 1 }] }).find((i) => i.field === 'validation_rules[0].min');
    assert.match(unknown?.message ?? '', /rule 'min_value' takes field, message, min_value/);
  });
});

describe(validateItems.name, () => {
  it("applies the specification's example rules", async () => {
    const items = [{ sku: 'A1', price: 9.99 }, { sku: '', price: 0 }, { price: 0.01 }, { sku: 'B2', price: '0.001' }];
    const { valid, invalid } = await validateItems(items, [
      { type: 'required', field: 'sku' },
      { type: 'min_value', field: 'price', min_value: 0.01 },
    ]);
    assert.deepEqual(valid, [items[0]]);
    assert.deepEqual(invalid, [
      {
        index: 1,
        item: items[1],
        errors: [
          { field: 'sku', rule: 'required', message: 'sku must not be empty' },
          { field: 'price', rule: 'min_value', message: 'price must be at least 0.01 (got 0)' },
        ],
      },
      { index: 2, item: items[2], errors: [{ field: 'sku', rule: 'required', message: 'sku is required' }] },
      { index: 3, item: items[3], errors: [{ field: 'price', rule: 'min_value', message: 'price must be at least 0.01 (got "0.001")' }] },
    ]);
  });

  it('required: missing, null, blank strings and empty lists fail unless allow_empty', async () => {
    const items = [{ a: 0 }, { a: false }, { a: null }, {}, { a: '  ' }, { a: [] }, { a: 'x' }];
    assert.deepEqual(await reasons(items, [{ type: 'required', field: 'a' }]), ['2: required(a)', '3: required(a)', '4: required(a)', '5: required(a)']);
    assert.deepEqual(await reasons(items, [{ type: 'required', field: 'a', allow_empty: true }]), ['2: required(a)', '3: required(a)']);
  });

  it('min_value / max_value: inclusive, numeric strings as numbers, string bounds as text; missing passes', async () => {
    const items = [{ p: 1 }, { p: '10' }, { p: 10.5 }, { p: 'ten' }, {}, { p: null }];
    assert.deepEqual(await reasons(items, [{ type: 'max_value', field: 'p', max_value: 10 }]), ['2: max_value(p)', '3: max_value(p)']);
    assert.deepEqual(await reasons(items, [{ type: 'min_value', field: 'p', min_value: 10 }]), ['0: min_value(p)', '3: min_value(p)']);
    const dates = [{ d: '2019-12-31' }, { d: '2020-01-01' }, { d: 20200101 }];
    assert.deepEqual(await reasons(dates, [{ type: 'min_value', field: 'd', min_value: '2020-01-01' }]), ['0: min_value(d)', '2: min_value(d)']);
  });

  it('type: each type, with nested fields', async () => {
    const value = (v: unknown) => ({ v });
    const cases: Array<[string, unknown[], unknown[]]> = [
      ['string', ['', 'x'], [1, ['x']]],
      ['number', [1, -2.5, 0], ['1', NaN, Infinity]],
      ['integer', [1, -3, 0], [1.5, '1']],
      ['boolean', [true, false], ['true', 0]],
      ['array', [[], [1]], [{}, 'a']],
      ['object', [{}, { a: 1 }], [[], 'x']],
      ['date', ['2024-03-05', '2024-03-05T10:00:00Z'], ['2024-02-30', '05.03.2024', 1709632800]],
      ['email', ['a@b.co', 'first.last+tag@shop.example.com'], ['a@b', 'a b@c.de', '@b.co', 'a@@b.co', `${'x'.repeat(250)}@b.co`]],
      ['url', ['https://shop.example.com/p/1', 'http://localhost:3000'], ['ftp://x.com', 'example.com', 'javascript:alert(1)', 'https://']],
    ];
    for (const [type, good, bad] of cases) {
      for (const v of good) assert.ok(hasType(v, type as never), `${type}: ${JSON.stringify(v)} should pass`);
      for (const v of bad) assert.ok(!hasType(v, type as never), `${type}: ${JSON.stringify(v)} should fail`);
    }
    const r = await validateItems([value({ n: 1 }), value({ n: 'x' }), value(null)], [{ type: 'type', field: 'v.n', expected: 'integer' }]);
    assert.deepEqual(r.invalid.map((x) => [x.index, x.errors[0].message]), [[1, 'v.n must be an integer (got "x")']]);
  });

  it('min_length / max_length: characters (emoji count once) or list elements', async () => {
    const items = [{ t: 'ab' }, { t: 'abc' }, { t: '😀😀😀' }, { t: ['a', 'b', 'c', 'd'] }, { t: 12345 }];
    assert.deepEqual(await reasons(items, [{ type: 'min_length', field: 't', min_length: 3 }]), ['0: min_length(t)', '4: min_length(t)']);
    assert.deepEqual(await reasons(items, [{ type: 'max_length', field: 't', max_length: 3 }]), ['3: max_length(t)', '4: max_length(t)']);
    const { invalid } = await validateItems([{ t: ['a', 'b', 'c', 'd'] }], [{ type: 'max_length', field: 't', max_length: 3 }]);
    assert.equal(invalid[0].errors[0].message, 't must have at most 3 items (has 4)');
  });

  it('pattern: strings and numbers, flags, and a cap on the value length', async () => {
    const items = [{ s: 'AB-12' }, { s: 'ab-12' }, { s: 1234 }, { s: 'x'.repeat(20_000) }, { s: ['AB-12'] }];
    assert.deepEqual(await reasons(items, [{ type: 'pattern', field: 's', pattern: '^[A-Z]{2}-\\d+$' }]), [
      '1: pattern(s)',
      '2: pattern(s)',
      '3: pattern(s)',
      '4: pattern(s)',
    ]);
    assert.deepEqual(await reasons(items.slice(0, 3), [{ type: 'pattern', field: 's', pattern: '^[a-z]{2}-\\d+$', flags: 'i' }]), ['2: pattern(s)']);
    assert.deepEqual(await reasons([{ s: 1234 }], [{ type: 'pattern', field: 's', pattern: '^\\d+$' }]), []);
    const { invalid } = await validateItems([{ s: 'x'.repeat(20_000) }], [{ type: 'pattern', field: 's', pattern: 'x+' }]);
    assert.match(invalid[0].errors[0].message, /too long to match a pattern/);
  });

  it('refuses patterns that could backtrack catastrophically, and still checks safe ones', async () => {
    const evil = { s: `${'a'.repeat(5000)}!` };
    const { invalid } = await validateItems([evil], [{ type: 'pattern', field: 's', pattern: '^[a-z]+$' }]);
    assert.equal(invalid.length, 1);
    await rejectsWithCode(validateItems([evil], [{ type: 'pattern', field: 's', pattern: '^(a+)+$' }]), 'STEP_CONFIG_INVALID');
  });

  it('enum / in: strings (optionally case-insensitive) and other JSON values', async () => {
    const items = [{ c: 'new' }, { c: 'NEW' }, { c: 'broken' }, { c: 1 }, { c: '1' }, { c: { a: 1 } }];
    const values = ['new', 'used', 1, { a: 1 }];
    assert.deepEqual(await reasons(items, [{ type: 'enum', field: 'c', values }]), ['1: enum(c)', '2: enum(c)', '4: enum(c)']);
    assert.deepEqual(await reasons(items, [{ type: 'in', field: 'c', values, case_insensitive: true }]), ['2: in(c)', '4: in(c)']);
    const { invalid } = await validateItems([{ c: 'x' }], [{ type: 'enum', field: 'c', values: ['new', 'used'] }]);
    assert.equal(invalid[0].errors[0].message, 'c must be one of "new", "used" (got "x")');
  });

  it('unique: the first occurrence passes, later ones name it; compound keys; nulls are not duplicates', async () => {
    const items = [{ sku: 'A' }, { sku: 'B' }, { sku: 'a' }, { sku: 'A' }, {}, {}, { sku: 1 }, { sku: '1' }];
    const { invalid } = await validateItems(items, [{ type: 'unique', field: 'sku' }]);
    assert.deepEqual(invalid.map((x) => [x.index, x.errors[0].message]), [[3, 'sku "A" duplicates item 0']]);
    assert.deepEqual(await reasons(items, [{ type: 'unique', field: 'sku', case_insensitive: true }]), ['2: unique(sku)', '3: unique(sku)']);
    const pairs = [{ s: 1, k: 'x' }, { s: 2, k: 'x' }, { s: 1, k: 'x' }];
    const r = await validateItems(pairs, [{ type: 'unique', fields: ['s', 'k'] }]);
    assert.deepEqual(r.invalid.map((x) => [x.index, x.errors[0]]), [[2, { field: 's,k', rule: 'unique', message: 's,k [1,"x"] duplicates item 0' }]]);
    // Each call is its own batch.
    assert.deepEqual(await reasons([{ sku: 'A' }], [{ type: 'unique', field: 'sku' }]), []);
  });

  it('custom: a JSONata expression that must be truthy, with the message; data errors make the item invalid', async () => {
    const items = [{ price: 12, cost_price: 10 }, { price: 8, cost_price: 10 }, { price: 'x', cost_price: 1 }];
    const { invalid } = await validateItems(items, [{ type: 'custom', expression: 'price >= cost_price', message: 'price below cost' }]);
    assert.deepEqual(invalid.map((x) => [x.index, x.errors[0].field, x.errors[0].message.slice(0, 16)]), [
      [1, null, 'price below cost'],
      [2, null, 'price below cost'],
    ]);
    assert.match(invalid[1].errors[0].message, /price below cost \(expression .* failed/);
    const r = await validateItems([{ q: 3 }, { q: 30 }], [{ type: 'custom', field: 'q', expression: 'q <= $config.max_qty' }], { run: run({ config: { max_qty: 10 } }) });
    assert.deepEqual(r.invalid.map((x) => [x.index, x.errors[0]]), [[1, { field: 'q', rule: 'custom', message: 'custom rule 0 failed: q <= $config.max_qty' }]]);
  });

  it('custom: a runaway expression stops the step instead of marking items', async () => {
    await rejectsWithCode(validateItems([{}], [{ type: 'custom', expression: '($f := function($n) { $f($n + 1) }; $f(0))' }]), 'EXPRESSION_LIMIT');
  });

  it('collects every reason of an item in rule order, with message overrides', async () => {
    const { invalid } = await validateItems([{ sku: 'x', price: -1 }], [
      { type: 'min_length', field: 'sku', min_length: 3, message: 'SKU too short' },
      { type: 'min_value', field: 'price', min_value: 0 },
      { type: 'type', field: 'price', expected: 'integer' },
    ]);
    assert.deepEqual(invalid[0].errors, [
      { field: 'sku', rule: 'min_length', message: 'SKU too short' },
      { field: 'price', rule: 'min_value', message: 'price must be at least 0 (got -1)' },
    ]);
  });

  it('leaves the item out of invalid entries when asked', async () => {
    const { invalid } = await validateItems([{}], [{ type: 'required', field: 'a' }], { includeItems: false });
    assert.deepEqual(invalid, [{ index: 0, errors: [{ field: 'a', rule: 'required', message: 'a is required' }] }]);
  });

  it('rejects rules that do not check, naming the field', async () => {
    const err = await rejectsWithCode(validateItems([{}], [{ type: 'min_value', field: 'p' } as ValidationRule]), 'STEP_CONFIG_INVALID');
    assert.match(err.message, /validation_rules\[0\]\.min_value/);
  });
});

describe(validateData.name, () => {
  const products = [{ sku: 'A', price: 5 }, { sku: 'B', price: 0 }, { sku: 'C', price: 7 }, { price: 1 }];
  const rules = [
    { type: 'required', field: 'sku' },
    { type: 'min_value', field: 'price', min_value: 0.01 },
  ];

  it('splits a list into valid and invalid with counts', async () => {
    const { output, counts } = await validateData(products, { validation_rules: rules });
    assert.deepEqual(counts, { total: 4, valid_count: 2, invalid_count: 2 });
    assert.deepEqual(output.valid, [products[0], products[2]]);
    assert.deepEqual((output.invalid as Array<{ index: number }>).map((x) => x.index), [1, 3]);
    assert.deepEqual(Object.keys(output), ['valid', 'invalid', 'total', 'valid_count', 'invalid_count']);
  });

  it('keeps valid items at source_field, so the next step reads the same field', async () => {
    const { output } = await validateData({ products, supplier_id: 1 }, { validation_rules: rules, source_field: 'products' });
    assert.deepEqual(Object.keys(output), ['products', 'invalid', 'total', 'valid_count', 'invalid_count']);
    assert.deepEqual(output.products, [products[0], products[2]]);
    const nested = await validateData({ data: { items: products } }, { validation_rules: rules, items_field: 'data.items' });
    assert.deepEqual((nested.output.data as { items: unknown[] }).items.length, 2);
  });

  it('validates a single object as a batch of one, and null as an empty batch', async () => {
    assert.deepEqual((await validateData(products[1], { validation_rules: rules })).counts, { total: 1, valid_count: 0, invalid_count: 1 });
    const wrapped = await validateData({ items: products, count: 4 }, { validation_rules: rules });
    assert.equal(wrapped.counts.total, 1, 'a list inside an object is not guessed');
    assert.match(wrapped.warnings[0], /holds lists at items: set source_field/);
    assert.deepEqual((await validateData(null, { validation_rules: rules, fail_on_invalid: true })).counts, { total: 0, valid_count: 0, invalid_count: 0 });
  });

  it('fails with a non-retryable VALIDATION_FAILED over max_invalid_ratio, with counts and the first reasons', async () => {
    const err = await rejectsWithCode(validateData(products, { validation_rules: rules, max_invalid_ratio: 0.25 }), 'VALIDATION_FAILED');
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, /^2 of 4 items are invalid \(more than max_invalid_ratio 0.25\); first: item 1: price must be at least 0.01/);
    const details = err.details?.[0] as Record<string, unknown>;
    assert.equal(details.total, 4);
    assert.equal(details.invalid_count, 2);
    assert.equal(details.invalid_ratio, 0.5);
    assert.deepEqual((details.first_invalid as Array<{ index: number }>).map((x) => x.index), [1, 3]);
    // At the limit it passes.
    assert.equal((await validateData(products, { validation_rules: rules, max_invalid_ratio: 0.5 })).counts.invalid_count, 2);
  });

  it('fails over max_invalid_count, and on any invalid item with fail_on_invalid', async () => {
    await rejectsWithCode(validateData(products, { validation_rules: rules, max_invalid_count: 1 }), 'VALIDATION_FAILED');
    assert.equal((await validateData(products, { validation_rules: rules, max_invalid_count: 2 })).counts.valid_count, 2);
    const err = await rejectsWithCode(validateData(products, { validation_rules: rules, fail_on_invalid: true }), 'VALIDATION_FAILED');
    assert.match(err.message, /fail_on_invalid is set/);
    assert.equal((await validateData([products[0]], { validation_rules: rules, fail_on_invalid: true })).counts.valid_count, 1);
  });

  it('resolves references in limits and thresholds', async () => {
    const r = run({ config: { min_price: 6, ratio: 0.9 } });
    const { counts } = await validateData(products, { validation_rules: [{ type: 'min_value', field: 'price', min_value: '$config.min_price' }], max_invalid_ratio: '$config.ratio' }, { run: r });
    assert.deepEqual(counts, { total: 4, valid_count: 1, invalid_count: 3 });
    await rejectsWithCode(
      validateData(products, { validation_rules: [{ type: 'min_value', field: 'price', min_value: '$config.missing' }] }, { run: r }),
      'STEP_CONFIG_INVALID',
    );
  });

  it('reads the items from config.input, and fails with STEP_INPUT_INVALID when source_field is not a list', async () => {
    const r = run({ steps: { fetch: { products } } });
    assert.equal((await validateData(null, { validation_rules: rules, input: '$steps.fetch.products' }, { run: r })).counts.total, 4);
    await rejectsWithCode(validateData({ items: [] }, { validation_rules: rules, source_field: 'products' }), 'STEP_INPUT_INVALID');
  });

  it('validates 100k items (speed is measured by bench/transform-validate.ts)', async () => {
    const items = Array.from({ length: 100_000 }, (_, i) => ({ sku: `SKU-${i}`, price: (i % 100) / 10, title: `Product ${i}`, condition: i % 3 ? 'new' : 'used' }));
    const { counts } = await validateData(items, {
      validation_rules: [
        { type: 'required', field: 'sku' },
        { type: 'min_value', field: 'price', min_value: 0.01 },
        { type: 'pattern', field: 'sku', pattern: '^SKU-\\d+$' },
        { type: 'unique', field: 'sku' },
        { type: 'enum', field: 'condition', values: ['new', 'used'] },
        { type: 'max_length', field: 'title', max_length: 80 },
      ],
    });
    assert.deepEqual(counts, { total: 100_000, valid_count: 99_000, invalid_count: 1000 });
  });
});

describe(thresholdFailure.name, () => {
  it('never fails an all-valid or empty batch', () => {
    assert.equal(thresholdFailure({ valid: [], invalid: [] }, { total: 0, valid_count: 0, invalid_count: 0 }, { fail_on_invalid: true, max_invalid_ratio: 0 }), null);
  });
});

describe(createDataValidateExecutor.name, () => {
  it('is registered under data_validate, runs with progress heartbeats and summarises counts', async () => {
    assert.equal(dataValidateExecutorModule.type, DATA_VALIDATE_STEP_TYPE);
    assert.equal(DATA_VALIDATE_STEP_TYPE, 'data_validate');
    assert.equal(dataValidateExecutorModule.validateConfig, validateDataValidateConfig);
    const beats: unknown[] = [];
    const ctx = {
      input: { products: Array.from({ length: 1500 }, (_, i) => ({ sku: i % 500 === 0 ? null : `S${i}` })) },
      run: run(),
      heartbeat: (d: unknown) => void beats.push(d),
      signal: new AbortController().signal,
      logger: { info: () => undefined, warn: () => undefined },
    } as unknown as StepExecutionContext;
    const sut = dataValidateExecutorModule.create({} as never);
    const out = await sut.execute({ validation_rules: [{ type: 'required', field: 'sku' }], source_field: 'products' }, ctx);
    assert.deepEqual(beats, [
      { processed: 1000, total: 1500 },
      { processed: 1500, total: 1500 },
    ]);
    assert.deepEqual(sut.summarize!(out), { total: 1500, valid_count: 1497, invalid_count: 3 });
  });
});
