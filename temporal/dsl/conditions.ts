/**
 * Step conditions: evaluated when a step becomes ready; false means the step is
 * skipped. Pure and deterministic: safe to import from workflow code.
 */
import { isForbiddenKey, isPlainObject, lookupReference, parseConditionPath, PayloadRefEncountered } from './references';
import { CONDITION_OPERATORS, isPayloadRef, type Condition, type ConditionOperator, type RunContext } from './types';

/** Deepest nesting of `all` / `any` / `not` that validation accepts. */
export const MAX_CONDITION_DEPTH = 32;

/** Thrown when evaluating a condition that validation would have rejected. */
export class ConditionInvalidError extends Error {
  readonly code = 'BAD_CONDITION';

  constructor(message: string) {
    super(message);
    this.name = 'ConditionInvalidError';
  }
}

/**
 * Structural equality of JSON values: same primitives (`===`), arrays of equal
 * elements in order, objects with the same own keys and equal values.
 * `1` and `'1'` are different.
 */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const recA = a as Record<string, unknown>;
  const recB = b as Record<string, unknown>;
  const keysA = Object.keys(recA);
  // Keys come from Object.keys, so indexing reads own properties only.
  return (
    keysA.length === Object.keys(recB).length &&
    keysA.every((k) => Object.prototype.hasOwnProperty.call(recB, k) && deepEqual(recA[k], recB[k]))
  );
}

/** A number, or a string holding one (`' 12.5 '`); null otherwise. */
function asNumber(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value !== 'string' || value.trim() === '') return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

/**
 * Orders two values: numbers (and numeric strings) numerically, two other
 * strings by code unit (so ISO dates compare chronologically). Anything else
 * is unordered (null), which makes every ordering operator false.
 */
function compare(actual: unknown, expected: unknown): number | null {
  const a = asNumber(actual);
  const b = asNumber(expected);
  if (a !== null && b !== null) return a - b;
  if (typeof actual === 'string' && typeof expected === 'string') return actual < expected ? -1 : actual > expected ? 1 : 0;
  return null;
}

function check(operator: ConditionOperator, actual: unknown, expected: unknown): boolean {
  switch (operator) {
    case 'equals':
      return deepEqual(actual, expected);
    case 'not_equals':
      return !deepEqual(actual, expected);
    case 'in':
      if (Array.isArray(expected)) return expected.some((e) => deepEqual(actual, e));
      return typeof expected === 'string' && typeof actual === 'string' && expected.includes(actual);
    case 'exists':
      return expected === false ? actual == null : actual != null;
  }
  const order = compare(actual, expected);
  if (order === null) return false;
  switch (operator) {
    case 'gt':
      return order > 0;
    case 'gte':
      return order >= 0;
    case 'lt':
      return order < 0;
    case 'lte':
      return order <= 0;
  }
  throw new ConditionInvalidError(`unknown operator '${String(operator)}'`);
}

/**
 * Evaluates a condition against the run context. `value_check` paths read like
 * references, with or without the leading `$`: `workflow.config.x` (or
 * `config.x`), `input.x`, `steps.<key>.x`, `execution.x`. `all` of nothing is
 * true, `any` of nothing is false. `value` is a literal; it is not resolved.
 *
 * @throws PayloadRefEncountered when the path reads into (or compares) a stored payload.
 * @throws ConditionInvalidError for a condition validation would reject.
 * @example evaluateCondition({ type: 'value_check', path: 'workflow.config.enable_ai_enrichment', operator: 'equals', value: true }, ctx)
 */
export function evaluateCondition(cond: Condition, ctx: RunContext): boolean {
  switch (cond.type) {
    case 'all':
      return cond.conditions.every((c) => evaluateCondition(c, ctx));
    case 'any':
      return cond.conditions.some((c) => evaluateCondition(c, ctx));
    case 'not':
      return !evaluateCondition(cond.condition, ctx);
    case 'value_check': {
      const ref = parseConditionPath(cond.path);
      if (!ref) throw new ConditionInvalidError(`'${cond.path}' is not a valid path`);
      const actual = lookupReference(ref, ctx);
      // A stored payload cannot be compared here; only its presence is known.
      if (isPayloadRef(actual) && cond.operator !== 'exists') throw new PayloadRefEncountered(actual, ref.segments);
      return check(cond.operator, actual, cond.value);
    }
  }
  throw new ConditionInvalidError(`unknown condition type '${String((cond as { type?: unknown }).type)}'`);
}

/** Problems of one condition, with `field` below `fieldPrefix` (e.g. `condition.conditions[1].operator`). */
export type ConditionIssue = { field: string; message: string };

function checkValueCheck(cond: Record<string, unknown>, at: (f: string) => string): ConditionIssue[] {
  const issues: ConditionIssue[] = [];
  const { path, operator, value } = cond;
  if (typeof path !== 'string' || path === '') {
    issues.push({ field: at('path'), message: 'path is required (e.g. "workflow.config.flag" or "steps.fetch.count")' });
  } else {
    const ref = parseConditionPath(path);
    if (!ref) issues.push({ field: at('path'), message: `'${path}' is not a valid path` });
    else if (ref.segments.some(isForbiddenKey)) issues.push({ field: at('path'), message: `'${path}' uses a forbidden key` });
  }
  if (!CONDITION_OPERATORS.includes(operator as ConditionOperator)) {
    issues.push({ field: at('operator'), message: `operator must be one of ${CONDITION_OPERATORS.join(', ')}` });
  } else if (operator === 'in' && !Array.isArray(value) && typeof value !== 'string') {
    issues.push({ field: at('value'), message: "operator 'in' needs a list (or a string) as value" });
  } else if (operator === 'exists' && value !== undefined && typeof value !== 'boolean') {
    issues.push({ field: at('value'), message: "operator 'exists' takes true, false or no value" });
  } else if (['gt', 'gte', 'lt', 'lte'].includes(operator as string) && typeof value !== 'number' && typeof value !== 'string') {
    issues.push({ field: at('value'), message: `operator '${String(operator)}' needs a number or a string as value` });
  }
  return issues;
}

function validateAt(cond: unknown, field: string, depth: number): ConditionIssue[] {
  const at = (f: string) => (field ? `${field}.${f}` : f);
  if (depth > MAX_CONDITION_DEPTH) return [{ field, message: `conditions nest deeper than ${MAX_CONDITION_DEPTH} levels` }];
  if (!isPlainObject(cond)) return [{ field, message: 'condition must be an object' }];
  switch (cond.type) {
    case 'value_check':
      return checkValueCheck(cond, at);
    case 'all':
    case 'any': {
      const list = cond.conditions;
      if (!Array.isArray(list) || list.length === 0) {
        return [{ field: at('conditions'), message: `'${cond.type}' needs a non-empty list of conditions` }];
      }
      return list.flatMap((c, i) => validateAt(c, `${at('conditions')}[${i}]`, depth + 1));
    }
    case 'not':
      return validateAt(cond.condition, at('condition'), depth + 1);
    default:
      return [{ field: at('type'), message: 'type must be one of value_check, all, any, not' }];
  }
}

/**
 * Checks the structure of an untrusted condition: known types and operators, a
 * path that parses, a `value` that suits the operator, bounded nesting. Never throws.
 *
 * @example validateCondition({ type: 'value_check', path: '', operator: 'equals' }, 'condition') // [{ field: 'condition.path', ... }]
 */
export function validateCondition(cond: unknown, fieldPrefix: string): ConditionIssue[] {
  return validateAt(cond, fieldPrefix, 0);
}
