import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeDefinition } from '@engine/dsl/normalize';
import type { StepInput, ValidationIssue } from '@engine/dsl/types';
import { DefinitionInvalidError, formatIssues, MAX_STEPS, parseDefinition, stepKeyProblem, validateDefinition } from '@engine/dsl/validate';
import { parseReference } from '@engine/dsl/references';
import { input, registry, step } from './fixtures';

const sut = (def: unknown, opts?: { structuralOnly?: boolean }) => validateDefinition(def, registry, opts);

/** The issues as `code step field` strings, for compact assertions. */
const summary = (issues: ValidationIssue[]) => issues.map((i) => `${i.code} ${i.step ?? '-'} ${i.field}`);

/** Validates a definition made of `steps` and returns the summary. */
const issuesOf = (steps: unknown[], extra: Record<string, unknown> = {}) => summary(sut({ ...input([]), ...extra, steps }));

/** A product import as the specification describes it. */
const productImport = input(
  [
    step('fetch_products', {
      step_type: 'data_fetch',
      config: { source_type: 'supplier', fetch_type: 'products', supplier_id: '$input.supplier_id' },
      timeout_seconds: 300,
      can_retry: true,
      max_retries: 3,
    }),
    step('transform', { config: { mapping_rules: [{ source: 'name', target: 'title' }] } }),
    step('enrich', {
      step_type: 'api_call',
      is_optional: true,
      condition: { type: 'value_check', path: 'workflow.config.enable_ai_enrichment', value: true, operator: 'equals' },
      config: { body: { title: '$title', price: '$price' }, products: '$steps.transform.products' },
    }),
    step('publish_amazon', { order: 4, parallel_group: 'marketplace_updates', can_run_parallel: true }),
    step('publish_ebay', { order: 4, parallel_group: 'marketplace_updates', can_run_parallel: true, config: { n: '$steps.fetch_products.count' } }),
    step('report', { step_type: 'notification', config: { text: 'Imported ${steps.fetch_products.count} products' } }),
    step('undo_publish', { role: 'compensation', compensates: 'publish_amazon', config: { id: '$steps.publish_amazon.listing_id' } }),
    step('alert', { role: 'on_failure', step_type: 'notification', config: { text: 'failed after $steps.report.sent' } }),
  ],
  { config: { enable_ai_enrichment: true } },
);

describe(validateDefinition.name, () => {
  it('accepts a valid definition, as written or normalised', () => {
    assert.deepEqual(sut(productImport), []);
    assert.deepEqual(sut(normalizeDefinition(productImport, { workflow_id: 1, version_id: 2, version: 3 })), []);
  });

  it('never throws on garbage', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    const cyclic: Record<string, unknown> = { code: 'c', name: 'n' };
    cyclic.steps = [{ key: 'a', name: 'A', step_type: 'data_transform', config: cyclic, depends_on_steps: cyclic, condition: cyclic }, cyclic];
    const throwing = Object.defineProperty({ code: 'c', name: 'n' }, 'steps', {
      enumerable: true,
      get() {
        throw new Error('boom');
      },
    });
    const proxy = new Proxy({}, { ownKeys: () => { throw new Error('trap'); }, get: () => { throw new Error('trap'); } });
    const garbage: unknown[] = [
      null,
      undefined,
      'definition',
      42,
      [],
      () => 1,
      { steps: 'x' },
      { steps: [null, 1, 'a', [], [[[]]]] },
      { code: 1, name: {}, steps: [{ key: {}, name: [], step_type: 7, config: 'x', depends_on_steps: 'a', condition: 5, order: 'first' }] },
      { code: 'c', name: 'n', steps: [{ key: 'a', name: 'A', step_type: 'data_transform', config: { deep } }] },
      { code: 'c', name: 'n', steps: [deep] },
      { code: 'c', name: 'n', config: { deep }, steps: [] },
      cyclic,
      throwing,
      proxy,
      Object.create(null),
      { code: 'c', name: 'n', steps: [{ key: 'a', name: 'A', step_type: 'constructor' }, { key: 'b', name: 'B', step_type: '__proto__' }] },
    ];
    garbage.forEach((g, index) => {
      const issues = sut(g);
      assert.ok(Array.isArray(issues) && issues.length > 0, `garbage #${index} yields issues`);
      for (const i of issues) assert.equal(typeof i.message, 'string');
    });
  });

  it('reports circular and over-deep configs', () => {
    const config: Record<string, unknown> = { a: 1 };
    config.self = config;
    assert.deepEqual(sut(input([step('a', { config })])), [
      { code: 'INVALID_FIELD', step: 'a', field: 'config.self', message: 'contains a circular reference' },
    ]);
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 70; i++) deep = { x: deep };
    assert.match(sut(input([step('a', { config: deep })]))[0].message, /deeper than 64/);
    assert.deepEqual(issuesOf([step('a', { config: { f: () => 1 } as never })]), ['INVALID_FIELD a config.f']);
  });

  it('rejects a missing or invalid key, naming the step by position', () => {
    const noKey = { name: 'x', step_type: 'data_transform' };
    assert.deepEqual(issuesOf([noKey, step('Bad-Key'), step('9lives'), step('a'.repeat(64)), step('ok_key_1')]), [
      'INVALID_FIELD - steps[0].key',
      'INVALID_FIELD - steps[1].key',
      'INVALID_FIELD - steps[2].key',
      'INVALID_FIELD - steps[3].key',
    ]);
    assert.deepEqual(issuesOf([step('a'.repeat(63))]), []);
  });

  it('refuses reserved step keys, naming the key, so no reference silently reads nothing', () => {
    for (const key of ['constructor', 'prototype', '__proto__', 'hasOwnProperty', 'toString', 'valueOf', 'isPrototypeOf', 'tostring']) {
      const issues = sut({ ...input([]), steps: [step(key), step('ok', { config: { x: `$steps.${key}.y` } })] });
      const keyIssue = issues.find((i) => i.field.endsWith('key'));
      assert.ok(keyIssue, `${key} is refused`);
      assert.equal(keyIssue.code, 'INVALID_FIELD');
      assert.equal(keyIssue.field, 'steps[0].key');
      assert.match(keyIssue.message, new RegExp(`'${key}' is reserved`));
    }
    assert.match(stepKeyProblem('Bad-Key') ?? '', /'Bad-Key' is not a slug/);
    assert.match(stepKeyProblem(undefined) ?? '', /key is required/);
    assert.equal(stepKeyProblem('constructor_step'), null);
    assert.equal(stepKeyProblem('to_string'), null);
  });

  it('accepts exactly the keys a $steps.<key> reference can address', () => {
    for (const key of ['a', 'fetch_2', 'x'.repeat(63)]) {
      assert.equal(stepKeyProblem(key), null, key);
      assert.deepEqual(parseReference(`$steps.${key}.v`)?.segments, ['steps', key, 'v'], key);
    }
    for (const key of ['with-dash', 'with.dot', 'with space', '9lives', 'Upper', '_lead', 'é']) assert.notEqual(stepKeyProblem(key), null, key);
  });

  it('rejects duplicate keys', () => {
    assert.deepEqual(issuesOf([step('a'), step('b'), step('a')]), ['DUPLICATE_KEY a key']);
  });

  it('rejects a missing name and a missing step type', () => {
    assert.deepEqual(issuesOf([{ key: 'a', step_type: 'data_transform' }, { key: 'b', name: ' ', step_type: '' }, { key: 'c', name: 'C' }]), [
      'INVALID_FIELD a name',
      'INVALID_FIELD b name',
      'INVALID_FIELD b step_type',
      'INVALID_FIELD c step_type',
    ]);
  });

  it('rejects unknown step types unless structuralOnly', () => {
    const def = input([step('a', { step_type: 'teleport' }), step('b', { step_type: 'toString' })]);
    assert.deepEqual(summary(sut(def)), ['UNKNOWN_STEP_TYPE a step_type', 'UNKNOWN_STEP_TYPE b step_type']);
    assert.match(sut(def)[0].message, /unknown step type 'teleport'/);
    assert.deepEqual(sut(def, { structuralOnly: true }), []);
  });

  it('rejects the workflow fields it needs', () => {
    assert.deepEqual(summary(sut({ steps: [] })), ['INVALID_FIELD - code', 'INVALID_FIELD - name']);
    assert.deepEqual(summary(sut({ ...input([]), config: [] })), ['INVALID_FIELD - config']);
    assert.deepEqual(summary(sut({ ...input([]), workflow_type: 3 })), ['INVALID_FIELD - workflow_type']);
    assert.deepEqual(summary(sut({ ...input([]), steps: undefined })), ['INVALID_FIELD - steps']);
  });

  it('rejects dependencies on missing steps, on itself and on non-main steps', () => {
    const issues = sut(
      input([
        step('a', { depends_on_steps: ['ghost'] }),
        step('b', { depends_on_steps: ['b'] }),
        step('undo', { role: 'compensation', compensates: 'a' }),
        step('c', { depends_on_steps: ['a', 'undo', 7 as unknown as string] }),
      ]),
    );
    assert.deepEqual(summary(issues), [
      'INVALID_FIELD c depends_on_steps[2]',
      'MISSING_DEPENDENCY a depends_on_steps[0]',
      'MISSING_DEPENDENCY b depends_on_steps[0]',
      'MISSING_DEPENDENCY c depends_on_steps[1]',
      'CYCLE b depends_on_steps',
    ]);
    assert.match(issues[1].message, /'ghost', which is not a step/);
  });

  it('rejects a cycle, listing it', () => {
    const issues = sut(input([step('a', { depends_on_steps: ['c'] }), step('b', { depends_on_steps: ['a'] }), step('c', { depends_on_steps: ['b'] })]));
    assert.deepEqual(summary(issues), ['CYCLE a depends_on_steps']);
    assert.match(issues[0].message, /a → c → b → a/);
  });

  it('rejects a cycle formed with implicit ordering', () => {
    const issues = sut(input([step('a', { depends_on_steps: ['b'] }), step('b')]));
    assert.match(issues[0].message, /a → b → a/);
  });

  it('rejects references to steps that are not upstream, naming the field', () => {
    const issues = sut(
      input([
        step('a', { order: 1 }),
        step('b', { order: 2, config: { x: '$steps.c.value' } }),
        step('c', { order: 2, config: { x: ['${steps.d.y}'] } }),
        step('d', { order: 3, config: { self: 'x $steps.d.out', ghost: '$steps.nope', ok: '$steps.a.z and $steps.b.y' } }),
        step('e', { order: 4, condition: { type: 'value_check', path: 'steps.f.count', operator: 'gt', value: 0 } }),
        step('f', { order: 5 }),
      ]),
    );
    assert.deepEqual(summary(issues), [
      'REFERENCE_NOT_UPSTREAM b config.x',
      'REFERENCE_NOT_UPSTREAM c config.x[0]',
      'REFERENCE_NOT_UPSTREAM d config.self',
      'REFERENCE_NOT_UPSTREAM d config.ghost',
      'REFERENCE_NOT_UPSTREAM e condition.path',
    ]);
    assert.match(issues[0].message, /'c' does not run before 'b'/);
    assert.match(issues[2].message, /own output/);
    assert.match(issues[3].message, /no step 'nope'/);
  });

  it('accepts transitive upstream references and rejects diamond siblings', () => {
    const steps = [
      step('a'),
      step('b', { depends_on_steps: ['a'] }),
      step('c', { depends_on_steps: ['a'], config: { sib: '$steps.b.x' } }),
      step('d', { depends_on_steps: ['b', 'c'], config: { far: '$steps.a.x' } }),
    ];
    assert.deepEqual(issuesOf(steps), ['REFERENCE_NOT_UPSTREAM c config.sib']);
  });

  it('rejects references to members of the same parallel group', () => {
    const steps = [step('a', { parallel_group: 'g' }), step('b', { parallel_group: 'g', config: { x: '$steps.a.y' } })];
    assert.deepEqual(issuesOf(steps), ['REFERENCE_NOT_UPSTREAM b config.x']);
  });

  it('rejects prototype-walking step references', () => {
    assert.deepEqual(issuesOf([step('a', { config: { x: '$steps.__proto__.y', y: '$steps.constructor' } })]), [
      'REFERENCE_NOT_UPSTREAM a config.x',
      'REFERENCE_NOT_UPSTREAM a config.y',
    ]);
  });

  it('rejects bad conditions as BAD_CONDITION with the field', () => {
    const steps = [step('a', { condition: { type: 'value_check', path: 'config.x', operator: 'approx' } as never }), step('b', { condition: 'yes' as never })];
    assert.deepEqual(issuesOf(steps), ['BAD_CONDITION a condition.operator', 'BAD_CONDITION b condition']);
  });

  it('checks numeric ranges', () => {
    const cases: Array<[Partial<StepInput> | Record<string, unknown>, string]> = [
      [{ timeout_seconds: 0 }, 'timeout_seconds'],
      [{ timeout_seconds: 86401 }, 'timeout_seconds'],
      [{ timeout_seconds: 1.5 }, 'timeout_seconds'],
      [{ max_retries: -1 }, 'max_retries'],
      [{ max_retries: 101 }, 'max_retries'],
      [{ retry_delay_seconds: -1 }, 'retry_delay_seconds'],
      [{ retry_delay_seconds: 86401 }, 'retry_delay_seconds'],
      // Integer columns: a fraction would pass here and fail in PostgreSQL.
      [{ retry_delay_seconds: 0.5 }, 'retry_delay_seconds'],
      [{ max_retry_delay_seconds: 2.5 }, 'max_retry_delay_seconds'],
      [{ retry_backoff: 0.5 }, 'retry_backoff'],
      [{ retry_backoff: 11 }, 'retry_backoff'],
      [{ max_retry_delay_seconds: 0 }, 'max_retry_delay_seconds'],
      [{ order: -1 }, 'order'],
      [{ order: 1.5 }, 'order'],
      [{ order: '1' }, 'order'],
      [{ order: Number.NaN }, 'order'],
      [{ timeout_seconds: Infinity }, 'timeout_seconds'],
    ];
    for (const [fields, field] of cases) {
      assert.deepEqual(issuesOf([{ ...step('a'), ...fields }]), [`INVALID_FIELD a ${field}`], JSON.stringify(fields));
    }
    const edges = { timeout_seconds: 86400, max_retries: 0, retry_delay_seconds: 0, retry_backoff: 10, order: 0, max_retry_delay_seconds: 86400 };
    assert.deepEqual(issuesOf([step('a', edges), step('b', { timeout_seconds: 1, max_retries: 100, retry_backoff: 1.5, retry_delay_seconds: 1 })]), []);
    assert.deepEqual(issuesOf([], { retry_delay_seconds: 0.5 }), ['INVALID_FIELD - retry_delay_seconds']);
    assert.deepEqual(issuesOf([], { max_parallel_steps: 0 }), ['INVALID_FIELD - max_parallel_steps']);
    assert.deepEqual(issuesOf([], { max_parallel_steps: 101 }), ['INVALID_FIELD - max_parallel_steps']);
    assert.deepEqual(issuesOf([], { max_retries: 101, retry_delay_seconds: -1 }), ['INVALID_FIELD - max_retries', 'INVALID_FIELD - retry_delay_seconds']);
    assert.deepEqual(issuesOf([], { max_parallel_steps: 100, max_retries: 0 }), []);
  });

  it('checks field types', () => {
    const steps = [{ ...step('a'), is_optional: 'yes', can_retry: 1, can_run_parallel: null, parallel_group: '', role: 'boss', depends_on_steps: 'b' }];
    assert.deepEqual(issuesOf(steps), [
      'INVALID_FIELD a is_optional',
      'INVALID_FIELD a can_retry',
      'INVALID_FIELD a parallel_group',
      'INVALID_FIELD a role',
      'INVALID_FIELD a depends_on_steps',
    ]);
  });

  it('keeps compensation and on-failure steps consistent', () => {
    const steps = [
      step('a'),
      step('b', { compensates: 'a' }),
      step('undo_a', { role: 'compensation', compensates: 'a' }),
      step('undo_a2', { role: 'compensation', compensates: 'a' }),
      step('undo_x', { role: 'compensation' }),
      step('undo_y', { role: 'compensation', compensates: 'ghost' }),
      step('undo_z', { role: 'compensation', compensates: 'undo_a' }),
      step('alert', { role: 'on_failure', depends_on_steps: ['a'] }),
      step('undo_b', { role: 'compensation', compensates: 'b', depends_on_steps: ['a'] }),
    ];
    const issues = sut(input(steps));
    assert.deepEqual(summary(issues), [
      'INVALID_FIELD b compensates',
      'INVALID_FIELD undo_a2 compensates',
      'INVALID_FIELD undo_x compensates',
      'INVALID_FIELD undo_y compensates',
      'INVALID_FIELD undo_z compensates',
      'INVALID_FIELD alert depends_on_steps',
      'INVALID_FIELD undo_b depends_on_steps',
    ]);
    assert.match(issues[1].message, /already compensated by 'undo_a'/);
  });

  it('lets a compensation step read the step it undoes and its upstream, but not later steps', () => {
    const steps = [
      step('a'),
      step('b', { config: {} }),
      step('c'),
      step('undo_b', { role: 'compensation', compensates: 'b', config: { id: '$steps.b.id', from: '$steps.a.x', later: '$steps.c.x' } }),
    ];
    assert.deepEqual(issuesOf(steps), ['REFERENCE_NOT_UPSTREAM undo_b config.later']);
  });

  it('reports executor config errors under config.<field>', () => {
    const steps = [step('a', { step_type: 'data_fetch', config: {} }), step('b', { step_type: 'data_fetch', config: { source_type: 'supplier' } })];
    assert.deepEqual(sut(input(steps)), [{ code: 'STEP_CONFIG_INVALID', step: 'a', field: 'config.source_type', message: 'source_type is required' }]);
    assert.deepEqual(sut(input(steps), { structuralOnly: true }), []);
  });

  it('survives executor validators that throw or return junk', () => {
    const odd = {
      boom: () => {
        throw new Error('kaput');
      },
      junk: () => 'not a list' as never,
      partial: () => [{ message: 'whole config is wrong' }, 5] as never,
    };
    const issues = validateDefinition(input([step('a', { step_type: 'boom' }), step('b', { step_type: 'junk' }), step('c', { step_type: 'partial' })]), odd);
    assert.deepEqual(summary(issues), ['STEP_CONFIG_INVALID a config', 'STEP_CONFIG_INVALID c config', 'STEP_CONFIG_INVALID c config']);
    assert.match(issues[0].message, /kaput/);
  });

  it(`refuses more than ${MAX_STEPS} steps`, () => {
    const steps = Array.from({ length: MAX_STEPS + 1 }, (_, i) => step(`s${i}`));
    assert.deepEqual(issuesOf(steps), ['INVALID_FIELD - steps']);
    const many = Array.from({ length: MAX_STEPS }, (_, i) => step(`s${i}`, { config: { prev: i > 0 ? `$steps.s${i - 1}.x` : null } }));
    assert.deepEqual(issuesOf(many), []);
  });
});

describe(formatIssues.name, () => {
  it('joins issues into one line naming step and field', () => {
    const text = formatIssues([
      { code: 'INVALID_FIELD', step: 'fetch', field: 'config.url', message: 'url is required' },
      { code: 'INVALID_FIELD', step: null, field: 'name', message: 'name is required' },
      { code: 'INVALID_FIELD', step: null, field: '', message: 'definition must be an object' },
    ]);
    assert.equal(text, "step 'fetch' config.url: url is required; name: name is required; definition must be an object");
  });
});

describe(parseDefinition.name, () => {
  it('returns the normalised definition when valid', () => {
    const def = parseDefinition(productImport, registry, { workflow_id: 7 });
    assert.equal(def.workflow_id, 7);
    assert.equal(def.steps[1].order, 2);
  });

  it('throws DefinitionInvalidError carrying the issues', () => {
    assert.throws(
      () => parseDefinition(input([step('a'), step('a')]), registry),
      (err: unknown) =>
        err instanceof DefinitionInvalidError &&
        err.code === 'DEFINITION_INVALID' &&
        err.issues.length === 1 &&
        err.issues[0].code === 'DUPLICATE_KEY' &&
        /step 'a' key/.test(err.message),
    );
  });
});
