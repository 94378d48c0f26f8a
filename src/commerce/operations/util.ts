/** Helpers the operations share: number parsing, lists, param schemas. */
import { z } from 'zod';
import { intIn, refOr, type SchemaMode } from '@engine/activities/shared/zod';
import { isPlainObject } from '@engine/dsl/references';
import { StepError } from '@engine/activities/shared/errors';
import { ErrorCodes } from '@engine/shared/contracts';

/** pg returns numeric and bigint as strings; the operations hand numbers to the steps after them. */
export function toNumber(v: unknown): number | null {
  if (v === null || v === undefined || v === '') return null;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? n : null;
}

export function toInt(v: unknown): number | null {
  const n = toNumber(v);
  return n === null ? null : Math.trunc(n);
}

/** A non-empty trimmed string of a string or finite number, else null. */
export function toText(v: unknown): string | null {
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v !== 'string') return null;
  const t = v.trim();
  return t === '' ? null : t;
}

export const asRecord = (v: unknown): Record<string, unknown> => (isPlainObject(v) ? v : {});

/** Param schemas: each may be a reference when the definition is saved. */
export const params = {
  id: (mode: SchemaMode) => refOr(mode, intIn(1, 2_147_483_647), 'an integer id'),
  optionalId: (mode: SchemaMode) => refOr(mode, z.union([intIn(1, 2_147_483_647), z.null()]), 'an integer id or null'),
  count: (mode: SchemaMode, max = 1_000_000_000) => refOr(mode, intIn(0, max), `an integer from 0 to ${max}`),
  list: (mode: SchemaMode) => refOr(mode, z.array(z.unknown(), { error: 'must be a list' }).max(10_000_000), 'a list'),
  /** A list that may be absent at run time (an upstream step that produced nothing). */
  listOrNull: (mode: SchemaMode) => refOr(mode, z.union([z.array(z.unknown()).max(10_000_000), z.null()], { error: 'must be a list' }), 'a list'),
  text: (mode: SchemaMode, max = 10_000) => refOr(mode, z.string({ error: 'must be a string' }).max(max), 'a string'),
  optionalText: (mode: SchemaMode, max = 10_000) => refOr(mode, z.union([z.string().max(max), z.null()], { error: 'must be a string or null' }), 'a string'),
  oneOf: <T extends string>(mode: SchemaMode, values: readonly [T, ...T[]]) => refOr(mode, z.enum(values, { error: `must be one of ${values.join(', ')}` }), `one of ${values.join(', ')}`),
  bool: (mode: SchemaMode) => refOr(mode, z.boolean({ error: 'must be true or false' }), 'true or false'),
};

/** A list param resolved to nothing (upstream produced no output) reads as empty. */
export function listOf(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** Fails the step for good: the operation was asked for something that does not exist. */
export function notFound(what: string, id: unknown): StepError {
  return new StepError(ErrorCodes.SOURCE_NOT_FOUND, `${what} ${String(id)} does not exist`, { details: { id } });
}

/** Rows of `res` as plain objects with numeric strings for the listed columns turned into numbers. */
export function numericRows<T extends Record<string, unknown>>(rows: T[], columns: readonly string[]): T[] {
  return rows.map((r) => {
    const out: Record<string, unknown> = { ...r };
    for (const c of columns) if (c in out) out[c] = toNumber(out[c]);
    return out as T;
  });
}
