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
import { z } from 'zod';
import { defineStepConfig } from '@engine/activities/runtime/executor';
import type { RunContext } from '@engine/dsl/types';
import { isForbiddenKey, isPlainObject, parseReference, resolveReferences } from '@engine/dsl/references';
import { zodIssues, type ConfigIssue } from '@engine/activities/shared/config-issues';
import { CROSS_FIELD, intIn, isRunReference, itemPath, itemPathProblem, jsonataExpression, oneOfOr, refOr, unknownKeysHint, type SchemaMode } from '@engine/activities/shared/zod';
import { parsePath, type Path } from '@engine/activities/shared/paths';
import { regexProblem } from '@engine/activities/shared/safe-regex';
import { hasItemReferences } from '@engine/activities/shared/template';
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

/** Deepest nesting of filter groups. */
const MAX_FILTER_DEPTH = 16;

const PROBE_RUN: RunContext = { input: undefined, steps: {}, config: {}, execution: {} };

/** True when a string holds references inside longer text (a per-item template). */
export function isTemplate(s: string): boolean {
  return s.includes('$') && parseReference(s) === null && resolveReferences(s, { ...PROBE_RUN, item: {} }) !== s;
}

type Ctx = z.core.$RefinementCtx;
type Key = string | number;
const add = (ctx: Ctx, path: Key[], message: string) => ctx.addIssue({ code: 'custom', path, message });
const obj = (v: unknown): Record<string, unknown> => (isPlainObject(v) ? v : {});

/** Option values are resolved once per step, not per item: an item reference there would stay as written. */
function checkPlainValue(ctx: Ctx, path: Key[], v: unknown, hint: string): void {
  if (typeof v === 'string' && hasItemReferences(v)) add(ctx, path, `'${v}' holds an item reference, which is not resolved here; ${hint} (write $$ for a literal $)`);
}

/** Target paths (mapping targets, aggregation names after the group keys) must be field names that do not overlap. */
function checkTargets(ctx: Ctx, prefix: Key[], names: string[], reserved: Array<{ path: Path; text: string }> = []): void {
  const all = [...reserved];
  for (const name of names) {
    const problem = name.startsWith('$') ? `target '${name}' must be a field name, not a reference` : itemPathProblem(name);
    if (problem) add(ctx, [...prefix, name], problem);
    else {
      const path = (parsePath(name) as { path: Path }).path;
      const other = all.find((o) => o.path.slice(0, path.length).every((k, x) => k === path[x]) || path.slice(0, o.path.length).every((k, x) => k === o.path[x]));
      if (other) add(ctx, [...prefix, name], `target '${name}' overlaps '${other.text}'; one would overwrite the other`);
      all.push({ path, text: name });
    }
  }
}

function transformSchema(mode: SchemaMode) {
  const opt = (schema: z.ZodType, what: string) => refOr(mode, schema, what, isRunReference).optional();
  const oneOf = (values: readonly [string, ...string[]]) => oneOfOr(mode, values, isRunReference).optional();
  const bool = opt(z.boolean({ error: 'must be true or false' }), 'true or false');
  const deferred = (v: unknown) => mode === 'definition' && isRunReference(v);

  // ------------------------------------------------------------ map
  const mappingSource = z.string().superRefine((s, ctx) => {
    const ref = parseReference(s);
    const bad = ref?.segments.find(isForbiddenKey);
    if (s === '') add(ctx, [], 'must be a source field path such as "name"');
    else if (bad !== undefined) add(ctx, [], `'${s}' uses the forbidden key '${bad}'`);
    else if (!ref && !isTemplate(s)) {
      const problem = itemPathProblem(s);
      if (problem) add(ctx, [], problem);
    }
  });
  const mappingObject = z
    .strictObject({
      path: itemPath.optional().describe('Field path to read ("cost_price")'),
      value: z.unknown().optional().describe('A constant (or a run reference) for every item'),
      expression: jsonataExpression.optional().describe('JSONata over the item ($ is the item, $input/$config/$steps the run)'),
      default: z.unknown().optional().describe('Used when the source is missing (else null)'),
      type: oneOf(CAST_TYPES).describe('Cast the value'),
      decimal_separator: oneOf(DECIMAL_SEPARATORS),
      date_order: oneOf(DATE_ORDERS),
      separator: opt(z.string().min(1, 'must be a non-empty string'), 'a non-empty string').describe('Splits a string into an array (type "array")'),
    })
    .superRefine((r, ctx) => {
      const sources = (['path', 'value', 'expression'] as const).filter((k) => r[k] !== undefined);
      if (sources.length !== 1) add(ctx, [], sources.length === 0 ? 'needs one of path, value or expression' : `give only one of ${sources.join(', ')}`);
      checkPlainValue(ctx, ['value'], r.value, 'use path to read an item field');
      checkPlainValue(ctx, ['default'], r.default, 'defaults are constants');
    }, CROSS_FIELD);
  const mapping = z.union([mappingSource, mappingObject], { error: 'must be a source field path or an object {path | value | expression, default, type}' });
  const map = {
    mapping_rules: z
      .record(z.string(), mapping, { error: 'mapping_rules is required: an object of {target field: source field or rule}, e.g. {"title": "name"}' })
      .refine((r) => Object.keys(r).length > 0, 'mapping_rules is required: an object of {target field: source field or rule}, e.g. {"title": "name"}')
      .superRefine((r, ctx) => checkTargets(ctx, [], Object.keys(obj(r))), CROSS_FIELD)
      .describe('{target path: source}: a field path, a run reference, a per-item template ("${brand} ${name}") or a rule object'),
    keep_unmapped: bool.describe('Keep the fields no rule read (default false)'),
    on_error: oneOf(ON_ERROR).describe('What an unconvertible value becomes: null (default), keep, or fail the step'),
  };

  // ------------------------------------------------------------ filter
  const RULES_REQUIRED = 'filter needs rules (a non-empty list such as [{"field": "quantity", "operator": "gt", "value": 0}]) or an expression';
  const RULE_KEYS = ['field', 'operator', 'value', 'value_field', 'case_insensitive', 'flags', 'all', 'any', 'not'];
  const filterRule: z.ZodType = z.lazy(() =>
    z
      .strictObject({
        field: itemPath.optional().describe('Field path of the item to compare'),
        operator: oneOf(FILTER_OPERATORS),
        value: z.unknown().optional().describe('What to compare with (a run reference is resolved once)'),
        value_field: itemPath.optional().describe('Compare with another field of the item instead'),
        case_insensitive: bool,
        flags: z.unknown().optional().describe('Regular expression flags (i, m, s, u) for operator matches'),
        all: z.array(filterRule, { error: 'must be a non-empty list of rules' }).min(1, 'must be a non-empty list of rules').optional().describe('Group: every rule matches'),
        any: z.array(filterRule, { error: 'must be a non-empty list of rules' }).min(1, 'must be a non-empty list of rules').optional().describe('Group: some rule matches'),
        not: filterRule.optional().describe('Group: the rule does not match'),
      }, { error: 'must be a rule {field, operator, value} or a group {all: [...]}, {any: [...]}, {not: rule}' })
      .superRefine((r, ctx) => checkFilterRule(ctx, obj(r)), CROSS_FIELD),
  );
  function checkFilterRule(ctx: Ctx, r: Record<string, unknown>): void {
    const group = (['all', 'any', 'not'] as const).find((g) => r[g] !== undefined);
    if (group) {
      for (const k of Object.keys(r)) if (k !== group && RULE_KEYS.includes(k)) add(ctx, [k], `a group holds only '${group}'`);
      return;
    }
    if (r.field === undefined) add(ctx, ['field'], itemPathProblem(undefined)!);
    const op = r.operator as FilterOperator | undefined;
    if (op === undefined) return add(ctx, ['operator'], `operator is required: one of ${FILTER_OPERATORS.join(', ')}`);
    if (!FILTER_OPERATORS.includes(op)) return;
    if (r.flags !== undefined && op !== 'matches') add(ctx, ['flags'], "flags apply to operator 'matches' only");
    if (r.value !== undefined && r.value_field !== undefined) add(ctx, ['value_field'], 'give value or value_field, not both');
    if (r.value_field !== undefined) {
      if (op === 'exists' || op === 'matches') add(ctx, ['value_field'], `operator '${op}' does not compare with another field`);
      return;
    }
    const v = r.value;
    checkPlainValue(ctx, ['value'], v, 'use value_field to compare with another field of the item');
    if (deferred(v)) return;
    if (op === 'matches') {
      const problem = deferred(r.flags) ? null : regexProblem(v, typeof r.flags === 'string' ? r.flags : '');
      if (problem) add(ctx, [typeof v === 'string' && r.flags !== undefined && /flags/.test(problem) ? 'flags' : 'value'], `pattern ${problem}`);
      return;
    }
    const problem = valueProblem(op, v);
    if (problem) add(ctx, ['value'], problem);
  }
  function valueProblem(op: FilterOperator, v: unknown): string | null {
    switch (op) {
      case 'exists':
        return v === undefined || typeof v === 'boolean' ? null : `must be true, false or absent for operator 'exists'${mode === 'definition' ? ', or a reference like "$input.x"' : ''}`;
      case 'gt':
      case 'gte':
      case 'lt':
      case 'lte':
        return typeof v === 'number' || typeof v === 'string' ? null : `operator '${op}' needs a number or a string as value`;
      case 'in':
        return Array.isArray(v) || typeof v === 'string' ? null : "operator 'in' needs a list (or a string) as value";
      default:
        return v === undefined ? `operator '${op}' needs a value (or value_field)` : null;
    }
  }
  /** Where the filter groups nest deeper than allowed, if they do. */
  const tooDeep = (r: unknown, path: Key[], depth: number): Key[] | null => {
    if (depth > MAX_FILTER_DEPTH) return path;
    const g = obj(r);
    for (const k of ['all', 'any'] as const) {
      if (!Array.isArray(g[k])) continue;
      for (const [i, x] of (g[k] as unknown[]).entries()) {
        const deep = tooDeep(x, [...path, k, i], depth + 1);
        if (deep) return deep;
      }
    }
    return g.not === undefined ? null : tooDeep(g.not, [...path, 'not'], depth + 1);
  };
  const filter = {
    rules: z
      .array(filterRule, { error: RULES_REQUIRED })
      .optional()
      .describe('Rules {field, operator, value | value_field, case_insensitive, flags} or groups {all}, {any}, {not}'),
    match: oneOf(['all', 'any']).describe('How rules combine: all (default) or any'),
    expression: jsonataExpression.optional().describe('A JSONata predicate over the item, instead of rules'),
  };
  const filterChecks = (c: Record<string, unknown>, ctx: Ctx) => {
    if (c.expression !== undefined) {
      if (c.rules !== undefined) add(ctx, ['expression'], 'give rules or expression, not both');
      if (c.match !== undefined) add(ctx, ['match'], 'match combines rules; it does not apply to an expression');
    } else if (c.rules === undefined || (Array.isArray(c.rules) && c.rules.length === 0)) {
      add(ctx, ['rules'], RULES_REQUIRED);
    } else if (Array.isArray(c.rules)) {
      const deep = c.rules.map((r, i) => tooDeep(r, ['rules', i], 0)).find((d) => d !== null);
      if (deep) add(ctx, deep, `filter groups nest deeper than ${MAX_FILTER_DEPTH} levels`);
    }
  };

  // ------------------------------------------------------------ aggregate
  const aggregation = z
    .strictObject({
      op: oneOfOr(mode, AGGREGATE_OPS, isRunReference),
      field: itemPath.optional().describe('Field path to aggregate (required for sum, min, max, avg)'),
      round: opt(intIn(0, 12), 'an integer from 0 to 12').describe('Decimal places (sum, avg, min, max)'),
      distinct: bool.describe('Count or collect distinct values only'),
    }, { error: `must be {op, field} with op one of ${AGGREGATE_OPS.join(', ')}` })
    .superRefine((a, ctx) => {
      const op = a.op as string;
      if (a.field === undefined && ['sum', 'min', 'max', 'avg'].includes(op)) add(ctx, ['field'], itemPathProblem(undefined)!);
      if (a.round !== undefined && !['sum', 'avg', 'min', 'max'].includes(op)) add(ctx, ['round'], 'round applies to sum, avg, min and max');
      if (a.distinct !== undefined && !['count', 'collect'].includes(op)) add(ctx, ['distinct'], 'distinct applies to count and collect');
    }, CROSS_FIELD);
  const aggregate = {
    group_by: z
      .union([itemPath, z.array(itemPath).min(1, 'must name at least one field (or be left out for one group of all items)')], {
        error: 'must be a field path or a list of field paths',
      })
      .optional()
      .describe('A field path or a list of them; none: one group of all items'),
    aggregations: z.record(z.string(), aggregation, { error: 'must be an object of {name: {op, field}}' }).optional().describe('{name: {op, field, round, distinct}}'),
  };
  const aggregateChecks = (c: Record<string, unknown>, ctx: Ctx) => {
    const list: unknown[] = Array.isArray(c.group_by) ? c.group_by : c.group_by === undefined ? [] : [c.group_by];
    const groupBy = list.filter((g): g is string => !itemPathProblem(g));
    if (c.aggregations === undefined && list.length === 0) {
      add(ctx, ['aggregations'], 'aggregate needs aggregations, e.g. {"total": {"op": "sum", "field": "price"}}, or group_by');
    }
    if (isPlainObject(c.aggregations)) {
      checkTargets(ctx, ['aggregations'], Object.keys(c.aggregations), groupBy.map((g) => ({ path: (parsePath(g) as { path: Path }).path, text: g })));
    }
  };

  // ------------------------------------------------------------ normalize
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
  const OP_ERROR = `operation must be one of ${NORMALIZE_OPS.join(', ')}`;
  const dimensionOf = (op: string) => (['weight', 'length', 'volume'].includes(op) ? (op as Dimension) : null);
  const unit = (dimension: Dimension) =>
    opt(
      z.string().refine((u) => unitInfo(u)?.dimension === dimension, `must be a unit of ${dimension}: one of ${TARGET_UNITS[dimension].join(', ')}`),
      `a unit of ${dimension}: one of ${TARGET_UNITS[dimension].join(', ')}`,
    );
  const options = {
    decimal_separator: oneOf(DECIMAL_SEPARATORS),
    precision: opt(intIn(0, 12), 'an integer from 0 to 12'),
    order: oneOf(DATE_ORDERS).describe('Day, month and year order of ambiguous dates'),
    output: oneOf(DATE_OUTPUTS),
    as_object: bool.describe('Currency as {amount, currency}'),
    default_currency: opt(z.string().regex(/^[A-Z]{3}$/, 'must be a three-letter ISO currency code such as "EUR"'), 'a three-letter ISO currency code such as "EUR"'),
    currency_field: itemPath.optional().describe('Field holding the currency code'),
  };
  const operationObject = z.discriminatedUnion(
    'op',
    NORMALIZE_OPS.map((op) => {
      const takes = OPTIONS_BY_OP[op] ?? [];
      const dimension = dimensionOf(op);
      const shape = Object.fromEntries(takes.map((k) => [k, dimension && (k === 'to' || k === 'from') ? unit(dimension) : options[k as keyof typeof options]]));
      return z
        .strictObject({ op: z.literal(op), ...shape }, unknownKeysHint(`operation '${op}' takes ${takes.join(', ') || 'no options'}`))
        .superRefine((o: Record<string, unknown>, ctx) => {
          if (dimension && o.to === undefined) add(ctx, ['to'], `operation '${op}' needs a target unit: one of ${TARGET_UNITS[dimension].join(', ')}`);
          if (o.currency_field !== undefined && o.as_object === true) add(ctx, ['currency_field'], 'as_object already keeps the currency next to the amount');
        }, CROSS_FIELD);
    }) as unknown as [z.ZodObject, ...z.ZodObject[]],
    { error: OP_ERROR },
  );
  const operationName = z.string().superRefine((op, ctx) => {
    const dimension = dimensionOf(op);
    if (!(NORMALIZE_OPS as readonly string[]).includes(op)) add(ctx, [], OP_ERROR);
    else if (dimension) add(ctx, [], `operation '${op}' needs options: {"op": "${op}", "to": "${TARGET_UNITS[dimension][2]}"}`);
  });
  const operation = z.union([operationName, operationObject], { error: OP_ERROR });
  const normalize = {
    fields: z
      .record(z.string(), z.union([operation, z.array(operation).min(1, 'needs at least one operation')], { error: `must be an operation or a list of them; ${OP_ERROR}` }), {
        error: 'normalize needs fields: {field path: operation or [operations]}, e.g. {"title": ["trim", "title_case"]}',
      })
      .refine((f) => Object.keys(f).length > 0, 'normalize needs fields: {field path: operation or [operations]}, e.g. {"title": ["trim", "title_case"]}')
      .superRefine((f, ctx) => {
        for (const name of Object.keys(obj(f))) {
          const problem = itemPathProblem(name);
          if (problem) add(ctx, [name], problem);
        }
      }, CROSS_FIELD)
      .describe('{field path: operation or [operations]}: trim, lowercase, uppercase, title_case, collapse_whitespace, number, integer, boolean, date, currency, or {op, ...options}'),
    on_error: map.on_error,
  };

  // ------------------------------------------------------------ jsonata
  const notForJsonata = z.never({ error: 'is not used by transform_type jsonata: the expression gets the whole input' }).optional();
  const jsonata = {
    expression: jsonataExpression.describe('JSONata over the whole input'),
    timeout_ms: opt(intIn(1, 600_000), 'an integer from 1 to 600000').describe('Budget of the expression (default 30000)'),
    source_field: notForJsonata,
    items_field: notForJsonata,
    output_field: notForJsonata,
  };

  // ------------------------------------------------------------ the types together
  const own = { map, filter, aggregate, normalize, jsonata } as const;
  const common = {
    input: z.unknown().optional().describe('The data to transform, usually a reference ("$steps.fetch.products"); default: the step input'),
    source_field: itemPath.optional().describe('Path of the item list inside the input ("products"); the output keeps that shape'),
    items_field: itemPath.optional().describe('Alias of source_field'),
    output_field: itemPath.optional().describe('Where the result list goes in the output (default: source_field)'),
  };
  const checks: Partial<Record<TransformType, (c: Record<string, unknown>, ctx: Ctx) => void>> = { filter: filterChecks, aggregate: aggregateChecks };
  const member = (t: TransformType) => {
    // Options of the other types, named as such: `'group_by' is an option of transform_type aggregate, not map`.
    const foreign = TRANSFORM_TYPES.flatMap((o) => Object.keys(own[o]).filter((k) => !(k in own[t]) && !(k in common)).map((k) => [k, o] as const));
    const others = Object.fromEntries(foreign.filter(([k], i) => foreign.findIndex(([x]) => x === k) === i).map(([k, o]) => [k, z.never({ error: `is an option of transform_type ${o}, not ${t}` }).optional()]));
    return z.strictObject({ transform_type: z.literal(t), ...common, ...others, ...own[t] }).superRefine((c: Record<string, unknown>, ctx) => {
      if (c.source_field !== undefined && c.items_field !== undefined) add(ctx, ['items_field'], 'give source_field or items_field, not both');
      if (t !== 'jsonata' && c.output_field !== undefined && c.source_field === undefined && c.items_field === undefined) {
        add(ctx, ['output_field'], 'output_field needs source_field: a list input gives a list output');
      }
      checks[t]?.(c, ctx);
    }, CROSS_FIELD);
  };
  return z.discriminatedUnion('transform_type', TRANSFORM_TYPES.map(member) as unknown as [z.ZodObject, ...z.ZodObject[]], {
    error: (issue) =>
      issue.code === 'invalid_union'
        ? `${obj(issue.input).transform_type === undefined ? 'transform_type is required: ' : 'must be '}one of ${TRANSFORM_TYPES.join(', ')}`
        : undefined,
  });
}

const SCHEMAS = { definition: transformSchema('definition'), runtime: transformSchema('runtime') };

/**
 * The zod schema of a `data_transform` config as written in a definition (a
 * run reference such as `"$config.mode"` may stand in for an option value, or
 * for `transform_type`, which then defers every check to the run).
 */
export const dataTransformConfigSchema = z.union([SCHEMAS.definition, z.looseObject({ transform_type: z.string().refine(isRunReference) })]);

/**
 * Checks a data_transform config. In `definition` mode (saving a workflow) run
 * references stand in for option values; at `runtime` they were resolved.
 */
export function checkTransformConfig(config: Record<string, unknown>, mode: SchemaMode = 'definition'): ConfigIssue[] {
  if (mode === 'definition' && isRunReference(config.transform_type)) return [];
  const parsed = SCHEMAS[mode].safeParse(config);
  return parsed.success ? [] : zodIssues(parsed.error);
}

/** The validator a workflow definition runs for data_transform steps. */
export const validateDataTransformConfig = (config: Record<string, unknown>): ConfigIssue[] => checkTransformConfig(config, 'definition');

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

/** The `data_transform` step type as the API knows it: its id, config validator and schema. */
export const dataTransformConfig = defineStepConfig(DATA_TRANSFORM_STEP_TYPE, validateDataTransformConfig, { schema: dataTransformConfigSchema });
