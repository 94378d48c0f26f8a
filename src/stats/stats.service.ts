import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';

export interface StatsFilter {
  workflow_id?: number;
  created_after?: Date;
  created_before?: Date;
}

export interface RunStats {
  runs: number;
  completed: number;
  failed: number;
  cancelled: number;
  in_progress: number;
  /** Completed runs with items that failed after their retries (counted in `completed` too). */
  completed_with_failures: number;
  /** Failed items over all runs. */
  failed_items: number;
  /** completed / finished (completed + failed + cancelled); null before any run finished. */
  success_rate: number | null;
  /** Over completed runs. */
  average_duration_seconds: number | null;
  p50_duration_seconds: number | null;
  p95_duration_seconds: number | null;
}

export interface WorkflowStats extends RunStats {
  workflow_id: number;
  code: string;
  name: string;
  failures_by_step: Array<{ step_key: string; failures: number }>;
}

/** One step of one workflow: how long its finished executions took and how often they failed. */
export interface StepStats {
  workflow_id: number;
  workflow_code: string;
  step_key: string;
  step_type: string;
  /** Finished executions of the step (completed + failed) in the window. */
  executions: number;
  failures: number;
  /** failures / executions. */
  failure_rate: number;
  /** Attempts beyond the first, summed (Temporal retries). */
  retries: number;
  /** Over completed executions (the step row's duration: its last attempt). */
  p50_duration_seconds: number | null;
  p95_duration_seconds: number | null;
  p99_duration_seconds: number | null;
  max_duration_seconds: number | null;
}

interface StepRow {
  workflow_id: number;
  step_key: string;
  step_type: string;
  executions: string;
  failures: string;
  retries: string;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
}

/** How many steps the bottleneck view lists. */
export const SLOWEST_STEPS = 10;

interface AggRow {
  workflow_id: number | null;
  runs: string;
  completed: string;
  failed: string;
  cancelled: string;
  in_progress: string;
  completed_with_failures: string;
  failed_items: string;
  avg: string | null;
  p50: number | null;
  p95: number | null;
}

/**
 * Statistics from the execution projection: runs, success rate, average and
 * percentile durations (percentile_cont in SQL), failures by step; per
 * workflow and overall, optionally within a creation window.
 */
@Injectable()
export class StatsService {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async compute(filter: StatsFilter = {}): Promise<{
    overall: RunStats & { failures_by_step: Array<{ workflow_id: number; workflow_code: string; step_key: string; failures: number }> };
    workflows: WorkflowStats[];
    steps: StepStats[];
    slowest_steps: StepStats[];
  }> {
    const params = [filter.created_after ?? null, filter.created_before ?? null, filter.workflow_id ?? null];
    const where = `($1::timestamptz IS NULL OR e.created_at >= $1) AND ($2::timestamptz IS NULL OR e.created_at < $2) AND ($3::int IS NULL OR e.workflow_id = $3)`;
    const rows: AggRow[] = await this.dataSource.query(
      `SELECT e.workflow_id,
              count(*) AS runs,
              count(*) FILTER (WHERE e.status = 'completed') AS completed,
              count(*) FILTER (WHERE e.status = 'failed') AS failed,
              count(*) FILTER (WHERE e.status = 'cancelled') AS cancelled,
              count(*) FILTER (WHERE e.status IN ('pending', 'running')) AS in_progress,
              count(*) FILTER (WHERE e.status = 'completed' AND e.failed_items_total > 0) AS completed_with_failures,
              COALESCE(sum(e.failed_items_total), 0) AS failed_items,
              avg(e.duration_seconds) FILTER (WHERE e.status = 'completed') AS avg,
              percentile_cont(0.5) WITHIN GROUP (ORDER BY e.duration_seconds) FILTER (WHERE e.status = 'completed') AS p50,
              percentile_cont(0.95) WITHIN GROUP (ORDER BY e.duration_seconds) FILTER (WHERE e.status = 'completed') AS p95
       FROM workflow_executions e
       WHERE ${where}
       GROUP BY ROLLUP (e.workflow_id)
       ORDER BY e.workflow_id NULLS FIRST`,
      params,
    );
    const failures: Array<{ workflow_id: number; step_key: string; failures: string }> = await this.dataSource.query(
      `SELECT e.workflow_id, s.step_key, count(*) AS failures
       FROM workflow_step_executions s JOIN workflow_executions e ON e.execution_id = s.execution_id
       WHERE s.status = 'failed' AND s.role = 'main' AND ${where}
       GROUP BY e.workflow_id, s.step_key
       ORDER BY count(*) DESC, e.workflow_id, s.step_key`,
      params,
    );
    const stepRows: StepRow[] = await this.dataSource.query(
      `SELECT e.workflow_id, s.step_key, min(s.step_type) AS step_type,
              count(*) AS executions,
              count(*) FILTER (WHERE s.status = 'failed') AS failures,
              COALESCE(sum(GREATEST(s.attempt - 1, 0)), 0) AS retries,
              percentile_cont(0.5) WITHIN GROUP (ORDER BY s.duration_ms) FILTER (WHERE s.status = 'completed') / 1000.0 AS p50,
              percentile_cont(0.95) WITHIN GROUP (ORDER BY s.duration_ms) FILTER (WHERE s.status = 'completed') / 1000.0 AS p95,
              percentile_cont(0.99) WITHIN GROUP (ORDER BY s.duration_ms) FILTER (WHERE s.status = 'completed') / 1000.0 AS p99,
              max(s.duration_ms) FILTER (WHERE s.status = 'completed') / 1000.0 AS max
       FROM workflow_step_executions s JOIN workflow_executions e ON e.execution_id = s.execution_id
       WHERE s.status IN ('completed', 'failed') AND s.role = 'main' AND ${where}
       GROUP BY e.workflow_id, s.step_key
       ORDER BY e.workflow_id, s.step_key`,
      params,
    );
    const ids = [...new Set([...rows.filter((r) => r.workflow_id !== null).map((r) => r.workflow_id as number), ...stepRows.map((r) => r.workflow_id)])];
    const names: Array<{ id: number; code: string; name: string }> = ids.length
      ? await this.dataSource.query(`SELECT id, code, name FROM workflows WHERE id = ANY($1::int[])`, [ids])
      : [];
    const byId = new Map(names.map((n) => [n.id, n]));
    const overallRow = rows.find((r) => r.workflow_id === null);
    const overall = {
      ...toStats(overallRow),
      failures_by_step: failures.slice(0, 50).map((f) => ({
        workflow_id: f.workflow_id,
        workflow_code: byId.get(f.workflow_id)?.code ?? '',
        step_key: f.step_key,
        failures: Number(f.failures),
      })),
    };
    const workflows = rows
      .filter((r) => r.workflow_id !== null)
      .map((r) => ({
        workflow_id: r.workflow_id as number,
        code: byId.get(r.workflow_id as number)?.code ?? '',
        name: byId.get(r.workflow_id as number)?.name ?? '',
        ...toStats(r),
        failures_by_step: failures.filter((f) => f.workflow_id === r.workflow_id).map((f) => ({ step_key: f.step_key, failures: Number(f.failures) })),
      }));
    const opt = (v: number | string | null) => (v === null ? null : Math.round(Number(v) * 1000) / 1000);
    const steps: StepStats[] = stepRows.map((r) => {
      const executions = Number(r.executions);
      const failuresN = Number(r.failures);
      return {
        workflow_id: r.workflow_id,
        workflow_code: byId.get(r.workflow_id)?.code ?? '',
        step_key: r.step_key,
        step_type: r.step_type,
        executions,
        failures: failuresN,
        failure_rate: executions > 0 ? Math.round((failuresN / executions) * 10000) / 10000 : 0,
        retries: Number(r.retries),
        p50_duration_seconds: opt(r.p50),
        p95_duration_seconds: opt(r.p95),
        p99_duration_seconds: opt(r.p99),
        max_duration_seconds: opt(r.max),
      };
    });
    // The bottleneck view: steps by p95 duration, slowest first.
    const slowest = steps
      .filter((st) => st.p95_duration_seconds !== null)
      .sort((a, b) => b.p95_duration_seconds! - a.p95_duration_seconds! || a.workflow_id - b.workflow_id || a.step_key.localeCompare(b.step_key))
      .slice(0, SLOWEST_STEPS);
    return { overall, workflows, steps, slowest_steps: slowest };
  }
}

function toStats(r: AggRow | undefined): RunStats {
  const n = (v: string | number | null | undefined) => (v === null || v === undefined ? 0 : Number(v));
  const opt = (v: string | number | null | undefined) => (v === null || v === undefined ? null : Math.round(Number(v) * 1000) / 1000);
  const completed = n(r?.completed);
  const finished = completed + n(r?.failed) + n(r?.cancelled);
  return {
    runs: n(r?.runs),
    completed,
    failed: n(r?.failed),
    cancelled: n(r?.cancelled),
    in_progress: n(r?.in_progress),
    completed_with_failures: n(r?.completed_with_failures),
    failed_items: n(r?.failed_items),
    success_rate: finished > 0 ? Math.round((completed / finished) * 10000) / 10000 : null,
    average_duration_seconds: opt(r?.avg),
    p50_duration_seconds: opt(r?.p50),
    p95_duration_seconds: opt(r?.p95),
  };
}
