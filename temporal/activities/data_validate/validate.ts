/**
 * The data_validate rules as pure functions: each item is checked against
 * every rule, invalid items carry their reasons, and thresholds decide whether
 * the batch as a whole fails. No I/O; progress goes through hooks.
 */
import { deepEqual } from '@engine/dsl/conditions';
import { compileJsonata, DEFAULT_EXPRESSION_LIMITS, type ExpressionError } from '@engine/dsl/expressions';
import { isPlainObject } from '@engine/dsl/references';
import type { RunContext } from '@engine/dsl/types';
import { StepError } from '@engine/activities/shared/errors';
import { ExpressionChunks, ExpressionStopped, type ChunkOutcome, type ExpressionPool } from '@engine/activities/shared/expressions';
import { ErrorCodes } from '@engine/shared/contracts';
import {
  EMPTY_RUN,
  expressionBindings,
  expressionFailure,
  PROGRESS_EVERY,
  forEachPage,
  pagedListAt,
  selectItems,
  type ProgressHooks,
} from '@engine/activities/shared/items';
import type { ItemPages } from '@engine/activities/runtime/executor';
import type { PagedRef } from '@engine/dsl/types';
import { requireObjectItems } from '@engine/activities/shared/input-shape';
import { configInvalid } from '@engine/activities/shared/config-issues';
import { itemKeyGuess } from '@engine/activities/shared/item-failures';
import type { ItemRecorder } from '@engine/activities/runtime/item-ledger';
import { mustParsePath, pathReader, setIn } from '@engine/activities/shared/paths';
import { compileSafeRegex, MAX_MATCH_LENGTH } from '@engine/activities/shared/safe-regex';
import { asNumber, isIsoDate, isTruthy } from '@engine/activities/shared/values';
import { checkValidateConfig, resolveValidateConfig, type ValidateConfig, type ValidationRule, type ValueType } from './schema';

/** Why an item is invalid. `field` is null for a custom rule without one. */
export interface ValidationReason {
  field: string | null;
  rule: string;
  message: string;
}

export interface InvalidItem {
  index: number;
  item?: unknown;
  errors: ValidationReason[];
}

export interface ValidationResult {
  valid: unknown[];
  invalid: InvalidItem[];
}

export interface ValidateOptions extends ProgressHooks {
  /** What expression variables (`$input`, `$config`, ...) read. */
  run?: RunContext;
  /** Whether invalid entries carry the item (default true). */
  includeItems?: boolean;
  /** Where custom rules' JSONata runs (default: the process's pool from the configuration). */
  expressions?: ExpressionPool;
  /** Aborted when the step is cancelled: stops the expressions in flight. */
  signal?: AbortSignal;
  /** The per-item ledger: each item's outcome (ok, or invalid with its reasons) is recorded here. */
  items?: ItemRecorder;
  /** Lists page by page (the step runner's): a paged list at `source_field` is validated a page at a time. */
  pages?: ItemPages;
}

/** Rules compiled once for several calls of `validateItems` (pages of one list: `unique` sees all of them). */
export interface CompiledRules {
  readonly checks: readonly Check[];
}

/** Compiles rules for {@link validateItems}'s `compiled` option. */
export function compileRules(rules: readonly ValidationRule[]): CompiledRules {
  const issues = checkValidateConfig({ validation_rules: rules }, 'runtime');
  if (issues.length > 0) throw configInvalid(issues);
  return { checks: rules.map((r, i) => compileRule(r, i)) };
}

/** One compiled rule: returns the reason message, or null when the item passes. */
interface Check {
  field: string | null;
  rule: string;
  /** Synchronous check; null for custom rules. */
  test: ((item: unknown, index: number) => string | null) | null;
  /** Custom rules: the expression (evaluated in the expression pool) and how its outcome reads. */
  custom: {
    source: string;
    /** The reason for item `i` from its value or its evaluation error; throws for errors that stop the step. */
    judge(value: unknown, error: ExpressionError | null, i: number): string | null;
    /** The step failure for an evaluation the pool stopped. */
    stopped(err: ExpressionError, i: number): unknown;
  } | null;
}

const isMissing = (v: unknown): boolean => v === undefined || v === null;

const show = (v: unknown): string => {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
};

const EMAIL = /^[^\s@]+@[^\s@.]+(?:\.[^\s@.]+)+$/;

/** Whether `v` has the type: see the schema for what each means. */
export function hasType(v: unknown, type: ValueType): boolean {
  switch (type) {
    case 'string':
      return typeof v === 'string';
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v);
    case 'boolean':
      return typeof v === 'boolean';
    case 'array':
      return Array.isArray(v);
    case 'object':
      return isPlainObject(v);
    case 'date':
      return isIsoDate(v);
    case 'email':
      return typeof v === 'string' && v.length <= 254 && EMAIL.test(v);
    case 'url': {
      if (typeof v !== 'string' || v.length > 2048) return false;
      try {
        const u = new URL(v);
        return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
      } catch {
        return false;
      }
    }
  }
}

/** Length in characters (code points) of a string, or elements of a list; null for anything else. */
function lengthOf(v: unknown): { n: number; unit: string } | null {
  if (typeof v === 'string') {
    let n = 0;
    for (let i = 0; i < v.length; i++) {
      const c = v.charCodeAt(i);
      if (c < 0xdc00 || c > 0xdfff) n++; // count low surrogates only with their high surrogate
    }
    return { n, unit: 'characters' };
  }
  if (Array.isArray(v)) return { n: v.length, unit: 'items' };
  return null;
}

/** Type-sensitive key for uniqueness (`1` and `'1'` differ). */
function keyOf(v: unknown, ci: boolean): string {
  if (typeof v === 'string') return `s${ci ? v.toLowerCase() : v}`;
  if (typeof v === 'number' || typeof v === 'boolean') return `${typeof v}${v}`;
  return `j${JSON.stringify(v)}`;
}

function compileRule(rule: ValidationRule, index: number): Check {
  const field = rule.field ?? (rule.fields ? rule.fields.join(',') : null);
  const custom = rule.message;
  const read = rule.field !== undefined ? pathReader(mustParsePath(rule.field)) : () => undefined;
  const check = (fn: (v: unknown, item: unknown, i: number) => string | null): Check => ({
    field,
    rule: rule.type,
    test: (item, i) => {
      const why = fn(read(item), item, i);
      return why === null ? null : (custom ?? why);
    },
    custom: null,
  });
  const name = field ?? 'value';
  switch (rule.type) {
    case 'required': {
      const allowEmpty = rule.allow_empty === true;
      return check((v) => {
        if (isMissing(v)) return `${name} is required`;
        if (!allowEmpty && ((typeof v === 'string' && v.trim() === '') || (Array.isArray(v) && v.length === 0))) return `${name} must not be empty`;
        return null;
      });
    }
    case 'min_value':
    case 'max_value': {
      const bound = rule.type === 'min_value' ? rule.min_value! : rule.max_value!;
      const min = rule.type === 'min_value';
      const words = min ? 'at least' : 'at most';
      if (typeof bound === 'string') {
        return check((v) => {
          if (isMissing(v)) return null;
          if (typeof v !== 'string') return `${name} must be text comparable with ${show(bound)}`;
          return (min ? v >= bound : v <= bound) ? null : `${name} must be ${words} ${show(bound)} (got ${show(v)})`;
        });
      }
      return check((v) => {
        if (isMissing(v)) return null;
        const n = asNumber(v);
        if (n === null) return `${name} must be a number (got ${show(v)})`;
        return (min ? n >= bound : n <= bound) ? null : `${name} must be ${words} ${bound} (got ${show(v)})`;
      });
    }
    case 'type': {
      const expected = (rule.expected ?? rule.expected_type)!;
      const article = /^[aeiou]/.test(expected) ? 'an' : 'a';
      return check((v) => (isMissing(v) || hasType(v, expected) ? null : `${name} must be ${article} ${expected} (got ${show(v)})`));
    }
    case 'min_length':
    case 'max_length': {
      const limit = (rule.type === 'min_length' ? rule.min_length : rule.max_length)!;
      const min = rule.type === 'min_length';
      return check((v) => {
        if (isMissing(v)) return null;
        const len = lengthOf(v);
        if (!len) return `${name} must be a string or a list to have a length`;
        return (min ? len.n >= limit : len.n <= limit) ? null : `${name} must have ${min ? 'at least' : 'at most'} ${limit} ${len.unit} (has ${len.n})`;
      });
    }
    case 'pattern': {
      const re = compileSafeRegex(rule.pattern!, rule.flags ?? '');
      return check((v) => {
        if (isMissing(v)) return null;
        if (typeof v === 'string' && v.length > MAX_MATCH_LENGTH) return `${name} is too long to match a pattern (over ${MAX_MATCH_LENGTH} characters)`;
        return re.test(v) ? null : `${name} does not match the pattern ${rule.pattern} (got ${show(v)})`;
      });
    }
    case 'enum':
    case 'in': {
      const ci = rule.case_insensitive === true;
      const values = rule.values ?? [];
      const strings = new Set(values.filter((x): x is string => typeof x === 'string').map((x) => (ci ? x.toLowerCase() : x)));
      const others = values.filter((x) => typeof x !== 'string');
      const allowed = values.map((x) => show(x)).join(', ');
      return check((v) => {
        if (isMissing(v)) return null;
        const ok = typeof v === 'string' ? strings.has(ci ? v.toLowerCase() : v) : others.some((x) => deepEqual(x, v));
        return ok ? null : `${name} must be one of ${allowed.length > 200 ? `${allowed.slice(0, 197)}...` : allowed} (got ${show(v)})`;
      });
    }
    case 'unique': {
      const ci = rule.case_insensitive === true;
      const readers = (rule.fields ?? [rule.field!]).map((f) => pathReader(mustParsePath(f)));
      // Batch state: a fresh map per compile, and compile happens once per batch.
      const firstSeen = new Map<string, number>();
      return check((_v, item, i) => {
        const values = readers.map((r) => r(item));
        if (values.some(isMissing)) return null;
        const key = values.length === 1 ? keyOf(values[0], ci) : values.map((x) => keyOf(x, ci)).join('\u0001');
        const first = firstSeen.get(key);
        if (first === undefined) {
          firstSeen.set(key, i);
          return null;
        }
        return `${name} ${show(values.length === 1 ? values[0] : values)} duplicates item ${first}`;
      });
    }
    case 'custom': {
      // Throws EXPRESSION_INVALID here, before any item is sent to the pool.
      const source = compileJsonata(rule.expression!).source;
      const fallback = `custom rule ${index} failed: ${rule.expression}`;
      const stopped = (err: ExpressionError, i: number) => expressionFailure(err, `validation_rules[${index}] (item ${i})`, { index: i });
      return {
        field: rule.field ?? null,
        rule: 'custom',
        test: null,
        custom: {
          source,
          stopped,
          judge: (value, error, i) => {
            if (error === null) return isTruthy(value) ? null : (custom ?? fallback);
            // A type error on this item's data makes the item invalid; running out of time, memory or depth stops the step.
            if (error.code === ErrorCodes.EXPRESSION_FAILED) return `${custom ?? fallback} (${error.message})`;
            throw stopped(error, i);
          },
        },
      };
    }
  }
}

/**
 * Checks every item against every rule (rules are compiled once per call, so
 * `unique` sees this batch only). Valid items are returned as they are;
 * invalid ones with their index and reasons in rule order.
 *
 * @example await validateItems([{ sku: 'A1', price: 0 }], [{ type: 'min_value', field: 'price', min_value: 0.01 }])
 * // { valid: [], invalid: [{ index: 0, item: {...}, errors: [{ field: 'price', rule: 'min_value', message: 'price must be at least 0.01 (got 0)' }] }] }
 */
export async function validateItems(
  items: readonly unknown[],
  rules: readonly ValidationRule[],
  opts: ValidateOptions & { compiled?: CompiledRules; offset?: number } = {},
): Promise<ValidationResult> {
  const run = opts.run ?? EMPTY_RUN;
  const checks = (opts.compiled ?? compileRules(rules)).checks;
  // Items are numbered from `offset` (a page of a longer list).
  const offset = opts.offset ?? 0;
  const includeItems = opts.includeItems !== false;
  const valid: unknown[] = [];
  const invalid: InvalidItem[] = [];
  const every = Math.max(1, opts.every ?? PROGRESS_EVERY);
  const customs = checks.filter((c) => c.custom !== null);
  const slot = new Map(customs.map((c, e) => [c, e]));
  const chunks =
    customs.length === 0
      ? null
      : new ExpressionChunks({
          sources: customs.map((c) => c.custom!.source),
          items,
          bindings: expressionBindings(run),
          timeoutMs: DEFAULT_EXPRESSION_LIMITS.timeoutMs,
          stopOn: 'limit',
          chunkSize: every,
          signal: opts.signal,
        }, opts.expressions);
  try {
    for (let from = 0; from < items.length; from += every) {
      const to = Math.min(items.length, from + every);
      let chunk: ChunkOutcome | null = null;
      if (chunks) {
        try {
          chunk = await chunks.take(from);
        } catch (err) {
          if (err instanceof ExpressionStopped) throw customs[err.expression].custom!.stopped(err, err.item);
          throw err;
        }
      }
      for (let i = from; i < to; i++) {
        const item = items[i];
        const n = i + offset;
        let errors: ValidationReason[] | null = null;
        for (const c of checks) {
          let why: string | null;
          if (c.test) why = c.test(item, n);
          else {
            const e = slot.get(c)!;
            why = c.custom!.judge(chunk!.value(i, e), chunk!.failure(i, e), n);
          }
          if (why !== null) (errors ??= []).push({ field: c.field, rule: c.rule, message: why });
        }
        if (errors === null) valid.push(item);
        else invalid.push(includeItems ? { index: n, item, errors } : { index: n, errors });
        // Recorded as they are judged: the ledger writes in the background while later chunks are checked.
        if (opts.items) recordOutcome(opts.items, item, n, errors);
      }
      await opts.progress?.(to, items.length);
    }
  } finally {
    chunks?.close();
  }
  return { valid, invalid };
}

/** Counts of one validation, in the output and the step summary. */
export interface ValidationCounts {
  total: number;
  valid_count: number;
  invalid_count: number;
}

/** Thresholds of a validation (see the schema). */
export type Thresholds = Pick<ValidateConfig, 'max_invalid_ratio' | 'max_invalid_count' | 'fail_on_invalid'>;

/** How many invalid items' reasons a VALIDATION_FAILED error carries. */
const FAILURE_SAMPLES = 5;

/**
 * The failure for a batch with too many invalid items, or null when it is
 * within the thresholds. An empty batch never fails.
 */
export function thresholdFailure(result: ValidationResult, counts: ValidationCounts, t: Thresholds): StepError | null {
  const { total, invalid_count } = counts;
  if (invalid_count === 0) return null;
  const ratio = invalid_count / total;
  let limit: string | null = null;
  if (t.fail_on_invalid === true) limit = 'fail_on_invalid is set';
  else if (t.max_invalid_count !== undefined && invalid_count > t.max_invalid_count) limit = `more than max_invalid_count ${t.max_invalid_count}`;
  else if (t.max_invalid_ratio !== undefined && ratio > t.max_invalid_ratio) limit = `more than max_invalid_ratio ${t.max_invalid_ratio}`;
  if (limit === null) return null;
  const first = result.invalid.slice(0, FAILURE_SAMPLES).map((x) => ({ index: x.index, errors: x.errors.slice(0, 5) }));
  const example = first[0]?.errors[0]?.message;
  return new StepError(
    ErrorCodes.VALIDATION_FAILED,
    `${invalid_count} of ${total} items are invalid (${limit})${example ? `; first: item ${first[0].index}: ${example}` : ''}`,
    {
      retryable: false,
      details: {
        ...counts,
        invalid_ratio: Math.round(ratio * 10_000) / 10_000,
        max_invalid_ratio: t.max_invalid_ratio ?? null,
        max_invalid_count: t.max_invalid_count ?? null,
        fail_on_invalid: t.fail_on_invalid ?? false,
        first_invalid: first,
      },
    },
  );
}

export interface ValidateDataResult {
  output: Record<string, unknown>;
  counts: ValidationCounts;
  /** Things worth a log line (an object with lists read as one item). */
  warnings: string[];
}

/** Records one item's outcome in the ledger: invalid with its first failing rule as the reason code and every reason in the message, else ok. */
function recordOutcome(ledger: ItemRecorder, item: unknown, index: number, errors: ValidationReason[] | null): void {
  const key = itemKeyGuess(item, index);
  if (errors === null) ledger.record({ key, index, status: 'ok' });
  else ledger.record({ key, index, status: 'invalid', code: errors[0].rule, message: errors.map((e) => e.message).join('; '), item });
}

/**
 * Runs one data_validate config against a step input: resolves references,
 * checks the config, picks the items, validates them and applies the
 * thresholds. Output: `{valid, invalid, total, valid_count, invalid_count}`,
 * with the valid items at `source_field` instead of `valid` when one is given.
 *
 * @throws StepError `VALIDATION_FAILED` over a threshold, `STEP_CONFIG_INVALID` for
 *   a config that is invalid once resolved, `STEP_INPUT_INVALID` for an input without the list
 *   (or, when a rule names a field, items that are not objects).
 */
export async function validateData(input: unknown, rawConfig: Record<string, unknown>, opts: ValidateOptions = {}): Promise<ValidateDataResult> {
  const run = opts.run ?? EMPTY_RUN;
  const resolved = resolveValidateConfig(rawConfig, run);
  const issues = checkValidateConfig(resolved, 'runtime');
  if (issues.length > 0) throw configInvalid(issues);
  const config = resolved as unknown as ValidateConfig;
  const data = 'input' in rawConfig ? config.input : input;
  const sourceField = config.source_field ?? config.items_field;
  const paged = opts.pages ? pagedListAt(data, sourceField) : null;
  if (paged) return validatePages(paged, sourceField!, config, { ...opts, run, pages: opts.pages! });
  const { items, shape, warning } = selectItems(data, sourceField);
  const fieldRule = config.validation_rules.find((r) => typeof r.field === 'string' && r.field !== '');
  if (fieldRule) requireObjectItems(items, `rule ${fieldRule.type} reads field ${JSON.stringify(fieldRule.field)} of each item`, sourceField);
  const result = await validateItems(items, config.validation_rules, { ...opts, run, includeItems: config.include_invalid_items !== false });
  const counts: ValidationCounts = { total: items.length, valid_count: result.valid.length, invalid_count: result.invalid.length };
  const failure = thresholdFailure(result, counts, config);
  if (failure) throw failure;
  const output: Record<string, unknown> = {};
  if (shape.kind === 'field') setIn(output, shape.outputPath, result.valid);
  else output.valid = result.valid;
  Object.assign(output, { invalid: result.invalid, ...counts });
  return { output, counts, warnings: warning ? [warning] : [] };
}

/**
 * `validateData` on a paged list (PayloadStore.pageWriter): page after page,
 * `unique` across all of them, the valid and the invalid items written as
 * paged lists too, so the step holds a page and its results, not the list.
 * The thresholds apply to the whole list, at the end.
 */
async function validatePages(
  list: PagedRef,
  sourceField: string,
  config: ValidateConfig,
  opts: ValidateOptions & { run: RunContext; pages: ItemPages },
): Promise<ValidateDataResult> {
  const outputPath = mustParsePath(sourceField);
  const compiled = compileRules(config.validation_rules);
  const fieldRule = config.validation_rules.find((r) => typeof r.field === 'string' && r.field !== '');
  const valid = opts.pages.writer(sourceField);
  const invalid = opts.pages.writer('invalid');
  const first: InvalidItem[] = [];
  const total = await forEachPage(list, opts, async (page, pageOpts, offset, k) => {
    if (fieldRule) requireObjectItems(page, `rule ${fieldRule.type} reads field ${JSON.stringify(fieldRule.field)} of each item`, sourceField);
    const r = await validateItems(page, config.validation_rules, { ...pageOpts, compiled, offset, includeItems: config.include_invalid_items !== false });
    // The valid items are the page's but the invalid ones, unchanged: stored as a reference to the input's page
    // (PageWriter.pushSubset), not as JSON of their own.
    await valid.pushSubset(list, k, r.valid, r.invalid.map((x) => x.index - offset));
    await invalid.push(r.invalid);
    for (const x of r.invalid) if (first.length < FAILURE_SAMPLES) first.push(x);
  });
  const counts: ValidationCounts = { total, valid_count: total - invalid.count, invalid_count: invalid.count };
  const failure = thresholdFailure({ valid: [], invalid: first }, counts, config);
  if (failure) throw failure;
  const output: Record<string, unknown> = {};
  setIn(output, outputPath, await valid.finish());
  Object.assign(output, { invalid: await invalid.finish(), ...counts });
  return { output, counts, warnings: [] };
}
