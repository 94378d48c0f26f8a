/**
 * Config of a `data_transform` step.
 *
 * Common fields:
 * - `transform_type` (required): `map`, `filter`, `aggregate`, `normalize` or `jsonata`;
 * - `input`: the data to transform, usually a reference (`"$steps.fetch.products"`);
 *   default: the step's input (the output of the step it depends on);
 * - `source_field` (alias `items_field`): path of the item list inside the
 *   input (`"products"`); the output then keeps that shape (see `selectItems`);
 * - `output_field`: where the result list goes in that output (default: `source_field`);
 * - `on_error` (`map`, `normalize`): what a value that cannot be converted
 *   becomes: `null` (default), `keep` (the original value) or `fail` (the step
 *   fails with `TRANSFORM_FAILED`).
 *
 * `map`: `mapping_rules` {target path: source}, where source is
 * - a field path (`"name"`, `"dimensions.weight"`, `"images[0].url"`, `"$"` for the item);
 * - a run reference, giving the same value to every item (`"$input.currency"`);
 * - a template with references, per item (`"${brand} ${name}"`);
 * - or `{path | value | expression, default, type, decimal_separator, date_order, separator}`
 *   where `expression` is JSONata over the item and `type` one of
 *   string, number, integer, boolean, date, array.
 * A missing source gives `default`, else null. `keep_unmapped: true` keeps the
 * fields no rule read (the fields rules read are moved to their targets).
 *
 * `filter`: `rules` [{field, operator, value | value_field, case_insensitive, flags}]
 * or groups {all: [...]}, {any: [...]}, {not: rule}, combined by `match`
 * (`all`, default, or `any`); or a JSONata predicate `expression`.
 * Operators: equals, not_equals, gt, gte, lt, lte, in, exists, contains, matches.
 *
 * `aggregate`: `group_by` (a path or a list of paths; none: one group of all
 * items) and `aggregations` {name: {op, field, round, distinct}} with op in
 * sum, count, min, max, avg, first, last, collect.
 *
 * `normalize`: `fields` {path: operation | [operations]}: `trim`, `lowercase`,
 * `uppercase`, `title_case`, `collapse_whitespace`, `number`, `integer`,
 * `boolean`, `date`, `currency`, or objects with options:
 * {op: "weight" | "length" | "volume", to, from, precision},
 * {op: "currency", default_currency, currency_field, as_object},
 * {op: "number", decimal_separator, precision}, {op: "date", order, output}.
 *
 * `jsonata`: `expression` applied to the whole input; `timeout_ms` (default 30000).
 *
 * Expressions see the item (or the input) as `$` and the run as `$input`,
 * `$config`, `$steps` and `$execution`; `$index` is the item's position.
 * Expressions and field paths are never rewritten by reference resolution;
 * option values may be references (`"$config.min_price"`).
 *
 * @example
 * { "transform_type": "map", "source_field": "products",
 *   "mapping_rules": { "title": "name", "price": { "path": "cost_price", "type": "number" },
 *                      "currency": "$input.currency", "brand": { "path": "brand", "default": "unbranded" } } }
 * @example
 * { "transform_type": "filter", "match": "all",
 *   "rules": [{ "field": "quantity", "operator": "gt", "value": 0 }, { "field": "sku", "operator": "matches", "value": "^[A-Z0-9-]+$" }] }
 * @example
 * { "transform_type": "aggregate", "group_by": ["brand"],
 *   "aggregations": { "products": { "op": "count" }, "stock": { "op": "sum", "field": "quantity" } } }
 * @example
 * { "transform_type": "normalize",
 *   "fields": { "title": ["trim", "collapse_whitespace", "title_case"], "weight": { "op": "weight", "to": "kg" },
 *               "price": { "op": "currency", "currency_field": "currency" }, "released": "date" } }
 */
import { defineStepConfig } from '@engine/activities/runtime/executor';
import type { ConfigValidator, RunContext } from '@engine/dsl/types';
import { isForbiddenKey, isPlainObject, parseReference, resolveReferences } from '@engine/dsl/references';
import { jsonataProblem } from '@engine/dsl/expressions';
import { Issues, join, type CheckMode, type ConfigIssue } from '@engine/activities/shared/config-check';
import type { Path } from '@engine/activities/shared/paths';
import { regexProblem } from '@engine/activities/shared/safe-regex';
import { CAST_TYPES, TARGET_UNITS, TEXT_OPERATIONS, unitInfo, type Dimension } from '@engine/activities/shared/values';

export const TRANSFORM_TYPES = ['map', 'filter', 'aggregate', 'normalize', 'jsonata'] as const;
export type TransformType = (typeof TRANSFORM_TYPES)[number];

export const ON_ERROR = ['null', 'keep', 'fail'] as const;
export type OnError = (typeof ON_ERROR)[number];

export const FILTER_OPERATORS = ['equals', 'not_equals', 'gt', 'gte', 'lt', 'lte', 'in', 'exists', 'contains', 'matches'] as const;
export type FilterOperator = (typeof FILTER_OPERATORS)[number];

export const AGGREGATE_OPS = ['sum', 'count', 'min', 'max', 'avg', 'first', 'last', 'collect'] as const;
export type AggregateOp = (typeof AGGREGATE_OPS)[number];

export const NORMALIZE_OPS = [...TEXT_OPERATIONS, 'number', 'decimal', 'integer', 'boolean', 'date', 'currency', 'weight', 'length', 'volume'] as const;
export type NormalizeOp = (typeof NORMALIZE_OPS)[number];

const DECIMAL_SEPARATORS = ['auto', '.', ','] as const;
const DATE_ORDERS = ['auto', 'dmy', 'mdy', 'ymd'] as const;
const DATE_OUTPUTS = ['auto', 'date', 'datetime'] as const;

/** Defaults, for documentation and the executor. */
export const TRANSFORM_DEFAULTS = { on_error: 'null', keep_unmapped: false, match: 'all', jsonata_timeout_ms: 30_000, expression_timeout_ms: 1000 } as const;

export interface MappingRuleObject {
  path?: string;
  value?: unknown;
  expression?: string;
  default?: unknown;
  type?: (typeof CAST_TYPES)[number];
  decimal_separator?: (typeof DECIMAL_SEPARATORS)[number];
  date_order?: (typeof DATE_ORDERS)[number];
  separator?: string;
}
export type MappingRule = string | MappingRuleObject;

export interface FilterComparison {
  field: string;
  operator: FilterOperator;
  value?: unknown;
  value_field?: string;
  case_insensitive?: boolean;
  flags?: string;
}
export type FilterRule = FilterComparison | { all: FilterRule[] } | { any: FilterRule[] } | { not: FilterRule };

export interface Aggregation {
  op: AggregateOp;
  field?: string;
  round?: number;
  distinct?: boolean;
}

export type NormalizeOperation = NormalizeOp | ({ op: NormalizeOp } & Record<string, unknown>);

export interface TransformConfig {
  transform_type: TransformType;
  input?: unknown;
  source_field?: string;
  items_field?: string;
  output_field?: string;
  on_error?: OnError;
  mapping_rules?: Record<string, MappingRule>;
  keep_unmapped?: boolean;
  rules?: FilterRule[];
  match?: 'all' | 'any';
  expression?: string;
  group_by?: string | string[];
  aggregations?: Record<string, Aggregation>;
  fields?: Record<string, NormalizeOperation | NormalizeOperation[]>;
  timeout_ms?: number;
}

const COMMON_KEYS = ['transform_type', 'input', 'source_field', 'items_field', 'output_field'];
const KEYS_BY_TYPE: Record<TransformType, string[]> = {
  map: ['mapping_rules', 'keep_unmapped', 'on_error'],
  filter: ['rules', 'match', 'expression'],
  aggregate: ['group_by', 'aggregations'],
  normalize: ['fields', 'on_error'],
  jsonata: ['expression', 'timeout_ms'],
};

/** Deepest nesting of filter groups. */
const MAX_FILTER_DEPTH = 16;

/**
 * Checks a data_transform config. In `definition` mode (saving a workflow) run
 * references stand in for option values; in `run` mode they were resolved.
 */
export function checkTransformConfig(config: Record<string, unknown>, mode: CheckMode = 'definition'): ConfigIssue[] {
  const is = new Issues(mode);
  const type = config.transform_type;
  if (type === undefined) {
    is.add('transform_type', `transform_type is required: one of ${TRANSFORM_TYPES.join(', ')}`);
    return is.list;
  }
  if (!is.oneOf('transform_type', type, TRANSFORM_TYPES) || is.deferred(type)) return is.list;
  const t = type as TransformType;
  const known = [...COMMON_KEYS, ...KEYS_BY_TYPE[t]];
  for (const key of Object.keys(config)) {
    if (known.includes(key)) continue;
    const owner = TRANSFORM_TYPES.find((x) => KEYS_BY_TYPE[x].includes(key));
    is.add(key, owner ? `'${key}' is an option of transform_type ${owner}, not ${t}` : `unknown option '${key}'`);
  }
  checkSource(is, config, t);
  if ('on_error' in config) is.oneOf('on_error', config.on_error, ON_ERROR);
  if (t === 'map') checkMap(is, config);
  else if (t === 'filter') checkFilter(is, config);
  else if (t === 'aggregate') checkAggregate(is, config);
  else if (t === 'normalize') checkNormalize(is, config);
  else checkJsonata(is, config);
  return is.list;
}

/** The validator a workflow definition runs for data_transform steps. */
export const validateDataTransformConfig: ConfigValidator = (config) => checkTransformConfig(config, 'definition');

function checkSource(is: Issues, c: Record<string, unknown>, t: TransformType): void {
  if (c.source_field !== undefined && c.items_field !== undefined) is.add('items_field', 'give source_field or items_field, not both');
  for (const key of ['source_field', 'items_field'] as const) {
    if (c[key] === undefined) continue;
    if (t === 'jsonata') is.add(key, `${key} is not used by transform_type jsonata: the expression gets the whole input`);
    else is.path(key, c[key]);
  }
  if (c.output_field !== undefined) {
    if (c.source_field === undefined && c.items_field === undefined) is.add('output_field', 'output_field needs source_field: a list input gives a list output');
    else is.path('output_field', c.output_field);
  }
}

const PROBE_RUN: RunContext = { input: undefined, steps: {}, config: {}, execution: {} };

/** True when a string holds item references (`$title`, `${brand} x`), which only per-item resolution fills in. */
export function hasItemReferences(s: string): boolean {
  return s.includes('$') && resolveReferences(s, PROBE_RUN) === s && resolveReferences(s, { ...PROBE_RUN, item: {} }) !== s;
}

/** True when a string holds references inside longer text (a per-item template). */
export function isTemplate(s: string): boolean {
  return s.includes('$') && parseReference(s) === null && resolveReferences(s, { ...PROBE_RUN, item: {} }) !== s;
}

/** A JSON value without item references (options are resolved once, not per item). */
function checkPlainValue(is: Issues, field: string, v: unknown, hint: string): void {
  if (typeof v === 'string' && hasItemReferences(v)) {
    is.add(field, `'${v}' holds an item reference, which is not resolved here; ${hint} (write $$ for a literal $)`);
  }
}

function checkExpression(is: Issues, field: string, v: unknown): void {
  if (typeof v !== 'string' || v.trim() === '') {
    is.add(field, 'must be a JSONata expression');
    return;
  }
  const problem = jsonataProblem(v);
  if (problem) is.add(field, problem);
}

function checkTargets(is: Issues, prefix: string, names: string[], reserved: Array<{ path: Path; text: string }> = []): Array<Path | null> {
  const parsed = names.map((name) => {
    if (name === '$' || name.startsWith('$')) {
      is.add(join(prefix, name), `target '${name}' must be a field name, not a reference`);
      return null;
    }
    return is.path(join(prefix, name), name);
  });
  const all = [...reserved.map((r) => ({ path: r.path, text: r.text })), ...names.map((n, i) => ({ path: parsed[i], text: n }))];
  for (let i = 0; i < all.length; i++) {
    for (let j = i + 1; j < all.length; j++) {
      const a = all[i].path;
      const b = all[j].path;
      if (!a || !b) continue;
      const n = Math.min(a.length, b.length);
      if (a.slice(0, n).every((k, x) => k === b[x])) {
        is.add(join(prefix, all[j].text), `target '${all[j].text}' overlaps '${all[i].text}'; one would overwrite the other`);
      }
    }
  }
  return parsed;
}

function checkMap(is: Issues, c: Record<string, unknown>): void {
  is.boolean('keep_unmapped', c.keep_unmapped);
  const rules = c.mapping_rules;
  if (!isPlainObject(rules) || Object.keys(rules).length === 0) {
    is.add('mapping_rules', 'mapping_rules is required: an object of {target field: source field or rule}, e.g. {"title": "name"}');
    return;
  }
  checkTargets(is, 'mapping_rules', Object.keys(rules));
  for (const [target, rule] of Object.entries(rules)) {
    const at = join('mapping_rules', target);
    if (typeof rule === 'string') {
      checkSourceString(is, at, rule);
    } else if (isPlainObject(rule)) {
      checkMappingObject(is, at, rule);
    } else {
      is.add(at, 'must be a source field path or an object {path | value | expression, default, type}');
    }
  }
}

function checkSourceString(is: Issues, at: string, s: string): void {
  if (s === '') is.add(at, 'must be a source field path such as "name"');
  else if (parseReference(s) !== null) {
    const bad = parseReference(s)!.segments.find(isForbiddenKey);
    if (bad !== undefined) is.add(at, `'${s}' uses the forbidden key '${bad}'`);
  } else if (!isTemplate(s)) is.path(at, s);
}

function checkMappingObject(is: Issues, at: string, rule: Record<string, unknown>): void {
  is.unknownKeys(at, rule, ['path', 'value', 'expression', 'default', 'type', 'decimal_separator', 'date_order', 'separator']);
  const sources = (['path', 'value', 'expression'] as const).filter((k) => rule[k] !== undefined);
  if (sources.length !== 1) {
    is.add(at, sources.length === 0 ? 'needs one of path, value or expression' : `give only one of ${sources.join(', ')}`);
  }
  if (rule.path !== undefined) is.path(join(at, 'path'), rule.path);
  if (rule.expression !== undefined) checkExpression(is, join(at, 'expression'), rule.expression);
  if (rule.value !== undefined) checkPlainValue(is, join(at, 'value'), rule.value, 'use path to read an item field');
  if (rule.default !== undefined) checkPlainValue(is, join(at, 'default'), rule.default, 'defaults are constants');
  is.oneOf(join(at, 'type'), rule.type, CAST_TYPES);
  is.oneOf(join(at, 'decimal_separator'), rule.decimal_separator, DECIMAL_SEPARATORS);
  is.oneOf(join(at, 'date_order'), rule.date_order, DATE_ORDERS);
  is.check(join(at, 'separator'), rule.separator, (x) => typeof x === 'string' && x !== '', 'a non-empty string');
}

function checkFilter(is: Issues, c: Record<string, unknown>): void {
  is.oneOf('match', c.match, ['all', 'any']);
  if (c.rules !== undefined && c.expression !== undefined) is.add('expression', 'give rules or expression, not both');
  if (c.expression !== undefined) {
    checkExpression(is, 'expression', c.expression);
    if (c.match !== undefined) is.add('match', 'match combines rules; it does not apply to an expression');
    return;
  }
  if (!Array.isArray(c.rules) || c.rules.length === 0) {
    is.add('rules', 'filter needs rules (a non-empty list such as [{"field": "quantity", "operator": "gt", "value": 0}]) or an expression');
    return;
  }
  c.rules.forEach((r, i) => checkFilterRule(is, `rules[${i}]`, r, 0));
}

function checkFilterRule(is: Issues, at: string, r: unknown, depth: number): void {
  if (depth > MAX_FILTER_DEPTH) {
    is.add(at, `filter groups nest deeper than ${MAX_FILTER_DEPTH} levels`);
    return;
  }
  if (!isPlainObject(r)) {
    is.add(at, 'must be a rule {field, operator, value} or a group {all: [...]}, {any: [...]}, {not: rule}');
    return;
  }
  for (const group of ['all', 'any'] as const) {
    if (r[group] === undefined) continue;
    is.unknownKeys(at, r, [group], `a group holds only '${group}'`);
    if (!Array.isArray(r[group]) || (r[group] as unknown[]).length === 0) is.add(join(at, group), 'must be a non-empty list of rules');
    else (r[group] as unknown[]).forEach((x, i) => checkFilterRule(is, `${join(at, group)}[${i}]`, x, depth + 1));
    return;
  }
  if (r.not !== undefined) {
    is.unknownKeys(at, r, ['not'], "a group holds only 'not'");
    checkFilterRule(is, join(at, 'not'), r.not, depth + 1);
    return;
  }
  is.unknownKeys(at, r, ['field', 'operator', 'value', 'value_field', 'case_insensitive', 'flags']);
  is.path(join(at, 'field'), r.field);
  if (r.operator === undefined) {
    is.add(join(at, 'operator'), `operator is required: one of ${FILTER_OPERATORS.join(', ')}`);
    return;
  }
  if (!is.oneOf(join(at, 'operator'), r.operator, FILTER_OPERATORS) || is.deferred(r.operator)) return;
  checkComparison(is, at, r, r.operator as FilterOperator);
}

function checkComparison(is: Issues, at: string, r: Record<string, unknown>, op: FilterOperator): void {
  is.boolean(join(at, 'case_insensitive'), r.case_insensitive);
  if (r.flags !== undefined && op !== 'matches') is.add(join(at, 'flags'), "flags apply to operator 'matches' only");
  if (r.value !== undefined && r.value_field !== undefined) is.add(join(at, 'value_field'), 'give value or value_field, not both');
  if (r.value_field !== undefined) {
    if (op === 'exists' || op === 'matches') is.add(join(at, 'value_field'), `operator '${op}' does not compare with another field`);
    else is.path(join(at, 'value_field'), r.value_field);
    return;
  }
  const v = r.value;
  const field = join(at, 'value');
  checkPlainValue(is, field, v, 'use value_field to compare with another field of the item');
  if (is.deferred(v)) return;
  switch (op) {
    case 'exists':
      is.check(field, v, (x) => typeof x === 'boolean', "true, false or absent for operator 'exists'");
      return;
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      if (!(typeof v === 'number' || typeof v === 'string')) is.add(field, `operator '${op}' needs a number or a string as value`);
      return;
    case 'in':
      if (!(Array.isArray(v) || typeof v === 'string')) is.add(field, "operator 'in' needs a list (or a string) as value");
      return;
    case 'matches': {
      const problem = regexProblem(v, typeof r.flags === 'string' ? r.flags : '');
      if (problem) is.add(typeof v === 'string' && r.flags !== undefined && /flags/.test(problem) ? join(at, 'flags') : field, `pattern ${problem}`);
      return;
    }
    default:
      if (v === undefined) is.add(field, `operator '${op}' needs a value (or value_field)`);
  }
}

function checkAggregate(is: Issues, c: Record<string, unknown>): void {
  const groupBy = c.group_by === undefined ? [] : Array.isArray(c.group_by) ? c.group_by : [c.group_by];
  if (Array.isArray(c.group_by) && c.group_by.length === 0) is.add('group_by', 'must name at least one field (or be left out for one group of all items)');
  const groupPaths = groupBy.map((g, i) => ({ path: is.path(Array.isArray(c.group_by) ? `group_by[${i}]` : 'group_by', g), text: String(g) }));
  const aggs = c.aggregations;
  if (aggs === undefined) {
    if (groupBy.length === 0) is.add('aggregations', 'aggregate needs aggregations, e.g. {"total": {"op": "sum", "field": "price"}}, or group_by');
    return;
  }
  if (!isPlainObject(aggs)) {
    is.add('aggregations', 'must be an object of {name: {op, field}}');
    return;
  }
  const reserved = groupPaths.filter((g): g is { path: Path; text: string } => g.path !== null);
  checkTargets(is, 'aggregations', Object.keys(aggs), reserved);
  for (const [name, spec] of Object.entries(aggs)) {
    const at = join('aggregations', name);
    if (!isPlainObject(spec)) {
      is.add(at, `must be {op, field} with op one of ${AGGREGATE_OPS.join(', ')}`);
      continue;
    }
    is.unknownKeys(at, spec, ['op', 'field', 'round', 'distinct']);
    if (spec.op === undefined) is.add(join(at, 'op'), `op is required: one of ${AGGREGATE_OPS.join(', ')}`);
    else is.oneOf(join(at, 'op'), spec.op, AGGREGATE_OPS);
    const needsField = ['sum', 'min', 'max', 'avg'].includes(spec.op as string);
    if (spec.field !== undefined || needsField) is.path(join(at, 'field'), spec.field);
    is.number(join(at, 'round'), spec.round, { min: 0, max: 12, integer: true });
    if (spec.round !== undefined && !['sum', 'avg', 'min', 'max'].includes(spec.op as string)) is.add(join(at, 'round'), 'round applies to sum, avg, min and max');
    is.boolean(join(at, 'distinct'), spec.distinct);
    if (spec.distinct !== undefined && !['count', 'collect'].includes(spec.op as string)) is.add(join(at, 'distinct'), 'distinct applies to count and collect');
  }
}

const OPTIONS_BY_OP: Record<string, string[]> = {
  number: ['decimal_separator', 'precision'],
  decimal: ['decimal_separator', 'precision'],
  integer: ['decimal_separator'],
  date: ['order', 'output'],
  currency: ['default_currency', 'currency_field', 'as_object', 'decimal_separator'],
  weight: ['to', 'from', 'precision', 'decimal_separator'],
  length: ['to', 'from', 'precision', 'decimal_separator'],
  volume: ['to', 'from', 'precision', 'decimal_separator'],
};

function checkNormalize(is: Issues, c: Record<string, unknown>): void {
  const fields = c.fields;
  if (!isPlainObject(fields) || Object.keys(fields).length === 0) {
    is.add('fields', 'normalize needs fields: {field path: operation or [operations]}, e.g. {"title": ["trim", "title_case"]}');
    return;
  }
  for (const [name, ops] of Object.entries(fields)) {
    const at = join('fields', name);
    is.path(at, name);
    const list = Array.isArray(ops) ? ops : [ops];
    if (list.length === 0) is.add(at, 'needs at least one operation');
    list.forEach((op, i) => checkNormalizeOp(is, Array.isArray(ops) ? `${at}[${i}]` : at, op));
  }
}

function checkNormalizeOp(is: Issues, at: string, op: unknown): void {
  const name = typeof op === 'string' ? op : isPlainObject(op) ? op.op : undefined;
  if (typeof name !== 'string' || !(NORMALIZE_OPS as readonly string[]).includes(name)) {
    is.add(typeof op === 'string' || !isPlainObject(op) ? at : join(at, 'op'), `operation must be one of ${NORMALIZE_OPS.join(', ')}`);
    return;
  }
  const dimension = ['weight', 'length', 'volume'].includes(name) ? (name as Dimension) : null;
  if (!isPlainObject(op)) {
    if (dimension) is.add(at, `operation '${name}' needs options: {"op": "${name}", "to": "${TARGET_UNITS[dimension][2]}"}`);
    return;
  }
  is.unknownKeys(at, op, ['op', ...(OPTIONS_BY_OP[name] ?? [])], `operation '${name}' takes ${(OPTIONS_BY_OP[name] ?? []).join(', ') || 'no options'}`);
  is.oneOf(join(at, 'decimal_separator'), op.decimal_separator, DECIMAL_SEPARATORS);
  is.number(join(at, 'precision'), op.precision, { min: 0, max: 12, integer: true });
  is.oneOf(join(at, 'order'), op.order, DATE_ORDERS);
  is.oneOf(join(at, 'output'), op.output, DATE_OUTPUTS);
  is.boolean(join(at, 'as_object'), op.as_object);
  is.check(join(at, 'default_currency'), op.default_currency, (x) => typeof x === 'string' && /^[A-Z]{3}$/.test(x), 'a three-letter ISO currency code such as "EUR"');
  if (op.currency_field !== undefined) {
    is.path(join(at, 'currency_field'), op.currency_field);
    if (op.as_object === true) is.add(join(at, 'currency_field'), 'as_object already keeps the currency next to the amount');
  }
  if (dimension) {
    const unit = (x: unknown) => typeof x === 'string' && unitInfo(x)?.dimension === dimension;
    const units = `a unit of ${dimension}: one of ${TARGET_UNITS[dimension].join(', ')}`;
    if (op.to === undefined) is.add(join(at, 'to'), `operation '${name}' needs a target unit: one of ${TARGET_UNITS[dimension].join(', ')}`);
    else is.check(join(at, 'to'), op.to, unit, units);
    is.check(join(at, 'from'), op.from, unit, units);
  }
}

function checkJsonata(is: Issues, c: Record<string, unknown>): void {
  if (c.expression === undefined) is.add('expression', 'jsonata needs an expression, e.g. "products[price > 10].{\\"sku\\": sku}"');
  else checkExpression(is, 'expression', c.expression);
  is.number('timeout_ms', c.timeout_ms, { min: 1, max: 600_000, integer: true });
}

// ---------------------------------------------------------------- run-time resolution

const resolveValue = (v: unknown, run: RunContext): unknown => (v === undefined ? undefined : resolveReferences(v, run));

/** Resolves the listed keys of `obj` (others are copied as written). */
function resolveKeys(obj: Record<string, unknown>, keys: readonly string[], run: RunContext): Record<string, unknown> {
  const out: Record<string, unknown> = { ...obj };
  for (const k of keys) if (k in obj) out[k] = resolveValue(obj[k], run);
  return out;
}

function resolveFilterRule(r: unknown, run: RunContext, depth: number): unknown {
  if (!isPlainObject(r) || depth > MAX_FILTER_DEPTH) return r;
  if (Array.isArray(r.all)) return { ...r, all: r.all.map((x) => resolveFilterRule(x, run, depth + 1)) };
  if (Array.isArray(r.any)) return { ...r, any: r.any.map((x) => resolveFilterRule(x, run, depth + 1)) };
  if (r.not !== undefined) return { ...r, not: resolveFilterRule(r.not, run, depth + 1) };
  const out = resolveKeys(r, ['operator', 'case_insensitive', 'flags'], run);
  // A pattern is resolved only when it is a whole reference: `$` is also a regex anchor.
  if ('value' in r) out.value = out.operator === 'matches' && !(typeof r.value === 'string' && parseReference(r.value)) ? r.value : resolveValue(r.value, run);
  return out;
}

/**
 * Resolves the references a data_transform config may hold, against the run:
 * option values are resolved; field paths, mapping sources (resolved per item
 * by the transform) and expressions (which read `$input` and friends as
 * variables) are kept as written.
 */
export function resolveTransformConfig(config: Record<string, unknown>, run: RunContext): Record<string, unknown> {
  const out = resolveKeys(config, ['transform_type', 'input', 'on_error', 'keep_unmapped', 'match', 'timeout_ms'], run);
  if (isPlainObject(config.mapping_rules)) {
    out.mapping_rules = Object.fromEntries(
      Object.entries(config.mapping_rules).map(([k, r]) => [
        k,
        isPlainObject(r) ? resolveKeys(r, ['value', 'default', 'type', 'decimal_separator', 'date_order', 'separator'], run) : r,
      ]),
    );
  }
  if (Array.isArray(config.rules)) out.rules = config.rules.map((r) => resolveFilterRule(r, run, 0));
  if (isPlainObject(config.aggregations)) {
    out.aggregations = Object.fromEntries(
      Object.entries(config.aggregations).map(([k, a]) => [k, isPlainObject(a) ? resolveKeys(a, ['op', 'round', 'distinct'], run) : a]),
    );
  }
  if (isPlainObject(config.fields)) {
    const resolveOp = (op: unknown) => (isPlainObject(op) ? resolveKeys(op, Object.keys(op).filter((k) => k !== 'currency_field'), run) : op);
    out.fields = Object.fromEntries(Object.entries(config.fields).map(([k, ops]) => [k, Array.isArray(ops) ? ops.map(resolveOp) : resolveOp(ops)]));
  }
  return out;
}

/** Step type id of `data_transform`. */
export const DATA_TRANSFORM_STEP_TYPE = 'data_transform';

/** The `data_transform` step type as the API knows it: its id and config validator. */
export const dataTransformConfig = defineStepConfig(DATA_TRANSFORM_STEP_TYPE, validateDataTransformConfig);
