import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { validateAiProcessConfig } from '@engine/activities/ai_process/schema';
import { TASKS, TASK_TYPES, parseResults, responseJsonSchema, systemPrompt, userMessage, type TaskOptions } from '@engine/activities/ai_process/tasks';
import { runBounded } from '@engine/activities/ai_process/executor';

const sut = validateAiProcessConfig;
const fields = (config: Record<string, unknown>) => sut(config).map((i) => i.field);
const options: TaskOptions = { fields: ['title', 'description'], translateMode: 'replace', categories: ['Shoes', 'Bags'], categoryField: 'category', targetLanguage: 'de' };

describe('validateAiProcessConfig', () => {
  it("accepts the specification's config and references where values go", () => {
    assert.deepEqual(sut({ task_type: 'enrich_product', source_field: 'products' }), []);
    assert.deepEqual(sut({ task_type: 'translate', target_language: '$config.language', batch_size: '$config.batch', min_confidence: 0.8 }), []);
    assert.deepEqual(sut({ task_type: 'categorize', categories: '$input.categories', api_key: { secret: 'AI_KEY' } }), []);
    assert.deepEqual(sut({ task_type: 'detect_fraud', source_field: 'orders', include_fields: ['total', 'country'], concurrency: 4 }), []);
  });

  it('names the field of each problem', () => {
    assert.deepEqual(fields({ task_type: 'summarise' }), ['task_type']);
    assert.deepEqual(fields({ task_type: 'translate' }), ['target_language']);
    assert.deepEqual(fields({ task_type: 'categorize' }), ['categories']);
    assert.deepEqual(fields({ task_type: 'categorize', categories: ['A', 'A'] }), ['categories']);
    assert.deepEqual(fields({ task_type: 'enrich_product', categories: ['A'] }), ['categories']);
    assert.deepEqual(fields({ task_type: 'enrich_product', batch_size: 500 }), ['batch_size']);
    assert.deepEqual(fields({ task_type: 'enrich_product', min_confidence: 1.5 }), ['min_confidence']);
    assert.deepEqual(fields({ task_type: 'enrich_product', api_key: 'sk-live-123' }), ['api_key']);
    assert.deepEqual(fields({ task_type: 'enrich_product', temprature: 1 }), ['temprature']);
  });
});

describe(responseJsonSchema.name, () => {
  it('is a strict schema for every task: all properties required, no extra properties', () => {
    const check = (s: Record<string, unknown>, where: string) => {
      if (s.type === 'object') {
        const props = Object.keys((s.properties as object) ?? {});
        assert.equal(s.additionalProperties, false, `${where}: additionalProperties`);
        assert.deepEqual([...(s.required as string[])].sort(), props.sort(), `${where}: required`);
        for (const [k, v] of Object.entries(s.properties as Record<string, Record<string, unknown>>)) check(v, `${where}.${k}`);
      }
      if (s.items) check(s.items as Record<string, unknown>, `${where}[]`);
    };
    for (const task of TASK_TYPES) {
      const schema = responseJsonSchema(task, options);
      assert.equal(schema.$schema, undefined);
      check(schema, task);
      const item = (schema.properties as { results: { items: { properties: Record<string, unknown> } } }).results.items.properties;
      assert.ok('index' in item && 'confidence' in item, task);
    }
    const cat = responseJsonSchema('categorize', options) as { properties: { results: { items: { properties: { category: { enum: string[] } } } } } };
    assert.deepEqual(cat.properties.results.items.properties.category.enum, ['Shoes', 'Bags']);
  });
});

describe(parseResults.name, () => {
  const ok = (index: number, confidence = 0.9) => ({ index, category: 'Shoes', confidence });

  it('returns each valid result by index', () => {
    const r = parseResults('categorize', options, JSON.stringify({ results: [ok(1), ok(0)] }), 2);
    assert.equal(r.results.size, 2);
    assert.equal(r.problems.size, 0);
  });

  it('reports invalid JSON, a wrong shape, schema violations and missing items per index', () => {
    assert.match(parseResults('categorize', options, '{"results": [', 2).error ?? '', /invalid JSON/);
    assert.match(parseResults('categorize', options, '{"items": []}', 1).problems.get(0) ?? '', /no "results"/);
    const r = parseResults('categorize', options, JSON.stringify({ results: [{ ...ok(0), category: 'Hats' }, ok(7)] }), 2);
    assert.equal(r.results.size, 0, 'a category outside the list is invalid; out-of-range indexes are ignored');
    assert.match(r.problems.get(0) ?? '', /category/);
    assert.match(r.problems.get(1) ?? '', /no result/);
    const dup = parseResults('categorize', options, JSON.stringify({ results: [{ ...ok(0), category: 'Hats' }, ok(0, 0.5), ok(0, 0.9)] }), 1);
    assert.equal(dup.results.get(0)?.confidence, 0.5, 'the first valid answer for an index counts');
    assert.match(parseResults('categorize', options, JSON.stringify({ results: [{ ...ok(0), confidence: 'high' }] }), 1).problems.get(0) ?? '', /confidence/);
  });
});

describe('TASKS.apply', () => {
  it('enrich_product keeps supplier attributes over suggested ones', () => {
    const out = TASKS.enrich_product.apply(
      { sku: 'A', attributes: { colour: 'red' } },
      { description: 'd', bullet_points: ['b'], keywords: ['k'], attributes: [{ name: 'colour', value: 'blue' }, { name: 'material', value: 'leather' }] },
      options,
    );
    assert.deepEqual(out.attributes, { colour: 'red', material: 'leather' });
    assert.equal(out.description, 'd');
  });

  it('translate replaces present fields or adds them under translations', () => {
    const item = { title: 'Red shoe', sku: 'A' };
    assert.deepEqual(TASKS.translate.apply(item, { title: 'Roter Schuh', description: null }, options), { title: 'Roter Schuh', sku: 'A', language: 'de' });
    assert.deepEqual(TASKS.translate.apply(item, { title: 'Roter Schuh', description: 'x' }, { ...options, translateMode: 'add' }), {
      ...item,
      translations: { de: { title: 'Roter Schuh' } },
    });
  });

  it('categorize writes the configured field; detect_fraud adds fraud_check', () => {
    assert.equal(TASKS.categorize.apply({}, { category: 'Bags' }, { ...options, categoryField: 'cat' }).cat, 'Bags');
    const f = TASKS.detect_fraud.apply({ id: 1 }, { risk_score: 0.9, is_fraud: true, reasons: ['x'], recommended_action: 'reject' }, options);
    assert.deepEqual(f.fraud_check, { risk_score: 0.9, is_fraud: true, reasons: ['x'], recommended_action: 'reject' });
  });
});

describe('prompts', () => {
  it('number items from 0 and send only include_fields when given', () => {
    assert.equal(userMessage([{ a: 1, b: 2 }, { a: 3 }], ['a']), '{"items":[{"index":0,"data":{"a":1}},{"index":1,"data":{"a":3}}]}');
    assert.match(systemPrompt('translate', { ...options, instructions: 'Use formal German.' }), /into de[\s\S]*formal German/);
  });
});

describe(runBounded.name, () => {
  it('keeps at most `limit` tasks in flight and keeps result order', async () => {
    let inFlight = 0;
    let max = 0;
    const tasks = Array.from({ length: 10 }, (_, i) => async () => {
      inFlight++;
      max = Math.max(max, inFlight);
      await new Promise((r) => setImmediate(r));
      inFlight--;
      return i;
    });
    assert.deepEqual(await runBounded(tasks, 3), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.equal(max, 3);
  });

  it('stops starting tasks after a failure and rethrows it', async () => {
    let started = 0;
    const tasks = Array.from({ length: 10 }, (_, i) => async () => {
      started++;
      if (i === 1) throw new Error('boom');
      await new Promise((r) => setImmediate(r));
      return i;
    });
    await assert.rejects(runBounded(tasks, 2), /boom/);
    assert.ok(started < 10);
  });
});
