import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { NotFoundError } from '@src/common/errors';
import { offsetOf, pageOf, type Page, type PageRequest } from '@src/common/pagination';
import { ExecutionsService } from '@src/executions/executions.service';
import type { ItemStatus } from '@engine/activities/runtime/item-ledger';

/** One item's outcome in a run's ledger, as the API shows it. */
export interface ItemOutcomeView {
  id: number;
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

interface Row {
  id: string;
  step_key: string;
  item_key: string;
  item_index: number | null;
  status: ItemStatus;
  reason_code: string | null;
  message: string | null;
  attempt: number;
  has_payload: boolean;
  recorded_at: Date;
  payload?: unknown;
}

const COLUMNS = `id, step_key, item_key, item_index, status, reason_code, message, attempt, payload IS NOT NULL AS has_payload, recorded_at`;
/** Rows per query while exporting: the export streams, whatever the ledger's size. */
const EXPORT_CHUNK = 5_000;

/**
 * Reads the per-item ledger (`step_item_outcomes`, written by the worker's
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
    const { where, params } = whereOf(run.execution_id, filter);
    const [rows, total] = await Promise.all([
      this.dataSource.query(
        `SELECT ${COLUMNS} FROM step_item_outcomes WHERE ${where}
          ORDER BY step_key, item_index NULLS LAST, id LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
        [...params, page.page_size, offsetOf(page)],
      ) as Promise<Row[]>,
      this.dataSource.query(`SELECT count(*)::int AS n FROM step_item_outcomes WHERE ${where}`, params) as Promise<Array<{ n: number }>>,
    ]);
    return pageOf(page, total[0]?.n ?? 0, rows.map(view));
  }

  async counts(id: string, filter: Pick<ItemFilter, 'step'> = {}): Promise<ItemCounts> {
    const run = await this.executions.get(id);
    const { where, params } = whereOf(run.execution_id, filter);
    const rows: Array<{ step_key: string; status: ItemStatus; reason_code: string | null; count: number }> = await this.dataSource.query(
      `SELECT step_key, status, reason_code, count(*)::int AS count FROM step_item_outcomes WHERE ${where}
        GROUP BY step_key, status, reason_code ORDER BY count(*) DESC, step_key, status, reason_code`,
      params,
    );
    const by_status: Record<ItemStatus, number> = { ok: 0, invalid: 0, failed: 0, skipped: 0 };
    for (const r of rows) by_status[r.status] += r.count;
    return { by_status, by_reason: rows };
  }

  /** The item kept with one outcome (an item that did not go through). */
  async payload(id: string, itemId: number): Promise<{ id: number; step_key: string; item_key: string; item_index: number | null; item: unknown }> {
    const run = await this.executions.get(id);
    const rows: Array<Row & { payload: unknown }> = await this.dataSource.query(
      `SELECT id, step_key, item_key, item_index, payload FROM step_item_outcomes WHERE execution_id = $1 AND id = $2`,
      [run.execution_id, itemId],
    );
    const row = rows[0];
    if (!row) throw new NotFoundError('Item', String(itemId));
    if (row.payload === null || row.payload === undefined) throw new NotFoundError('Item payload', String(itemId));
    return { id: Number(row.id), step_key: row.step_key, item_key: row.item_key, item_index: row.item_index, item: row.payload };
  }

  /**
   * Every matching outcome, in pages of EXPORT_CHUNK read by keyset (so an
   * export of a million items holds one chunk in memory), with the item
   * itself where it is kept.
   */
  async *export(id: string, filter: ItemFilter): AsyncGenerator<ItemOutcomeView & { item?: unknown }> {
    const run = await this.executions.get(id);
    const { where, params } = whereOf(run.execution_id, filter);
    let after = '0';
    for (;;) {
      const rows: Row[] = await this.dataSource.query(
        `SELECT ${COLUMNS}, payload FROM step_item_outcomes WHERE ${where} AND id > $${params.length + 1} ORDER BY id LIMIT ${EXPORT_CHUNK}`,
        [...params, after],
      );
      for (const r of rows) yield { ...view(r), ...(r.payload !== null && r.payload !== undefined ? { item: r.payload } : {}) };
      if (rows.length < EXPORT_CHUNK) return;
      after = rows[rows.length - 1].id;
    }
  }
}

function whereOf(executionId: string, f: ItemFilter): { where: string; params: unknown[] } {
  const params: unknown[] = [executionId];
  const parts = ['execution_id = $1'];
  if (f.status) parts.push(`status = $${params.push(f.status)}`);
  if (f.step) parts.push(`step_key = $${params.push(f.step)}`);
  if (f.reason) parts.push(`reason_code = $${params.push(f.reason)}`);
  if (f.q) {
    const n = params.push(`%${f.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    parts.push(`(item_key ILIKE $${n} OR reason_code ILIKE $${n} OR message ILIKE $${n})`);
  }
  return { where: parts.join(' AND '), params };
}

function view(r: Row): ItemOutcomeView {
  return {
    id: Number(r.id),
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
