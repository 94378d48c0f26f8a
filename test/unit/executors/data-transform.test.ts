import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RunContext } from '@engine/dsl/types';
import type { StepExecutionContext } from '@engine/activities/runtime/executor';
import {
  aggregateItems,
  applyJsonata,
  checkTransformConfig,
  createDataTransformExecutor,
  DATA_TRANSFORM_STEP_TYPE,
  dataTransformExecutorModule,
  filterItems,
  mapItems,
  normalizeItems,
  resolveTransformConfig,
  transformData,
  validateDataTransformConfig,
} from '@engine/activities/data_transform';
import { convertUnit, parseBoolean, parseCurrency, parseDate, parseDecimal, castValue, titleCase, isIsoDate } from '@engine/activities/shared/values';
import { regexProblem, compileSafeRegex, MAX_MATCH_LENGTH } from '@engine/activities/shared/safe-regex';
import { parsePath, getIn, setIn, removeIn, formatPath } from '@engine/activities/shared/paths';
import { selectItems } from '@engine/activities/shared/items';

const run = (over: Partial<RunContext> = {}): RunContext => ({ input: {}, steps: {}, config: {}, execution: {}, ...over });

/** Freezes a value deeply, so any mutation of an input throws in strict mode. */
function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object') {
    Object.values(v).forEach(deepFreeze);
    Object.freeze(v);
  }
  return v;
}

/** Asserts that `promise` rejects with a StepError-like failure of `code`, and returns it. */
async function rejectsWithCode(promise: Promise<unknown>, code: string): Promise<{ message: string; type: string; nonRetryable: boolean; details?: unknown[] }> {
  let caught: unknown;
  await assert.rejects(promise, (err: unknown) => {
    caught = err;
    return (err as { type?: string }).type === code;
  });
  return caught as { message: string; type: string; nonRetryable: boolean; details?: unknown[] };
}

const fieldsOf = (issues: Array<{ field: string }>) => issues.map((i) => i.field);

describe(validateDataTransformConfig.name, () => {
  it("accepts the specification's example config", () => {
    assert.deepEqual(validateDataTransformConfig({ transform_type: 'map', mapping_rules: { title: 'name', price: 'cost_price' } }), []);
  });

  it('accepts every transform type in its full form', () => {
    const configs: Array<Record<string, unknown>> = [
      {
        transform_type: 'map',
        source_field: 'products',
        output_field: 'listings',
        keep_unmapped: true,
        on_error: 'fail',
        mapping_rules: {
          title: 'name',
          'dimensions.weight': 'specs.weight_g',
          image: 'images[0].url',
          whole: '$',
          supplier: '$input.supplier_id',
          label: '${brand} ${name}',
          price: { path: 'cost_price', type: 'number', decimal_separator: ',', default: 0 },
          currency: { value: 'EUR' },
          margin: { expression: 'price - cost_price', type: 'number' },
          released: { path: 'released', type: 'date', date_order: 'dmy' },
          tags: { path: 'tags', type: 'array', separator: ';' },
        },
      },
      {
        transform_type: 'filter',
        match: 'any',
        rules: [
          { field: 'quantity', operator: 'gt', value: 0 },
          { field: 'sku', operator: 'matches', value: '^[a-z]+$', flags: 'i' },
          { any: [{ field: 'a', operator: 'exists' }, { not: { field: 'b', operator: 'in', value: [1, 2] } }] },
          { field: 'quantity', operator: 'not_equals', value_field: 'marketplace_quantity' },
        ],
      },
      { transform_type: 'filter', expression: 'price > 10 and $config.enabled' },
      { transform_type: 'aggregate', group_by: ['brand', 'supplier.id'], aggregations: { n: { op: 'count' }, total: { op: 'sum', field: 'price', round: 2 }, skus: { op: 'collect', field: 'sku', distinct: true } } },
      { transform_type: 'aggregate', group_by: 'brand' },
      {
        transform_type: 'normalize',
        items_field: 'items',
        on_error: 'keep',
        fields: {
          title: ['trim', 'collapse_whitespace', 'title_case'],
          weight: { op: 'weight', to: 'kg', from: 'g', precision: 2 },
          length: { op: 'length', to: 'cm' },
          volume: { op: 'volume', to: 'l' },
          price: { op: 'currency', default_currency: 'EUR', currency_field: 'currency' },
          amount: { op: 'number', decimal_separator: ',' },
          released: { op: 'date', order: 'mdy', output: 'date' },
          active: 'boolean',
        },
      },
      { transform_type: 'jsonata', expression: '$sum(products.price)', timeout_ms: 5000 },
    ];
    for (const c of configs) assert.deepEqual(validateDataTransformConfig(c), [], JSON.stringify(c));
  });

  it('accepts run references where a value is expected, in definition mode only', () => {
    const c = {
      transform_type: 'filter',
      input: '$steps.fetch.products',
      rules: [{ field: 'price', operator: 'gte', value: '$config.min_price' }, { field: 'x', operator: 'exists', value: '$input.flag' }],
    };
    assert.deepEqual(validateDataTransformConfig(c), []);
    assert.deepEqual(validateDataTransformConfig({ transform_type: '$config.mode' }), []);
    assert.deepEqual(validateDataTransformConfig({ transform_type: 'jsonata', expression: 'x', timeout_ms: '$config.t' }), []);
    // In run mode the reference must have been resolved to a real value.
    assert.deepEqual(fieldsOf(checkTransformConfig({ transform_type: 'jsonata', expression: 'x', timeout_ms: '$config.t' }, 'runtime')), ['timeout_ms']);
  });

  it('names the field of every problem', () => {
    const cases: Array<[Record<string, unknown>, string[]]> = [
      [{}, ['transform_type']],
      [{ transform_type: 'reshape' }, ['transform_type']],
      [{ transform_type: 'map', mapping_rules: { a: 'b' }, mapping_rule: {} }, ['mapping_rule']],
      [{ transform_type: 'map', mapping_rules: { a: 'b' }, rules: [] }, ['rules']],
      [{ transform_type: 'map' }, ['mapping_rules']],
      [{ transform_type: 'map', mapping_rules: {} }, ['mapping_rules']],
      [{ transform_type: 'map', mapping_rules: { title: 5 } }, ['mapping_rules.title']],
      [{ transform_type: 'map', mapping_rules: { title: 'a..b' } }, ['mapping_rules.title']],
      [{ transform_type: 'map', mapping_rules: { 'a.__proto__': 'x' } }, ['mapping_rules["a.__proto__"]']],
      [{ transform_type: 'map', mapping_rules: { title: '__proto__.x' } }, ['mapping_rules.title']],
      [{ transform_type: 'map', mapping_rules: { a: 'x', 'a.b': 'y' } }, ['mapping_rules["a.b"]']],
      [{ transform_type: 'map', mapping_rules: { t: { path: 'a', value: 1 } } }, ['mapping_rules.t']],
      [{ transform_type: 'map', mapping_rules: { t: {} } }, ['mapping_rules.t']],
      [{ transform_type: 'map', mapping_rules: { t: { path: 'a', type: 'money' } } }, ['mapping_rules.t.type']],
      [{ transform_type: 'map', mapping_rules: { t: { expression: 'a +' } } }, ['mapping_rules.t.expression']],
      [{ transform_type: 'map', mapping_rules: { t: { value: '$title' } } }, ['mapping_rules.t.value']],
      [{ transform_type: 'map', mapping_rules: { t: { path: 'a', cast: 'x' } } }, ['mapping_rules.t.cast']],
      [{ transform_type: 'map', mapping_rules: { t: 'a' }, keep_unmapped: 'yes' }, ['keep_unmapped']],
      [{ transform_type: 'map', mapping_rules: { t: 'a' }, on_error: 'ignore' }, ['on_error']],
      [{ transform_type: 'filter' }, ['rules']],
      [{ transform_type: 'filter', rules: [{ field: 'a', operator: 'like', value: 1 }] }, ['rules[0].operator']],
      [{ transform_type: 'filter', rules: [{ field: 'a' }] }, ['rules[0].operator']],
      [{ transform_type: 'filter', rules: [{ operator: 'equals', value: 1 }] }, ['rules[0].field']],
      [{ transform_type: 'filter', rules: [{ field: 'a', operator: 'in', value: 3 }] }, ['rules[0].value']],
      [{ transform_type: 'filter', rules: [{ field: 'a', operator: 'gt', value: [1] }] }, ['rules[0].value']],
      [{ transform_type: 'filter', rules: [{ field: 'a', operator: 'exists', value: 'yes' }] }, ['rules[0].value']],
      [{ transform_type: 'filter', rules: [{ field: 'a', operator: 'equals' }] }, ['rules[0].value']],
      [{ transform_type: 'filter', rules: [{ field: 'a', operator: 'matches', value: '(a+)+$' }] }, ['rules[0].value']],
      [{ transform_type: 'filter', rules: [{ field: 'a', operator: 'matches', value: 'a', flags: 'g' }] }, ['rules[0].flags']],
      [{ transform_type: 'filter', rules: [{ field: 'a', operator: 'equals', value: 1, value_field: 'b' }] }, ['rules[0].value_field']],
      [{ transform_type: 'filter', rules: [{ field: 'a', operator: 'equals', value: '$other' }] }, ['rules[0].value']],
      [{ transform_type: 'filter', rules: [{ any: [] }] }, ['rules[0].any']],
      [{ transform_type: 'filter', rules: [{ all: [{ field: 'a', operator: 'nope' }] }] }, ['rules[0].all[0].operator']],
      [{ transform_type: 'filter', rules: [{ field: 'a', operator: 'exists' }], expression: 'true' }, ['expression']],
      [{ transform_type: 'filter', expression: 'a = ' }, ['expression']],
      [{ transform_type: 'aggregate' }, ['aggregations']],
      [{ transform_type: 'aggregate', aggregations: { t: { op: 'sum' } } }, ['aggregations.t.field']],
      [{ transform_type: 'aggregate', aggregations: { t: { op: 'median', field: 'x' } } }, ['aggregations.t.op']],
      [{ transform_type: 'aggregate', aggregations: { t: { op: 'count', round: 2 } } }, ['aggregations.t.round']],
      [{ transform_type: 'aggregate', aggregations: { t: { op: 'sum', field: 'x', distinct: true } } }, ['aggregations.t.distinct']],
      [{ transform_type: 'aggregate', group_by: 'brand', aggregations: { brand: { op: 'count' } } }, ['aggregations.brand']],
      [{ transform_type: 'aggregate', group_by: [], aggregations: { n: { op: 'count' } } }, ['group_by']],
      [{ transform_type: 'normalize' }, ['fields']],
      [{ transform_type: 'normalize', fields: { t: 'shout' } }, ['fields.t']],
      [{ transform_type: 'normalize', fields: { t: ['trim', { op: 'shout' }] } }, ['fields.t[1].op']],
      [{ transform_type: 'normalize', fields: { w: 'weight' } }, ['fields.w']],
      [{ transform_type: 'normalize', fields: { w: { op: 'weight' } } }, ['fields.w.to']],
      [{ transform_type: 'normalize', fields: { w: { op: 'weight', to: 'cm' } } }, ['fields.w.to']],
      [{ transform_type: 'normalize', fields: { w: { op: 'length', to: 'cm', from: 'kg' } } }, ['fields.w.from']],
      [{ transform_type: 'normalize', fields: { p: { op: 'currency', default_currency: 'euro' } } }, ['fields.p.default_currency']],
      [{ transform_type: 'normalize', fields: { p: { op: 'trim', to: 'kg' } } }, ['fields.p.to']],
      [{ transform_type: 'jsonata' }, ['expression']],
      [{ transform_type: 'jsonata', expression: 'x', source_field: 'products' }, ['source_field']],
      [{ transform_type: 'jsonata', expression: 'x', timeout_ms: 0 }, ['timeout_ms']],
      [{ transform_type: 'map', mapping_rules: { t: 'a' }, output_field: 'x' }, ['output_field']],
      [{ transform_type: 'map', mapping_rules: { t: 'a' }, source_field: 'a', items_field: 'b' }, ['items_field']],
      [{ transform_type: 'map', mapping_rules: { t: 'a' }, source_field: '$input.products' }, ['source_field']],
    ];
    for (const [config, fields] of cases) {
      assert.deepEqual(fieldsOf(validateDataTransformConfig(config)), fields, JSON.stringify(config));
    }
  });

  it('explains what is wrong in the message', () => {
    const [issue] = validateDataTransformConfig({ transform_type: 'map', mapping_rules: { t: 'a' }, group_by: 'x' });
    assert.match(issue.message, /option of transform_type aggregate, not map/);
    const [regex] = validateDataTransformConfig({ transform_type: 'filter', rules: [{ field: 'a', operator: 'matches', value: '(\\w+)*x' }] });
    assert.match(regex.message, /nests quantifiers/);
  });
});

describe(resolveTransformConfig.name, () => {
  it('resolves option values but never field paths, mapping sources or expressions', () => {
    const r = run({ input: { field: 'price', min: 5, sep: ',' }, config: { mode: 'filter', pattern: '^A' } });
    const out = resolveTransformConfig(
      {
        transform_type: '$config.mode',
        rules: [
          { field: '$input.field', operator: 'gt', value: '$input.min' },
          { field: 'sku', operator: 'matches', value: '^x$input.min' },
          { field: 'sku', operator: 'matches', value: '$config.pattern' },
        ],
        expression: '$input.min > 1',
        mapping_rules: { a: '$input.min', b: { path: 'x', type: 'number', decimal_separator: '$input.sep', default: '$input.min' } },
      },
      r,
    );
    assert.equal(out.transform_type, 'filter');
    assert.deepEqual(out.rules, [
      { field: '$input.field', operator: 'gt', value: 5 },
      { field: 'sku', operator: 'matches', value: '^x$input.min' },
      { field: 'sku', operator: 'matches', value: '^A' },
    ]);
    assert.equal(out.expression, '$input.min > 1');
    assert.deepEqual(out.mapping_rules, { a: '$input.min', b: { path: 'x', type: 'number', decimal_separator: ',', default: 5 } });
  });
});

describe(mapItems.name, () => {
  it("maps fields as the specification's example does", async () => {
    const items = deepFreeze([{ name: 'Desk lamp', cost_price: 12.5, sku: 'L-1' }, { name: 'Chair', cost_price: 40 }]);
    const { items: out, errors } = await mapItems(items, { mapping_rules: { title: 'name', price: 'cost_price' } });
    assert.deepEqual(out, [{ title: 'Desk lamp', price: 12.5 }, { title: 'Chair', price: 40 }]);
    assert.equal(errors.count, 0);
  });

  it('reads and writes nested paths, array indexes and the item itself', async () => {
    const items = deepFreeze([{ specs: { weight: { g: 500 } }, images: [{ url: 'a.jpg' }, { url: 'b.jpg' }], 'Product Name': 'X', 'a.b': 1 }]);
    const { items: out } = await mapItems(items, {
      mapping_rules: {
        'shipping.weight.grams': 'specs.weight.g',
        'media.main': 'images[0].url',
        'media.second': 'images.1.url',
        name: 'Product Name',
        dotted: "['a.b']",
        raw: '$',
        also_name: '$.Product Name',
      },
    });
    assert.deepEqual(out[0], {
      shipping: { weight: { grams: 500 } },
      media: { main: 'a.jpg', second: 'b.jpg' },
      name: 'X',
      dotted: 1,
      raw: items[0],
      also_name: 'X',
    });
  });

  it('gives null for a missing source, or the default; defaults apply to null too', async () => {
    const { items: out } = await mapItems([{ a: null }, {}], {
      mapping_rules: { x: 'missing', y: { path: 'a', default: 'n/a' }, z: { path: 'deep.er', default: 0, type: 'string' } },
    });
    assert.deepEqual(out, [
      { x: null, y: 'n/a', z: '0' },
      { x: null, y: 'n/a', z: '0' },
    ]);
  });

  it('takes constants, run references and per-item templates', async () => {
    const r = run({ input: { supplier_id: 42, market: 'DE' }, config: { currency: 'EUR' } });
    const { items: out } = await mapItems(
      [{ brand: 'Acme', name: 'Lamp' }],
      {
        mapping_rules: {
          supplier_id: '$input.supplier_id',
          currency: '$config.currency',
          label: '${brand} ${name} (${input.market})',
          fixed: { value: [1, 2] },
          resolved_value: { value: 'literal' },
          dollars: 'US$$',
        },
      },
      { run: r },
    );
    assert.deepEqual(out[0], { supplier_id: 42, currency: 'EUR', label: 'Acme Lamp (DE)', fixed: [1, 2], resolved_value: 'literal', dollars: 'US$' });
  });

  it('evaluates JSONata expressions per item, with run variables and $index', async () => {
    const r = run({ config: { markup: 1.5 } });
    const { items: out } = await mapItems(
      [{ cost: 10, tags: ['a', 'b'] }, { cost: 4, tags: [] }],
      { mapping_rules: { price: { expression: '$round(cost * $config.markup, 2)' }, tag_count: { expression: '$count(tags)' }, position: { expression: '$index' } } },
      { run: r },
    );
    assert.deepEqual(out, [
      { price: 15, tag_count: 2, position: 0 },
      { price: 6, tag_count: 0, position: 1 },
    ]);
  });

  it('casts to every type', async () => {
    const { items: out, errors } = await mapItems(
      [{ n: '1.234,50', i: '12.9', b: 'yes', d: '05.03.2024', s: 12, o: { a: 1 }, arr: 'a, b,, c', one: 5, neg: '-0.4' }],
      {
        mapping_rules: {
          n: { path: 'n', type: 'number' },
          i: { path: 'i', type: 'integer' },
          b: { path: 'b', type: 'boolean' },
          d: { path: 'd', type: 'date' },
          s: { path: 's', type: 'string' },
          o: { path: 'o', type: 'string' },
          arr: { path: 'arr', type: 'array' },
          one: { path: 'one', type: 'array' },
          neg: { path: 'neg', type: 'integer' },
          semi: { value: 'x;y', type: 'array', separator: ';' },
          comma_decimal: { value: '1.234', type: 'number', decimal_separator: '.' },
          us_date: { value: '03/05/2024', type: 'date' },
          eu_date: { value: '03/05/2024', type: 'date', date_order: 'dmy' },
        },
      },
    );
    assert.deepEqual(out[0], {
      n: 1234.5,
      i: 12,
      b: true,
      d: '2024-03-05',
      s: '12',
      o: '{"a":1}',
      arr: ['a', 'b', 'c'],
      one: [5],
      neg: 0,
      semi: ['x', 'y'],
      comma_decimal: 1.234,
      us_date: '2024-03-05',
      eu_date: '2024-05-03',
    });
    assert.ok(Object.is(out[0] && (out[0] as { neg: number }).neg, 0), 'no negative zero');
    assert.equal(errors.count, 0);
  });

  it('applies on_error to values that cannot be cast: null, keep, or fail', async () => {
    const items = [{ p: 'free' }, { p: '3' }];
    const rules = { price: { path: 'p', type: 'number' as const } };
    const asNull = await mapItems(items, { mapping_rules: rules });
    assert.deepEqual(asNull.items, [{ price: null }, { price: 3 }]);
    assert.equal(asNull.errors.count, 1);
    assert.deepEqual(asNull.errors.samples, [{ index: 0, field: 'price', message: '"free" is not a number' }]);
    const kept = await mapItems(items, { mapping_rules: rules, on_error: 'keep' });
    assert.deepEqual(kept.items, [{ price: 'free' }, { price: 3 }]);
    const err = await rejectsWithCode(mapItems(items, { mapping_rules: rules, on_error: 'fail' }), 'TRANSFORM_FAILED');
    assert.match(err.message, /item 0, field 'price': "free" is not a number/);
    assert.equal(err.nonRetryable, true);
  });

  it('keep_unmapped keeps the fields no rule read and moves the ones rules read, without touching the input', async () => {
    const items = deepFreeze([{ name: 'Lamp', sku: 'L1', specs: { w: 5, h: 2 }, extra: true }]);
    const { items: out } = await mapItems(items, {
      keep_unmapped: true,
      mapping_rules: { title: 'name', sku: 'sku', 'dims.weight': 'specs.w', 'specs.unit': { value: 'cm' } },
    });
    assert.deepEqual(out[0], { extra: true, specs: { h: 2, unit: 'cm' }, title: 'Lamp', sku: 'L1', dims: { weight: 5 } });
    assert.deepEqual(items[0], { name: 'Lamp', sku: 'L1', specs: { w: 5, h: 2 }, extra: true });
  });

  it('refuses targets that overlap, since one would overwrite the other', async () => {
    const err = await rejectsWithCode(mapItems([{ dims: { w: 1 } }], { mapping_rules: { dims: 'dims', 'dims.unit': { value: 'cm' } } }), 'STEP_CONFIG_INVALID');
    assert.match(err.message, /target 'dims.unit' overlaps 'dims'/);
  });

  it('maps non-object items to nulls rather than failing', async () => {
    const { items: out } = await mapItems([42, null, 'x'], { mapping_rules: { v: 'a', whole: '$' } });
    assert.deepEqual(out, [
      { v: null, whole: 42 },
      { v: null, whole: null },
      { v: null, whole: 'x' },
    ]);
  });

  it('rejects a config that does not check, as STEP_CONFIG_INVALID naming the field', async () => {
    const err = await rejectsWithCode(mapItems([{}], { mapping_rules: { t: { path: 'a', type: 'money' } } } as never), 'STEP_CONFIG_INVALID');
    assert.match(err.message, /mapping_rules\.t\.type/);
    assert.equal(err.nonRetryable, true);
  });
});

describe(filterItems.name, () => {
  const items = deepFreeze([
    { sku: 'A-1', price: 5, qty: 0, tags: ['sale', 'new'], title: 'Red Lamp', brand: 'Acme', mq: 0 },
    { sku: 'B-2', price: '15', qty: 3, tags: [], title: 'Blue chair', brand: null, mq: 1 },
    { sku: 'c-3', price: 25, qty: 10, title: 'green table', mq: 10 },
  ]);
  const skus = async (config: Parameters<typeof filterItems>[1], r?: RunContext) => (await filterItems(items, config, { run: r })).map((i) => (i as { sku: string }).sku);

  it('supports every operator', async () => {
    assert.deepEqual(await skus({ rules: [{ field: 'price', operator: 'equals', value: 5 }] }), ['A-1']);
    assert.deepEqual(await skus({ rules: [{ field: 'price', operator: 'equals', value: '15' }] }), ['B-2'], "'15' equals '15' only");
    assert.deepEqual(await skus({ rules: [{ field: 'price', operator: 'not_equals', value: 5 }] }), ['B-2', 'c-3']);
    assert.deepEqual(await skus({ rules: [{ field: 'price', operator: 'gt', value: 5 }] }), ['B-2', 'c-3'], 'numeric strings compare as numbers');
    assert.deepEqual(await skus({ rules: [{ field: 'price', operator: 'gte', value: 15 }] }), ['B-2', 'c-3']);
    assert.deepEqual(await skus({ rules: [{ field: 'price', operator: 'lt', value: 15 }] }), ['A-1']);
    assert.deepEqual(await skus({ rules: [{ field: 'price', operator: 'lte', value: 15 }] }), ['A-1', 'B-2']);
    assert.deepEqual(await skus({ rules: [{ field: 'sku', operator: 'gt', value: 'B' }] }), ['B-2', 'c-3'], 'strings by code unit');
    assert.deepEqual(await skus({ rules: [{ field: 'title', operator: 'gt', value: 3 }] }), [], 'unordered values never pass');
    assert.deepEqual(await skus({ rules: [{ field: 'sku', operator: 'in', value: ['A-1', 'c-3', 'z'] }] }), ['A-1', 'c-3']);
    assert.deepEqual(await skus({ rules: [{ field: 'sku', operator: 'in', value: 'A-1 B-2' }] }), ['A-1', 'B-2'], 'in a string');
    assert.deepEqual(await skus({ rules: [{ field: 'brand', operator: 'exists' }] }), ['A-1']);
    assert.deepEqual(await skus({ rules: [{ field: 'brand', operator: 'exists', value: false }] }), ['B-2', 'c-3']);
    assert.deepEqual(await skus({ rules: [{ field: 'title', operator: 'contains', value: 'Lamp' }] }), ['A-1']);
    assert.deepEqual(await skus({ rules: [{ field: 'tags', operator: 'contains', value: 'sale' }] }), ['A-1']);
    assert.deepEqual(await skus({ rules: [{ field: 'sku', operator: 'matches', value: '^[A-Z]-\\d$' }] }), ['A-1', 'B-2']);
    assert.deepEqual(await skus({ rules: [{ field: 'qty', operator: 'matches', value: '^\\d{2}$' }] }), ['c-3'], 'numbers match as text');
  });

  it('compares case-insensitively when asked', async () => {
    assert.deepEqual(await skus({ rules: [{ field: 'title', operator: 'contains', value: 'LAMP', case_insensitive: true }] }), ['A-1']);
    assert.deepEqual(await skus({ rules: [{ field: 'sku', operator: 'equals', value: 'C-3', case_insensitive: true }] }), ['c-3']);
    assert.deepEqual(await skus({ rules: [{ field: 'sku', operator: 'in', value: ['a-1', 'B-2'], case_insensitive: true }] }), ['A-1', 'B-2']);
    assert.deepEqual(await skus({ rules: [{ field: 'sku', operator: 'matches', value: '^c', case_insensitive: true }] }), ['c-3']);
  });

  it('compares with another field of the item (value_field)', async () => {
    assert.deepEqual(await skus({ rules: [{ field: 'qty', operator: 'not_equals', value_field: 'mq' }] }), ['B-2']);
    assert.deepEqual(await skus({ rules: [{ field: 'price', operator: 'gt', value_field: 'qty' }] }), ['A-1', 'B-2', 'c-3']);
  });

  it('combines rules with match all (default) or any, and nests all / any / not groups', async () => {
    const a = { field: 'price', operator: 'gt' as const, value: 10 };
    const b = { field: 'qty', operator: 'lt' as const, value: 5 };
    assert.deepEqual(await skus({ rules: [a, b] }), ['B-2']);
    assert.deepEqual(await skus({ rules: [a, b], match: 'any' }), ['A-1', 'B-2', 'c-3']);
    assert.deepEqual(await skus({ rules: [{ not: a }] }), ['A-1']);
    assert.deepEqual(await skus({ rules: [{ any: [{ all: [a, b] }, { field: 'sku', operator: 'equals', value: 'A-1' }] }] }), ['A-1', 'B-2']);
  });

  it('filters with a JSONata predicate that sees run variables and $index', async () => {
    const r = run({ config: { min: 10 } });
    assert.deepEqual(await skus({ expression: '$number(price) > $config.min' }, r), ['B-2', 'c-3']);
    assert.deepEqual(await skus({ expression: '$index = 1' }), ['B-2']);
    assert.deepEqual(await skus({ expression: 'tags' }), ['A-1'], 'an empty list is falsy');
  });

  it('fails an expression that errors on the data with its code, not retryable', async () => {
    const err = await rejectsWithCode(filterItems([{ a: 'x' }], { expression: 'a + 1' }), 'EXPRESSION_FAILED');
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, /item 0/);
  });

  it('records each item in the ledger: kept ok, dropped skipped as FILTERED with the reason and no copy of the item', async () => {
    const recorded: Array<{ key: string; index?: number; status: string; code?: string; message?: string; item?: unknown }> = [];
    const ledger = { record: (o: (typeof recorded)[number]) => void recorded.push(o) };
    await filterItems(items, { rules: [{ field: 'qty', operator: 'gt', value: 0 }] }, { items: ledger });
    assert.deepEqual(
      recorded.map((o) => [o.key, o.index, o.status, o.code ?? null, 'item' in o]),
      [
        ['A-1', 0, 'skipped', 'FILTERED', false],
        ['B-2', 1, 'ok', null, false],
        ['c-3', 2, 'ok', null, false],
      ],
    );
    assert.match(recorded[0].message ?? '', /does not match the filter's rules/);
    recorded.length = 0;
    await filterItems(items, { expression: 'qty > 5' }, { items: ledger });
    assert.deepEqual(recorded.map((o) => o.status), ['skipped', 'skipped', 'ok']);
    assert.match(recorded[0].message ?? '', /expression is not true/);
  });
});

describe(aggregateItems.name, () => {
  const items = deepFreeze([
    { brand: 'Acme', cat: 'lamp', price: 10, qty: 2, sku: 'a', supplier: { id: 1 } },
    { brand: 'Acme', cat: 'chair', price: '30', qty: null, sku: 'b', supplier: { id: 1 } },
    { brand: 'Zeta', cat: 'lamp', price: 5.555, qty: 1, sku: 'c', supplier: { id: 2 } },
    { cat: 'lamp', price: 'n/a', sku: 'a', supplier: { id: 2 } },
    { brand: 'Acme', cat: 'lamp', price: 20, qty: 4, sku: 'a', supplier: { id: 1 } },
  ]);

  it('computes every aggregation per group, in order of first appearance', async () => {
    const rows = await aggregateItems(items, {
      group_by: 'brand',
      aggregations: {
        n: { op: 'count' },
        with_qty: { op: 'count', field: 'qty' },
        skus: { op: 'count', field: 'sku', distinct: true },
        total: { op: 'sum', field: 'price' },
        avg: { op: 'avg', field: 'price', round: 2 },
        min: { op: 'min', field: 'price' },
        max: { op: 'max', field: 'price' },
        first: { op: 'first', field: 'qty' },
        last: { op: 'last', field: 'qty' },
        all_skus: { op: 'collect', field: 'sku' },
        cats: { op: 'collect', field: 'cat', distinct: true },
      },
    });
    assert.deepEqual(rows, [
      { brand: 'Acme', n: 3, with_qty: 2, skus: 2, total: 60, avg: 20, min: 10, max: '30', first: 2, last: 4, all_skus: ['a', 'b', 'a'], cats: ['lamp', 'chair'] },
      { brand: 'Zeta', n: 1, with_qty: 1, skus: 1, total: 5.555, avg: 5.56, min: 5.555, max: 5.555, first: 1, last: 1, all_skus: ['c'], cats: ['lamp'] },
      { brand: null, n: 1, with_qty: 0, skus: 1, total: 0, avg: null, min: 'n/a', max: 'n/a', first: null, last: null, all_skus: ['a'], cats: ['lamp'] },
    ]);
  });

  it('groups by several and nested fields, writing them back at their paths', async () => {
    const rows = await aggregateItems(items, { group_by: ['supplier.id', 'cat'], aggregations: { n: { op: 'count' }, 'stats.qty': { op: 'sum', field: 'qty' } } });
    assert.deepEqual(rows, [
      { supplier: { id: 1 }, cat: 'lamp', n: 2, stats: { qty: 6 } },
      { supplier: { id: 1 }, cat: 'chair', n: 1, stats: { qty: 0 } },
      { supplier: { id: 2 }, cat: 'lamp', n: 2, stats: { qty: 1 } },
    ]);
  });

  it('keeps 1 and "1" in different groups', async () => {
    const rows = await aggregateItems([{ k: 1 }, { k: '1' }, { k: 1 }], { group_by: 'k', aggregations: { n: { op: 'count' } } });
    assert.deepEqual(rows, [
      { k: 1, n: 2 },
      { k: '1', n: 1 },
    ]);
  });

  it('without group_by makes one row, also for no items; group_by alone lists the distinct groups', async () => {
    assert.deepEqual(await aggregateItems(items, { aggregations: { n: { op: 'count' }, total: { op: 'sum', field: 'qty' } } }), [{ n: 5, total: 7 }]);
    assert.deepEqual(await aggregateItems([], { aggregations: { n: { op: 'count' }, avg: { op: 'avg', field: 'x' }, all: { op: 'collect' } } }), [
      { n: 0, avg: null, all: [] },
    ]);
    assert.deepEqual(await aggregateItems([], { group_by: 'x', aggregations: { n: { op: 'count' } } }), []);
    assert.deepEqual(await aggregateItems(items, { group_by: 'cat' }), [{ cat: 'lamp' }, { cat: 'chair' }]);
  });

  it('first / last / collect without a field take whole items', async () => {
    const [row] = await aggregateItems([{ a: 1 }, { a: 2 }], { aggregations: { first: { op: 'first' }, last: { op: 'last' }, all: { op: 'collect' } } });
    assert.deepEqual(row, { first: { a: 1 }, last: { a: 2 }, all: [{ a: 1 }, { a: 2 }] });
  });

  it('rounds sums without binary noise', async () => {
    const [row] = await aggregateItems([{ p: 0.1 }, { p: 0.2 }], { aggregations: { raw: { op: 'sum', field: 'p' }, total: { op: 'sum', field: 'p', round: 2 } } });
    assert.notEqual(row.raw, 0.3);
    assert.equal(row.total, 0.3);
  });
});

describe(normalizeItems.name, () => {
  it('cleans text: trim, case, title case, collapsed whitespace, in the order given', async () => {
    const { items } = await normalizeItems([{ t: '  big   RED\tlamp  ', u: 'abc', l: 'ABC', c: 'a \n b', n: 5 }], {
      fields: { t: ['trim', 'collapse_whitespace', 'title_case'], u: 'uppercase', l: 'lowercase', c: 'collapse_whitespace', n: 'trim' },
    });
    assert.deepEqual(items[0], { t: 'Big Red Lamp', u: 'ABC', l: 'abc', c: 'a b', n: 5 });
  });

  it('converts units of weight, length and volume', async () => {
    const { items } = await normalizeItems(
      [{ w1: '500 g', w2: '2 lbs', w3: '1,5kg', w4: 16, w5: '8 oz', l1: '12"', l2: '2.5 m', l3: 300, v1: '750 ml', v2: '1 gal' }],
      {
        fields: {
          w1: { op: 'weight', to: 'kg' },
          w2: { op: 'weight', to: 'kg' },
          w3: { op: 'weight', to: 'g' },
          w4: { op: 'weight', to: 'kg', from: 'oz' },
          w5: { op: 'weight', to: 'lb', precision: 2 },
          l1: { op: 'length', to: 'cm' },
          l2: { op: 'length', to: 'mm' },
          l3: { op: 'length', to: 'cm' },
          v1: { op: 'volume', to: 'l' },
          v2: { op: 'volume', to: 'l', precision: 2 },
        },
      },
    );
    assert.deepEqual(items[0], { w1: 0.5, w2: 0.907, w3: 1500, w4: 0.454, w5: 0.5, l1: 30.48, l2: 2500, l3: 300, v1: 0.75, v2: 3.79 });
  });

  it('parses currency amounts into a number and a code', async () => {
    const { items, errors } = await normalizeItems(
      [
        { p: '1.234,56 €' },
        { p: '$1,234.56' },
        { p: 'EUR 12.50' },
        { p: '12,50 eur' },
        { p: "CHF 1'234.50" },
        { p: '-€5' },
        { p: '£0.99' },
        { p: 'US$ 10' },
        { p: '¥1,000' },
        { p: 19.99 },
      ],
      { fields: { p: { op: 'currency', default_currency: 'EUR', currency_field: 'meta.currency' } } },
    );
    assert.equal(errors.count, 0);
    assert.deepEqual(
      items.map((i) => [(i as { p: number }).p, (i as { meta: { currency: string } }).meta.currency]),
      [
        [1234.56, 'EUR'],
        [1234.56, 'USD'],
        [12.5, 'EUR'],
        [12.5, 'EUR'],
        [1234.5, 'CHF'],
        [-5, 'EUR'],
        [0.99, 'GBP'],
        [10, 'USD'],
        [1000, 'JPY'],
        [19.99, 'EUR'],
      ],
    );
    const obj = await normalizeItems([{ p: '€ 3,20' }], { fields: { p: { op: 'currency', as_object: true } } });
    assert.deepEqual(obj.items[0], { p: { amount: 3.2, currency: 'EUR' } });
  });

  it('parses decimal formats, integers, booleans and dates', async () => {
    const { items } = await normalizeItems(
      [{ a: '1.234.567,89', b: '1,234,567.89', c: '1 234,5', d: '12,5', e: '7.5', f: 'Yes', g: 'Mar 5, 2024', h: '2024-03-05T10:00:00+02:00' }],
      {
        fields: {
          a: 'number',
          b: 'decimal',
          c: { op: 'number', precision: 0 },
          d: 'number',
          e: 'integer',
          f: 'boolean',
          g: 'date',
          h: { op: 'date', output: 'date' },
        },
      },
    );
    assert.deepEqual(items[0], { a: 1234567.89, b: 1234567.89, c: 1235, d: 12.5, e: 7, f: true, g: '2024-03-05', h: '2024-03-05' });
  });

  it('leaves missing fields and non-object items alone, and does not mutate the input', async () => {
    const input = deepFreeze([{ a: ' x ' }, 'text', null]);
    const { items } = await normalizeItems(input, { fields: { a: 'trim', 'b.c': 'trim', n: 'number' } });
    assert.deepEqual(items, [{ a: 'x' }, 'text', null]);
  });

  it('applies on_error to values it cannot read and stops that field', async () => {
    const input = [{ w: 'heavy', t: ' a ' }];
    const fields = { w: [{ op: 'weight' as const, to: 'kg' }, 'trim' as const], t: 'trim' as const };
    const asNull = await normalizeItems(input, { fields });
    assert.deepEqual(asNull.items[0], { w: null, t: 'a' });
    assert.deepEqual(asNull.errors.samples, [{ index: 0, field: 'w', message: '"heavy" is not a measurement' }]);
    assert.deepEqual((await normalizeItems(input, { fields, on_error: 'keep' })).items[0], { w: 'heavy', t: 'a' });
    await rejectsWithCode(normalizeItems(input, { fields, on_error: 'fail' }), 'TRANSFORM_FAILED');
    const wrongDimension = await normalizeItems([{ w: '5 cm' }], { fields: { w: { op: 'weight', to: 'kg' } } });
    assert.match(wrongDimension.errors.samples[0].message, /is a length, not a weight/);
  });
});

describe(applyJsonata.name, () => {
  it('applies the expression to the whole input with run variables', async () => {
    const input = { products: [{ sku: 'a', price: 5 }, { sku: 'b', price: 15 }] };
    assert.deepEqual(await applyJsonata(input, 'products[price > $config.min].sku', { run: run({ config: { min: 10 } }) }), 'b');
    assert.equal(await applyJsonata(input, '$sum(products.price)'), 20);
    assert.equal(await applyJsonata(input, 'nothing'), null);
  });

  it('turns a broken expression into STEP_CONFIG_INVALID and a runaway one into EXPRESSION_LIMIT', async () => {
    await rejectsWithCode(applyJsonata({}, 'a +'), 'STEP_CONFIG_INVALID');
    const err = await rejectsWithCode(applyJsonata({}, '($f := function($n) { $f($n + 1) }; $f(0))', { timeoutMs: 200 }), 'EXPRESSION_LIMIT');
    assert.equal(err.nonRetryable, true);
  });
});

describe(transformData.name, () => {
  const products = deepFreeze([
    { name: 'Lamp', cost_price: 10, qty: 1 },
    { name: 'Desk', cost_price: 90, qty: 0 },
  ]);
  const map = { transform_type: 'map', mapping_rules: { title: 'name', price: 'cost_price' } };

  it('keeps the shape of the input: a list gives a list', async () => {
    const { output, stats } = await transformData(products, map);
    assert.deepEqual(output, [
      { title: 'Lamp', price: 10 },
      { title: 'Desk', price: 90 },
    ]);
    assert.deepEqual(stats, { transform_type: 'map', input_count: 2, output_count: 2, error_count: 0 });
  });

  it('an object with the list at source_field gives the list at the same place, with counts', async () => {
    const { output } = await transformData({ products, supplier_id: 7 }, { ...map, source_field: 'products' });
    assert.deepEqual(output, { input_count: 2, output_count: 2, error_count: 0, products: [{ title: 'Lamp', price: 10 }, { title: 'Desk', price: 90 }] });
    const filtered = await transformData({ data: { items: products } }, { transform_type: 'filter', items_field: 'data.items', rules: [{ field: 'qty', operator: 'gt', value: 0 }] });
    assert.deepEqual(filtered.output, { input_count: 2, output_count: 1, data: { items: [products[0]] } });
    const renamed = await transformData({ products }, { ...map, source_field: 'products', output_field: 'listings' });
    assert.deepEqual(Object.keys(renamed.output as object).sort(), ['error_count', 'input_count', 'listings', 'output_count']);
  });

  it('never guesses a list inside an object: it is one item, with a warning naming the lists', async () => {
    const fetched = { items: [{ name: 'Lamp', cost_price: 10 }], count: 1, pages: 1 };
    const { output, warnings } = await transformData(fetched, map);
    assert.deepEqual(output, { title: null, price: null });
    assert.deepEqual(warnings, ['the input is an object, processed as one item; it holds lists at items: set source_field (e.g. "items") to process a list']);
    assert.deepEqual((await transformData(fetched, { ...map, source_field: 'items' })).warnings, []);
  });

  it('a single object is one item; null is no items; aggregates always give a list', async () => {
    assert.deepEqual((await transformData(products[0], map)).output, { title: 'Lamp', price: 10 });
    assert.equal((await transformData(products[1], { transform_type: 'filter', rules: [{ field: 'qty', operator: 'gt', value: 0 }] })).output, null);
    assert.deepEqual((await transformData(null, map)).output, []);
    assert.deepEqual((await transformData(products[0], { transform_type: 'aggregate', aggregations: { n: { op: 'count' } } })).output, [{ n: 1 }]);
  });

  it('reads the data from config.input when given', async () => {
    const r = run({ steps: { fetch: { products } } });
    const { output } = await transformData('ignored', { ...map, input: '$steps.fetch.products' }, { run: r });
    assert.equal((output as unknown[]).length, 2);
  });

  it('resolves references in option values before it runs', async () => {
    const r = run({ config: { min_price: 50 } });
    const { output } = await transformData(products, { transform_type: 'filter', rules: [{ field: 'cost_price', operator: 'gte', value: '$config.min_price' }] }, { run: r });
    assert.deepEqual(output, [products[1]]);
  });

  it('fails with STEP_INPUT_INVALID when source_field is not a list, naming the fields there are', async () => {
    const err = await rejectsWithCode(transformData({ items: [] }, { ...map, source_field: 'products' }), 'STEP_INPUT_INVALID');
    assert.match(err.message, /the step input at "products" is nothing \(undefined\); expected a list of items \(source_field\): the input's fields are items/);
    assert.equal(err.nonRetryable, true);
    await rejectsWithCode(transformData(42, map), 'STEP_INPUT_INVALID');
  });

  it('fails with a non-retryable STEP_CONFIG_INVALID when a resolved value is wrong', async () => {
    const r = run({ config: { mode: 'explode', min: 'lots' } });
    const bad = await rejectsWithCode(transformData([], { transform_type: '$config.mode' }, { run: r }), 'STEP_CONFIG_INVALID');
    assert.match(bad.message, /transform_type/);
    assert.equal(bad.nonRetryable, true);
    const wrongType = await rejectsWithCode(
      transformData([], { transform_type: 'filter', rules: [{ field: 'x', operator: 'gt', value: '$config.nothing' }] }, { run: r }),
      'STEP_CONFIG_INVALID',
    );
    assert.deepEqual((wrongType.details?.[0] as { issues: Array<{ field: string }> }).issues.map((i) => i.field), ['rules[0].value']);
  });

  it('reports progress every N items and stops when the hook throws (cancellation)', async () => {
    const items = Array.from({ length: 2500 }, (_, i) => ({ i }));
    const seen: Array<[number, number]> = [];
    await transformData(items, { transform_type: 'map', mapping_rules: { j: 'i' } }, { every: 1000, progress: (d, t) => void seen.push([d, t]) });
    assert.deepEqual(seen, [
      [1000, 2500],
      [2000, 2500],
      [2500, 2500],
    ]);
    await assert.rejects(
      transformData(items, { transform_type: 'filter', rules: [{ field: 'i', operator: 'exists' }] }, { every: 500, progress: (d) => { if (d >= 1000) throw new Error('cancelled'); } }),
      /cancelled/,
    );
  });

  it('maps and filters 100k items (speed is measured by bench/transform-validate.ts)', async () => {
    const items = Array.from({ length: 100_000 }, (_, i) => ({ sku: `SKU-${i}`, name: `Product ${i}`, cost_price: `${i % 100},50`, qty: i % 7, brand: `b${i % 10}` }));
    const mapped = await transformData(items, {
      transform_type: 'map',
      mapping_rules: { sku: 'sku', title: 'name', price: { path: 'cost_price', type: 'number' }, 'stock.qty': 'qty' },
    });
    const filtered = await transformData(items, { transform_type: 'filter', rules: [{ field: 'qty', operator: 'gt', value: 0 }, { field: 'brand', operator: 'in', value: ['b1', 'b2'] }] });
    assert.equal(mapped.stats.output_count, 100_000);
    assert.equal(filtered.stats.output_count, items.filter((p) => p.qty > 0 && ['b1', 'b2'].includes(p.brand)).length);
    assert.deepEqual((mapped.output as unknown[])[99_999], { sku: 'SKU-99999', title: 'Product 99999', price: 99.5, stock: { qty: 99_999 % 7 } });
  });
});

describe(createDataTransformExecutor.name, () => {
  function fakeContext(input: unknown, over: Partial<StepExecutionContext> = {}): StepExecutionContext & { beats: unknown[] } {
    const beats: unknown[] = [];
    const ctx = {
      execution_id: 'e1',
      workflow_code: 'w',
      step_key: 'transform',
      attempt: 1,
      max_attempts: 1,
      idempotency_key: 'e1:transform',
      input,
      run: run(),
      resolve: (v: unknown) => v,
      heartbeat: (d?: unknown) => void beats.push(d),
      signal: new AbortController().signal,
      logger: { warn: () => undefined, info: () => undefined } as never,
      compensates: null,
      resolveSecrets: async (v: unknown) => ({ value: v }) as never,
      beats,
      ...over,
    };
    return ctx as StepExecutionContext & { beats: unknown[] };
  }

  it('is registered under data_transform with its validator', () => {
    assert.equal(dataTransformExecutorModule.type, DATA_TRANSFORM_STEP_TYPE);
    assert.equal(DATA_TRANSFORM_STEP_TYPE, 'data_transform');
    assert.equal(dataTransformExecutorModule.validateConfig, validateDataTransformConfig);
    assert.equal(dataTransformExecutorModule.create({} as never).type, 'data_transform');
  });

  it('heartbeats with progress and summarises the counts of its output', async () => {
    const sut = createDataTransformExecutor();
    const ctx = fakeContext(Array.from({ length: 2100 }, (_, i) => ({ p: i % 2 === 0 ? 'x' : String(i) })));
    const out = await sut.execute({ transform_type: 'map', mapping_rules: { n: { path: 'p', type: 'number' } } }, ctx);
    assert.equal((out as unknown[]).length, 2100);
    assert.deepEqual(ctx.beats, [
      { processed: 1000, total: 2100 },
      { processed: 2000, total: 2100 },
      { processed: 2100, total: 2100 },
    ]);
    const summary = sut.summarize!(out);
    assert.equal(summary.input_count, 2100);
    assert.equal(summary.output_count, 2100);
    assert.equal(summary.error_count, 1050);
    assert.equal((summary.error_samples as unknown[]).length, 5);
    assert.deepEqual(sut.summarize!([1, 2]), { output_count: 2 });
  });

  it('stops when the step is cancelled', async () => {
    const ac = new AbortController();
    ac.abort(new Error('cancelled by Temporal'));
    const sut = createDataTransformExecutor();
    await assert.rejects(sut.execute({ transform_type: 'filter', rules: [{ field: 'a', operator: 'exists' }] }, fakeContext([{ a: 1 }], { signal: ac.signal })), /cancelled by Temporal/);
  });
});

describe('data_transform value parsers', () => {
  it(parseDecimal.name, () => {
    const cases: Array<[unknown, number | null, ('auto' | '.' | ',')?]> = [
      ['1234.5', 1234.5],
      ['1,234.56', 1234.56],
      ['1.234,56', 1234.56],
      ['1 234,56', 1234.56],
      ['1\u00a0234,56', 1234.56],
      ["1'234.50", 1234.5],
      ['-12,5', -12.5],
      ['+3', 3],
      ['1,234', 1234],
      ['1.234', 1234],
      ['1.234', 1.234, '.'],
      ['0.125', 0.125],
      ['0,125', 0.125],
      ['12,5', 12.5],
      ['1,234,567', 1234567],
      ['.5', 0.5],
      ['1e3', 1000],
      [42, 42],
      ['', null],
      ['abc', null],
      ['1.2.3,4,5', null],
      ['1,234.56', null, ','],
      [Infinity, null],
      [null, null],
    ];
    for (const [input, expected, sep] of cases) {
      const r = parseDecimal(input, sep);
      assert.deepEqual(r.ok ? r.value : null, expected, `${String(input)} (${sep ?? 'auto'})`);
    }
  });

  it(parseCurrency.name, () => {
    const cases: Array<[unknown, [number, string | null] | null, string?]> = [
      ['1.234,56 €', [1234.56, 'EUR']],
      ['$1,234.56', [1234.56, 'USD']],
      ['$5', [5, 'CAD'], 'CAD'],
      ['C$5', [5, 'CAD']],
      ['R$ 10,00', [10, 'BRL']],
      ['10 zł', [10, 'PLN']],
      ['¥100', [100, 'CNY'], 'CNY'],
      ['EUR12.50', [12.5, 'EUR']],
      ['12.50EUR', [12.5, 'EUR']],
      ['€ -5', [-5, 'EUR']],
      ['42', [42, null]],
      ['42', [42, 'GBP'], 'GBP'],
      ['abc 12', null],
      ['twelve euros', null],
      [{}, null],
    ];
    for (const [input, expected, def] of cases) {
      const r = parseCurrency(input, def ?? null);
      assert.deepEqual(r.ok ? [r.value.amount, r.value.currency] : null, expected, String(input));
    }
  });

  it(parseDate.name, () => {
    const cases: Array<[unknown, string | null, ('auto' | 'dmy' | 'mdy' | 'ymd')?]> = [
      ['2024-03-05', '2024-03-05'],
      ['2024-03-05T10:00:00Z', '2024-03-05T10:00:00.000Z'],
      ['2024-03-05T10:00:00+02:00', '2024-03-05T08:00:00.000Z'],
      ['2024-03-05 10:00', '2024-03-05T10:00:00.000Z'],
      ['2024-03-05T10:00:00.123456Z', '2024-03-05T10:00:00.123Z'],
      ['20240305', '2024-03-05'],
      ['05.03.2024', '2024-03-05'],
      ['05-03-2024', '2024-03-05'],
      ['03/05/2024', '2024-03-05'],
      ['13/05/2024', '2024-05-13'],
      ['05/13/2024', '2024-05-13'],
      ['03/05/2024', '2024-05-03', 'dmy'],
      ['2024/03/05', '2024-03-05'],
      ['5.3.24', '2024-03-05'],
      ['5.3.99', '1999-03-05'],
      ['5 March 2024', '2024-03-05'],
      ['05-Mar-2024', '2024-03-05'],
      ['March 5th, 2024', '2024-03-05'],
      ['Mar 5 2024', '2024-03-05'],
      ['Tue, 05 Mar 2024 10:00:00 GMT', '2024-03-05T10:00:00.000Z'],
      ['05.03.2024 14:30', '2024-03-05T14:30:00.000Z'],
      ['03/05/2024 2:30 PM', '2024-03-05T14:30:00.000Z'],
      ['03/05/2024 12:00 am', '2024-03-05T00:00:00.000Z'],
      [1709632800, '2024-03-05T10:00:00.000Z'],
      [1709632800000, '2024-03-05T10:00:00.000Z'],
      ['0099-01-01', '0099-01-01'],
      ['2024-02-30', null],
      ['2023-02-29', null],
      ['2024-02-29', '2024-02-29'],
      ['31.04.2024', null],
      ['2024-13-01', null],
      ['2024-03-05T25:00', null],
      ['yesterday', null],
      ['5 Foo 2024', null],
      [true, null],
    ];
    for (const [input, expected, order] of cases) {
      const r = parseDate(input, order);
      assert.deepEqual(r.ok ? r.value : null, expected, String(input));
    }
    assert.deepEqual(parseDate('2024-03-05', 'auto', 'datetime'), { ok: true, value: '2024-03-05T00:00:00.000Z' });
  });

  it(isIsoDate.name, () => {
    for (const ok of ['2024-03-05', '2024-03-05T10:00:00Z', '2024-03-05T10:00:00.5+01:00', '2024-03-05T10:00']) assert.ok(isIsoDate(ok), ok);
    for (const bad of ['2024-02-30', '05.03.2024', '2024-03-05 10:00', '2024-03-05T10:00 pm', 20240305, '2024-3-5']) assert.ok(!isIsoDate(bad), String(bad));
  });

  it(convertUnit.name, () => {
    assert.deepEqual(convertUnit('1 kg', 'weight', 'lb'), { ok: true, value: 2.205 });
    assert.deepEqual(convertUnit('3 ft', 'length', 'in'), { ok: true, value: 36 });
    assert.deepEqual(convertUnit('12 fl oz', 'volume', 'ml', { precision: 1 }), { ok: true, value: 354.9 });
    assert.deepEqual(convertUnit(5, 'weight', 'kg'), { ok: true, value: 5 }, 'a bare number is already in the target unit');
    assert.equal(convertUnit('5 furlongs', 'length', 'm').ok, false);
    assert.equal(convertUnit('5 kg', 'weight', 'parsec').ok, false);
    assert.equal(convertUnit('1'.repeat(100) + ' kg', 'weight', 'g').ok, false, 'long strings are refused');
  });

  it(`${castValue.name}, ${parseBoolean.name}, ${titleCase.name}`, () => {
    assert.deepEqual(castValue('boolean', 'maybe'), { ok: false, message: '"maybe" is not a boolean' });
    assert.deepEqual(castValue('number', true), { ok: true, value: 1 });
    assert.deepEqual(parseBoolean('OFF'), { ok: true, value: false });
    assert.deepEqual(parseBoolean(2), { ok: true, value: true });
    assert.equal(titleCase("men's t-shirt (XL) / blue"), "Men's T-Shirt (Xl) / Blue");
    assert.equal(titleCase('ÉCLAIR über'), 'Éclair Über');
  });
});

describe('data_transform guarded regular expressions', () => {
  it(regexProblem.name, () => {
    for (const ok of ['^[A-Z0-9-]{3,32}$', '^\\d+(\\.\\d{2})?$', '^(?:[A-Z]{2}|\\d{3})-\\d+$', '(\\d{3})+', '^[^@]+@[^@]+$', '(?<year>\\d{4})-\\d{2}', '^a(?=b)']) {
      assert.equal(regexProblem(ok), null, ok);
    }
    const bad: Array<[string, RegExp]> = [
      ['(a+)+$', /nests quantifiers/],
      ['(\\w*)*x', /nests quantifiers/],
      ['((ab)+c)*', /nests quantifiers/],
      ['(x{1,3}){2,}', /nests quantifiers/],
      ['(a|aa)+', /alternation/],
      ['(a)\\1', /backreference/],
      ['(?<n>a)\\k<n>', /backreference/],
      ['a*'.repeat(9), /unbounded/],
      ['x'.repeat(501), /longer than 500/],
      ['(', /does not compile/],
      ['', /non-empty/],
    ];
    for (const [pattern, why] of bad) assert.match(regexProblem(pattern) ?? 'accepted', why, pattern);
    assert.match(regexProblem('a', 'gx') ?? '', /flags/);
  });

  it(`${compileSafeRegex.name} never matches values over the length cap`, () => {
    const re = compileSafeRegex('^a+$');
    assert.ok(re.test('aaa'));
    assert.ok(re.test('a'.repeat(MAX_MATCH_LENGTH)));
    assert.ok(!re.test('a'.repeat(MAX_MATCH_LENGTH + 1)));
    assert.ok(!re.test({ a: 1 }));
    assert.throws(() => compileSafeRegex('(a+)+'), /nests quantifiers/);
  });
});

describe('data_transform paths and item selection', () => {
  it(parsePath.name, () => {
    assert.deepEqual(parsePath('a.b[0].c'), { path: ['a', 'b', '0', 'c'] });
    assert.deepEqual(parsePath("['a.b'].c"), { path: ['a.b', 'c'] });
    assert.deepEqual(parsePath('$.title'), { path: ['title'] });
    assert.deepEqual(parsePath('$title'), { path: ['title'] });
    assert.deepEqual(parsePath('$'), { path: [] });
    assert.deepEqual(parsePath('Product Name'), { path: ['Product Name'] });
    for (const bad of ['', 'a.', '.a', 'a..b', 'a[x]', 'a]', 'a[0]b', 'constructor.x', "a['b"]) assert.ok('error' in parsePath(bad), bad);
  });

  it(`${getIn.name}, ${setIn.name}, ${removeIn.name}, ${formatPath.name}`, () => {
    const src = deepFreeze({ a: { b: 1, c: 2 }, list: [{ x: 1 }] });
    assert.equal(getIn(src, ['list', '0', 'x']), 1);
    assert.equal(getIn(src, ['a', 'toString']), undefined, 'inherited properties are not read');
    const out: Record<string, unknown> = { a: src.a };
    setIn(out, ['a', 'd'], 3);
    assert.deepEqual(out, { a: { b: 1, c: 2, d: 3 } });
    removeIn(out, ['a', 'b']);
    assert.deepEqual(out, { a: { c: 2, d: 3 } });
    assert.deepEqual(src.a, { b: 1, c: 2 });
    assert.equal(formatPath(['a', '0', 'b.c', 'd']), "a[0]['b.c'].d");
  });

  it(selectItems.name, () => {
    assert.deepEqual(selectItems([1, 2]).shape, { kind: 'list' });
    assert.deepEqual(selectItems({ a: 1 }), { items: [{ a: 1 }], shape: { kind: 'single' } });
    assert.deepEqual(selectItems(undefined), { items: [], shape: { kind: 'list' } });
    assert.deepEqual(selectItems({ products: [1] }, 'products').shape, { kind: 'field', source: 'products', outputPath: ['products'] });
  });
});
