/**
 * Zod building blocks shared by the executors' config schemas: values that a
 * run reference may stand in for at definition time, bounded numbers, and
 * parsing a resolved value with an error naming the field.
 */
import { z } from 'zod';
import { isPlainObject, isReference, parseReference } from '@engine/dsl/references';
import { jsonataProblem } from '@engine/dsl/expressions';
import { configError, UNKNOWN_FIELD, zodIssues } from '@engine/activities/shared/config-issues';
import { parsePath } from '@engine/activities/shared/paths';

/** `definition`: values may be references (`$input.x`); `runtime`: references are resolved, values must be real. */
export type SchemaMode = 'definition' | 'runtime';


const REF_HINT = 'or a reference like "$input.x"';

/** A string that is exactly one reference. */
export const referenceString = z.string().refine((s) => isReference(s), { message: `must be a reference like "$input.x" or "$steps.fetch.items"` });

/** A whole-string reference to the run (`$input.x`, `$config.x`, `$steps.k.x`, `$execution.x`), not to an item. */
export function isRunReference(v: unknown): v is string {
  return typeof v === 'string' && parseReference(v)?.scope === 'run';
}

/**
 * In definition mode, `schema` or a reference string; in runtime mode, `schema`.
 * `accepts` narrows which references may stand in (options resolved once per
 * step take run references only: `isRunReference`).
 */
export function refOr(mode: SchemaMode, schema: z.ZodType, what: string, accepts: (s: string) => boolean = isReference): z.ZodType {
  if (mode === 'runtime') return schema;
  const message = `must be ${what}, ${REF_HINT}`;
  return z.union([schema, z.string().refine(accepts, { message })], { error: message });
}

/** `refOr` over the enum of `values`, with a message listing them. */
export function oneOfOr(mode: SchemaMode, values: readonly [string, ...string[]], accepts?: (s: string) => boolean): z.ZodType {
  const what = `one of ${values.join(', ')}`;
  return refOr(mode, z.enum(values, { error: `must be ${what}` }), what, accepts);
}

/** What is wrong with an item field path (`price`, `dimensions.weight`, `images[0].url`), or null. */
export function itemPathProblem(v: unknown): string | null {
  if (typeof v !== 'string' || v === '') return 'must be a field path such as "price" or "dimensions.weight"';
  if (isRunReference(v)) return `names an item field; '${v}' is a run reference, not a field path`;
  const parsed = parsePath(v);
  return 'error' in parsed ? `'${v}' ${parsed.error}` : null;
}

/** An item field path, written literally (never a run reference). */
export const itemPath = z.string({ error: itemPathProblem(undefined)! }).superRefine((v, ctx) => {
  const problem = itemPathProblem(v);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** A JSONata expression that compiles. */
export const jsonataExpression = z.string({ error: 'must be a JSONata expression' }).superRefine((v, ctx) => {
  const problem = v.trim() === '' ? 'must be a JSONata expression' : jsonataProblem(v);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** Options of a strict object whose unknown keys are reported with `hint` (what the object takes). */
export function unknownKeysHint(hint: string): { error: (issue: { code?: string }) => string | undefined } {
  return { error: (issue) => (issue.code === 'unrecognized_keys' ? `${UNKNOWN_FIELD}; ${hint}` : undefined) };
}

/**
 * Options of a cross-field refinement: it runs even when a field of the object
 * already failed (so every problem of a partly bad config is named), but only
 * on an object.
 */
export const CROSS_FIELD = { when: (payload: { value: unknown }) => isPlainObject(payload.value) } as const;

/** An integer in [min, max]. */
export function intIn(min: number, max: number): z.ZodNumber {
  const message = `must be an integer from ${min} to ${max}`;
  return z.number({ error: message }).int({ message }).min(min, { message }).max(max, { message });
}

/** A number in [min, max]. */
export function numberIn(min: number, max: number): z.ZodNumber {
  const message = `must be a number from ${min} to ${max}`;
  return z.number({ error: message }).min(min, { message }).max(max, { message });
}

/** Parses a runtime value, throwing `STEP_CONFIG_INVALID` naming the first bad field. */
export function parseOrThrow<T>(schema: z.ZodType, value: unknown, prefix: Array<string | number> = []): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data as T;
  const [first] = zodIssues(parsed.error, prefix);
  throw configError(first?.field || 'config', `${first?.message ?? 'is invalid'} (after resolving references)`);
}
