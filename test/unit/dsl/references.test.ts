import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  findStepReferences,
  getPath,
  isReference,
  parseReference,
  PayloadRefEncountered,
  referencedSteps,
  resolveReferences,
} from '@engine/dsl/references';
import { isPayloadRef, type PayloadRef } from '@engine/dsl/types';
import { runContext } from './fixtures';

const ref: PayloadRef = { $payload: { id: 'p1', size: 300_000, sha256: 'abc', items: 2 } };

const ctx = runContext({
  input: { supplier_id: 42, name: 'Acme', tags: ['x', 'y'], items: [{ sku: 'A1', price: 9.5 }], nothing: null },
  steps: { fetch: { products: [{ sku: 'A1' }], count: 1 }, big: ref },
  config: { enable_ai_enrichment: true, currency: 'EUR' },
  execution: { id: 'exec-1', workflow_code: 'product_import' },
});
const withItem = { ...ctx, item: { title: 'Lamp', price: 12, input: 'item field', 'content-type': 'x' } };

describe(resolveReferences.name, () => {
  it('replaces whole-string references by the value with its type', () => {
    const sut = resolveReferences(
      {
        supplier_id: '$input.supplier_id',
        tags: '$input.tags',
        products: '$steps.fetch.products',
        count: '$steps.fetch.count',
        currency: '$config.currency',
        flag: '$workflow.config.enable_ai_enrichment',
        exec: '$execution.id',
        all_input: '$input',
        fetch: '$steps.fetch',
        missing: '$input.nope',
        nothing: '$input.nothing',
      },
      ctx,
    );
    assert.deepEqual(sut, {
      supplier_id: 42,
      tags: ['x', 'y'],
      products: [{ sku: 'A1' }],
      count: 1,
      currency: 'EUR',
      flag: true,
      exec: 'exec-1',
      all_input: ctx.input,
      fetch: { products: [{ sku: 'A1' }], count: 1 },
      missing: undefined,
      nothing: null,
    });
  });

  it('reads the current item through $, $.field and a bare $field', () => {
    const sut = resolveReferences({ raw_data: '$', body: { title: '$title', price: '$price' }, dotted: '$.title', shadowed: '$.input' }, withItem);
    assert.deepEqual(sut, { raw_data: withItem.item, body: { title: 'Lamp', price: 12 }, dotted: 'Lamp', shadowed: 'item field' });
  });

  it('leaves item references as written when the context has no item', () => {
    const config = { body: { title: '$title', note: 'for $title from $input.name' }, raw: '$', supplier: '$input.supplier_id' };
    assert.deepEqual(resolveReferences(config, ctx), { body: config.body, raw: '$', supplier: 42 });
  });

  it('resolves item references to undefined when the item is present but undefined', () => {
    assert.deepEqual(resolveReferences({ t: '$title', s: 'x$title' }, { ...ctx, item: undefined }), { t: undefined, s: 'x' });
  });

  it('accepts dotted and bracketed paths', () => {
    const sut = resolveReferences(['$input.items.0.sku', '$input.items[0].price', "$input['name']", '$input["tags"][1]', '$[content-type]', "$['content-type']"], withItem);
    assert.deepEqual(sut, ['A1', 9.5, 'Acme', 'y', '$[content-type]', 'x']);
  });

  it('interpolates references inside longer strings', () => {
    const sut = resolveReferences(
      {
        plain: 'Supplier $input.supplier_id: $input.name.',
        braced: 'sku-${input.items[0].sku}-v2',
        object: 'tags=$input.tags',
        empty: '[$input.nope][$input.nothing]',
        bool: 'ai=${config.enable_ai_enrichment}',
        item: '${title}s for $price',
      },
      withItem,
    );
    assert.deepEqual(sut, {
      plain: 'Supplier 42: Acme.',
      braced: 'sku-A1-v2',
      object: 'tags=["x","y"]',
      empty: '[][]',
      bool: 'ai=true',
      item: 'Lamps for 12',
    });
  });

  it('keeps $$ and a $ that starts no reference as literal text', () => {
    const sut = resolveReferences(['costs $$5', '$$input.name', 'US$ 10', '$5 off', 'a $ b', '${}', '${input.name', '$$'], ctx);
    assert.deepEqual(sut, ['costs $5', '$input.name', 'US$ 10', '$5 off', 'a $ b', '${}', '${input.name', '$']);
  });

  it('walks arrays and objects deeply without mutating the input', () => {
    const config = { a: [{ b: '$input.name' }, 3, null, true], c: { d: { e: '$config.currency' } } };
    const copy = structuredClone(config);
    const sut = resolveReferences(config, ctx);
    assert.deepEqual(sut, { a: [{ b: 'Acme' }, 3, null, true], c: { d: { e: 'EUR' } } });
    assert.deepEqual(config, copy);
  });

  it('returns a PayloadRef read as a whole value', () => {
    const sut = resolveReferences({ data: '$steps.big' }, ctx);
    assert.equal(sut.data, ref);
    assert.ok(isPayloadRef(sut.data));
  });

  it('throws PayloadRefEncountered when a path walks into a PayloadRef', () => {
    assert.throws(
      () => resolveReferences({ first: '$steps.big.0.sku' }, ctx),
      (err: unknown) => err instanceof PayloadRefEncountered && err.code === 'PAYLOAD_REF' && err.ref === ref && err.path.join('.') === 'steps.big',
    );
  });

  it('throws PayloadRefEncountered when a PayloadRef would be interpolated into text', () => {
    assert.throws(() => resolveReferences('data: $steps.big', ctx), PayloadRefEncountered);
  });
});

describe(getPath.name, () => {
  const root = { a: { b: [{ c: 1 }, { c: 2 }] }, 'odd key': 3 };

  it('reads dotted, numeric and bracketed paths', () => {
    assert.equal(getPath(root, 'a.b.1.c'), 2);
    assert.equal(getPath(root, 'a.b[0].c'), 1);
    assert.equal(getPath(root, "['odd key']"), 3);
    assert.equal(getPath(root, ['a', 'b', '1', 'c']), 2);
    assert.equal(getPath(root, ''), root);
    assert.equal(getPath(root, 'a.b.length'), 2);
  });

  it('returns undefined for missing paths, primitives and unparseable paths', () => {
    assert.equal(getPath(root, 'a.x.y'), undefined);
    assert.equal(getPath('text', 'length'), undefined);
    assert.equal(getPath(null, 'a'), undefined);
    assert.equal(getPath(root, 'a..b'), undefined);
    assert.equal(getPath(root, 'a[b'), undefined);
  });

  it('does not call getters', () => {
    let called = false;
    const tricky = Object.defineProperty({}, 'secret', {
      enumerable: true,
      get() {
        called = true;
        return 'leaked';
      },
    });
    assert.equal(getPath(tricky, 'secret'), undefined);
    assert.equal(called, false);
  });
});

describe(isReference.name, () => {
  it('is true for a string that is exactly one reference', () => {
    for (const s of ['$', '$input', '$input.a.b', '$steps.fetch.items[0]', '${config.x}', '$title', '$.title', '$[0]', '$workflow.config.x']) {
      assert.equal(isReference(s), true, s);
    }
  });

  it('is false for text, escapes and interpolations', () => {
    for (const s of ['input.a', '$$input', 'x $input', '$input.a b', '$5', '', '${input.a', '$input.', 42, null]) {
      assert.equal(isReference(s), false, String(s));
    }
  });

  it('maps workflow.config to config and unknown roots to the item', () => {
    assert.deepEqual(parseReference('$workflow.config.x'), { scope: 'run', segments: ['config', 'x'] });
    assert.deepEqual(parseReference('$workflow.name'), { scope: 'item', segments: ['workflow', 'name'] });
    assert.deepEqual(parseReference('$steps'), { scope: 'run', segments: ['steps'] });
  });
});

describe(referencedSteps.name, () => {
  it('finds $steps references in every written form', () => {
    const config = {
      whole: '$steps.a',
      deep: { list: ['$steps.b.items[0].sku', "$steps['c'].x", '$steps[d]', '$steps["e"]'] },
      text: 'from ${steps.f.name} and $steps.g!',
      escaped: '$$steps.h.x',
      other: '$input.steps.i',
      all: '$steps',
    };
    assert.deepEqual(referencedSteps(config), new Set(['a', 'b', 'c', 'd', 'e', 'f', 'g']));
  });

  it('reads condition paths, with or without $', () => {
    const cond = {
      type: 'all',
      conditions: [
        { type: 'value_check', path: 'steps.a.count', operator: 'gt', value: 0 },
        { type: 'not', condition: { type: 'value_check', path: '$steps.b', operator: 'exists' } },
        { type: 'value_check', path: 'workflow.config.flag', operator: 'equals', value: '$steps.c' },
      ],
    };
    assert.deepEqual(referencedSteps(cond, 'condition'), new Set(['a', 'b']));
  });
});

describe(findStepReferences.name, () => {
  it('names the field each reference sits in', () => {
    const refs = findStepReferences({ body: { title: 'x ${steps.a.t}' }, list: ['$steps.b'] }, 'config');
    assert.deepEqual(refs, [
      { step: 'a', field: 'config.body.title' },
      { step: 'b', field: 'config.list[0]' },
    ]);
    const cond = { type: 'any', conditions: [{ type: 'value_check', path: 'steps.z.n', operator: 'exists' }] };
    assert.deepEqual(findStepReferences(cond, 'condition', 'condition'), [{ step: 'z', field: 'condition.conditions[0].path' }]);
  });
});

describe('reference security', () => {
  const input = JSON.parse('{"name":"Acme","items":[1,2],"__proto__":{"polluted":"yes"}}') as Record<string, unknown>;
  const sctx = runContext({ input, steps: { a: 'text output', o: { k: 1 } }, config: { c: 1 }, item: {} });

  it('resolves prototype-walking whole references to undefined', () => {
    const attempts = [
      '$input.constructor',
      '$input.constructor.constructor',
      '$input.__proto__',
      '$input.__proto__.x',
      '$input.__proto__.polluted',
      '$input.prototype',
      '$input.toString',
      '$input.hasOwnProperty',
      '$input.items.constructor',
      '$input.items.__proto__',
      '$input.name.constructor',
      '$steps.a.__proto__',
      '$steps.a.constructor.constructor',
      '$steps.o.__proto__',
      '$steps.constructor',
      '$steps.__proto__',
      '$config.constructor.prototype',
      '$workflow.config.constructor',
      '$execution.__defineGetter__',
      '$constructor',
      '$__proto__',
      '$.constructor',
      "$input['__proto__']",
      '$input["constructor"]["constructor"]',
      '$input[constructor]',
      '$input[__proto__][polluted]',
      '$input[prototype]',
    ];
    for (const attempt of attempts) {
      assert.equal(resolveReferences(attempt, sctx), undefined, attempt);
    }
  });

  it('interpolates prototype-walking references as empty text', () => {
    assert.equal(resolveReferences('name: ${input.constructor.name}!', sctx), 'name: !');
    assert.equal(resolveReferences('x $input.__proto__.polluted y', sctx), 'x  y');
    assert.equal(resolveReferences("${input['constructor']}|${constructor}|$steps.a.constructor", sctx), '||');
  });

  it('reaches nothing through getPath either', () => {
    assert.equal(getPath({}, 'constructor.constructor'), undefined);
    assert.equal(getPath([], '__proto__'), undefined);
    assert.equal(getPath(() => 1, 'name'), undefined);
    assert.equal(getPath({ f: () => 1 }, 'f'), undefined);
  });

  it('does not pollute Object.prototype when resolving a config with a __proto__ key', () => {
    const config = JSON.parse('{"__proto__": {"polluted": "$input.name"}, "nested": {"__proto__": {"isAdmin": true}}}') as unknown;
    const sut = resolveReferences(config, sctx) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(sut), Object.prototype);
    assert.deepEqual(Object.getOwnPropertyDescriptor(sut, '__proto__')?.value, { polluted: 'Acme' });
    assert.equal((sut as { polluted?: unknown }).polluted, undefined);
    assert.equal(({} as { polluted?: unknown }).polluted, undefined);
    assert.equal(({} as { isAdmin?: unknown }).isAdmin, undefined);
    assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted'), false);
  });

  it('counts a __proto__ step key as a reference, so validation can reject it', () => {
    assert.deepEqual(referencedSteps({ x: '$steps.__proto__.y' }), new Set(['__proto__']));
    assert.equal(({} as { y?: unknown }).y, undefined);
  });
});

describe(isPayloadRef.name, () => {
  it('recognises a claim-check reference', () => {
    assert.equal(isPayloadRef(ref), true);
    assert.equal(isPayloadRef({ id: 'a' }), false);
    assert.equal(isPayloadRef({ $payload: null }), false);
  });
});
