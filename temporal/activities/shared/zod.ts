/**
 * Zod building blocks shared by the executors' config schemas: values that a
 * run reference may stand in for at definition time, bounded numbers, and
 * parsing a resolved value with an error naming the field.
 */
import { z } from 'zod';
import { isReference } from '@engine/dsl/references';
import { configError, zodIssues } from '@engine/activities/shared/config-issues';

/** `definition`: values may be references (`$input.x`); `runtime`: references are resolved, values must be real. */
export type SchemaMode = 'definition' | 'runtime';


const REF_HINT = 'or a reference like "$input.x"';

/** A string that is exactly one reference. */
export const referenceString = z.string().refine((s) => isReference(s), { message: `must be a reference like "$input.x" or "$steps.fetch.items"` });

/** In definition mode, `schema` or a reference string; in runtime mode, `schema`. */
export function refOr(mode: SchemaMode, schema: z.ZodType, what: string): z.ZodType {
  if (mode === 'runtime') return schema;
  const message = `must be ${what}, ${REF_HINT}`;
  return z.union([schema, z.string().refine((s) => isReference(s), { message })], { error: message });
}

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
