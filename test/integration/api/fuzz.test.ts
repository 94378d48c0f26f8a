import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { echoDefinition, isErrorShape, startApi, uniqueCode, type ApiHarness } from './support';

type Kind = 'string' | 'int' | 'bool' | 'object' | 'array' | 'enum';

interface Target {
  method: string;
  path: string;
  base: () => Record<string, unknown>;
  /** Fields a wrong type is certainly an error for, with their kind. */
  typed: Record<string, Kind>;
  /** String fields with a length limit. */
  bounded: string[];
  /** Free-form JSON fields (where nesting and prototype keys can hide). */
  freeform: string[];
  definition?: boolean;
}

const SEED = 0x5eed2025;
const CASES = 400;
const MARK = '"__fuzz_marker__"';

describe('fuzzing request bodies', () => {
  let api: ApiHarness;
  let targets: Target[];
  before(async () => {
    api = await startApi();
    const wf = await api.request<{ id: number }>('POST', '/workflows/', { body: echoDefinition(uniqueCode('fz')) });
    const run = await api.request<{ execution_id: string }>('POST', `/workflows/${wf.body.id}/execute/`, { body: { input_data: { n: 1 } } });
    await api.h.wait(run.body.execution_id);
    const schedule = await api.request<{ id: number }>('POST', '/schedules/', { body: { workflow_id: wf.body.id, name: 'fuzz', cron_expression: '0 3 * * *', is_active: false } });
    assert.equal(schedule.status, 201, schedule.text);
    const steps = () => echoDefinition('x').steps;
    const defTyped: Record<string, Kind> = { code: 'string', name: 'string', description: 'string', workflow_type: 'string', status: 'enum', is_template: 'bool', config: 'object', max_retries: 'int', retry_delay_seconds: 'int', max_parallel_steps: 'int', steps: 'array' };
    targets = [
      { method: 'POST', path: '/workflows/', base: () => echoDefinition(uniqueCode('fz')), typed: defTyped, bounded: ['code', 'name', 'workflow_type'], freeform: ['config'], definition: true },
      { method: 'POST', path: '/workflows/validate/', base: () => echoDefinition(uniqueCode('fz')), typed: defTyped, bounded: ['code', 'name'], freeform: ['config'], definition: true },
      {
        method: 'PATCH',
        path: `/workflows/${wf.body.id}/`,
        base: () => ({ description: 'fuzzed', steps: steps() }),
        typed: { ...defTyped, code: 'string' },
        bounded: ['name', 'workflow_type'],
        freeform: ['config'],
        definition: true,
      },
      {
        method: 'POST',
        path: `/workflows/${wf.body.id}/execute/`,
        base: () => ({ input_data: { n: 1 }, idempotency_key: uniqueCode('k') }),
        typed: { input_data: 'object', idempotency_key: 'string', version: 'int' },
        bounded: ['idempotency_key'],
        freeform: ['input_data'],
      },
      { method: 'POST', path: '/templates/echo_pair/create/', base: () => ({ name: 'Fuzzed', description: 'x' }), typed: { name: 'string', description: 'string', code: 'string' }, bounded: ['name', 'code'], freeform: [] },
      {
        method: 'POST',
        path: `/executions/${run.body.execution_id}/restart/`,
        base: () => ({ from_step: 'second', input_overrides: { n: 2 } }),
        typed: { from_step: 'string', input_overrides: 'object' },
        bounded: ['from_step'],
        freeform: ['input_overrides'],
      },
      {
        method: 'POST',
        path: `/executions/${run.body.execution_id}/signal/`,
        base: () => ({ step_key: 'first', decision: 'approve', comment: 'ok' }),
        typed: { step_key: 'string', decision: 'enum', comment: 'string' },
        bounded: ['comment', 'step_key'],
        freeform: ['data'],
      },
      {
        method: 'POST',
        path: '/schedules/',
        base: () => ({ workflow_id: wf.body.id, name: 'fz', cron_expression: '0 3 * * *', is_active: false }),
        typed: { workflow_id: 'int', name: 'string', cron_expression: 'string', timezone: 'string', input_data: 'object', is_active: 'bool' },
        bounded: ['name', 'cron_expression', 'timezone'],
        freeform: ['input_data'],
      },
      {
        method: 'PATCH',
        path: `/schedules/${schedule.body.id}/`,
        base: () => ({ name: 'fz2', input_data: { a: 1 } }),
        typed: { name: 'string', cron_expression: 'string', timezone: 'string', input_data: 'object', is_active: 'bool' },
        bounded: ['name', 'cron_expression', 'timezone'],
        freeform: ['input_data'],
      },
      { method: 'POST', path: '/api-keys/', base: () => ({ name: 'fz', role: 'viewer' }), typed: { name: 'string', role: 'enum' }, bounded: ['name'], freeform: [] },
    ];
  });
  after(async () => {
    await api?.close();
  });

  it('refuses reserved step keys at save with a 400 naming the key (create, validate, update)', async () => {
    const wf = await api.request<{ id: number }>('POST', '/workflows/', { body: echoDefinition(uniqueCode('rk')) });
    assert.equal(wf.status, 201, wf.text);
    for (const key of ['constructor', 'prototype', '__proto__', 'hasOwnProperty', 'toString']) {
      const steps = [
        { key, name: 'Reserved', step_type: 'test_echo', config: {} },
        { key: 'reader', name: 'Reader', step_type: 'test_echo', config: { output: { v: `$steps.${key}` } }, depends_on_steps: [key] },
      ];
      const attempts = [
        { method: 'POST', path: '/workflows/', body: { code: uniqueCode('rk'), name: 'reserved', steps } },
        { method: 'POST', path: '/workflows/validate/', body: { code: uniqueCode('rk'), name: 'reserved', steps } },
        { method: 'PATCH', path: `/workflows/${wf.body.id}/`, body: { steps } },
      ];
      for (const a of attempts) {
        const r = await api.request(a.method, a.path, { body: a.body });
        const label = `${a.method} ${a.path} ${key}: ${r.status} ${r.text.slice(0, 300)}`;
        assert.equal(r.status, 400, label);
        assert.ok(isErrorShape(r.body), label);
        assert.ok(r.text.includes(key), `the answer names the key: ${label}`);
        assert.match(r.text, /steps(\[0\]|\.0)\.key|"field":"steps\[0\]\.key"/, `the answer names the field: ${label}`);
      }
    }
    const list = await api.request<{ count: number }>('GET', '/workflows/?search=reserved');
    assert.equal(list.body.count, 0, 'nothing was saved');
  });

  // fast-check draws each case (fixed seed: a failure names the seed and path that replay it, and is shrunk).
  it(`answers ${CASES} malformed and hostile bodies with 4xx in the error shape, never 5xx (seed ${SEED})`, async (t) => {
    let g!: fc.GeneratorValue;
    const pick = <T>(xs: readonly T[]): T => g(() => fc.constantFrom(...xs));
    /** An integer in [0, n). */
    const int = (n: number): number => g(fc.nat, { max: n - 1 });
    const wrongValue = (kind: Kind): unknown => {
      const all: Array<[Kind[], unknown]> = [
        [['string', 'enum'], 12345],
        [['int'], 'twelve'],
        [['int'], 1.5],
        [['int'], -1e308],
        [['int'], 2 ** 53 + 2],
        [['bool'], 'true'],
        [['object'], [1, 2, 3]],
        [['object'], 'a string'],
        [['object'], 42],
        [['array'], { not: 'a list' }],
        [['array'], 'steps'],
        [['enum'], 'not-one-of-them'],
        [['string', 'int', 'bool', 'array', 'enum'], { nested: { object: true } }],
      ];
      return pick(all.filter(([kinds]) => kinds.includes(kind)))[1];
    };
    const deep = (depth: number, array: boolean) => (array ? '['.repeat(depth) + '1' + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth));

    type Case = { name: string; raw: string; contentType?: string };
    const mutate = (t: Target): Case => {
      const body = t.base();
      const choices = ['wrong_type', 'unknown_field', 'malformed', 'not_object', 'null_byte', 'content_type', 'huge_body'];
      if (t.bounded.length) choices.push('huge_string');
      if (t.freeform.length) choices.push('deep_nesting', 'proto_key');
      if (t.definition) choices.push('cyclic_steps', 'step_wrong_type', 'step_unknown_field', 'deep_condition', 'too_many_steps');
      const kind = pick(choices);
      switch (kind) {
        case 'wrong_type': {
          const field = pick(Object.keys(t.typed));
          body[field] = wrongValue(t.typed[field]);
          return { name: `${kind} ${field}`, raw: JSON.stringify(body) };
        }
        case 'unknown_field':
          body[pick(['isAdmin', 'role_override', 'id', 'created_at', '$where', 'x'.repeat(300)])] = pick([true, 1, 'yes', {}]);
          return { name: kind, raw: JSON.stringify(body) };
        case 'malformed': {
          const raw = JSON.stringify(body);
          return { name: kind, raw: pick([raw.slice(0, Math.max(1, int(raw.length))), raw + '}}', raw.replace(/"/, "'"), '{,}', '{"a":1,}', '\u0000\u0001', 'NaN', '{"a": 1e999999}'.replace('1e999999', 'Infinity')]) };
        }
        case 'not_object':
          return { name: kind, raw: pick(['[]', '[1,2]', '"string"', '42', 'true', 'null', JSON.stringify([body])]) };
        case 'null_byte': {
          const field = pick(t.bounded.length ? t.bounded : Object.keys(t.typed));
          body[field] = 'bad\u0000value';
          return { name: `${kind} ${field}`, raw: JSON.stringify(body) };
        }
        case 'content_type':
          return { name: kind, raw: JSON.stringify(body), contentType: pick(['text/plain', 'application/x-www-form-urlencoded', 'application/xml', 'multipart/form-data; boundary=x']) };
        case 'huge_body':
          body[pick(t.freeform.length ? t.freeform : Object.keys(t.typed))] = { blob: 'x'.repeat(1_100_000 + int(500_000)) };
          return { name: kind, raw: JSON.stringify(body) };
        case 'huge_string': {
          const field = pick(t.bounded);
          body[field] = pick(['y', 'é', '🙂', '<script>', "'; DROP TABLE workflows; --"]).repeat(1000 + int(100_000));
          return { name: `${kind} ${field}`, raw: JSON.stringify(body) };
        }
        case 'deep_nesting': {
          const field = pick(t.freeform);
          body[field] = '__fuzz_marker__';
          return { name: `${kind} ${field}`, raw: JSON.stringify(body).replace(MARK, deep(81 + int(20_000), g(fc.boolean))) };
        }
        case 'proto_key': {
          const field = pick(t.freeform);
          const key = pick(['__proto__', 'constructor', 'prototype']);
          body[field] = '__fuzz_marker__';
          const hostile = pick([`{"${key}":{"polluted":"yes"}}`, `{"a":{"b":{"${key}":{"polluted":"yes"}}}}`, `{"list":[{"${key}":{"isAdmin":true}}]}`]);
          return { name: `${kind} ${field}.${key}`, raw: JSON.stringify(body).replace(MARK, hostile) };
        }
        case 'cyclic_steps': {
          const n = 2 + int(6);
          body.steps = Array.from({ length: n }, (_, i) => ({ key: `s${i}`, name: `s${i}`, step_type: 'test_echo', depends_on_steps: [`s${(i + 1) % n}`] }));
          return { name: `${kind} ${n}`, raw: JSON.stringify(body) };
        }
        case 'step_wrong_type': {
          const field = pick(['key', 'name', 'step_type', 'order', 'config', 'depends_on_steps', 'is_optional', 'timeout_seconds', 'max_retries', 'retry_backoff', 'role', 'condition']);
          const steps = (body.steps ?? echoDefinition('x').steps) as Array<Record<string, unknown>>;
          steps[0][field] = pick([{ x: 1 }, [1], 'zz', -7, true].filter((v) => typeof v !== typeof steps[0][field] && !(field === 'condition' && typeof v === 'object' && !Array.isArray(v))));
          body.steps = steps;
          return { name: `${kind} ${field}`, raw: JSON.stringify(body) };
        }
        case 'step_unknown_field': {
          const steps = (body.steps ?? echoDefinition('x').steps) as Array<Record<string, unknown>>;
          steps[int(steps.length)][pick(['run_as', 'sql', 'shell'])] = 'rm -rf /';
          body.steps = steps;
          return { name: kind, raw: JSON.stringify(body) };
        }
        case 'deep_condition': {
          const steps = (body.steps ?? echoDefinition('x').steps) as Array<Record<string, unknown>>;
          let cond: Record<string, unknown> = { type: 'value_check', path: 'input.x', operator: 'equals', value: 1 };
          for (let i = 0, n = 70 + int(5); i < n; i++) cond = { type: 'not', condition: cond };
          steps[0].condition = cond;
          body.steps = steps;
          return { name: kind, raw: JSON.stringify(body) };
        }
        case 'too_many_steps':
          body.steps = Array.from({ length: 501 + int(200) }, (_, i) => ({ key: `k${i}`, name: 'n', step_type: 'test_echo' }));
          return { name: kind, raw: JSON.stringify(body) };
        default:
          throw new Error(kind);
      }
    };

    const seen = new Map<number, number>();
    let i = 0;
    await fc.assert(
      fc.asyncProperty(fc.gen(), async (gen) => {
        g = gen;
        const target = pick(targets);
        const c = mutate(target);
        const r = await api.request(target.method, target.path, { raw: c.raw, headers: { 'content-type': c.contentType ?? 'application/json' } });
        seen.set(r.status, (seen.get(r.status) ?? 0) + 1);
        const label = `case ${i++} (${target.method} ${target.path} ${c.name}): ${r.status} ${r.text.slice(0, 300)}`;
        assert.ok(r.status >= 400 && r.status < 500, label);
        assert.ok(isErrorShape(r.body), label);
      }),
      { seed: SEED, numRuns: CASES },
    );
    t.diagnostic(`statuses: ${JSON.stringify(Object.fromEntries(seen))}`);
    assert.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype untouched');
    assert.equal(({} as Record<string, unknown>).isAdmin, undefined, 'Object.prototype untouched');
    assert.ok(!api.logLines.some((l) => l.includes('"level":"error"')), `no unexpected errors logged:\n${api.logLines.filter((l) => l.includes('"level":"error"')).join('\n')}`);
    assert.ok((seen.get(400) ?? 0) > CASES / 2, `mostly 400s: ${JSON.stringify([...seen])}`);
    const health = await api.request('GET', '/health/');
    assert.equal(health.status, 200, 'still healthy');
  });
});
