/**
 * `database_query`: select, insert, upsert, update and delete on allow-listed
 * models (see ./models.ts), named domain operations (./operations), plus
 * opt-in read-only raw SQL.
 *
 * Writes are idempotent under Temporal retries: insert conflicts on the
 * model's unique key with DO NOTHING and upsert rewrites a row only when its
 * content changed, so a retried attempt converges on the same rows. A model
 * without conflict keys gets plain INSERTs, which are at-least-once.
 */
import type { PoolClient, QueryConfig, QueryResult } from 'pg';
import { getPath, isPlainObject, readsItemFields } from '@engine/dsl/references';
import { isPagedRef } from '@engine/dsl/types';
import { defineExecutor, type ExecutorImplementation, type ExecutorDeps, type StepExecutionContext } from '@engine/activities/runtime/executor';
import { StepError } from '@engine/activities/shared/errors';
import { failedItemsOf, itemKeyGuess } from '@engine/activities/shared/item-failures';
import { inputShapeError, requireObjectItems } from '@engine/activities/shared/input-shape';
import { DATABASE_MODELS, assertModels, type ModelRegistry, type ModelSpec } from './models';
import { coerceValue, sha256Hex } from './values';
import { deleteSql, INSERTED_FLAG, QueryConfigError, selectSql, updateSql, writeSql, type WhereCondition } from './sql';
import { checkRawSql, wrapRawSql } from './raw-sql';
import { createDatabaseQueryValidator, DATABASE_QUERY_LIMITS, normalizeOrder, normalizeWhere, type QueryType, DATABASE_QUERY_STEP_TYPE, databaseQueryConfig } from './schema';
import { DATABASE_OPERATIONS } from '@src/commerce/operations';
import { CommerceOperationsService } from '@src/commerce/commerce-operations.service';
import { configError, zodIssues } from '@engine/activities/shared/config-issues';
import { ErrorCodes } from '@engine/shared/contracts';

/** Runs `fn` in one transaction on `client` (rolled back when it throws). */
async function inTransaction<T>(client: PoolClient, fn: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const result = await fn();
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

export interface DatabaseQueryOptions {
  /** The allow-list; the built-in models by default. */
  models?: ModelRegistry;
  /** Whether `query_type: "raw"` may run (read-only). Off unless the worker enables it. */
  rawSqlEnabled?: boolean;
}

/** Per-row problems kept in the output (the rest are only counted). */
const MAX_REPORTED_ERRORS = 100;
/** Rows per transaction for per-item updates. */
const PER_ITEM_CHUNK = 1000;

interface RowError {
  index: number;
  field: string;
  message: string;
}

type Row = Array<string | number | boolean | null>;

/** Output of insert/upsert/update/delete. */
export interface WriteResult {
  query_type: QueryType;
  model: string;
  total: number;
  inserted: number;
  updated: number;
  unchanged: number;
  deleted?: number;
  duplicates?: number;
  invalid?: number;
  unmatched?: number;
  errors?: RowError[];
  rows?: Record<string, unknown>[];
}

/** Output of select and raw. */
export interface SelectResult {
  query_type: 'select' | 'raw';
  model?: string;
  count: number;
  rows: Record<string, unknown>[];
}


/**
 * Maps a Postgres error to a StepError: data and constraint violations,
 * syntax and permission errors are not retryable; connection loss,
 * deadlocks, serialisation failures and timeouts are.
 */
export function databaseError(err: unknown): unknown {
  if (err instanceof StepError || err instanceof QueryConfigError) return err;
  const e = err as { code?: unknown; message?: string };
  const sqlstate = typeof e?.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) ? e.code : null;
  if (!sqlstate) return err;
  const message = `database: ${e.message ?? 'error'} (SQLSTATE ${sqlstate})`;
  const details = { sqlstate };
  if (sqlstate === '25006') return new StepError(ErrorCodes.RAW_SQL_REJECTED, message, { details });
  if (/^(22|23|25|42|2F|0A|44)/.test(sqlstate)) return new StepError(ErrorCodes.DB_QUERY_REJECTED, message, { details });
  if (sqlstate === '57014') return new StepError(ErrorCodes.DB_TIMEOUT, message, { retryable: true, details });
  return new StepError(ErrorCodes.DB_ERROR, message, { retryable: true, details });
}

/**
 * Builds the executor. Exported with options so tests and future wiring can
 * pass another allow-list or enable raw SQL explicitly.
 */
function build(deps: ExecutorDeps, options: DatabaseQueryOptions = {}): ExecutorImplementation {
  const models = options.models ?? DATABASE_MODELS;
  assertModels(models);
  const validate = createDatabaseQueryValidator(models);
  const rawSqlEnabled = options.rawSqlEnabled ?? false;
  const commerce = new CommerceOperationsService(deps.dataSource);

  /** One pooled connection for the whole step, released whatever happens. */
  async function withClient<T>(fn: (client: PoolClient) => Promise<T>): Promise<T> {
    const qr = deps.dataSource.createQueryRunner();
    try {
      const client = (await qr.connect()) as PoolClient;
      return await fn(client);
    } catch (err) {
      throw databaseError(err);
    } finally {
      await qr.release();
    }
  }

  return {
    // The allow-list is this executor's own (its models option): the runner validates with it.
    validateConfig: validate,

    async execute(config, ctx) {
      const type = config.query_type as QueryType;
      try {
        if (type === 'raw') return await runRaw(config, ctx);
        if (type === 'operation') return await runOperation(config, ctx);
        const model = models[config.model as string];
        switch (type) {
          case 'select':
            return await runSelect(model, config, ctx);
          case 'insert':
          case 'upsert':
            return await runWrite(type, model, config, ctx);
          case 'update':
            return await runUpdate(model, config, ctx);
          case 'delete':
            return await runDelete(model, config, ctx);
        }
      } catch (err) {
        if (err instanceof QueryConfigError) throw configError(err.field, err.reason);
        throw err;
      }
    },

    // An operation that reads paged lists page by page (import_products) gets them as references.
    readsPages: (config) => config.query_type === 'operation' && (DATABASE_OPERATIONS[config.operation as string]?.pagedParams?.length ?? 0) > 0,

    // Operations that act per item (record_listings) list the items they could not do.
    failedItems: (output) => failedItemsOf(output),

    summarize(output) {
      if (!isPlainObject(output)) return {};
      const keep = ['query_type', 'model', 'operation', 'total', 'inserted', 'updated', 'unchanged', 'deleted', 'duplicates', 'invalid', 'count'];
      return Object.fromEntries(Object.entries(output).filter(([k, v]) => keep.includes(k) && v !== undefined));
    },
  };

  /** A named operation: params resolved against the run (`$` is the step input), checked again, then run on one connection. */
  async function runOperation(config: Record<string, unknown>, ctx: StepExecutionContext): Promise<Record<string, unknown>> {
    const op = DATABASE_OPERATIONS[config.operation as string];
    const input = stepInput(config, ctx);
    const resolved = ctx.resolve(config.params ?? {}, input);
    // Paged lists stay references (the operation reads them page by page); the schema checks them as lists.
    const paged = new Map<string, unknown>();
    if (op.pagedParams && isPlainObject(resolved)) {
      for (const k of op.pagedParams) if (isPagedRef(resolved[k])) paged.set(k, resolved[k]);
    }
    const parsed = op.params('runtime').safeParse(paged.size === 0 ? resolved : { ...(resolved as Record<string, unknown>), ...Object.fromEntries([...paged.keys()].map((k) => [k, []])) });
    if (!parsed.success) {
      const issues = zodIssues(parsed.error).map((i) => ({ field: i.field === 'config' ? 'params' : `params.${i.field}`, message: i.message }));
      throw new StepError(ErrorCodes.STEP_CONFIG_INVALID, `operation ${op.name}: ${issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`, { details: { issues } });
    }
    let result: Record<string, unknown>;
    try {
      result = await commerce.run(op.name, { ...(parsed.data as Record<string, unknown>), ...Object.fromEntries(paged) }, ctx);
    } catch (err) {
      throw databaseError(err);
    }
    return { query_type: 'operation', operation: op.name, ...result };
  }

  async function runSelect(model: ModelSpec, config: Record<string, unknown>, ctx: StepExecutionContext): Promise<SelectResult> {
    const input = stepInput(config, ctx);
    const where = resolveWhere(config.where, input, ctx);
    const sql = selectSql(model, {
      fields: (config.fields as string[] | undefined) ?? [],
      where,
      orderBy: normalizeOrder(config.order_by),
      limit: intOption(config.limit, 'limit', DATABASE_QUERY_LIMITS.selectLimit.default, 1, DATABASE_QUERY_LIMITS.selectLimit.max, input, ctx),
      offset: intOption(config.offset, 'offset', 0, 0, Number.MAX_SAFE_INTEGER, input, ctx),
    });
    const res = await withClient((c) => c.query(sql.text, sql.values));
    return { query_type: 'select', model: config.model as string, count: res.rows.length, rows: res.rows };
  }

  async function runWrite(mode: 'insert' | 'upsert', model: ModelSpec, config: Record<string, unknown>, ctx: StepExecutionContext): Promise<WriteResult> {
    const input = stepInput(config, ctx);
    const items = itemsOf(input, config.items_field as string | undefined, readsItemFields(config.record_mapping) ? 'record_mapping reads fields of each item' : undefined);
    const batchSize = intOption(config.batch_size, 'batch_size', DATABASE_QUERY_LIMITS.batchSize.default, 1, DATABASE_QUERY_LIMITS.batchSize.max, input, ctx);
    const mapping = config.record_mapping as Record<string, unknown>;
    const returning = (config.returning as string[] | undefined) ?? [];
    const plan = writePlan(model, Object.keys(mapping));

    // Resolve and check every row before writing any, so a bad record fails the step without a partial write.
    const errors: RowError[] = [];
    let invalid = 0;
    const invalidIndexes = new Set<number>();
    const unique = new Map<string, Row>();
    let keyless = 0;
    for (let i = 0; i < items.length; i++) {
      const resolved = ctx.resolve(mapping, items[i]) as Record<string, unknown>;
      const built = buildRow(model, plan, resolved, ctx);
      if ('errors' in built) {
        invalid++;
        invalidIndexes.add(i);
        for (const e of built.errors) if (errors.length < MAX_REPORTED_ERRORS) errors.push({ index: i, ...e });
        ctx.items?.record({
          key: itemKeyGuess(items[i], i),
          index: i,
          status: 'invalid',
          code: 'INVALID_RECORD',
          message: built.errors.map((e) => `${e.field}: ${e.message}`).join('; '),
          item: items[i],
        });
        continue;
      }
      // Later items win over earlier ones with the same key: one statement may not touch a row twice.
      const key = plan.dedupe ? JSON.stringify(plan.keyIndexes.map((k) => built.row[k])) : String(keyless++);
      unique.delete(key);
      unique.set(key, built.row);
    }
    if (invalid > 0 && config.on_invalid !== 'skip') {
      const first = errors.slice(0, 5).map((e) => `item ${e.index} ${e.field}: ${e.message}`);
      throw new StepError(ErrorCodes.VALIDATION_FAILED, `${invalid} of ${items.length} records are invalid: ${first.join('; ')}${invalid > 5 ? '; …' : ''}`, {
        details: { invalid, errors: errors.slice(0, 20) },
      });
    }

    // Written in conflict-key order, the same in every run, so overlapping upserts of the same rows never deadlock.
    const rows = plan.dedupe ? [...unique.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, r]) => r) : [...unique.values()];
    const text = writeSql(model, plan.columns, mode, returning);
    const counts = { inserted: 0, updated: 0, unchanged: 0 };
    const written: Record<string, unknown>[] = [];
    await withClient(async (client) => {
      for (let start = 0; start < rows.length; start += batchSize) {
        const batch = rows.slice(start, start + batchSize);
        // One array per column: unnest() turns them back into rows.
        const params = plan.columns.map((_, ci) => batch.map((r) => r[ci]));
        const res: QueryResult<Record<string, unknown>> = await client.query(text, params);
        for (const r of res.rows) {
          if (r[INSERTED_FLAG]) counts.inserted++;
          else counts.updated++;
          if (returning.length > 0) {
            const { [INSERTED_FLAG]: _flag, ...rest } = r;
            written.push(rest);
          }
        }
        counts.unchanged += batch.length - res.rows.length;
        ctx.heartbeat({ written: Math.min(start + batchSize, rows.length), total: rows.length });
      }
    });
    // Every record that was valid is written (inserted, updated or unchanged; a later duplicate won over an earlier one).
    if (ctx.items) for (let i = 0; i < items.length; i++) if (!invalidIndexes.has(i)) ctx.items.record({ key: itemKeyGuess(items[i], i), index: i, status: 'ok' });
    return {
      query_type: mode,
      model: config.model as string,
      total: items.length,
      ...counts,
      duplicates: items.length - invalid - rows.length,
      invalid,
      ...(errors.length > 0 ? { errors } : {}),
      ...(returning.length > 0 ? { rows: written } : {}),
    };
  }

  /** `{ done, updated, unmatched }` from a per-item update's checkpoint for the same items, else null. */
  function updateCheckpoint(checkpoint: unknown, total: number): { done: number; updated: number; unmatched: number } | null {
    const c = checkpoint as { done?: unknown; total?: unknown; updated?: unknown; unmatched?: unknown } | undefined;
    if (!c || c.total !== total || typeof c.done !== 'number' || typeof c.updated !== 'number' || typeof c.unmatched !== 'number') return null;
    return { done: c.done, updated: c.updated, unmatched: c.unmatched };
  }

  async function runUpdate(model: ModelSpec, config: Record<string, unknown>, ctx: StepExecutionContext): Promise<WriteResult> {
    const input = stepInput(config, ctx);
    const maxRows = intOption(config.max_rows, 'max_rows', DATABASE_QUERY_LIMITS.updateMaxRows.default, 1, Number.MAX_SAFE_INTEGER, input, ctx);
    const returning = (config.returning as string[] | undefined) ?? [];
    const statementFor = (item: unknown) => {
      const set = buildSet(model, ctx.resolve(config.set, item) as Record<string, unknown>, ctx);
      return updateSql(model, set, resolveWhere(config.where, item, ctx), returning);
    };
    const reads = readsItemFields(config.set) || readsItemFields(config.where) ? 'set / where read fields of each item' : undefined;
    const items = config.per_item ? itemsOf(input, config.items_field as string | undefined, reads) : [input];
    // A retried attempt resumes after the last chunk an earlier one committed (its heartbeat checkpoint);
    // not when rows are returned, which the checkpoint does not carry.
    const resume = returning.length === 0 ? updateCheckpoint(ctx.checkpoint, items.length) : null;
    let updated = resume?.updated ?? 0;
    let unmatched = resume?.unmatched ?? 0;
    const rows: Record<string, unknown>[] = [];
    await withClient(async (client) => {
      for (let start = resume?.done ?? 0; start < items.length; start += PER_ITEM_CHUNK) {
        await inTransaction(client, async () => {
          for (const item of items.slice(start, start + PER_ITEM_CHUNK)) {
            const sql = statementFor(item);
            const res = await client.query(sql.text, sql.values);
            const n = res.rowCount ?? 0;
            guardRows(n, maxRows, 'update');
            updated += n;
            if (n === 0) unmatched++;
            if (returning.length > 0) rows.push(...res.rows);
          }
        });
        ctx.heartbeat({ done: Math.min(start + PER_ITEM_CHUNK, items.length), total: items.length, updated, unmatched });
      }
    });
    return {
      query_type: 'update',
      model: config.model as string,
      total: items.length,
      inserted: 0,
      updated,
      unchanged: 0,
      ...(config.per_item ? { unmatched } : {}),
      ...(returning.length > 0 ? { rows } : {}),
    };
  }

  async function runDelete(model: ModelSpec, config: Record<string, unknown>, ctx: StepExecutionContext): Promise<WriteResult> {
    const input = stepInput(config, ctx);
    const maxRows = intOption(config.max_rows, 'max_rows', DATABASE_QUERY_LIMITS.deleteMaxRows.default, 1, Number.MAX_SAFE_INTEGER, input, ctx);
    const returning = (config.returning as string[] | undefined) ?? [];
    const where = resolveWhere(config.where, input, ctx);
    if (where.length === 0) throw configError('where', 'delete needs at least one condition');
    const sql = deleteSql(model, where, returning);
    const res = await withClient((client) =>
      inTransaction(client, async () => {
        const r = await client.query(sql.text, sql.values);
        // Over the limit: roll back rather than delete more than the author expected.
        guardRows(r.rowCount ?? 0, maxRows, 'delete');
        return r;
      }),
    );
    const deleted = res.rowCount ?? 0;
    return {
      query_type: 'delete',
      model: config.model as string,
      total: deleted,
      inserted: 0,
      updated: 0,
      unchanged: 0,
      deleted,
      ...(returning.length > 0 ? { rows: res.rows } : {}),
    };
  }

  async function runRaw(config: Record<string, unknown>, ctx: StepExecutionContext): Promise<SelectResult> {
    if (!rawSqlEnabled) {
      throw new StepError(ErrorCodes.RAW_SQL_DISABLED, 'raw SQL is disabled on this worker; enable read-only raw queries with DATABASE_QUERY_RAW_SQL=true');
    }
    const checked = checkRawSql(config.sql as string);
    if ('error' in checked) throw configError('sql', checked.error);
    const input = stepInput(config, ctx);
    const resolved = config.params === undefined ? [] : ctx.resolve(config.params, input);
    if (!Array.isArray(resolved)) throw configError('params', 'must resolve to a list');
    // Objects travel as JSON text; scalars and arrays as pg binds them.
    const params = resolved.map((p) => (isPlainObject(p) ? JSON.stringify(p) : p));
    if (checked.maxPlaceholder !== params.length) {
      throw configError('params', `the statement uses ${checked.maxPlaceholder} placeholder(s) but ${params.length} param(s) were given`);
    }
    const maxRows = intOption(config.max_rows, 'max_rows', DATABASE_QUERY_LIMITS.rawMaxRows.default, 1, DATABASE_QUERY_LIMITS.rawMaxRows.max, input, ctx);
    const timeout = intOption(
      config.statement_timeout_ms,
      'statement_timeout_ms',
      DATABASE_QUERY_LIMITS.rawTimeoutMs.default,
      DATABASE_QUERY_LIMITS.rawTimeoutMs.min,
      DATABASE_QUERY_LIMITS.rawTimeoutMs.max,
      input,
      ctx,
    );
    const text = wrapRawSql(checked.sql, params.length + 1);
    const res = await withClient(async (client) => {
      await client.query('BEGIN TRANSACTION READ ONLY');
      try {
        await client.query(`SELECT set_config('statement_timeout', $1, true)`, [String(timeout)]);
        // The extended protocol carries exactly one statement: Postgres itself refuses a second one.
        return await client.query({ text, values: [...params, maxRows], queryMode: 'extended' } as QueryConfig);
      } finally {
        // Rolling back also undoes any session setting the query changed; session advisory locks survive a rollback.
        await client.query('ROLLBACK').catch(() => undefined);
        await client.query('SELECT pg_advisory_unlock_all()').catch(() => undefined);
      }
    }).catch((err: unknown) => {
      // Whatever Postgres refused (a write in a read-only transaction, a statement the wrapper cannot hold) is a refusal of the raw query.
      if (err instanceof StepError && err.code === ErrorCodes.DB_QUERY_REJECTED) throw new StepError(ErrorCodes.RAW_SQL_REJECTED, err.message, { details: err.info });
      throw err;
    });
    return { query_type: 'raw', count: res.rows.length, rows: res.rows };
  }
}

function guardRows(n: number, maxRows: number, what: string): void {
  if (n > maxRows) {
    throw new StepError(ErrorCodes.ROW_LIMIT_EXCEEDED, `${what} would touch ${n} rows, more than max_rows ${maxRows}; nothing was changed by that statement`, {
      details: { rows: n, max_rows: maxRows },
    });
  }
}

/** The step's input: `config.input` when it names one, else what the interpreter passed. */
function stepInput(config: Record<string, unknown>, ctx: StepExecutionContext): unknown {
  return config.input !== undefined ? ctx.resolve(config.input) : ctx.input;
}

/**
 * The records to write: the input list, a list under `items_field`, or a single
 * object as one record. With `reads` (what of the config reads item fields),
 * every record must be an object.
 *
 * @throws StepError `STEP_INPUT_INVALID` for any other shape.
 */
export function itemsOf(input: unknown, itemsField: string | undefined, reads?: string): unknown[] {
  const value = itemsField ? getPath(input, itemsField) : input;
  const items = ((): unknown[] => {
    if (Array.isArray(value)) return value;
    if ((value === undefined || value === null) && !itemsField) return [];
    if (isPlainObject(value) && !itemsField) return [value];
    throw inputShapeError({
      expected: itemsField ? 'a list of records (items_field)' : 'a list of records or one record (an object)',
      got: value,
      path: itemsField,
      hint: isPlainObject(input) ? `the input's fields are ${Object.keys(input).slice(0, 10).join(', ')}; set items_field to the one holding the list` : undefined,
    });
  })();
  if (reads) requireObjectItems(items, reads, itemsField);
  return items;
}

/** An integer option that may be a reference, checked after resolution. */
function intOption(value: unknown, field: string, fallback: number, min: number, max: number, input: unknown, ctx: StepExecutionContext): number {
  if (value === undefined || value === null) return fallback;
  const v = ctx.resolve(value, input);
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) throw configError(field, `must be an integer from ${min} to ${max}`);
  return n;
}

/** `where` with its values resolved against the run and `item`. */
function resolveWhere(where: unknown, item: unknown, ctx: StepExecutionContext): WhereCondition[] {
  return normalizeWhere(where).map((c) => ({ ...c, value: ctx.resolve(c.value, item) }));
}

/** Which columns a write binds, and where derived values go. */
interface WritePlan {
  columns: string[];
  mapped: string[];
  /** Compute the content hash column from `contentHash.of`. */
  hashIndex: number | null;
  hashSourceIndex: number | null;
  /** Fill this column with `prefix + hash` when it is null. */
  fallbackIndex: number | null;
  lineage: { execution: number; step: number } | null;
  /** Rows with equal conflict-key values are merged (the last wins). */
  dedupe: boolean;
  keyIndexes: number[];
}

export function writePlan(model: ModelSpec, mapped: string[]): WritePlan {
  const columns = [...mapped];
  const add = (c: string) => (columns.includes(c) ? columns.indexOf(c) : columns.push(c) - 1);
  const hash = model.contentHash;
  const hashSourceIndex = hash && mapped.includes(hash.of) ? mapped.indexOf(hash.of) : null;
  const hashIndex = hash && hashSourceIndex !== null ? add(hash.column) : null;
  const fallbackIndex = model.identityFallback && hashSourceIndex !== null ? add(model.identityFallback.column) : null;
  const lineage = model.lineage ? { execution: add(model.lineage.executionId), step: add(model.lineage.stepKey) } : null;
  // Unbound key columns are NULL in every row, so only bound ones tell rows apart.
  const keyIndexes = (model.conflictKeys ?? []).filter((k) => columns.includes(k)).map((k) => columns.indexOf(k));
  return { columns, mapped, hashIndex, hashSourceIndex, fallbackIndex, lineage, dedupe: (model.conflictKeys ?? []).length > 0, keyIndexes };
}

/** One record's values in plan order, or what is wrong with it. */
function buildRow(model: ModelSpec, plan: WritePlan, resolved: Record<string, unknown>, ctx: StepExecutionContext): { row: Row } | { errors: Array<{ field: string; message: string }> } {
  const row: Row = new Array(plan.columns.length).fill(null);
  const errors: Array<{ field: string; message: string }> = [];
  plan.mapped.forEach((col, i) => {
    const c = coerceValue(model.columns[col], resolved[col]);
    if (c.ok) row[i] = c.value;
    else errors.push({ field: col, message: c.message });
  });
  for (const col of model.required ?? []) {
    const i = plan.columns.indexOf(col);
    if (i >= 0 && i < plan.mapped.length && row[i] === null && !errors.some((e) => e.field === col)) errors.push({ field: col, message: 'is required' });
  }
  if (errors.length > 0) return { errors };
  if (plan.hashIndex !== null && plan.hashSourceIndex !== null) {
    // The jsonb value is already canonical JSON, so hashing it hashes the document.
    const source = row[plan.hashSourceIndex];
    if (row[plan.hashIndex] === null && source !== null) row[plan.hashIndex] = sha256Hex(String(source));
    if (plan.fallbackIndex !== null && row[plan.fallbackIndex] === null && row[plan.hashIndex] !== null) {
      row[plan.fallbackIndex] = `${model.identityFallback!.prefix}${row[plan.hashIndex]}`;
    }
  }
  if (plan.lineage) {
    row[plan.lineage.execution] = ctx.execution_id;
    row[plan.lineage.step] = ctx.step_key;
  }
  return { row };
}

/** `set` values coerced per column, with the content hash and lineage kept current. */
function buildSet(model: ModelSpec, set: Record<string, unknown>, ctx: StepExecutionContext): Record<string, string | number | boolean | null> {
  const out: Record<string, string | number | boolean | null> = {};
  for (const [col, v] of Object.entries(set)) {
    const c = coerceValue(model.columns[col], v);
    if (!c.ok) throw new QueryConfigError(`set.${col}`, c.message);
    out[col] = c.value;
  }
  const hash = model.contentHash;
  if (hash && hash.of in out && !(hash.column in out)) out[hash.column] = out[hash.of] === null ? null : sha256Hex(String(out[hash.of]));
  if (model.lineage) {
    out[model.lineage.executionId] = ctx.execution_id;
    out[model.lineage.stepKey] = ctx.step_key;
  }
  return out;
}

/** The `database_query` step executor: its config (type and validator, from schema.ts) and its factory. */
export { DATABASE_QUERY_STEP_TYPE };

export const databaseQueryExecutorModule = defineExecutor<DatabaseQueryOptions>({
  config: databaseQueryConfig,
  // Raw SQL as the worker's configuration says (DATABASE_QUERY_RAW_SQL), unless the options say otherwise.
  create: (deps, options) => build(deps, { rawSqlEnabled: deps.config.databaseQueryRawSql, ...options }),
});

/** Builds the executor for a worker (tests pass options). */
export const createDatabaseQueryExecutor = databaseQueryExecutorModule.create;
