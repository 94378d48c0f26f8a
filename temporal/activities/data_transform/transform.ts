/**
 * The data_transform operations as pure functions over item lists: map,
 * filter, aggregate, normalize and jsonata. No I/O; progress is reported
 * through hooks, so the executor can heartbeat and observe cancellation.
 *
 * Items are never mutated: outputs are new objects that may share unchanged
 * values with the input (the payload store hands the same objects to later
 * steps in this worker).
 */
import { deepEqual } from '@engine/dsl/conditions';
import { compileJsonata, DEFAULT_EXPRESSION_LIMITS } from '@engine/dsl/expressions';
import { isPlainObject, parseReference, resolveReferences } from '@engine/dsl/references';
import type { PagedRef, RunContext } from '@engine/dsl/types';
import type { ItemPages } from '@engine/activities/runtime/executor';
import { StepError } from '@engine/activities/shared/errors';
import { evaluateInPool, ExpressionChunks, ExpressionStopped, type ChunkOutcome, type ExpressionPool } from '@engine/activities/shared/expressions';
import {
  EMPTY_RUN,
  expressionBindings,
  expressionFailure,
  PROGRESS_EVERY,
  forEachPage,
  pagedListAt,
  selectItems,
  shapeOutput,
  type ProgressHooks,
} from '@engine/activities/shared/items';
import { requireObjectItems } from '@engine/activities/shared/input-shape';
import { configInvalid } from '@engine/activities/shared/config-issues';
import { mustParsePath, pathReader, removeIn, setIn, type Path } from '@engine/activities/shared/paths';
import { compileSafeRegex } from '@engine/activities/shared/safe-regex';
import {
  checkTransformConfig,
  isTemplate,
  resolveTransformConfig,
  TRANSFORM_DEFAULTS,
  type Aggregation,
  type FilterComparison,
  type FilterRule,
  type MappingRule,
  type NormalizeOperation,
  type OnError,
  type TransformConfig,
  type TransformType,
} from './schema';
import {
  applyTextOperation,
  asNumber,
  castValue,
  convertUnit,
  isTruthy,
  parseBoolean,
  parseCurrency,
  parseDate,
  parseDecimal,
  roundTo,
  TEXT_OPERATIONS,
  type Converted,
  type DateOrder,
  type DateOutput,
  type DecimalSeparator,
  type Dimension,
  type TextOperation,
} from '@engine/activities/shared/values';
import { ErrorCodes } from '@engine/shared/contracts';
import type { ItemRecorder } from '@engine/activities/runtime/item-ledger';
import { itemKeyGuess } from '@engine/activities/shared/item-failures';

/** Options of the pure operations. */
export interface OperationOptions extends ProgressHooks {
  /** What references and expression variables (`$input`, `$config`, ...) read. */
  run?: RunContext;
  /** Where JSONata runs (default: the process's pool from the configuration). */
  expressions?: ExpressionPool;
  /** Aborted when the step is cancelled: stops the expressions in flight. */
  signal?: AbortSignal;
  /** The per-item ledger: a filter records each item kept (ok) and each item dropped (skipped, `FILTERED`). */
  items?: ItemRecorder;
  /** Lists page by page (the step runner's): map, normalize and filter take a paged list at `source_field` a page at a time. */
  pages?: ItemPages;
}

/** A value that could not be converted (map casts, normalize operations). */
export interface ConversionError {
  index: number;
  field: string;
  message: string;
}

/** How many conversion errors are kept as samples. */
const ERROR_SAMPLES = 5;

/** Counts conversion errors, keeps a few, and applies the `on_error` policy. */
class ErrorLog {
  count = 0;
  readonly samples: ConversionError[] = [];

  constructor(private readonly policy: OnError) {}

  /** Records a failed conversion; returns the value to write, or throws for `fail`. */
  record(index: number, field: string, message: string, original: unknown): unknown {
    this.count++;
    if (this.samples.length < ERROR_SAMPLES) this.samples.push({ index, field, message });
    if (this.policy === 'fail') {
      throw new StepError(ErrorCodes.TRANSFORM_FAILED, `item ${index}, field '${field}': ${message}`, {
        retryable: false,
        details: { index, field, message },
      });
    }
    return this.policy === 'keep' ? original : null;
  }
}

/** Items between two progress reports, and per expression pool task. */
const chunkSize = (hooks: ProgressHooks): number => Math.max(1, hooks.every ?? PROGRESS_EVERY);

/** Walks `total` items in chunks, reporting progress between chunks. */
async function inChunks(total: number, hooks: ProgressHooks, body: (start: number, end: number) => void | Promise<void>): Promise<void> {
  const every = chunkSize(hooks);
  for (let start = 0; start < total; start += every) {
    const end = Math.min(total, start + every);
    await body(start, end);
    await hooks.progress?.(end, total);
  }
}

/**
 * Walks `items` in chunks like {@link inChunks}, with the values of `sources`
 * on each chunk's items evaluated in the expression pool (the next chunks are
 * evaluated while this one is processed). A chunk the pool stopped fails with
 * `where(expression, item)` naming the evaluation.
 */
async function withExpressions(
  items: readonly unknown[],
  sources: string[],
  timeoutMs: number,
  run: RunContext,
  hooks: ProgressHooks & Pick<OperationOptions, 'expressions' | 'signal'>,
  where: (expression: number, item: number) => { label: string; extra: Record<string, unknown> },
  body: (start: number, end: number, chunk: ChunkOutcome) => void,
): Promise<void> {
  const chunks = new ExpressionChunks(
    { sources, items, bindings: expressionBindings(run), timeoutMs, stopOn: 'any', chunkSize: chunkSize(hooks), signal: hooks.signal },
    hooks.expressions,
  );
  try {
    await inChunks(items.length, hooks, async (from, to) => {
      let chunk: ChunkOutcome;
      try {
        chunk = await chunks.take(from);
      } catch (err) {
        if (!(err instanceof ExpressionStopped)) throw err;
        const { label, extra } = where(err.expression, err.item);
        throw expressionFailure(err, label, extra);
      }
      body(from, to, chunk);
    });
  } finally {
    chunks.close();
  }
}

/** A fast writer for a parsed path into an object the caller owns. */
function writer(path: Path): (out: Record<string, unknown>, value: unknown) => void {
  if (path.length === 1) {
    const key = path[0];
    return (out, value) => {
      out[key] = value;
    };
  }
  return (out, value) => setIn(out, path, value);
}

/** The operations trust their config only once checked: this is what makes them safe to call directly. */
function assertConfig(type: TransformType, config: object): void {
  const issues = checkTransformConfig({ ...config, transform_type: type }, 'runtime');
  if (issues.length > 0) throw configInvalid(issues);
}

/**
 * Checks that an expression compiles (a parse, bounded by the expression's
 * length: it runs here); evaluation happens in the expression pool.
 */
function checkExpression(source: string, field: string): string {
  try {
    compileJsonata(source);
    return source;
  } catch (err) {
    throw configInvalid([{ field, message: (err as Error).message }]);
  }
}

// ---------------------------------------------------------------- map

interface CompiledMapping {
  target: string;
  write: (out: Record<string, unknown>, value: unknown) => void;
  /** Synchronous source, or null when `expression` is set. */
  read: ((item: unknown) => unknown) | null;
  /** The JSONata expression this rule evaluates (in the pool), or null. */
  expression: string | null;
  /** The path this rule reads, when it reads one (removed from the copy under keep_unmapped). */
  source: Path | null;
  hasDefault: boolean;
  default: unknown;
  cast: ((v: unknown) => Converted) | null;
}

function compileMapping(target: string, rule: MappingRule, run: RunContext): CompiledMapping {
  const field = `mapping_rules.${target}`;
  const base = { target, write: writer(mustParsePath(target)), hasDefault: false, default: undefined, cast: null, expression: null, source: null };
  if (typeof rule === 'string') {
    const ref = parseReference(rule);
    if (ref?.scope === 'run') {
      const value = resolveReferences(rule, run);
      return { ...base, read: () => value };
    }
    if (ref?.scope === 'item') return { ...base, read: pathReader(ref.segments), source: ref.segments };
    if (isTemplate(rule)) return { ...base, read: (item) => resolveReferences(rule, { ...run, item }) };
    const path = mustParsePath(rule);
    return { ...base, read: pathReader(path), source: path };
  }
  const hasDefault = rule.default !== undefined;
  const type = rule.type;
  const cast = type
    ? (v: unknown) => castValue(type, v, { decimalSeparator: rule.decimal_separator, dateOrder: rule.date_order, separator: rule.separator })
    : null;
  const common = { ...base, hasDefault, default: rule.default, cast };
  if (rule.expression !== undefined) {
    return { ...common, read: null, expression: checkExpression(rule.expression, `${field}.expression`) };
  }
  if (rule.path !== undefined) {
    const path = mustParsePath(rule.path);
    return { ...common, read: pathReader(path), source: path };
  }
  const value = rule.value;
  return { ...common, read: () => value };
}

/** Config of {@link mapItems}. */
export type MapConfig = Pick<TransformConfig, 'mapping_rules' | 'keep_unmapped' | 'on_error'>;

/**
 * Maps each item to a new object by `mapping_rules` (see the schema for the
 * rule forms). A missing or null source takes the rule's `default`, else null;
 * casts apply after defaults, and a value that cannot be cast follows `on_error`.
 * With `keep_unmapped`, fields no rule read are copied and the fields rules
 * read are moved to their targets.
 *
 * @example await mapItems([{ name: 'Lamp', cost_price: '12,50' }], { mapping_rules: { title: 'name', price: { path: 'cost_price', type: 'number' } } })
 * // { items: [{ title: 'Lamp', price: 12.5 }], errors: { count: 0, samples: [] } }
 */
export async function mapItems(
  items: readonly unknown[],
  config: MapConfig,
  opts: OperationOptions = {},
): Promise<{ items: unknown[]; errors: { count: number; samples: ConversionError[] } }> {
  assertConfig('map', config);
  const run = opts.run ?? EMPTY_RUN;
  const rules = Object.entries(config.mapping_rules ?? {}).map(([target, rule]) => compileMapping(target, rule, run));
  const log = new ErrorLog(config.on_error ?? TRANSFORM_DEFAULTS.on_error);
  const keep = config.keep_unmapped ?? TRANSFORM_DEFAULTS.keep_unmapped;
  const dropTop = new Set(rules.filter((r) => r.source?.length === 1).map((r) => r.source![0]));
  const dropNested = rules.filter((r) => r.source !== null && r.source.length > 1).map((r) => r.source!);
  const out = new Array<unknown>(items.length);

  const start = (item: unknown): Record<string, unknown> => {
    if (!keep || !isPlainObject(item)) return {};
    const copy: Record<string, unknown> = {};
    for (const k of Object.keys(item)) if (!dropTop.has(k)) copy[k] = item[k];
    for (const p of dropNested) removeIn(copy, p);
    return copy;
  };
  const finish = (rule: CompiledMapping, target: Record<string, unknown>, raw: unknown, index: number) => {
    let v = raw === undefined || raw === null ? (rule.hasDefault ? rule.default : null) : raw;
    if (rule.cast && v !== null && v !== undefined) {
      const c = rule.cast(v);
      v = c.ok ? c.value : log.record(index, rule.target, c.message, v);
    }
    rule.write(target, v);
  };

  const evaluated = rules.filter((r) => r.expression !== null);
  const sources = evaluated.map((r) => r.expression!);
  const slot = new Map(evaluated.map((r, e) => [r, e]));
  const where = (e: number, i: number) => ({ label: `mapping_rules.${evaluated[e].target} (item ${i})`, extra: { index: i, target: evaluated[e].target } });
  const mapChunk = (from: number, to: number, chunk: ChunkOutcome | null) => {
    for (let i = from; i < to; i++) {
      const item = items[i];
      const target = start(item);
      for (const rule of rules) {
        let raw: unknown;
        if (rule.read) raw = rule.read(item);
        else {
          const e = slot.get(rule)!;
          const failed = chunk!.failure(i, e);
          if (failed) {
            const { label, extra } = where(e, i);
            throw expressionFailure(failed, label, extra);
          }
          raw = chunk!.value(i, e);
        }
        finish(rule, target, raw, i);
      }
      out[i] = target;
    }
  };
  if (sources.length === 0) await inChunks(items.length, opts, (from, to) => mapChunk(from, to, null));
  else await withExpressions(items, sources, DEFAULT_EXPRESSION_LIMITS.timeoutMs, run, opts, where, mapChunk);
  return { items: out, errors: { count: log.count, samples: log.samples } };
}

// ---------------------------------------------------------------- filter

type Predicate = (item: unknown, index: number) => boolean;

/** Numbers (and numeric strings) numerically, other strings by code unit; null when unordered. */
function compareValues(a: unknown, b: unknown): number | null {
  const x = asNumber(a);
  const y = asNumber(b);
  if (x !== null && y !== null) return x - y;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  return null;
}

const lower = (v: unknown): unknown => (typeof v === 'string' ? v.toLowerCase() : Array.isArray(v) ? v.map(lower) : v);

function compileComparison(rule: FilterComparison): Predicate {
  const get = pathReader(mustParsePath(rule.field));
  const ci = rule.case_insensitive === true;
  const other = rule.value_field !== undefined ? pathReader(mustParsePath(rule.value_field)) : null;
  const constant = ci ? lower(rule.value) : rule.value;
  const expected = other ? (item: unknown) => (ci ? lower(other(item)) : other(item)) : () => constant;
  const actual = ci ? (item: unknown) => lower(get(item)) : get;
  switch (rule.operator) {
    case 'equals':
      return (item) => deepEqual(actual(item), expected(item));
    case 'not_equals':
      return (item) => !deepEqual(actual(item), expected(item));
    case 'gt':
      return (item) => (compareValues(actual(item), expected(item)) ?? NaN) > 0;
    case 'gte':
      return (item) => (compareValues(actual(item), expected(item)) ?? NaN) >= 0;
    case 'lt':
      return (item) => (compareValues(actual(item), expected(item)) ?? NaN) < 0;
    case 'lte':
      return (item) => (compareValues(actual(item), expected(item)) ?? NaN) <= 0;
    case 'in':
      return (item) => {
        const a = actual(item);
        const e = expected(item);
        if (Array.isArray(e)) return e.some((x) => deepEqual(a, x));
        return typeof e === 'string' && typeof a === 'string' && e.includes(a);
      };
    case 'exists': {
      const want = rule.value !== false;
      return (item) => (get(item) != null) === want;
    }
    case 'contains':
      return (item) => {
        const a = actual(item);
        const e = expected(item);
        if (typeof a === 'string') return typeof e === 'string' && a.includes(e);
        return Array.isArray(a) && a.some((x) => deepEqual(x, e));
      };
    case 'matches': {
      const flags = `${rule.flags ?? ''}${ci && !(rule.flags ?? '').includes('i') ? 'i' : ''}`;
      const re = compileSafeRegex(String(rule.value), flags);
      return (item) => re.test(get(item));
    }
  }
}

function compileRule(rule: FilterRule): Predicate {
  if ('all' in rule) {
    const parts = rule.all.map(compileRule);
    return (item, i) => parts.every((p) => p(item, i));
  }
  if ('any' in rule) {
    const parts = rule.any.map(compileRule);
    return (item, i) => parts.some((p) => p(item, i));
  }
  if ('not' in rule) {
    const inner = compileRule(rule.not);
    return (item, i) => !inner(item, i);
  }
  return compileComparison(rule);
}

/** Config of {@link filterItems}. */
export type FilterConfig = Pick<TransformConfig, 'rules' | 'match' | 'expression'>;

/**
 * Keeps the items that pass `rules` (combined by `match`: `all` or `any`) or
 * the JSONata predicate `expression`. Comparisons follow step conditions:
 * `equals` is structural (`1` and `'1'` differ); ordering compares numbers and
 * numeric strings numerically and other strings by code unit, and is false
 * for anything else; `in` takes a list (or a string to search in); `exists`
 * tests for a value that is neither missing nor null (`value: false`
 * inverts); `contains` searches a string for a substring or a list for an
 * element; `matches` tests a guarded regular expression on strings and numbers.
 */
export async function filterItems(items: readonly unknown[], config: FilterConfig, opts: OperationOptions = {}): Promise<unknown[]> {
  assertConfig('filter', config);
  const out: unknown[] = [];
  const ledger = opts.items;
  const why = config.expression !== undefined ? 'the filter expression is not true for it' : `it does not match the filter's rules (match: ${config.match ?? 'all'})`;
  const keep = (i: number, kept: boolean) => {
    if (kept) out.push(items[i]);
    // Dropped by design, not in error: the reason, without a copy of the item (the step's input has it).
    if (ledger) ledger.record(kept ? { key: itemKeyGuess(items[i], i), index: i, status: 'ok' } : { key: itemKeyGuess(items[i], i), index: i, status: 'skipped', code: 'FILTERED', message: why });
  };
  if (config.expression !== undefined) {
    const source = checkExpression(config.expression, 'expression');
    const where = (_e: number, i: number) => ({ label: `filter expression (item ${i})`, extra: { index: i } });
    await withExpressions(items, [source], TRANSFORM_DEFAULTS.expression_timeout_ms, opts.run ?? EMPTY_RUN, opts, where, (from, to, chunk) => {
      for (let i = from; i < to; i++) {
        const failed = chunk.failure(i, 0);
        if (failed) throw expressionFailure(failed, `filter expression (item ${i})`, { index: i });
        keep(i, isTruthy(chunk.value(i, 0)));
      }
    });
    return out;
  }
  const parts = (config.rules ?? []).map(compileRule);
  const test: Predicate =
    parts.length === 1 ? parts[0] : (config.match ?? 'all') === 'any' ? (item, i) => parts.some((p) => p(item, i)) : (item, i) => parts.every((p) => p(item, i));
  await inChunks(items.length, opts, (from, to) => {
    for (let i = from; i < to; i++) keep(i, test(items[i], i));
  });
  return out;
}

// ---------------------------------------------------------------- aggregate

interface Accumulator {
  add(value: unknown, item: unknown): void;
  result(): unknown;
}

/** Total order for min/max: numbers (and numeric strings) numerically, then strings by code unit; numbers first. */
function orderOf(a: unknown, b: unknown): number {
  const c = compareValues(a, b);
  if (c !== null) return c;
  return asNumber(a) !== null ? -1 : 1;
}

/** A key that tells values apart by type and content (`1` and `'1'` are different groups). */
function keyOf(v: unknown): string {
  if (v === undefined || v === null) return 'n';
  if (typeof v === 'string') return `s${v}`;
  if (typeof v === 'number' || typeof v === 'boolean') return `${typeof v}${v}`;
  return `j${JSON.stringify(v)}`;
}

function accumulator(spec: Aggregation): Accumulator {
  const round = (n: number) => (spec.round === undefined ? n : roundTo(n, spec.round));
  switch (spec.op) {
    case 'sum': {
      let total = 0;
      return {
        add: (v) => {
          const x = asNumber(v);
          if (x !== null) total += x;
        },
        result: () => round(total),
      };
    }
    case 'avg': {
      let total = 0;
      let n = 0;
      return {
        add: (v) => {
          const x = asNumber(v);
          if (x !== null) {
            total += x;
            n++;
          }
        },
        result: () => (n === 0 ? null : round(total / n)),
      };
    }
    case 'count': {
      let n = 0;
      const seen = spec.distinct ? new Set<string>() : null;
      const counted = spec.field !== undefined;
      return {
        add: (v) => {
          if (counted && (v === undefined || v === null)) return;
          if (seen) seen.add(keyOf(v));
          else n++;
        },
        result: () => (seen ? seen.size : n),
      };
    }
    case 'min':
    case 'max': {
      let best: unknown = null;
      const sign = spec.op === 'min' ? 1 : -1;
      return {
        add: (v) => {
          if (typeof v !== 'number' && typeof v !== 'string') return;
          if (typeof v === 'number' && !Number.isFinite(v)) return;
          if (best === null || sign * orderOf(v, best) < 0) best = v;
        },
        result: () => (typeof best === 'number' ? round(best) : best),
      };
    }
    case 'first': {
      let value: unknown = null;
      let found = false;
      return {
        add: (v) => {
          if (!found && v !== undefined && v !== null) {
            value = v;
            found = true;
          }
        },
        result: () => value,
      };
    }
    case 'last': {
      let value: unknown = null;
      return {
        add: (v) => {
          if (v !== undefined && v !== null) value = v;
        },
        result: () => value,
      };
    }
    case 'collect': {
      const values: unknown[] = [];
      const seen = spec.distinct ? new Set<string>() : null;
      return {
        add: (v) => {
          if (v === undefined || v === null) return;
          if (seen) {
            const k = keyOf(v);
            if (seen.has(k)) return;
            seen.add(k);
          }
          values.push(v);
        },
        result: () => values,
      };
    }
  }
}

/** Config of {@link aggregateItems}. */
export type AggregateConfig = Pick<TransformConfig, 'group_by' | 'aggregations'>;

/**
 * Groups items by `group_by` (one or several paths; none: a single group of
 * all items, present even when there are no items) and computes
 * `aggregations` per group. Rows are in order of each group's first item and
 * hold the group fields (at their paths; missing values group as null) and one
 * field per aggregation.
 *
 * - `sum`, `avg`: numbers and numeric strings; others are skipped; sum of none is 0, avg of none null;
 * - `count`: items (without `field`) or non-null values of `field`; `distinct` counts different values;
 * - `min`, `max`: numbers compare numerically, strings by code unit, numbers before strings;
 * - `first`, `last`: the first / last non-null value (the item itself without `field`);
 * - `collect`: the non-null values in order (`distinct`: first occurrences only);
 * - `round`: decimals for sum, avg, min and max.
 */
export async function aggregateItems(items: readonly unknown[], config: AggregateConfig, opts: OperationOptions = {}): Promise<Record<string, unknown>[]> {
  assertConfig('aggregate', config);
  const groupBy = config.group_by === undefined ? [] : Array.isArray(config.group_by) ? config.group_by : [config.group_by];
  const groupPaths = groupBy.map(mustParsePath);
  const groupReaders = groupPaths.map(pathReader);
  const aggs = Object.entries(config.aggregations ?? {}).map(([name, spec]) => ({
    write: writer(mustParsePath(name)),
    read: spec.field === undefined ? (item: unknown) => item : pathReader(mustParsePath(spec.field)),
    spec,
  }));
  const groups = new Map<string, { keys: unknown[]; accs: Accumulator[] }>();
  const newGroup = (keys: unknown[]) => ({ keys, accs: aggs.map((a) => accumulator(a.spec)) });
  if (groupReaders.length === 0) groups.set('', newGroup([]));

  await inChunks(items.length, opts, (from, to) => {
    for (let i = from; i < to; i++) {
      const item = items[i];
      let group;
      if (groupReaders.length === 0) group = groups.get('')!;
      else {
        const keys = groupReaders.map((r) => r(item) ?? null);
        const key = keys.length === 1 ? keyOf(keys[0]) : keys.map(keyOf).join('\u0001');
        group = groups.get(key);
        if (!group) groups.set(key, (group = newGroup(keys)));
      }
      for (let a = 0; a < aggs.length; a++) group.accs[a].add(aggs[a].read(item), item);
    }
  });

  const rows: Record<string, unknown>[] = [];
  for (const g of groups.values()) {
    const row: Record<string, unknown> = {};
    groupPaths.forEach((p, i) => setIn(row, p, g.keys[i]));
    aggs.forEach((a, i) => a.write(row, g.accs[i].result()));
    rows.push(row);
  }
  return rows;
}

// ---------------------------------------------------------------- normalize

type Step = (value: unknown) => Converted & { currency?: string | null };

function compileNormalizeOp(op: NormalizeOperation): { step: Step; currencyField: Path | null } {
  const name = typeof op === 'string' ? op : op.op;
  const o: Record<string, unknown> = typeof op === 'string' ? {} : op;
  const sep = (o.decimal_separator as DecimalSeparator | undefined) ?? 'auto';
  const precision = o.precision as number | undefined;
  if ((TEXT_OPERATIONS as readonly string[]).includes(name)) {
    return { step: (v) => ({ ok: true, value: applyTextOperation(name as TextOperation, v) }), currencyField: null };
  }
  switch (name) {
    case 'number':
    case 'decimal':
      return {
        step: (v) => {
          const n = parseDecimal(v, sep);
          return n.ok && precision !== undefined ? { ok: true, value: roundTo(n.value, precision) } : n;
        },
        currencyField: null,
      };
    case 'integer':
      return { step: (v) => castValue('integer', v, { decimalSeparator: sep }), currencyField: null };
    case 'boolean':
      return { step: parseBoolean, currencyField: null };
    case 'date': {
      const order = (o.order as DateOrder | undefined) ?? 'auto';
      const output = (o.output as DateOutput | undefined) ?? 'auto';
      return { step: (v) => parseDate(v, order, output), currencyField: null };
    }
    case 'currency': {
      const def = (o.default_currency as string | undefined) ?? null;
      const asObject = o.as_object === true;
      const currencyField = typeof o.currency_field === 'string' ? mustParsePath(o.currency_field) : null;
      return {
        step: (v) => {
          const m = parseCurrency(v, def, sep);
          if (!m.ok) return m;
          return asObject ? { ok: true, value: { amount: m.value.amount, currency: m.value.currency } } : { ok: true, value: m.value.amount, currency: m.value.currency };
        },
        currencyField,
      };
    }
    default: {
      const dimension = name as Dimension;
      const to = String(o.to);
      const from = o.from as string | undefined;
      return { step: (v) => convertUnit(v, dimension, to, { from, precision, separator: sep }), currencyField: null };
    }
  }
}

/** Config of {@link normalizeItems}. */
export type NormalizeConfig = Pick<TransformConfig, 'fields' | 'on_error'>;

/**
 * Standardises fields in place (on copies of the items): each field's
 * operations run in order; missing and null fields are left alone. A value an
 * operation cannot read follows `on_error` and ends that field's chain.
 * Currency amounts become numbers, with the ISO code written to
 * `currency_field` when given (or `{amount, currency}` with `as_object`).
 */
export async function normalizeItems(
  items: readonly unknown[],
  config: NormalizeConfig,
  opts: OperationOptions = {},
): Promise<{ items: unknown[]; errors: { count: number; samples: ConversionError[] } }> {
  assertConfig('normalize', config);
  const log = new ErrorLog(config.on_error ?? TRANSFORM_DEFAULTS.on_error);
  const fields = Object.entries(config.fields ?? {}).map(([name, ops]) => {
    const path = mustParsePath(name);
    return { name, read: pathReader(path), write: writer(path), ops: (Array.isArray(ops) ? ops : [ops]).map(compileNormalizeOp) };
  });
  const out = new Array<unknown>(items.length);
  await inChunks(items.length, opts, (from, to) => {
    for (let i = from; i < to; i++) {
      const item = items[i];
      if (!isPlainObject(item)) {
        out[i] = item;
        continue;
      }
      const copy: Record<string, unknown> = { ...item };
      for (const f of fields) {
        const original = f.read(item);
        if (original === undefined || original === null) continue;
        let v: unknown = original;
        for (const op of f.ops) {
          const r = op.step(v);
          if (!r.ok) {
            v = log.record(i, f.name, r.message, original);
            break;
          }
          v = r.value;
          if (op.currencyField && r.currency !== undefined) setIn(copy, op.currencyField, r.currency);
        }
        f.write(copy, v);
      }
      out[i] = copy;
    }
  });
  return { items: out, errors: { count: log.count, samples: log.samples } };
}

// ---------------------------------------------------------------- jsonata

/**
 * Applies a JSONata expression to the whole input; an undefined result is null.
 * `$input`, `$config`, `$steps`, `$execution` are bound from the run.
 */
export async function applyJsonata(
  input: unknown,
  expression: string,
  opts: { run?: RunContext; timeoutMs?: number } & Pick<OperationOptions, 'expressions' | 'signal'> = {},
): Promise<unknown> {
  const source = checkExpression(expression, 'expression');
  try {
    const result = await evaluateInPool(source, input, expressionBindings(opts.run ?? EMPTY_RUN), opts.timeoutMs ?? TRANSFORM_DEFAULTS.jsonata_timeout_ms, opts.expressions, opts.signal);
    return result === undefined ? null : result;
  } catch (err) {
    throw expressionFailure(err, 'jsonata expression');
  }
}

// ---------------------------------------------------------------- the whole step

/** Counts of one transform, for the output and the step summary. */
export interface TransformStats {
  transform_type: string;
  input_count: number;
  output_count: number;
  /** Values that could not be converted (map, normalize). */
  error_count?: number;
  error_samples?: ConversionError[];
}

export interface TransformResult {
  output: unknown;
  stats: TransformStats;
  /** Things worth a log line (an object with lists read as one item). */
  warnings: string[];
}

/**
 * Runs one data_transform config against a step input: resolves references
 * in the options, checks the config, picks the items (see `selectItems`), runs
 * the operation, and returns the output in the input's shape with its counts.
 *
 * @throws StepError `STEP_CONFIG_INVALID` for a config that is invalid once resolved,
 *   `STEP_INPUT_INVALID` for an input without the expected list or items that are not objects, `TRANSFORM_FAILED`
 *   for a conversion error under `on_error: fail`, `EXPRESSION_*` for expressions.
 */
export async function transformData(input: unknown, rawConfig: Record<string, unknown>, opts: OperationOptions = {}): Promise<TransformResult> {
  const run = opts.run ?? EMPTY_RUN;
  const resolved = resolveTransformConfig(rawConfig, run);
  const issues = checkTransformConfig(resolved, 'runtime');
  if (issues.length > 0) throw configInvalid(issues);
  const config = resolved as unknown as TransformConfig;
  const data = 'input' in rawConfig ? config.input : input;
  const type = config.transform_type;

  if (type === 'jsonata') {
    const output = await applyJsonata(data, config.expression!, { run, timeoutMs: config.timeout_ms, expressions: opts.expressions, signal: opts.signal });
    const count = (v: unknown) => (Array.isArray(v) ? v.length : v === null || v === undefined ? 0 : 1);
    return { output, stats: { transform_type: type, input_count: count(data), output_count: count(output) }, warnings: [] };
  }

  const listPath = config.source_field ?? config.items_field;
  const paged = opts.pages && type !== 'aggregate' ? pagedListAt(data, listPath) : null;
  if (paged) return transformPages(paged, listPath!, config, { ...opts, run, pages: opts.pages! });
  const { items, shape, warning } = selectItems(data, listPath, config.output_field);
  // Every operation but jsonata reads fields of the items: a number or a string would only read as nulls.
  requireObjectItems(items, `transform_type ${type} reads fields of each item`, listPath);
  let result: unknown[];
  let errors: { count: number; samples: ConversionError[] } | null = null;
  if (type === 'map') ({ items: result, errors } = await mapItems(items, config, opts));
  else if (type === 'normalize') ({ items: result, errors } = await normalizeItems(items, config, opts));
  else if (type === 'filter') result = await filterItems(items, config, opts);
  else result = await aggregateItems(items, config, opts);

  const stats: TransformStats = { transform_type: type, input_count: items.length, output_count: result.length };
  if (errors) {
    stats.error_count = errors.count;
    if (errors.samples.length > 0) stats.error_samples = errors.samples;
  }
  const counts: Record<string, unknown> = { input_count: stats.input_count, output_count: stats.output_count };
  if (errors) counts.error_count = errors.count;
  const output = shapeOutput(shape, result, counts, type === 'aggregate' ? 'list' : 'item');
  return { output, stats, warnings: warning ? [warning] : [] };
}


/**
 * `transformData` (map, normalize, filter) on a paged list
 * (PayloadStore.pageWriter): a page at a time, the result written as a paged
 * list too, so the step holds a page and its result, not the list.
 */
async function transformPages(
  list: PagedRef,
  listPath: string,
  config: TransformConfig,
  opts: OperationOptions & { run: RunContext; pages: ItemPages },
): Promise<TransformResult> {
  const type = config.transform_type;
  const outputPath = mustParsePath(config.output_field ?? listPath);
  const out = opts.pages.writer(config.output_field ?? listPath);
  let errorCount = 0;
  const samples: ConversionError[] = [];
  const total = await forEachPage(list, opts, async (page, pageOpts, offset) => {
    requireObjectItems(page, `transform_type ${type} reads fields of each item`, listPath);
    let result: unknown[];
    let errors: { count: number; samples: ConversionError[] } | null = null;
    if (type === 'map') ({ items: result, errors } = await mapItems(page, config, pageOpts));
    else if (type === 'normalize') ({ items: result, errors } = await normalizeItems(page, config, pageOpts));
    else result = await filterItems(page, config, pageOpts);
    if (errors) {
      errorCount += errors.count;
      for (const e of errors.samples) if (samples.length < ERROR_SAMPLES) samples.push({ ...e, index: e.index + offset });
    }
    await out.push(result);
  });
  const stats: TransformStats = { transform_type: type, input_count: total, output_count: out.count };
  const counts: Record<string, unknown> = { input_count: stats.input_count, output_count: stats.output_count };
  if (type !== 'filter') {
    stats.error_count = errorCount;
    if (samples.length > 0) stats.error_samples = samples;
    counts.error_count = errorCount;
  }
  const output: Record<string, unknown> = { ...counts };
  setIn(output, outputPath, await out.finish());
  return { output, stats, warnings: [] };
}
