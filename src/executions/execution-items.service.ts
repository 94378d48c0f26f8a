import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { NotFoundError } from '@src/common/errors';
import { offsetOf, pageOf, type Page, type PageRequest } from '@src/common/pagination';
import { ExecutionsService } from '@src/executions/executions.service';
import type { ItemStatus } from '@engine/activities/runtime/item-ledger';

/** One item's outcome in a run's ledger, as the API shows it. */
export interface ItemOutcomeView {
  /** `<batch>-<position>`: names the outcome for `GET .../items/{id}/payload/`. */
  id: string;
  step_key: string;
  item_key: string;
  item_index: number | null;
  status: ItemStatus;
  reason_code: string | null;
  message: string | null;
  attempt: number;
  /** Whether the item itself is kept (items that did not go through): `GET .../items/{id}/payload/`. */
  has_payload: boolean;
  recorded_at: string;
}

/** Which ledger rows: by status, step, and a text match on the key, reason or message. */
export interface ItemFilter {
  status?: ItemStatus;
  step?: string;
  /** Case-insensitive substring of the item key, reason code or message. */
  q?: string;
  /** Only these reason codes. */
  reason?: string;
}

/** Counts of a run's items by step, status and reason. */
export interface ItemCounts {
  by_status: Record<ItemStatus, number>;
  by_reason: Array<{ step_key: string; status: ItemStatus; reason_code: string | null; count: number }>;
}

/** A row of the LATEST query: the view's fields as PostgreSQL returns them. */
type Row = Omit<ItemOutcomeView, 'id' | 'recorded_at'> & { item_id: string; recorded_at: Date; payload?: unknown };

const COLUMNS = `item_id, step_key, item_key, item_index, status, reason_code, message, attempt, payload IS NOT NULL AS has_payload, recorded_at`;
/** Items per query while exporting: the export streams, whatever the ledger's size. */
const EXPORT_CHUNK = 10_000;

/**
 * Each item's latest outcome in a run (one row per step and item), from the
 * ledger's batches: every batch unnested (its `items`, one element per
 * outcome, and its `ok_runs`, runs of consecutive ok items as
 * `[first index, [keys]]`), and of an item recorded by several attempts, the
 * last attempt's outcome. An outcome of a run is numbered after the batch's
 * `items` (its position past them: `<batch>-<n>` names it all the same).
 */
export const LATEST = (stepFilter: string) => `
  SELECT DISTINCT ON (b.step_key, u.ref)
         b.id::text || '-' || u.ord AS item_id, b.step_key, u.ref, u.item_key, u.item_index, u.status,
         u.reason_code, u.message, b.attempt, u.payload, b.recorded_at
    FROM item_outcome_batches b
   CROSS JOIN LATERAL (
         SELECT e.ord, e.v->>0 AS item_key, (e.v->>1)::int AS item_index, e.v->>2 AS status, e.v->>3 AS reason_code, e.v->>4 AS message,
                CASE WHEN json_typeof(e.v->5) = 'null' THEN NULL ELSE (e.v->5)::jsonb END AS payload,
                COALESCE('#' || (e.v->>1), 'k:' || (e.v->>0)) AS ref
           FROM json_array_elements(b.items) WITH ORDINALITY AS e(v, ord)
         UNION ALL
         SELECT json_array_length(b.items) + 1 + (r.v->>0)::bigint + k.ord - 1 - (b.ok_runs->0->>0)::bigint, k.key, (r.v->>0)::int + k.ord::int - 1, 'ok', NULL, NULL,
                NULL::jsonb, '#' || ((r.v->>0)::int + k.ord::int - 1)
           FROM json_array_elements(b.ok_runs) AS r(v)
          CROSS JOIN LATERAL json_array_elements_text(r.v->1) WITH ORDINALITY AS k(key, ord)
          WHERE b.ok_runs IS NOT NULL) u
   WHERE b.execution_id = $1 ${stepFilter}
   ORDER BY b.step_key, u.ref, b.attempt DESC, b.id DESC`;

const ORDER = `ORDER BY step_key, item_index NULLS LAST, item_key, item_id`;

/**
 * Reads the per-item ledger (`item_outcome_batches`, written by the worker's
 * step runner): pages, counts by reason, exports, and single items' payloads.
 */
@Injectable()
export class ExecutionItemsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly executions: ExecutionsService,
  ) {}

  async list(id: string, filter: ItemFilter, page: PageRequest): Promise<Page<ItemOutcomeView>> {
    const run = await this.executions.get(id);
    const { from, where, params } = queryOf(run.execution_id, filter);
    // One pass over the run's outcomes: the page and, beside each row, how many match in all.
    const rows: Array<Row & { total: number }> = await this.dataSource.query(
      `SELECT ${COLUMNS}, count(*) OVER ()::int AS total FROM ${from} i WHERE ${where} ${ORDER} LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
      [...params, page.page_size, offsetOf(page)],
    );
    // A page past the end has no row to carry the total: count on their own then.
    const total =
      rows[0]?.total ?? (offsetOf(page) === 0 ? 0 : ((await this.dataSource.query(`SELECT count(*)::int AS n FROM ${from} i WHERE ${where}`, params)) as Array<{ n: number }>)[0].n);
    return pageOf(page, total, rows.map(view));
  }

  async counts(id: string, filter: Pick<ItemFilter, 'step'> = {}): Promise<ItemCounts> {
    const run = await this.executions.get(id);
    const { from, where, params } = queryOf(run.execution_id, filter);
    const rows: Array<{ step_key: string; status: ItemStatus; reason_code: string | null; count: number }> = await this.dataSource.query(
      `SELECT step_key, status, reason_code, count(*)::int AS count FROM ${from} i WHERE ${where}
        GROUP BY step_key, status, reason_code ORDER BY count(*) DESC, step_key, status, reason_code`,
      params,
    );
    const by_status: Record<ItemStatus, number> = { ok: 0, invalid: 0, failed: 0, skipped: 0 };
    for (const r of rows) by_status[r.status] += r.count;
    return { by_status, by_reason: rows };
  }

  /** The item kept with one outcome (an item that did not go through); `itemId` is the outcome's `id`. */
  async payload(id: string, itemId: string): Promise<{ id: string; step_key: string; item_key: string; item_index: number | null; item: unknown }> {
    const run = await this.executions.get(id);
    const [batch, position] = itemId.split('-').map(Number);
    const rows: Array<{ step_key: string; item_key: string | null; item_index: number | null; payload: unknown }> = await this.dataSource.query(
      `SELECT step_key, items->($3::int - 1)->>0 AS item_key, (items->($3::int - 1)->>1)::int AS item_index,
              CASE WHEN json_typeof(items->($3::int - 1)->5) = 'null' THEN NULL ELSE (items->($3::int - 1)->5)::jsonb END AS payload
         FROM item_outcome_batches WHERE execution_id = $1 AND id = $2 AND item_count >= $3`,
      [run.execution_id, batch, position],
    );
    const row = rows[0];
    if (!row) throw new NotFoundError('Item', itemId);
    // Past the batch's `items`: an ok item of its `ok_runs`, which keeps no payload.
    if (row.item_key === null || row.payload === null || row.payload === undefined) throw new NotFoundError('Item payload', itemId);
    return { id: itemId, step_key: row.step_key, item_key: row.item_key, item_index: row.item_index, item: row.payload };
  }

  /**
   * Every matching outcome, EXPORT_CHUNK at a time (so an export of a
   * million items holds one chunk in memory), with the item itself where it
   * is kept.
   */
  async *export(id: string, filter: ItemFilter): AsyncGenerator<ItemOutcomeView & { item?: unknown }> {
    const run = await this.executions.get(id);
    const { from, where, params } = queryOf(run.execution_id, filter);
    for (let offset = 0; ; offset += EXPORT_CHUNK) {
      const rows: Row[] = await this.dataSource.query(`SELECT ${COLUMNS}, payload FROM ${from} i WHERE ${where} ${ORDER} LIMIT ${EXPORT_CHUNK} OFFSET $${params.length + 1}`, [
        ...params,
        offset,
      ]);
      for (const r of rows) yield { ...view(r), ...(r.payload !== null && r.payload !== undefined ? { item: r.payload } : {}) };
      if (rows.length < EXPORT_CHUNK) return;
    }
  }
}

/** The latest outcomes of a run's items (`from`, aliased `i` by the caller) and the filter on them. */
function queryOf(executionId: string, f: ItemFilter): { from: string; where: string; params: unknown[] } {
  const params: unknown[] = [executionId];
  // The step narrows the batches read; the other filters apply to the items.
  const stepFilter = f.step ? `AND b.step_key = $${params.push(f.step)}` : '';
  const parts = ['true'];
  if (f.status) parts.push(`i.status = $${params.push(f.status)}`);
  if (f.reason) parts.push(`i.reason_code = $${params.push(f.reason)}`);
  if (f.q) {
    const n = params.push(`%${f.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    parts.push(`(i.item_key ILIKE $${n} OR i.reason_code ILIKE $${n} OR i.message ILIKE $${n})`);
  }
  return { from: `(${LATEST(stepFilter)})`, where: parts.join(' AND '), params };
}

function view(r: Row): ItemOutcomeView {
  return {
    id: r.item_id,
    step_key: r.step_key,
    item_key: r.item_key,
    item_index: r.item_index,
    status: r.status,
    reason_code: r.reason_code,
    message: r.message,
    attempt: r.attempt,
    has_payload: r.has_payload,
    recorded_at: new Date(r.recorded_at).toISOString(),
  };
}

/** The CSV columns of an export. */
export const ITEM_CSV_COLUMNS = ['step_key', 'item_key', 'item_index', 'status', 'reason_code', 'message', 'attempt', 'recorded_at'] as const;

/** One CSV line (RFC 4180 quoting; a leading =, +, - or @ is prefixed with ' so a spreadsheet never runs it as a formula). */
export function csvLine(values: unknown[]): string {
  return (
    values
      .map((v) => {
        if (v === null || v === undefined) return '';
        let s = String(v);
        if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
        return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
      })
      .join(',') + '\r\n'
  );
}
