import type { DataSource } from 'typeorm';
import type { RunProjectionEvent, StepProjection } from '@engine/shared/contracts';

const TERMINAL = `('completed', 'failed', 'skipped', 'cancelled')`;

/** A run's step counts from its step rows (a run has tens of steps: cheap, by the execution's index). */
const countsOf = (from: string) => `
  SELECT count(*) FILTER (WHERE status = 'completed' AND role = 'main') AS completed,
         count(*) FILTER (WHERE status = 'failed' AND role = 'main') AS failed,
         count(*) FILTER (WHERE status = 'skipped' AND role = 'main') AS skipped,
         COALESCE(sum(failed_items_total) FILTER (WHERE role = 'main'), 0) AS failed_items,
         (array_agg(step_key ORDER BY started_at DESC) FILTER (WHERE status IN ('running', 'waiting')))[1] AS current
  FROM ${from}`;
const COUNTS_OF_STEPS = countsOf('workflow_step_executions WHERE execution_id = $1');

/**
 * Keeps `workflow_executions` and `workflow_step_executions` current. Every
 * write is an idempotent upsert keyed by execution and step, guarded by the
 * attempt number, so a retried or crashed activity never leaves a duplicate or
 * a stale row: a late write from an older attempt, or a non-final write after
 * a final one, changes nothing.
 */
export class ProjectionService {
  /** Runs the service's own statements as named prepared statements on the pool (see preparedQueryOf). */
  private readonly prepared: PreparedQuery;

  constructor(private readonly dataSource: DataSource) {
    this.prepared = preparedQueryOf(dataSource);
  }

  async projectRun(e: RunProjectionEvent): Promise<void> {
    if (e.kind === 'started') {
      await this.prepared(
        'mf_project_run_started',
        `INSERT INTO workflow_executions
           (execution_id, workflow_id, workflow_version_id, version, temporal_run_id, status, trigger_type, triggered_by,
            input_data, total_steps, started_at, restarted_from, schedule_id, parent_execution_id)
         VALUES ($1, $2, $3, $4, $5, 'running', $6, $7, $8, $9, $10, $11,
                 (SELECT id FROM workflow_schedules WHERE id = $12), $13)
         ON CONFLICT (execution_id) DO UPDATE SET
           status = CASE WHEN workflow_executions.status IN ${TERMINAL} THEN workflow_executions.status ELSE 'running' END,
           temporal_run_id = EXCLUDED.temporal_run_id,
           total_steps = EXCLUDED.total_steps,
           started_at = COALESCE(workflow_executions.started_at, EXCLUDED.started_at),
           restarted_from = COALESCE(workflow_executions.restarted_from, EXCLUDED.restarted_from),
           schedule_id = COALESCE(workflow_executions.schedule_id, EXCLUDED.schedule_id),
           parent_execution_id = COALESCE(workflow_executions.parent_execution_id, EXCLUDED.parent_execution_id),
           updated_at = now()`,
        [
          e.execution_id,
          e.workflow_id,
          e.version_id,
          e.version,
          e.temporal_run_id,
          e.trigger_type,
          e.triggered_by,
          JSON.stringify(e.input ?? {}),
          e.total_steps,
          e.started_at,
          e.restarted_from,
          e.schedule_id ?? null,
          e.parent_execution_id ?? null,
        ],
      );
      return;
    }
    // One statement, one commit: the run's row with its step counts, and the workflow's statistics moved on by this
    // one run (never a re-count of all its runs). Counted once: only when the row was not yet terminal (a retried
    // write, or one after a cancellation recorded by the API, changes nothing).
    await this.prepared(
      'mf_project_run_finished',
      `WITH c AS (${COUNTS_OF_STEPS}), upd AS (
         UPDATE workflow_executions e SET
           status = $2, output_data = $3, error_message = $4, error_details = $5,
           completed_at = $6,
           duration_seconds = EXTRACT(EPOCH FROM ($6::timestamptz - COALESCE(e.started_at, e.created_at))),
           current_step = NULL,
           completed_steps = c.completed, failed_steps = c.failed, skipped_steps = c.skipped,
           failed_items_total = c.failed_items,
           updated_at = now()
         -- The row as it was (locked): RETURNING gives its status before this update.
         FROM c, (SELECT execution_id, status FROM workflow_executions WHERE execution_id = $1 FOR UPDATE) prev
         WHERE e.execution_id = prev.execution_id
         RETURNING e.workflow_id, e.status, e.duration_seconds, e.started_at, prev.status AS prev_status
       )
       UPDATE workflows w SET
         total_executions = w.total_executions + 1,
         successful_executions = w.successful_executions + (upd.status = 'completed')::int,
         failed_executions = w.failed_executions + (upd.status = 'failed')::int,
         average_duration_seconds = CASE
           WHEN upd.status = 'completed' AND upd.duration_seconds IS NOT NULL
             THEN (COALESCE(w.average_duration_seconds, 0) * w.successful_executions + upd.duration_seconds) / (w.successful_executions + 1)
           ELSE w.average_duration_seconds END,
         last_executed_at = GREATEST(w.last_executed_at, upd.started_at)
       FROM upd
       WHERE w.id = upd.workflow_id AND upd.prev_status NOT IN ${TERMINAL}`,
      [e.execution_id, e.status, JSON.stringify(e.output ?? null), e.error_message, e.error_details ? JSON.stringify(e.error_details) : null, e.completed_at],
    );
  }

  /** Authoritative step states from the workflow (skips, cancellations, final failures, restored steps). */
  async projectSteps(req: { rows: StepProjection[] }): Promise<void> {
    if (req.rows.length === 0) return;
    if (req.rows.length === 1) {
      await upsertStep(this.prepared, req.rows[0], true, true);
      return;
    }
    await this.dataSource.transaction(async (m) => {
      for (const row of req.rows) await upsertStep(unnamed(m), row, true);
      await this.refreshCounts(m, req.rows[0].execution_id);
    });
  }

  /** A step's own report from inside its activity: guarded against stale attempts. */
  async reportStep(row: StepProjection & { max_attempts?: number; output_payload_id?: string | null; duration_ms?: number | null }): Promise<void> {
    await upsertStep(this.prepared, row, false, true);
  }

  private async refreshCounts(m: Queryable, executionId: string): Promise<void> {
    await m.query(
      `UPDATE workflow_executions e SET
         completed_steps = c.completed, failed_steps = c.failed, skipped_steps = c.skipped,
         failed_items_total = c.failed_items,
         current_step = CASE WHEN e.status IN ${TERMINAL} THEN NULL ELSE c.current END,
         updated_at = now()
       FROM (${COUNTS_OF_STEPS}) c
       WHERE e.execution_id = $1`,
      [executionId],
    );
  }
}

interface Queryable {
  query(sql: string, params?: unknown[]): Promise<unknown>;
}

/** Runs a statement by name: the same name always comes with the same text. */
type PreparedQuery = (name: string, sql: string, params: unknown[]) => Promise<unknown>;

/** The node-postgres pool under a TypeORM PostgreSQL data source (`driver.master`). */
interface PgPool {
  query(config: { name: string; text: string; values: unknown[] }): Promise<unknown>;
}

/**
 * The projection's writes go straight to the node-postgres pool as named prepared statements: each connection
 * parses and plans a statement once, then sends only its name and parameters (these statements are 2-3 KB of
 * SQL, written once per step), and TypeORM's query-runner bookkeeping is skipped. The statements return no
 * rows the callers read. A data source without a pg pool (another driver, a stub) runs them unnamed through
 * `query` as before. Errors are node-postgres's own (TypeORM wraps the same ones): the outage rider and the
 * API classify both.
 */
function preparedQueryOf(dataSource: DataSource): PreparedQuery {
  return (name, text, values) => {
    // Looked up on each call: the pool exists once the data source is initialized (and is replaced if it is again).
    const pool = dataSource.options?.type === 'postgres' ? ((dataSource as { driver?: { master?: unknown } }).driver?.master as PgPool | undefined) : undefined;
    return pool && typeof pool.query === 'function' ? pool.query({ name, text, values }) : dataSource.query(text, values);
  };
}

/** Inside a transaction: the entity manager's connection, unnamed. */
function unnamed(m: Queryable): PreparedQuery {
  return (_name, sql, params) => m.query(sql, params);
}

/**
 * Upserts one step row. With `withCounts`, the same statement (one round trip,
 * one commit) brings the run's counts up to date: the counts read the other
 * steps' rows and this step's row as the upsert left it (a statement does not
 * see its own writes, so the upserted row comes from RETURNING; when the guard
 * kept the stored row, that one counts).
 */
async function upsertStep(
  run: PreparedQuery,
  row: StepProjection & { max_attempts?: number; output_payload_id?: string | null; duration_ms?: number | null },
  authoritative: boolean,
  withCounts = false,
): Promise<void> {
  const variant = `mf_upsert_step_${authoritative ? 'a' : 'r'}${withCounts ? 'c' : ''}`;
  const sql = (upsertSql[variant] ??= upsertStepSql(authoritative, withCounts));
  await run(variant, sql, upsertParams(row));
}

/** The statements of upsertStep by variant, built once. */
const upsertSql: Record<string, string> = {};

function upsertStepSql(authoritative: boolean, withCounts: boolean): string {
  // Activity reports never overwrite a final state, nor a newer attempt.
  const guard = authoritative
    ? ''
    : `WHERE workflow_step_executions.status NOT IN ${TERMINAL} AND workflow_step_executions.attempt <= EXCLUDED.attempt`;
  const upsert = `INSERT INTO workflow_step_executions
       (execution_id, step_key, step_name, step_type, role, status, attempt, max_attempts, output_summary, output_payload_id,
        error_message, error_details, started_at, completed_at, duration_ms, failed_items_total, failed_items)
     VALUES ($1, $2, $3, $4, $15, $5, $6, $7, $8, $9, $10, $11, $12, $13,
             COALESCE($14, (EXTRACT(EPOCH FROM ($13::timestamptz - $12::timestamptz)) * 1000)::int),
             COALESCE($16, 0), $17)
     ON CONFLICT (execution_id, step_key) DO UPDATE SET
       status = EXCLUDED.status,
       attempt = GREATEST(workflow_step_executions.attempt, EXCLUDED.attempt),
       max_attempts = COALESCE(EXCLUDED.max_attempts, workflow_step_executions.max_attempts),
       output_summary = COALESCE(EXCLUDED.output_summary, workflow_step_executions.output_summary),
       output_payload_id = COALESCE(EXCLUDED.output_payload_id, workflow_step_executions.output_payload_id),
       error_message = EXCLUDED.error_message,
       error_details = COALESCE(EXCLUDED.error_details, workflow_step_executions.error_details),
       -- Only the step's own reports know its failed items; the workflow's writes leave them as they are.
       failed_items_total = CASE WHEN $16::int IS NULL THEN workflow_step_executions.failed_items_total ELSE EXCLUDED.failed_items_total END,
       failed_items = CASE WHEN $16::int IS NULL THEN workflow_step_executions.failed_items ELSE EXCLUDED.failed_items END,
       started_at = COALESCE(workflow_step_executions.started_at, EXCLUDED.started_at),
       completed_at = EXCLUDED.completed_at,
       duration_ms = COALESCE(EXCLUDED.duration_ms,
         (EXTRACT(EPOCH FROM (EXCLUDED.completed_at - COALESCE(workflow_step_executions.started_at, EXCLUDED.started_at))) * 1000)::int),
       updated_at = now()
     ${guard}`;
  return withCounts
    ? `WITH up AS (${upsert} RETURNING step_key, status, role, failed_items_total, started_at),
       steps AS (
         SELECT step_key, status, role, failed_items_total, started_at FROM workflow_step_executions
         WHERE execution_id = $1 AND step_key <> ALL (SELECT step_key FROM up)
         UNION ALL SELECT step_key, status, role, failed_items_total, started_at FROM up
       )
       UPDATE workflow_executions e SET
         completed_steps = c.completed, failed_steps = c.failed, skipped_steps = c.skipped,
         failed_items_total = c.failed_items,
         current_step = CASE WHEN e.status IN ${TERMINAL} THEN NULL ELSE c.current END,
         updated_at = now()
       FROM (${countsOf('steps')}) c
       WHERE e.execution_id = $1`
    : upsert;
}

function upsertParams(row: StepProjection & { max_attempts?: number; output_payload_id?: string | null; duration_ms?: number | null }): unknown[] {
  return [
    row.execution_id,
    row.step_key,
    row.step_name,
    row.step_type,
    row.status,
    row.attempt,
    row.max_attempts ?? null,
    row.output_summary ? JSON.stringify(row.output_summary) : null,
    row.output_payload_id ?? null,
    row.error_message ?? null,
    row.error_details ? JSON.stringify(row.error_details) : null,
    row.started_at ?? null,
    row.completed_at ?? null,
    row.duration_ms ?? null,
    row.role ?? 'main',
    row.failed_items_total ?? null,
    row.failed_items && row.failed_items.length > 0 ? JSON.stringify(row.failed_items) : null,
  ];
}

/** Recomputes a workflow's statistics from its executions (idempotent, unlike counters). */
export async function refreshWorkflowStatistics(m: Queryable, workflowId: number): Promise<void> {
  await m.query(
    `UPDATE workflows w SET
       total_executions = s.total, successful_executions = s.ok, failed_executions = s.failed,
       average_duration_seconds = s.avg_duration, last_executed_at = s.last_at
     FROM (
       SELECT count(*) AS total,
              count(*) FILTER (WHERE status = 'completed') AS ok,
              count(*) FILTER (WHERE status = 'failed') AS failed,
              avg(duration_seconds) FILTER (WHERE status = 'completed') AS avg_duration,
              max(started_at) AS last_at
       FROM workflow_executions WHERE workflow_id = $1
     ) s
     WHERE w.id = $1`,
    [workflowId],
  );
}
