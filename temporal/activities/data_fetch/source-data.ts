/**
 * Reading the source_data table for `data_fetch` with `source_type:
 * "source_data"`. Filters become bound parameters; column names come from a
 * fixed list, never from configuration text.
 */
import { StepError } from '@engine/activities/shared/errors';
import { DATA_FETCH_DEFAULTS, type SourceDataSettings } from '@engine/activities/data_fetch/schema';
import { ErrorCodes } from '@engine/shared/contracts';

/** Position after the last row of an incremental fetch: rows are read in (updated_at, id) order. */
export interface SourceDataWatermark {
  /** updated_at with microseconds, UTC (`2025-01-01T00:00:00.123456Z`). */
  updated_at: string;
  id: string;
}

const ORDER_COLUMNS: Record<string, string> = { id: 'id', created_at: 'created_at', updated_at: 'updated_at' };

const COLUMNS = [
  'id',
  'source_type',
  'source_name',
  'external_id',
  'supplier_id',
  'marketplace_id',
  'raw_data',
  'content_hash',
  'status',
  'execution_id',
  'step_key',
  'created_at',
  'updated_at',
];

const asList = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

/**
 * The SELECT for a source_data fetch, with `$n` placeholders and their values.
 *
 * @example buildSourceDataQuery({ filters: { status: 'new' }, limit: 10 }) // { sql: 'SELECT ... WHERE status = ANY($1::text[]) ORDER BY id ASC LIMIT $2', params: [['new'], 10] }
 */
export function buildSourceDataQuery(settings: SourceDataSettings, watermark: SourceDataWatermark | null = null): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const where: string[] = [];
  const bind = (value: unknown): string => {
    params.push(value);
    return `$${params.length}`;
  };
  const f = settings.filters ?? {};
  if (f.source_type !== undefined) where.push(`source_type = ANY(${bind(asList(f.source_type))}::text[])`);
  if (f.status !== undefined) where.push(`status = ANY(${bind(asList(f.status))}::text[])`);
  const supplier = f.supplier_id ?? settings.supplier_id;
  if (supplier !== undefined) where.push(`supplier_id = ANY(${bind(asList(supplier))}::int[])`);
  const marketplace = f.marketplace_id ?? settings.marketplace_id;
  if (marketplace !== undefined) where.push(`marketplace_id = ANY(${bind(asList(marketplace))}::int[])`);
  if (f.external_ids !== undefined) where.push(`external_id = ANY(${bind(f.external_ids)}::text[])`);
  if (f.execution_id !== undefined) where.push(`execution_id = ${bind(f.execution_id)}`);
  if (f.since !== undefined) {
    const since = Date.parse(f.since);
    if (Number.isNaN(since)) throw new StepError(ErrorCodes.STEP_CONFIG_INVALID, 'config.filters.since: must be an ISO 8601 timestamp', { details: { field: 'filters.since' } });
    where.push(`updated_at >= ${bind(new Date(since).toISOString())}::timestamptz`);
  }

  let order: string;
  if (settings.incremental) {
    if (watermark) where.push(`(updated_at, id) > (${bind(watermark.updated_at)}::timestamptz, ${bind(watermark.id)}::bigint)`);
    order = 'updated_at ASC, id ASC';
  } else {
    const spec = settings.order_by ?? DATA_FETCH_DEFAULTS.order_by;
    const desc = spec.startsWith('-');
    const column = ORDER_COLUMNS[desc ? spec.slice(1) : spec];
    if (!column) throw new StepError(ErrorCodes.STEP_CONFIG_INVALID, `config.order_by: unknown column ${JSON.stringify(spec)}`, { details: { field: 'order_by' } });
    const dir = desc ? 'DESC' : 'ASC';
    order = column === 'id' ? `id ${dir}` : `${column} ${dir}, id ${dir}`;
  }
  const limit = bind(settings.limit ?? DATA_FETCH_DEFAULTS.limit);
  const sql =
    `SELECT ${COLUMNS.join(', ')}, to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS updated_at_exact ` +
    `FROM source_data${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${order} LIMIT ${limit}`;
  return { sql, params };
}

/** Encodes a watermark as the stored cursor text. */
export function encodeWatermark(w: SourceDataWatermark): string {
  return JSON.stringify({ updated_at: w.updated_at, id: w.id });
}

/** Decodes a stored cursor; null (start from the beginning) when there is none. */
export function decodeWatermark(text: string | null): SourceDataWatermark | null {
  if (text === null || text === '') return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = null;
  }
  const w = parsed as Partial<SourceDataWatermark> | null;
  if (!w || typeof w.updated_at !== 'string' || Number.isNaN(Date.parse(w.updated_at)) || typeof w.id !== 'string' || !/^\d+$/.test(w.id)) {
    throw new StepError(ErrorCodes.CURSOR_INVALID, 'the stored cursor is not a source_data watermark (was the key used by another kind of fetch?)');
  }
  return { updated_at: w.updated_at, id: w.id };
}

/** A row as JSON: timestamps as ISO strings, the exact-watermark helper column dropped. */
export function rowToJson(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of COLUMNS) {
    const v = row[c];
    out[c] = v instanceof Date ? v.toISOString() : v;
  }
  return out;
}
