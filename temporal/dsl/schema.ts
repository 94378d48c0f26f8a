/**
 * The one schema of a workflow definition, in zod: every rule about a single
 * field (type, range, length, pattern) lives here, with limits matching the
 * database columns (src/workflows/workflow.entity.ts). The API validates
 * request bodies with the strict variants (`CreateWorkflowBody`,
 * `UpdateWorkflowBody`) and publishes them in its OpenAPI document;
 * `validateDefinition` (./validate) parses with the lenient variants and then
 * checks the rules that span fields (unique keys, dependencies, cycles,
 * compensation targets, references, executor configs).
 *
 * Not imported by workflow code (eslint guard): definitions are validated when
 * saved and before a run starts, never inside the interpreter.
 *
 * @example
 * const r = CreateWorkflowBody.safeParse(body);
 * if (!r.success) console.log(zodFieldProblems(r.error)); // [{ field: 'steps[0].timeout_seconds', message: 'must be an integer between 1 and 86400' }]
 */
import { z } from 'zod';
import { validateCondition } from './conditions';
import { isPlainObject, MAX_NESTING } from './references';
import { DEFAULT_FAN_OUT_CONCURRENCY, FAN_OUT_DEFAULT_FIELD, MAX_FAN_OUT_CONCURRENCY } from './fan-out';
import { FAN_OUT_OVER } from './types';

/** Most steps a definition may have; keeps validation and scheduling cheap. */
export const MAX_STEPS = 500;

/** Step keys are slugs: they appear in references (`$steps.<key>`), whose `.name` segments take exactly these. */
export const STEP_KEY_PATTERN = /^[a-z][a-z0-9_]{0,62}$/;

/** Workflow codes name runs (`<code>-<uuid>`), so they stay short and URL-safe. */
export const WORKFLOW_CODE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,59}$/;

export const STEP_ROLES = ['main', 'compensation', 'on_failure'] as const;
export const WORKFLOW_STATUSES = ['active', 'inactive'] as const;

/**
 * Keys a step may not have: every property an object inherits, and the keys
 * reference resolution refuses to follow. A step named `constructor` would be
 * stored, but `$steps.constructor` could never read it.
 */
export const RESERVED_STEP_KEYS: ReadonlySet<string> = new Set([
  '__proto__',
  'constructor',
  'prototype',
  '__definegetter__',
  '__definesetter__',
  '__lookupgetter__',
  '__lookupsetter__',
  'hasownproperty',
  'isprototypeof',
  'propertyisenumerable',
  'tolocalestring',
  'tostring',
  'valueof',
]);

/**
 * Why `key` cannot be a step key, or null when it can.
 *
 * @example stepKeyProblem('constructor') // "key 'constructor' is reserved: ..."
 */
export function stepKeyProblem(key: unknown): string | null {
  if (typeof key !== 'string' || key === '') return 'key is required: a slug of lowercase letters, digits and _ starting with a letter (at most 63 characters)';
  // Compared case-insensitively, so `hasOwnProperty` and `toString` are named as reserved rather than as bad slugs.
  if (RESERVED_STEP_KEYS.has(key.toLowerCase())) return `key '${key.slice(0, 64)}' is reserved (a name every object inherits, which $steps.<key> cannot address); choose another key`;
  if (!STEP_KEY_PATTERN.test(key)) return `key '${key.slice(0, 64)}' is not a slug of lowercase letters, digits and _ starting with a letter (at most 63 characters), so $steps.<key> could not address it`;
  return null;
}

/** Where in a value, and why, it is not JSON data (cycle, depth, non-JSON value); null when it is. */
export function jsonProblem(value: unknown, path: Array<string | number> = [], depth = 0, ancestors = new Set<object>()): { path: Array<string | number>; message: string } | null {
  const problem = (message: string) => ({ path, message });
  if (value === null || value === undefined || typeof value === 'string' || typeof value === 'boolean') return null;
  if (typeof value === 'number') return Number.isFinite(value) ? null : problem('numbers must be finite');
  if (!Array.isArray(value) && !isPlainObject(value)) return problem(`must be JSON data, not ${typeof value}`);
  if (ancestors.has(value)) return problem('contains a circular reference');
  if (depth >= MAX_NESTING) return problem(`nests deeper than ${MAX_NESTING} levels`);
  ancestors.add(value);
  const entries: Array<[string | number, unknown]> = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
  for (const [k, v] of entries) {
    const found = jsonProblem(v, [...path, k], depth + 1, ancestors);
    if (found) return found;
  }
  ancestors.delete(value);
  return null;
}

// ---- field rules ---------------------------------------------------------

const integer = (min: number, max: number) => {
  const error = `must be an integer between ${min} and ${max}`;
  return z.int({ error }).min(min, { error }).max(max, { error });
};

const number = (min: number, max: number) => {
  const error = `must be a number between ${min} and ${max}`;
  return z.number({ error }).min(min, { error }).max(max, { error });
};

const boolean = () => z.boolean({ error: 'must be true or false' });

/** A non-blank string of at most `max` characters (the varchar length of its column). */
const text = (max: number) =>
  z
    .string({ error: 'must be a string' })
    .min(1, { error: 'must not be empty', abort: true })
    .max(max, { error: `must be at most ${max} characters` })
    .refine((s) => s.trim() !== '', { error: 'must not be empty' });

/**
 * A JSON object, passed through as it is (never copied: a `__proto__` key
 * stays data). `checkJson` also refuses cycles, non-JSON values and nesting
 * deeper than MAX_NESTING, naming the path.
 */
const jsonObject = (checkJson: boolean) =>
  z
    .custom<Record<string, unknown>>((v) => isPlainObject(v), { error: 'must be an object' })
    .superRefine((v, ctx) => {
      const found = checkJson ? jsonProblem(v) : null;
      if (found) ctx.addIssue({ code: 'custom', message: found.message, path: found.path, input: v });
    })
    .meta({ type: 'object', additionalProperties: true });

/** A `Condition` (./types); checked by `validateCondition`, its problems carry the code BAD_CONDITION. */
const condition = z
  .custom<Record<string, unknown>>(() => true)
  .superRefine((v, ctx) => {
    if (v === null || v === undefined) return;
    for (const issue of validateCondition(v, 'condition')) {
      ctx.addIssue({ code: 'custom', message: issue.message, input: v, params: { issueCode: 'BAD_CONDITION', field: issue.field } });
    }
  })
  .meta({
    type: 'object',
    additionalProperties: true,
    description: 'When false, the step is skipped: value_check {path, operator, value}, all/any {conditions}, not {condition}',
    example: { type: 'value_check', path: 'workflow.config.enable_ai_enrichment', operator: 'equals', value: true },
  });

const stepKey = z
  .string({ error: (iss) => stepKeyProblem(iss.input) ?? undefined })
  .refine((k) => stepKeyProblem(k) === null, { error: (iss) => stepKeyProblem(iss.input) ?? undefined })
  .meta({ pattern: STEP_KEY_PATTERN.source, example: 'fetch_products' });

/** Fields of one step. Null and absent both take the default (./normalize). */
const stepShape = {
  key: stepKey,
  name: text(200).meta({ example: 'Fetch supplier products' }),
  step_type: text(50).meta({ example: 'data_fetch' }),
  config: jsonObject(true)
    .nullish()
    .meta({ description: 'Executor configuration; strings may hold references ($input.x, $steps.<key>.x)', example: { source_type: 'supplier', supplier_id: '$input.supplier_id' } }),
  order: integer(0, 1_000_000).nullish(),
  timeout_seconds: integer(1, 86400).nullish().meta({ default: 300 }),
  max_retries: integer(0, 100).nullish().meta({ description: "Retries after the first attempt; null takes the workflow's max_retries" }),
  retry_delay_seconds: integer(0, 86400).nullish().meta({ description: "Delay before the first retry; null takes the workflow's retry_delay_seconds" }),
  retry_backoff: number(1, 10).nullish().meta({ default: 2 }),
  max_retry_delay_seconds: integer(1, 86400).nullish().meta({ default: 300 }),
  is_optional: boolean().nullish(),
  can_run_parallel: boolean().nullish(),
  can_retry: boolean().nullish().meta({ default: true }),
  parallel_group: text(100).nullish(),
  role: z.enum(STEP_ROLES, { error: `must be one of ${STEP_ROLES.join(', ')}` }).nullish().meta({ default: 'main' }),
  compensates: z.string({ error: 'must be a step key' }).max(63, { error: 'must be a step key (at most 63 characters)' }).nullish(),
  depends_on_steps: z
    .array(z.string({ error: 'must be a step key' }).max(63, { error: 'must be a step key (at most 63 characters)' }), { error: 'must be a list of step keys' })
    .max(MAX_STEPS, { error: `must list at most ${MAX_STEPS} steps` })
    .nullish(),
  condition: condition.nullish(),
};

/** One level of `fan_out` (./fan-out). */
const fanOutLevel = z
  .strictObject({
    over: z.enum(FAN_OUT_OVER, { error: `must be one of ${FAN_OUT_OVER.join(', ')}` }).meta({ description: 'The active rows to run once each for', example: 'suppliers' }),
    field: z
      .string({ error: 'must be a string' })
      .regex(STEP_KEY_PATTERN, { error: 'must be a slug of lowercase letters, digits and _ starting with a letter' })
      .optional()
      .meta({ description: 'The input (and config) key each child gets the row id in; default supplier_id / marketplace_id' }),
    max_concurrent: integer(1, MAX_FAN_OUT_CONCURRENCY).optional().meta({ default: DEFAULT_FAN_OUT_CONCURRENCY, description: 'Children running at once' }),
  })
  .meta({ description: 'One fan-out level' });

/** `fan_out`: one level or a list of levels (outermost first), each over another table and field. */
const fanOut = z
  .union([fanOutLevel, z.array(fanOutLevel, { error: 'must be a fan-out level or a list of them' }).min(1, { error: 'must list at least one level' }).max(2, { error: 'may have at most 2 levels' })], {
    error: 'must be {"over": "suppliers" | "marketplaces", "field"?, "max_concurrent"?} or a list of them',
  })
  .superRefine((v, ctx) => {
    const levels = Array.isArray(v) ? v : [v];
    const seen = new Set<string>();
    levels.forEach((l, i) => {
      const field = l.field ?? FAN_OUT_DEFAULT_FIELD[l.over];
      if (seen.has(l.over) || seen.has(field)) ctx.addIssue({ code: 'custom', message: 'two levels over the same table or field', path: Array.isArray(v) ? [i] : [], input: l });
      seen.add(l.over);
      seen.add(field);
    });
  })
  .meta({
    description: 'Run once per active supplier / marketplace (as child runs) when the run names none (docs/definitions.md#fan-out)',
    example: { over: 'suppliers', field: 'supplier_id', max_concurrent: 4 },
  });

/** Definition fields of a workflow (stored in each version). */
const definitionShape = {
  code: z.string({ error: 'must be a string' }).regex(WORKFLOW_CODE_PATTERN, { error: 'must be 1-60 letters, digits, _, . or -, starting with a letter or digit' }).meta({ example: 'daily_product_import' }),
  name: text(200).meta({ example: 'Daily Product Import' }),
  workflow_type: text(50).nullish().meta({ example: 'product_import', default: 'custom' }),
  config: jsonObject(true).nullish().meta({ description: 'Values steps read as $config.* and conditions as workflow.config.*', example: { enable_ai_enrichment: true } }),
  max_retries: integer(0, 100).nullish().meta({ default: 3 }),
  retry_delay_seconds: integer(0, 86400).nullish().meta({ default: 5 }),
  max_parallel_steps: integer(1, 100).nullish().meta({ default: 10 }),
  // Structure only here; the API compiles the schema itself (src/workflows/input-schema.ts).
  input_schema: jsonObject(false)
    .nullable()
    .optional()
    .meta({
      description: "JSON Schema that every run's input_data must match; checked before a run starts (400 naming the field). null removes it.",
      example: { type: 'object', properties: { supplier_id: { type: 'integer', minimum: 1 } }, required: ['supplier_id'] },
    }),
  // OpenAPI 3.0 wants a type beside nullable: the union is described as an object (a list of them is accepted too).
  fan_out: fanOut.nullable().optional().meta({ type: 'object' }),
};

/** Workflow settings outside the definition (not versioned). */
const settingsShape = {
  description: z.string({ error: 'must be a string' }).max(10_000, { error: 'must be at most 10000 characters' }).optional(),
  status: z.enum(WORKFLOW_STATUSES, { error: `must be one of ${WORKFLOW_STATUSES.join(', ')}` }).optional().meta({ default: 'active' }),
  is_template: boolean().optional().meta({ default: false }),
};

const stepsOf = <T extends z.ZodType>(step: T) =>
  z.array(step, { error: 'must be a list of steps' }).max(MAX_STEPS, { error: `a workflow may have at most ${MAX_STEPS} steps` });

// ---- the lenient variants: validateDefinition (templates, stored versions, files) ----

/** One step, unknown fields ignored (stored definitions carry more). */
export const StepSchema = z.object(stepShape);

/** A definition's own fields, with `steps` left for {@link StepSchema} one by one (so one bad step does not hide the others). */
export const DefinitionHeadSchema = z.object({ ...definitionShape, steps: z.array(z.unknown(), { error: 'must be a list of steps' }).max(MAX_STEPS, { error: `a workflow may have at most ${MAX_STEPS} steps` }) });

// ---- the strict variants: API request bodies (an unknown field is a 400) ----

/** One step as a client writes it. */
export const StepBody = z.strictObject(stepShape).meta({ description: 'One step of a definition; the definition validator checks the graph, references and executor config' });

/** `POST /workflows/` and `POST /workflows/validate/`: a complete definition. */
export const CreateWorkflowBody = z
  .strictObject({ ...definitionShape, ...settingsShape, steps: stepsOf(StepBody) })
  .meta({ description: 'A complete workflow definition' });

/** `PATCH /workflows/{id}/`: any field; a changed definition becomes a new version. */
export const UpdateWorkflowBody = z
  .strictObject({
    ...definitionShape,
    ...settingsShape,
    // The code cannot change; the service answers CODE_IMMUTABLE when it differs, so any short string passes here.
    code: z.string({ error: 'must be a string' }).max(100, { error: 'must be at most 100 characters' }).optional().meta({ description: 'Cannot change; accepted when equal to the current code.' }),
    name: definitionShape.name.optional(),
    steps: stepsOf(StepBody).optional(),
  })
  .meta({ description: 'Any field of a workflow; a changed definition becomes a new version' });

// Type names differ from the schemas' on purpose: a parameter typed with a name that is also a value
// makes TypeScript emit that value as design:paramtypes, and Nest's class-validator pipe would take the schema for a DTO class.
export type StepRequest = z.output<typeof StepBody>;
export type CreateWorkflowRequest = z.output<typeof CreateWorkflowBody>;
export type UpdateWorkflowRequest = z.output<typeof UpdateWorkflowBody>;

/** The request body schemas, for the OpenAPI document (component name to schema). */
export const DEFINITION_BODY_SCHEMAS = { StepDto: StepBody, CreateWorkflowDto: CreateWorkflowBody, UpdateWorkflowDto: UpdateWorkflowBody } as const;

// ---- issues ----------------------------------------------------------------

/** One problem zod found: the dotted field path (`steps[2].config.url`), the message, and the issue code of custom checks. */
export interface FieldProblem {
  field: string;
  message: string;
  /** Set by checks that report under their own code (BAD_CONDITION); INVALID_FIELD otherwise. */
  issueCode?: string;
}

/** `['steps', 2, 'config', 'url']` as `steps[2].config.url`. */
export function fieldPath(path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>((acc, seg) => (typeof seg === 'number' ? `${acc}[${seg}]` : acc ? `${acc}.${String(seg)}` : String(seg)), '');
}

/** zod's issues as field problems, one per field (an unknown field each on its own). */
export function zodFieldProblems(error: z.ZodError, prefix: ReadonlyArray<PropertyKey> = []): FieldProblem[] {
  const out: FieldProblem[] = [];
  for (const issue of error.issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ field: fieldPath([...path, key]), message: 'is not a known field' });
      continue;
    }
    const params = (issue as { params?: { issueCode?: string; field?: string } }).params;
    // A condition's checker names its own field relative to the step (`condition.conditions[0].path`).
    const field = params?.field ? fieldPath([...path.slice(0, -1), params.field]) : fieldPath(path);
    out.push({ field, message: issue.message, ...(params?.issueCode ? { issueCode: params.issueCode } : {}) });
  }
  return out;
}
