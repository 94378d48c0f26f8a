/**
 * Config of a `database_query` step.
 *
 * Every identifier (model, columns in `record_mapping`, `set`, `where`,
 * `order_by`, `fields`, `returning`) must be in the model allow-list
 * ({@link DATABASE_MODELS}); values may be literals or references (`$input.x`,
 * `$steps.fetch.ids`, and per item `$`, `$field`).
 *
 * @example Insert the step input as source data (the specification's config)
 * { "query_type": "insert", "model": "SourceData",
 *   "record_mapping": { "source_type": "supplier_product", "raw_data": "$" } }
 * @example Upsert keyed by the model's conflict keys, skipping unchanged rows
 * { "query_type": "upsert", "model": "SourceData", "items_field": "products", "batch_size": 1000,
 *   "record_mapping": { "source_type": "supplier_product", "supplier_id": "$input.supplier_id",
 *                       "external_id": "$sku", "raw_data": "$" } }
 * @example Select
 * { "query_type": "select", "model": "SourceData", "fields": ["id", "external_id", "raw_data"],
 *   "where": [{ "field": "status", "operator": "equals", "value": "new" },
 *             { "field": "raw_data.price", "operator": "gt", "value": 10 }],
 *   "order_by": "created_at desc", "limit": 500 }
 * @example Update (per item: one UPDATE per input item, references bound to it)
 * { "query_type": "update", "model": "SourceData", "per_item": true,
 *   "where": [{ "field": "id", "value": "$id" }], "set": { "status": "processed" } }
 * @example A named domain operation (see ./operations: stock reservations, the product import, ...)
 * { "query_type": "operation", "operation": "reserve_inventory",
 *   "params": { "marketplace_id": "$config.marketplace_id", "orders": "$.items" } }
 * @example Read-only raw SQL (only when the worker enables it)
 * { "query_type": "raw", "sql": "SELECT source_type, count(*) FROM source_data WHERE created_at > $1 GROUP BY 1",
 *   "params": ["$input.since"] }
 */
import { z } from 'zod';
import { defineStepConfig } from '@engine/activities/runtime/executor';
import type { ConfigValidator } from '@engine/dsl/types';
import { isReference } from '@engine/dsl/references';
import { DATABASE_MODELS, assertModels, fieldTarget, hasColumn, hasModel, writableColumns, type ModelRegistry, type ModelSpec } from './models';
import { normalizeOperator, UNARY_OPERATORS, type OrderTerm, type WhereCondition } from './sql';
import { checkRawSql } from './raw-sql';
import { coerceValue } from './values';
import { DATABASE_OPERATIONS, hasOperation } from '@src/commerce/operations';
import { zodIssues, type ConfigIssue } from '@engine/activities/shared/config-issues';

export const QUERY_TYPES = ['select', 'insert', 'upsert', 'update', 'delete', 'raw', 'operation'] as const;
export type QueryType = (typeof QUERY_TYPES)[number];

/** Defaults and bounds. */
export const DATABASE_QUERY_LIMITS = {
  batchSize: { default: 1000, max: 10_000 },
  selectLimit: { default: 1000, max: 100_000 },
  updateMaxRows: { default: 10_000 },
  deleteMaxRows: { default: 1000 },
  rawMaxRows: { default: 1000, max: 100_000 },
  rawTimeoutMs: { default: 30_000, min: 100, max: 600_000 },
} as const;

export type { ConfigIssue };

const reference = z.string().refine((s) => isReference(s), { message: 'must be a reference like "$input.x"' });
/** A value of `schema`, or a whole-string reference resolved at run time. */
const refOr = <T extends z.ZodType>(schema: T, what: string) => z.union([schema, reference], { error: `must be ${what} or a reference like "$input.x"` });
const count = (min: number, max: number) => refOr(z.number().int().min(min).max(max), `an integer from ${min} to ${max}`);
const name = z.string().min(1).max(200);

const whereItem = z.strictObject({ field: name, operator: z.string().optional(), value: z.unknown().optional() });
const whereSchema = z.union([z.array(whereItem).max(50), z.record(z.string(), z.unknown())], {
  error: 'must be a list of {field, operator, value} or an object of field: value',
});
const orderSchema = z.union([name, z.array(z.union([name, z.strictObject({ field: name, direction: z.enum(['asc', 'desc']).optional() })])).max(10)], {
  error: 'must be "field [asc|desc]" or a list of them',
});
const columns = z.array(name).max(100);
const common = { description: z.string().optional(), input: z.unknown().optional() };

const insertShape = {
  ...common,
  model: name.describe('an allow-listed model, e.g. SourceData'),
  record_mapping: z.record(z.string(), z.unknown()).describe('column: value, per item ("$sku", "$" for the whole item)'),
  items_field: name.optional(),
  batch_size: count(1, DATABASE_QUERY_LIMITS.batchSize.max).optional(),
  on_invalid: z.enum(['fail', 'skip']).optional(),
  returning: columns.optional(),
};

const schemas = {
  insert: z.strictObject({ query_type: z.literal('insert'), ...insertShape }),
  upsert: z.strictObject({ query_type: z.literal('upsert'), ...insertShape }),
  select: z.strictObject({
    query_type: z.literal('select'),
    ...common,
    model: name.describe('an allow-listed model, e.g. SourceData'),
    fields: columns.optional(),
    where: whereSchema.optional().describe('[{field, operator, value}] or {field: value}'),
    order_by: orderSchema.optional(),
    limit: count(1, DATABASE_QUERY_LIMITS.selectLimit.max).optional(),
    offset: count(0, Number.MAX_SAFE_INTEGER).optional(),
  }),
  update: z.strictObject({
    query_type: z.literal('update'),
    ...common,
    model: name.describe('an allow-listed model, e.g. SourceData'),
    where: whereSchema,
    set: z.record(z.string(), z.unknown()),
    per_item: z.boolean().optional(),
    items_field: name.optional(),
    max_rows: count(1, Number.MAX_SAFE_INTEGER).optional(),
    returning: columns.optional(),
  }),
  delete: z.strictObject({
    query_type: z.literal('delete'),
    ...common,
    model: name.describe('an allow-listed model, e.g. SourceData'),
    where: whereSchema,
    max_rows: count(1, Number.MAX_SAFE_INTEGER).optional(),
    returning: columns.optional(),
  }),
  operation: z.strictObject({
    query_type: z.literal('operation'),
    ...common,
    operation: z.string({ error: 'is required: the name of a database operation' }).min(1).max(100).describe('a named domain operation, e.g. reserve_inventory'),
    params: z.record(z.string(), z.unknown(), { error: 'must be an object of the operation\'s parameters' }).optional(),
  }),
  raw: z.strictObject({
    query_type: z.literal('raw'),
    ...common,
    sql: z.string().min(1).max(100_000).describe('read-only SQL with $1, $2 parameters (only when the worker enables raw SQL)'),
    params: z.union([z.array(z.unknown()).max(1000), reference]).optional(),
    max_rows: count(1, DATABASE_QUERY_LIMITS.rawMaxRows.max).optional(),
    statement_timeout_ms: count(DATABASE_QUERY_LIMITS.rawTimeoutMs.min, DATABASE_QUERY_LIMITS.rawTimeoutMs.max).optional(),
  }),
} satisfies Record<QueryType, z.ZodType>;

/** What editors are shown: one shape per `query_type` (the allow-list of models and columns is checked by the validator). */
const publishedSchema = z.discriminatedUnion('query_type', [schemas.select, schemas.insert, schemas.upsert, schemas.update, schemas.delete, schemas.raw, schemas.operation]);

/** True for values only known at run time: references and templates. */
function isDynamic(v: unknown): boolean {
  return typeof v === 'string' && v.includes('$');
}

/** `where` in either written form, as a list of conditions with normalised operators (unknown ones reported). */
export function normalizeWhere(where: unknown, issues?: ConfigIssue[]): WhereCondition[] {
  if (where === undefined || where === null) return [];
  const list: Array<{ field: string; operator?: string; value?: unknown }> = Array.isArray(where)
    ? where
    : Object.entries(where as Record<string, unknown>).map(([field, value]) => ({ field, value }));
  return list.map((c, i) => {
    const operator = normalizeOperator(c.operator ?? 'equals');
    if (!operator) issues?.push({ field: `where[${i}].operator`, message: `unknown operator ${JSON.stringify(c.operator)}` });
    return { field: c.field, operator: operator ?? 'equals', value: c.value };
  });
}

/** `order_by` in any written form, as terms. */
export function normalizeOrder(order: unknown): OrderTerm[] {
  if (order === undefined || order === null) return [];
  const list = Array.isArray(order) ? order : [order];
  return list.map((t: string | { field: string; direction?: 'asc' | 'desc' }) => {
    if (typeof t !== 'string') return { field: t.field, direction: t.direction ?? 'asc' };
    const m = /^\s*(-)?(\S+?)(?:\s+(asc|desc))?\s*$/i.exec(t);
    if (!m) return { field: t, direction: 'asc' };
    return { field: m[2], direction: m[1] ? 'desc' : ((m[3]?.toLowerCase() as 'asc' | 'desc' | undefined) ?? 'asc') };
  });
}

/** Allow-list checks the shape schema cannot express. */
function allowListIssues(type: QueryType, config: Record<string, unknown>, models: ModelRegistry): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (type === 'operation') {
    if (!hasOperation(config.operation)) {
      return [{ field: 'operation', message: `unknown operation ${JSON.stringify(config.operation)}; allowed: ${Object.keys(DATABASE_OPERATIONS).join(', ')}` }];
    }
    const parsed = DATABASE_OPERATIONS[config.operation].params('definition').safeParse(config.params ?? {});
    return parsed.success ? [] : zodIssues(parsed.error).map((i) => ({ field: i.field === 'config' ? 'params' : `params.${i.field}`, message: i.message }));
  }
  if (type === 'raw') {
    const checked = checkRawSql(config.sql as string);
    if ('error' in checked) issues.push({ field: 'sql', message: checked.error });
    return issues;
  }
  const modelName = config.model as string;
  if (!hasModel(models, modelName)) {
    return [{ field: 'model', message: `unknown model ${JSON.stringify(modelName)}; allowed: ${Object.keys(models).join(', ')}` }];
  }
  const model: ModelSpec = models[modelName];
  const writable = new Set(writableColumns(model));
  const checkColumns = (field: string, list: unknown) => {
    (list as string[] | undefined)?.forEach((c, i) => {
      if (!hasColumn(model, c)) issues.push({ field: `${field}[${i}]`, message: `unknown column ${JSON.stringify(c)} of ${modelName}` });
    });
  };
  const checkWritable = (field: string, values: Record<string, unknown>) => {
    for (const [col, v] of Object.entries(values)) {
      if (!hasColumn(model, col)) issues.push({ field: `${field}.${col}`, message: `unknown column of ${modelName}` });
      else if (!writable.has(col)) issues.push({ field: `${field}.${col}`, message: `column ${col} of ${modelName} is managed by the engine and cannot be written` });
      else if (!isDynamic(v)) {
        const c = coerceValue(model.columns[col], v);
        if (!c.ok) issues.push({ field: `${field}.${col}`, message: c.message });
      }
    }
  };
  const checkWhere = (required: boolean) => {
    const conds = normalizeWhere(config.where, issues);
    if (required && conds.length === 0) issues.push({ field: 'where', message: `${type} needs at least one condition` });
    conds.forEach((c, i) => {
      const t = fieldTarget(model, c.field);
      if (!t) {
        issues.push({ field: `where[${i}].field`, message: `unknown field ${JSON.stringify(c.field)} of ${modelName}` });
        return;
      }
      if (UNARY_OPERATORS.has(c.operator) || isDynamic(c.value) || c.value === null || c.value === undefined || t.kind === 'json') return;
      const values = c.operator === 'in' || c.operator === 'not_in' ? (Array.isArray(c.value) ? c.value : null) : [c.value];
      if (values === null) issues.push({ field: `where[${i}].value`, message: `operator ${c.operator} needs a list` });
      for (const v of values ?? []) {
        const r = isDynamic(v) ? { ok: true } : coerceValue(model.columns[t.column], v, false);
        if (!r.ok) issues.push({ field: `where[${i}].value`, message: (r as { message: string }).message });
      }
    });
  };

  if (type === 'insert' || type === 'upsert') {
    const mapping = config.record_mapping as Record<string, unknown>;
    checkWritable('record_mapping', mapping);
    const derived = new Set([model.contentHash?.column].filter(Boolean));
    for (const col of model.required ?? []) {
      if (!(col in mapping) && !derived.has(col)) issues.push({ field: `record_mapping.${col}`, message: `is required for ${modelName}` });
    }
    if (type === 'upsert' && (model.conflictKeys ?? []).length === 0) {
      issues.push({ field: 'query_type', message: `${modelName} has no conflict keys, so it cannot be upserted` });
    }
    checkColumns('returning', config.returning);
  }
  if (type === 'select') {
    checkColumns('fields', config.fields);
    checkWhere(false);
    normalizeOrder(config.order_by).forEach((t, i) => {
      if (!fieldTarget(model, t.field)) issues.push({ field: `order_by[${i}]`, message: `unknown field ${JSON.stringify(t.field)} of ${modelName}` });
    });
  }
  if (type === 'update') {
    const set = config.set as Record<string, unknown>;
    if (Object.keys(set).length === 0) issues.push({ field: 'set', message: 'needs at least one column' });
    checkWritable('set', set);
    checkWhere(true);
    checkColumns('returning', config.returning);
  }
  if (type === 'delete') {
    if (!model.allowDelete) issues.push({ field: 'query_type', message: `${modelName} does not allow delete` });
    checkWhere(true);
    checkColumns('returning', config.returning);
  }
  return issues;
}

/**
 * Builds the validator for a model registry (the built-in one by default).
 * Shape first, then the allow-list; every issue names its field.
 */
export function createDatabaseQueryValidator(models: ModelRegistry = DATABASE_MODELS): ConfigValidator {
  assertModels(models);
  return (config) => {
    const type = config.query_type;
    if (typeof type !== 'string' || !(QUERY_TYPES as readonly string[]).includes(type)) {
      return [{ field: 'query_type', message: `must be one of ${QUERY_TYPES.join(', ')}` }];
    }
    const parsed = schemas[type as QueryType].safeParse(config);
    if (!parsed.success) return zodIssues(parsed.error);
    return allowListIssues(type as QueryType, config, models);
  };
}

/** Validates a `database_query` config against the built-in models. */
export const validateDatabaseQueryConfig: ConfigValidator = createDatabaseQueryValidator();

/** Step type id of `database_query`. */
export const DATABASE_QUERY_STEP_TYPE = 'database_query';

/** The `database_query` step type as the API knows it: its id, config validator and schema. */
export const databaseQueryConfig = defineStepConfig(DATABASE_QUERY_STEP_TYPE, validateDatabaseQueryConfig, { schema: publishedSchema });
