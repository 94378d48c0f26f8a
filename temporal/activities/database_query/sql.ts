/**
 * SQL text for `database_query`, built from an allow-listed {@link ModelSpec}.
 * Identifiers come only from the model (checked by `assertModels`) and are
 * quoted; every value is a bound parameter (`$n`). Pure: no database access.
 */
import { hasColumn, fieldTarget, type ColumnType, type FieldTarget, type ModelSpec } from './models';
import { canonicalJson, coerceValue, paramType } from './values';

/** Comparison operators of a `where` condition (the DSL's condition names, plus SQL spellings as aliases). */
export const WHERE_OPERATORS = ['equals', 'not_equals', 'gt', 'gte', 'lt', 'lte', 'in', 'not_in', 'is_null', 'is_not_null', 'like', 'ilike'] as const;
export type WhereOperator = (typeof WHERE_OPERATORS)[number];

export const OPERATOR_ALIASES: Readonly<Record<string, WhereOperator>> = {
  '=': 'equals',
  '==': 'equals',
  eq: 'equals',
  '!=': 'not_equals',
  '<>': 'not_equals',
  ne: 'not_equals',
  '>': 'gt',
  '>=': 'gte',
  '<': 'lt',
  '<=': 'lte',
};

/** Operators that take no value. */
export const UNARY_OPERATORS: ReadonlySet<WhereOperator> = new Set(['is_null', 'is_not_null']);

export function normalizeOperator(op: string): WhereOperator | null {
  if ((WHERE_OPERATORS as readonly string[]).includes(op)) return op as WhereOperator;
  return Object.prototype.hasOwnProperty.call(OPERATOR_ALIASES, op) ? OPERATOR_ALIASES[op] : null;
}

export interface WhereCondition {
  field: string;
  operator: WhereOperator;
  value?: unknown;
}

export interface OrderTerm {
  field: string;
  direction: 'asc' | 'desc';
}

/** A problem with a resolved config value; the executor reports it as STEP_CONFIG_INVALID naming `field`. */
export class QueryConfigError extends Error {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
    this.name = 'QueryConfigError';
  }
}

/** Collects bound parameters and hands out their placeholders. */
export class Params {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/** Quotes an allow-listed identifier. */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function target(model: ModelSpec, field: string, where: string): FieldTarget {
  const t = fieldTarget(model, field);
  if (!t) throw new QueryConfigError(where, `unknown field ${JSON.stringify(field)}`);
  return t;
}

function coerceOrThrow(type: ColumnType, value: unknown, where: string): string | number | boolean | null {
  const c = coerceValue(type, value, false);
  if (!c.ok) throw new QueryConfigError(where, c.message);
  return c.value;
}

/** One condition as SQL. `at` names the condition in errors (`where[0]`). */
function conditionSql(model: ModelSpec, cond: WhereCondition, params: Params, at: string): string {
  const t = target(model, cond.field, `${at}.field`);
  const op = cond.operator;
  const valueAt = `${at}.value`;
  if (!UNARY_OPERATORS.has(op) && op !== 'equals' && op !== 'not_equals' && (cond.value === null || cond.value === undefined)) {
    throw new QueryConfigError(valueAt, `operator ${op} needs a value`);
  }
  const list = (): unknown[] => {
    if (!Array.isArray(cond.value)) throw new QueryConfigError(valueAt, `operator ${op} needs a list`);
    return cond.value;
  };
  const cmp: Record<string, string> = { gt: '>', gte: '>=', lt: '<', lte: '<=' };

  if (t.kind === 'json') {
    // Inner paths compare as jsonb, so numbers compare as numbers and a type mismatch never errors.
    const expr = `(${ident(t.column)} #> ${params.add(t.path)}::text[])`;
    const json = (v: unknown) => params.add(canonicalJson(v));
    const isNull = `(${expr} IS NULL OR ${expr} = 'null'::jsonb)`;
    switch (op) {
      case 'is_null':
        return isNull;
      case 'is_not_null':
        return `NOT ${isNull}`;
      case 'equals':
        return cond.value === null || cond.value === undefined ? isNull : `${expr} = ${json(cond.value)}::jsonb`;
      case 'not_equals':
        return cond.value === null || cond.value === undefined ? `NOT ${isNull}` : `${expr} IS DISTINCT FROM ${json(cond.value)}::jsonb`;
      case 'in':
        return `${expr} = ANY(${params.add(list().map((v) => canonicalJson(v)))}::jsonb[])`;
      case 'not_in':
        return `${expr} <> ALL(${params.add(list().map((v) => canonicalJson(v)))}::jsonb[])`;
      case 'like':
      case 'ilike':
        return `(${ident(t.column)} #>> ${params.add(t.path)}::text[]) ${op === 'like' ? 'LIKE' : 'ILIKE'} ${params.add(String(cond.value))}::text`;
      default:
        return `${expr} ${cmp[op]} ${json(cond.value)}::jsonb`;
    }
  }

  const type = model.columns[t.column];
  const col = ident(t.column);
  const cast = paramType(type);
  const bind = (v: unknown) => `${params.add(coerceOrThrow(type, v, valueAt))}::${cast}`;
  switch (op) {
    case 'is_null':
      return `${col} IS NULL`;
    case 'is_not_null':
      return `${col} IS NOT NULL`;
    case 'equals':
      return cond.value === null || cond.value === undefined ? `${col} IS NULL` : `${col} = ${bind(cond.value)}`;
    case 'not_equals':
      return cond.value === null || cond.value === undefined ? `${col} IS NOT NULL` : `${col} IS DISTINCT FROM ${bind(cond.value)}`;
    case 'in':
    case 'not_in': {
      const values = list().map((v, i) => coerceOrThrow(type, v, `${valueAt}[${i}]`));
      return op === 'in' ? `${col} = ANY(${params.add(values)}::${cast}[])` : `${col} <> ALL(${params.add(values)}::${cast}[])`;
    }
    case 'like':
    case 'ilike':
      if (cast !== 'text') throw new QueryConfigError(`${at}.operator`, `${op} works on text columns only; ${t.column} is ${type}`);
      return `${col} ${op === 'like' ? 'LIKE' : 'ILIKE'} ${bind(cond.value)}`;
    default:
      if (type === 'jsonb' || type === 'boolean') throw new QueryConfigError(`${at}.operator`, `${op} does not apply to ${type} column ${t.column}`);
      return `${col} ${cmp[op]} ${bind(cond.value)}`;
  }
}

/** `WHERE a AND b ...`, or '' for no conditions. */
export function whereSql(model: ModelSpec, conds: readonly WhereCondition[], params: Params): string {
  if (conds.length === 0) return '';
  return `WHERE ${conds.map((c, i) => conditionSql(model, c, params, `where[${i}]`)).join(' AND ')}`;
}

function orderSql(model: ModelSpec, terms: readonly OrderTerm[], params: Params): string {
  if (terms.length === 0) return '';
  const parts = terms.map((t, i) => {
    const tg = target(model, t.field, `order_by[${i}]`);
    const expr = tg.kind === 'column' ? ident(tg.column) : `(${ident(tg.column)} #> ${params.add(tg.path)}::text[])`;
    return `${expr} ${t.direction === 'desc' ? 'DESC' : 'ASC'}`;
  });
  return `ORDER BY ${parts.join(', ')}`;
}

export interface SelectSpec {
  fields: readonly string[];
  where: readonly WhereCondition[];
  orderBy: readonly OrderTerm[];
  limit: number;
  offset: number;
}

/** A bounded SELECT on the model. */
export function selectSql(model: ModelSpec, spec: SelectSpec): { text: string; values: unknown[] } {
  const params = new Params();
  const fields = spec.fields.length > 0 ? spec.fields : Object.keys(model.columns);
  fields.forEach((f, i) => {
    if (!hasColumn(model, f)) throw new QueryConfigError(`fields[${i}]`, `unknown column ${JSON.stringify(f)}`);
  });
  const where = whereSql(model, spec.where, params);
  const order = orderSql(model, spec.orderBy, params);
  const limit = params.add(spec.limit);
  const offset = params.add(spec.offset);
  const text = [`SELECT ${fields.map(ident).join(', ')} FROM ${ident(model.table)}`, where, order, `LIMIT ${limit}::bigint OFFSET ${offset}::bigint`]
    .filter(Boolean)
    .join(' ');
  return { text, values: params.values };
}

/** Marker column in RETURNING that tells inserted rows from updated ones. */
export const INSERTED_FLAG = '__inserted';

/**
 * A multi-row INSERT of `columns`, one array parameter per column
 * (`SELECT * FROM unnest($1::text[], $2::jsonb[], ...)`), so a batch of any
 * size binds as many parameters as there are columns.
 *
 * - `insert`: `ON CONFLICT (keys) DO NOTHING` when the model has conflict
 *   keys (a retried batch inserts nothing twice);
 * - `upsert`: `ON CONFLICT (keys) DO UPDATE ... WHERE <row changed>`, so an
 *   unchanged row is neither rewritten nor returned.
 *
 * RETURNING yields one row per inserted or updated record with
 * {@link INSERTED_FLAG} (true for inserted) and the `returning` columns.
 */
export function writeSql(model: ModelSpec, columns: readonly string[], mode: 'insert' | 'upsert', returning: readonly string[] = []): string {
  const table = ident(model.table);
  const arrays = columns.map((c, i) => `$${i + 1}::${paramType(model.columns[c])}[]`);
  const keys = model.conflictKeys ?? [];
  let text = `INSERT INTO ${table} AS t (${columns.map(ident).join(', ')}) SELECT * FROM unnest(${arrays.join(', ')})`;
  if (keys.length > 0) {
    const target = `ON CONFLICT (${keys.map(ident).join(', ')})`;
    const lineage = new Set(model.lineage ? [model.lineage.executionId, model.lineage.stepKey] : []);
    const updates = columns.filter((c) => !keys.includes(c));
    // The hash stands for the document it hashes: comparing it is cheaper than comparing jsonb.
    const hashed = model.contentHash && columns.includes(model.contentHash.column) ? model.contentHash.of : null;
    const compared = updates.filter((c) => !lineage.has(c) && c !== hashed);
    if (mode === 'insert' || updates.length === 0 || compared.length === 0) {
      text += ` ${target} DO NOTHING`;
    } else {
      const sets = updates.map((c) => `${ident(c)} = EXCLUDED.${ident(c)}`);
      if (model.updatedAt && !columns.includes(model.updatedAt)) sets.push(`${ident(model.updatedAt)} = now()`);
      const before = compared.length === 1 ? `t.${ident(compared[0])}` : `(${compared.map((c) => `t.${ident(c)}`).join(', ')})`;
      const after = compared.length === 1 ? `EXCLUDED.${ident(compared[0])}` : `(${compared.map((c) => `EXCLUDED.${ident(c)}`).join(', ')})`;
      text += ` ${target} DO UPDATE SET ${sets.join(', ')} WHERE ${before} IS DISTINCT FROM ${after}`;
    }
  }
  // xmax is 0 for a row version created by this INSERT and non-zero for one it updated.
  const flag = mode === 'upsert' && keys.length > 0 ? `(t.xmax = 0) AS ${ident(INSERTED_FLAG)}` : `true AS ${ident(INSERTED_FLAG)}`;
  return `${text} RETURNING ${[flag, ...returning.map((c) => `t.${ident(c)}`)].join(', ')}`;
}

/**
 * `UPDATE ... SET ... WHERE ...` with values bound; `set` is already coerced
 * per column. On a model with an `id`, the matching rows are locked first in
 * id order (`SELECT id ... ORDER BY id FOR UPDATE`), the one order every run
 * takes them in, so overlapping updates of the same rows wait for each other
 * instead of deadlocking.
 */
export function updateSql(
  model: ModelSpec,
  set: Readonly<Record<string, string | number | boolean | null>>,
  where: readonly WhereCondition[],
  returning: readonly string[] = [],
): { text: string; values: unknown[] } {
  const params = new Params();
  const sets = Object.entries(set).map(([c, v]) => `${ident(c)} = ${params.add(v)}::${paramType(model.columns[c])}`);
  if (model.updatedAt && !(model.updatedAt in set)) sets.push(`${ident(model.updatedAt)} = now()`);
  const whereText = whereSql(model, where, params);
  const table = ident(model.table);
  if (!('id' in model.columns)) {
    const ret = returning.length > 0 ? ` RETURNING ${returning.map(ident).join(', ')}` : '';
    return { text: `UPDATE ${table} SET ${sets.join(', ')} ${whereText}${ret}`, values: params.values };
  }
  const ret = returning.length > 0 ? ` RETURNING ${returning.map((c) => `t.${ident(c)}`).join(', ')}` : '';
  const locked = `(SELECT "id" FROM ${table} ${whereText} ORDER BY "id" FOR UPDATE) AS locked`;
  return { text: `UPDATE ${table} AS t SET ${sets.join(', ')} FROM ${locked} WHERE t."id" = locked."id"${ret}`, values: params.values };
}

/** `DELETE FROM ... WHERE ...`; callers refuse an empty `where`. */
export function deleteSql(model: ModelSpec, where: readonly WhereCondition[], returning: readonly string[] = []): { text: string; values: unknown[] } {
  const params = new Params();
  const whereText = whereSql(model, where, params);
  const ret = returning.length > 0 ? ` RETURNING ${returning.map(ident).join(', ')}` : '';
  return { text: `DELETE FROM ${ident(model.table)} ${whereText}${ret}`, values: params.values };
}
