import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { getMetadataArgsStorage } from 'typeorm';
import { normalizeDefinition } from '@engine/dsl/normalize';
import type { DefinitionInput } from '@engine/dsl/types';
import { CreateWorkflowBody, MAX_STEPS, StepBody, UpdateWorkflowBody, zodFieldProblems } from '@engine/dsl/schema';
import { validateDefinition } from '@engine/dsl/validate';
import { Workflow, WorkflowStep, WorkflowVersion } from '@src/workflows/workflow.entity';
import { ZodBodyPipe } from '@src/common/http/zod-body';
import { ValidationFailedError } from '@src/common/errors';
import { registry } from './fixtures';

/** The columns TypeORM maps for `entity`, by property: type, varchar length, nullability. */
function columnsOf(entity: object): Map<string, { type: string; length?: number; nullable: boolean }> {
  const out = new Map<string, { type: string; length?: number; nullable: boolean }>();
  for (const c of getMetadataArgsStorage().columns.filter((col) => col.target === entity && col.mode === 'regular')) {
    const length = c.options.length === undefined ? undefined : Number(c.options.length);
    out.set(c.propertyName, { type: String(c.options.type), length, nullable: c.options.nullable === true });
  }
  return out;
}

const INT4 = 2 ** 31 - 1;

/** Why `value` would not fit `column`, or null. */
function misfit(value: unknown, column: { type: string; length?: number; nullable: boolean }): string | null {
  if (value === null || value === undefined) return column.nullable ? null : 'null in a NOT NULL column';
  switch (column.type) {
    case 'varchar':
    case 'char':
      return typeof value === 'string' && value.length <= (column.length ?? Infinity) ? null : `not a string of at most ${column.length}`;
    case 'text':
      return typeof value === 'string' ? null : 'not a string';
    case 'integer':
      return Number.isSafeInteger(value) && Math.abs(value as number) <= INT4 ? null : 'not a 32-bit integer';
    case 'real':
      return typeof value === 'number' && Number.isFinite(value) ? null : 'not a finite number';
    case 'boolean':
      return typeof value === 'boolean' ? null : 'not a boolean';
    case 'jsonb':
      return null;
    default:
      return `unknown column type ${column.type}`;
  }
}

/** Every problem storing `row` in the columns of `entity` would meet (only the properties the row has). */
function misfits(row: Record<string, unknown>, entity: object): string[] {
  const columns = columnsOf(entity);
  return Object.entries(row).flatMap(([k, v]) => {
    const col = columns.get(k);
    const why = col ? misfit(v, col) : null;
    return why ? [`${k}: ${why} (${JSON.stringify(v)?.slice(0, 80)})`] : [];
  });
}

/** Values around the limits: many valid, many not. */
const anyString = fc.oneof(
  { arbitrary: fc.string({ minLength: 1, maxLength: 5 }), weight: 6 },
  fc.string({ maxLength: 2 }),
  fc.string({ minLength: 45, maxLength: 70 }),
  fc.string({ minLength: 95, maxLength: 110 }),
  fc.string({ minLength: 195, maxLength: 260 }),
);
const anyNumber = fc.oneof(
  { arbitrary: fc.integer({ min: 1, max: 10 }), weight: 8 },
  fc.integer({ min: -5, max: 120 }),
  fc.integer({ min: 86_000, max: 90_000 }),
  fc.integer(),
  fc.double(),
  fc.constant(2 ** 40),
);
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(fc.oneof(arb, fc.constant(null as unknown as T)), { nil: undefined });

const stepArb = fc.record(
  {
    key: fc.oneof(fc.stringMatching(/^[a-z][a-z0-9_]{0,70}$/), anyString),
    name: anyString,
    step_type: anyString,
    order: maybe(anyNumber),
    timeout_seconds: maybe(anyNumber),
    max_retries: maybe(anyNumber),
    retry_delay_seconds: maybe(anyNumber),
    retry_backoff: maybe(anyNumber),
    max_retry_delay_seconds: maybe(anyNumber),
    is_optional: maybe(fc.boolean()),
    can_run_parallel: maybe(fc.boolean()),
    can_retry: maybe(fc.boolean()),
    parallel_group: maybe(anyString),
    role: maybe(fc.constantFrom('main', 'compensation', 'on_failure', 'boss')),
    compensates: maybe(anyString),
  },
  { requiredKeys: ['key', 'name', 'step_type'] },
);

const bodyArb = fc.record(
  {
    code: fc.oneof(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,70}$/), anyString),
    name: anyString,
    description: fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
    workflow_type: maybe(anyString),
    status: fc.option(fc.constantFrom('active', 'inactive', 'weird'), { nil: undefined }),
    max_retries: maybe(anyNumber),
    retry_delay_seconds: maybe(anyNumber),
    max_parallel_steps: maybe(anyNumber),
    steps: fc.array(stepArb, { maxLength: 3 }),
  },
  { requiredKeys: ['code', 'name', 'steps'] },
);

describe('definition schema', () => {
  it('accepts only definitions whose every field fits its database column (property)', () => {
    let accepted = 0;
    fc.assert(
      fc.property(bodyArb, (body) => {
        const r = CreateWorkflowBody.safeParse(body);
        if (!r.success) return;
        accepted++;
        const def = normalizeDefinition(r.data as unknown as DefinitionInput);
        const { steps, ...head } = def;
        const problems = [
          // The service's defaults for the settings outside the definition.
          ...misfits({ ...head, description: r.data.description ?? '', status: r.data.status ?? 'active', is_template: r.data.is_template ?? false }, Workflow),
          ...misfits(head, WorkflowVersion),
          ...steps.flatMap((s) => misfits({ ...s }, WorkflowStep)),
        ];
        assert.deepEqual(problems, []);
      }),
      { seed: 11, numRuns: 3000 },
    );
    assert.ok(accepted > 100, `enough accepted cases to mean something: ${accepted}`);
  });

  it('refuses each value a column could not hold, naming the field', () => {
    const ok = { code: 'c', name: 'n', steps: [{ key: 'a', name: 'A', step_type: 't' }] };
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ ...ok, name: 'x'.repeat(201) }, 'name'],
      [{ ...ok, workflow_type: 'x'.repeat(51) }, 'workflow_type'],
      [{ ...ok, code: 'x'.repeat(61) }, 'code'],
      [{ ...ok, retry_delay_seconds: 0.5 }, 'retry_delay_seconds'],
      [{ ...ok, steps: [{ ...ok.steps[0], name: 'x'.repeat(201) }] }, 'steps[0].name'],
      [{ ...ok, steps: [{ ...ok.steps[0], step_type: 'x'.repeat(51) }] }, 'steps[0].step_type'],
      [{ ...ok, steps: [{ ...ok.steps[0], parallel_group: 'x'.repeat(101) }] }, 'steps[0].parallel_group'],
      [{ ...ok, steps: [{ ...ok.steps[0], compensates: 'x'.repeat(64) }] }, 'steps[0].compensates'],
      [{ ...ok, steps: [{ ...ok.steps[0], order: 2 ** 31 }] }, 'steps[0].order'],
      [{ ...ok, steps: [{ ...ok.steps[0], depends_on_steps: ['x'.repeat(64)] }] }, 'steps[0].depends_on_steps[0]'],
      [{ ...ok, steps: Array.from({ length: MAX_STEPS + 1 }, (_, i) => ({ key: `s${i}`, name: 'n', step_type: 't' })) }, 'steps'],
    ];
    assert.equal(CreateWorkflowBody.safeParse(ok).success, true);
    for (const [body, field] of cases) {
      const r = CreateWorkflowBody.safeParse(body);
      assert.equal(r.success, false, field);
      assert.deepEqual(zodFieldProblems(r.error!).map((p) => p.field), [field]);
    }
  });

  it('names unknown fields (strict API bodies) but lets the validator read stored definitions with more', () => {
    const body = { code: 'c', name: 'n', surprise: 1, steps: [{ key: 'a', name: 'A', step_type: 'data_transform', extra: true }] };
    const r = CreateWorkflowBody.safeParse(body);
    assert.deepEqual(r.success ? [] : zodFieldProblems(r.error), [
      { field: 'steps[0].extra', message: 'is not a known field' },
      { field: 'surprise', message: 'is not a known field' },
    ]);
    assert.deepEqual(validateDefinition({ ...body, workflow_id: 3, version: 2 }, registry), []);
  });

  it('reports condition problems under their own issue code and field', () => {
    const r = StepBody.safeParse({ key: 'a', name: 'A', step_type: 't', condition: { type: 'value_check', path: 'input.x', operator: 'about' } });
    assert.equal(r.success, false);
    assert.deepEqual(
      zodFieldProblems(r.error!).map((p) => [p.field, p.issueCode]),
      [['condition.operator', 'BAD_CONDITION']],
    );
  });

  it('keeps the update body partial: any one field, null input_schema, a code to compare', () => {
    assert.equal(UpdateWorkflowBody.safeParse({ description: 'x' }).success, true);
    assert.equal(UpdateWorkflowBody.safeParse({ input_schema: null }).success, true);
    assert.equal(UpdateWorkflowBody.safeParse({ code: 'same code with spaces' }).success, true);
    assert.equal(UpdateWorkflowBody.safeParse({ status: null }).success, false, 'status is NOT NULL');
  });

  it('keeps a __proto__ key of a config as data', () => {
    const config = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as Record<string, unknown>;
    const r = StepBody.parse({ key: 'a', name: 'A', step_type: 't', config });
    assert.equal(r.config, config);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});

describe(ZodBodyPipe.name, () => {
  it('answers VALIDATION_FAILED naming every bad field', () => {
    const sut = new ZodBodyPipe(CreateWorkflowBody);
    assert.throws(
      () => sut.transform({ code: 'has spaces', name: 'n', steps: [{ key: 'Bad Key', name: 'A', step_type: 't', timeout_seconds: -5 }] }),
      (err: unknown) => {
        assert.ok(err instanceof ValidationFailedError);
        assert.equal(err.code, 'VALIDATION_FAILED');
        assert.equal(err.status, 400);
        assert.deepEqual(
          (err.details.errors as Array<{ field: string }>).map((e) => e.field),
          ['code', 'steps[0].key', 'steps[0].timeout_seconds'],
        );
        assert.match(err.message, /^code: must be 1-60 letters.*; steps\[0\]\.key: key 'Bad Key' is not a slug.*; steps\[0\]\.timeout_seconds: must be an integer between 1 and 86400$/);
        return true;
      },
    );
    assert.deepEqual(sut.transform({ code: 'c', name: 'n', steps: [] }), { code: 'c', name: 'n', steps: [] });
  });
});
