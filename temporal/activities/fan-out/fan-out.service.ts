/**
 * The activities of a fan-out parent (temporal/workflows/fan-out.ts): list
 * the active suppliers or marketplaces to run for, and read how a child that
 * an earlier attempt of the parent started has ended.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { DataSource } from 'typeorm';
import type { FanOutTarget } from '@engine/dsl/fan-out';
import type { FanOutOver } from '@engine/dsl/types';
import { ErrorCodes } from '@engine/shared/contracts';

/** Most rows one parent fans out to: each is a child run with its own history. */
export const MAX_FAN_OUT_TARGETS = 1000;

/** A child's end as its projection row records it. */
export interface ChildRow {
  status: string;
  failed_items_total: number;
  completed_steps: number;
  failed_steps: number;
  skipped_steps: number;
  error_message: string | null;
}

const TABLES: Record<FanOutOver, string> = { suppliers: 'suppliers', marketplaces: 'marketplaces' };

export class FanOutService {
  constructor(private readonly dataSource: DataSource) {}

  /** The active rows of `over` by id (only `ids`, when given): what a parent runs for. */
  async listFanOutTargets(req: { over: FanOutOver; ids: number[] | null }): Promise<FanOutTarget[]> {
    const table = TABLES[req.over];
    if (!table) throw ApplicationFailure.create({ type: ErrorCodes.STEP_CONFIG_INVALID, message: `fan_out.over: unknown table ${String(req.over)}`, nonRetryable: true });
    const rows: Array<{ id: number; code: string; name: string; api_base_url: string | null }> = await this.dataSource.query(
      `SELECT id, code, name, api_base_url FROM ${table}
       WHERE is_active ${req.ids ? 'AND id = ANY($2::int[])' : ''}
       ORDER BY id LIMIT $1`,
      req.ids ? [MAX_FAN_OUT_TARGETS, req.ids] : [MAX_FAN_OUT_TARGETS],
    );
    return rows.map((r) => ({ id: Number(r.id), code: r.code, name: r.name, endpoint: r.api_base_url ?? null }));
  }

  /**
   * How a child started by an earlier attempt of its parent ended (from its
   * row); while it still runs, a retryable failure, so the activity's retries
   * wait for it.
   */
  async fanOutChildOutcome(req: { execution_id: string }): Promise<ChildRow | null> {
    const rows: ChildRow[] = await this.dataSource.query(
      `SELECT status, failed_items_total, completed_steps, failed_steps, skipped_steps, error_message FROM workflow_executions WHERE execution_id = $1`,
      [req.execution_id],
    );
    const row = rows[0];
    if (!row || row.status === 'pending' || row.status === 'running') {
      throw ApplicationFailure.create({ type: ErrorCodes.FAN_OUT_CHILD_RUNNING, message: `child run ${req.execution_id} has not ended yet`, nonRetryable: false });
    }
    return row;
  }
}
