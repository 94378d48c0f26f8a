/**
 * One way for every item-wise executor to say that its input is not the shape
 * its config reads: a non-retryable `STEP_INPUT_INVALID` whose message says
 * what the step expected, what it got (with the path it read) and how to fix
 * it, so a wrong shape fails the step instead of completing with nulls.
 *
 * @example
 * throw inputShapeError({ expected: 'a list of items or {items: [...]}', got: input, hint: 'set config.source_field' });
 * // the step input is an object with keys [a, b]; expected a list of items or {items: [...]}: set config.source_field
 */
import { isPlainObject } from '@engine/dsl/references';
import { StepError } from '@engine/activities/shared/errors';
import { ErrorCodes } from '@engine/shared/contracts';

const MAX_KEYS = 10;

/** A value's shape in a few words: `null`, `a string`, `an empty list`, `a list of 3 numbers`, `an object with keys [a, b]`. */
export function describeShape(value: unknown): string {
  if (value === undefined) return 'nothing (undefined)';
  if (value === null) return 'null';
  if (Array.isArray(value)) {
    if (value.length === 0) return 'an empty list';
    const kinds = [...new Set(value.map(kindOf))];
    return `a list of ${value.length} ${kinds.length === 1 ? plural(kinds[0]) : `values (${kinds.join(', ')})`}`;
  }
  if (isPlainObject(value)) {
    const keys = Object.keys(value);
    if (keys.length === 0) return 'an empty object';
    return `an object with keys [${keys.slice(0, MAX_KEYS).join(', ')}${keys.length > MAX_KEYS ? ', ...' : ''}]`;
  }
  const k = kindOf(value);
  return `${/^[aeiou]/.test(k) ? 'an' : 'a'} ${k}`;
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'list';
  if (isPlainObject(v)) return 'object';
  return typeof v;
}

function plural(kind: string): string {
  return kind === 'null' ? 'nulls' : `${kind}s`;
}

export interface ShapeProblem {
  /** What the step reads, e.g. `a list of objects` or `a list of items or an object holding one`. */
  expected: string;
  /** The value it found. */
  got: unknown;
  /** Where it looked in the step input (`products`, `items[3]`); absent: the input itself. */
  path?: string;
  /** How to fix it, e.g. `set config.source_field`. */
  hint?: string;
  /** More plain JSON facts for the failure's details. */
  details?: Record<string, unknown>;
}

/** The step's `STEP_INPUT_INVALID` failure (never retried: the same input fails the same way). */
export function inputShapeError(p: ShapeProblem): StepError {
  const where = p.path ? `the step input at ${JSON.stringify(p.path)}` : 'the step input';
  return new StepError(
    ErrorCodes.STEP_INPUT_INVALID,
    `${where} is ${describeShape(p.got)}; expected ${p.expected}${p.hint ? `: ${p.hint}` : ''}`,
    { retryable: false, details: { path: p.path ?? null, expected: p.expected, got: describeShape(p.got), ...p.details } },
  );
}

/**
 * Requires every item to be a plain object, as a step that reads fields of
 * its items does: an item that is a number, a string, a list or null would
 * only read as nulls. `listPath` is where the list was read (`products`).
 *
 * @throws StepError `STEP_INPUT_INVALID` naming the first item that is not an object.
 */
export function requireObjectItems(items: readonly unknown[], reads: string, listPath?: string): void {
  const i = items.findIndex((item) => !isPlainObject(item));
  if (i < 0) return;
  const path = `${listPath ?? ''}[${i}]`;
  throw inputShapeError({
    expected: `an object, since ${reads} (the list is ${describeShape(items)})`,
    got: items[i],
    path,
    hint: 'point config.source_field / items_field at a list of objects',
  });
}
