import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { APP_CONFIG } from '@src/config/config.module';
import { TEMPORAL_CLIENT } from '@src/core/tokens';
import type { Client } from '@temporalio/client';
import type { DataSource } from 'typeorm';
import { outcomeOf, progressQuery, type FailedItemRecord, type RunProgress, type StepProgress } from '@engine/shared/contracts';
import type { AppConfig } from '@src/config/config';
import { AppError, ConflictError } from '@src/common/errors';
import { offsetOf, pageOf, type Page, type PageRequest } from '@src/common/pagination';
import { WorkflowExecution, WorkflowStepExecution, type TriggerType } from '@src/executions/execution.entity';
import { ExecutionsService } from '@src/executions/executions.service';
import type { ApprovalDecision } from '@engine/shared/contracts';

export interface ExecutionFilter {
  /** Workflow id or code. */
  workflow?: string;
  status?: string;
  /** A status, or `completed_with_failures`; `completed` then means completed without failed items. */
  outcome?: string;
  trigger_type?: TriggerType;
  schedule?: number;
  /** Children of this fan-out parent (its execution_id). */
  parent?: string;
  created_after?: Date;
  created_before?: Date;
}

/** One child of a fan-out parent, as its detail lists it. */
export interface ExecutionChild {
  id: number;
  execution_id: string;
  status: string;
  outcome: string;
  /** `supplier` / `marketplace` and its id (from the child's input). */
  kind: string | null;
  target_id: number | null;
  supplier_id: number | null;
  marketplace_id: number | null;
  failed_items_total: number;
  error_message: string | null;
  started_at: Date | null;
  completed_at: Date | null;
}

/** Most children a parent's detail lists (`GET /executions/?parent=` pages through all). */
const MAX_CHILDREN_SHOWN = 1000;

export interface ExecutionSummary {
  id: number;
  execution_id: string;
  workflow_id: number;
  workflow_code: string | null;
  workflow_name: string | null;
  version: number;
  status: string;
  /** `status`, except `completed_with_failures` for a completed run with failed items. */
  outcome: string;
  trigger_type: string;
  triggered_by: string | null;
  schedule_id: number | null;
  restarted_from: string | null;
  /** The fan-out parent that started this run, if any. */
  parent_execution_id: string | null;
  total_steps: number;
  completed_steps: number;
  failed_steps: number;
  skipped_steps: number;
  /** Items its steps could not process after their retries. */
  failed_items_total: number;
  current_step: string | null;
  progress_percent: number;
  error_message: string | null;
  started_at: Date | null;
  completed_at: Date | null;
  duration_seconds: number | null;
  created_at: Date;
  temporal_ui_url: string;
}

const LIVE = new Set(['pending', 'running']);
/** How many failed items a run's detail lists (each step row keeps its first few; the totals count all). */
const MAX_FAILED_ITEMS_SHOWN = 100;
const STEP_FINAL = new Set(['completed', 'failed', 'skipped', 'cancelled']);

/**
 * The read side of runs for the API and the CLI: filtered lists from the
 * projection, and one run's detail with live progress from Temporal while it
 * runs. Also the checks a signal needs before it is sent.
 */
@Injectable()
export class ExecutionQueriesService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(TEMPORAL_CLIENT) private readonly temporal: () => Promise<Client>,
    private readonly executions: ExecutionsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  temporalUiUrl(executionId: string): string {
    const base = this.config.temporal.uiUrl.replace(/\/+$/, '');
    return `${base}/namespaces/${encodeURIComponent(this.config.temporal.namespace)}/workflows/${encodeURIComponent(executionId)}`;
  }

  async list(filter: ExecutionFilter, page: PageRequest): Promise<Page<ExecutionSummary>> {
    const qb = this.dataSource
      .getRepository(WorkflowExecution)
      .createQueryBuilder('e')
      .leftJoin('e.workflow', 'w')
      .addSelect(['w.code', 'w.name']);
    if (filter.workflow !== undefined) {
      if (/^\d{1,10}$/.test(filter.workflow)) qb.andWhere('(e.workflow_id = :wid OR w.code = :wcode)', { wid: Number(filter.workflow), wcode: filter.workflow });
      else qb.andWhere('w.code = :wcode', { wcode: filter.workflow });
    }
    if (filter.status) qb.andWhere('e.status = :status', { status: filter.status });
    if (filter.outcome === 'completed_with_failures') qb.andWhere(`e.status = 'completed' AND e.failed_items_total > 0`);
    else if (filter.outcome === 'completed') qb.andWhere(`e.status = 'completed' AND e.failed_items_total = 0`);
    else if (filter.outcome) qb.andWhere('e.status = :outcome', { outcome: filter.outcome });
    if (filter.trigger_type) qb.andWhere('e.trigger_type = :trigger', { trigger: filter.trigger_type });
    if (filter.schedule !== undefined) qb.andWhere('e.schedule_id = :schedule', { schedule: filter.schedule });
    if (filter.parent !== undefined) qb.andWhere('e.parent_execution_id = :parent', { parent: filter.parent });
    if (filter.created_after) qb.andWhere('e.created_at >= :after', { after: filter.created_after });
    if (filter.created_before) qb.andWhere('e.created_at < :before', { before: filter.created_before });
    const [rows, count] = await qb.orderBy('e.created_at', 'DESC').addOrderBy('e.id', 'DESC').skip(offsetOf(page)).take(page.page_size).getManyAndCount();
    return pageOf(page, count, rows.map((r) => this.summary(r)));
  }

  summary(r: WorkflowExecution, wf: { code: string; name: string } | undefined = r.workflow): ExecutionSummary {
    return {
      id: Number(r.id),
      execution_id: r.execution_id,
      workflow_id: r.workflow_id,
      workflow_code: wf?.code ?? null,
      workflow_name: wf?.name ?? null,
      version: r.version,
      status: r.status,
      outcome: outcomeOf(r.status, r.failed_items_total),
      trigger_type: r.trigger_type,
      triggered_by: r.triggered_by,
      schedule_id: r.schedule_id,
      restarted_from: r.restarted_from,
      parent_execution_id: r.parent_execution_id ?? null,
      total_steps: r.total_steps,
      completed_steps: r.completed_steps,
      failed_steps: r.failed_steps,
      skipped_steps: r.skipped_steps,
      failed_items_total: r.failed_items_total ?? 0,
      current_step: r.current_step,
      progress_percent: percent(r.completed_steps + r.skipped_steps, r.total_steps, r.status),
      error_message: r.error_message,
      started_at: r.started_at,
      completed_at: r.completed_at,
      duration_seconds: r.duration_seconds,
      created_at: r.created_at,
      temporal_ui_url: this.temporalUiUrl(r.execution_id),
    };
  }

  /**
   * The summary of a row whose workflow relation may not be loaded (a run
   * cancelled, signalled); a run just started carries its workflow's code and
   * name already (ExecutionsService.start), so nothing is read.
   */
  async present(r: WorkflowExecution): Promise<ExecutionSummary> {
    if (r.workflow) return this.summary(r);
    const wf: Array<{ code: string; name: string }> = await this.dataSource.query(`SELECT code, name FROM workflows WHERE id = $1`, [r.workflow_id]);
    return this.summary(r, wf[0]);
  }

  /** One run in full: input, output, progress (live while it runs), each step. */
  async detail(id: string, opts: { liveTimeoutMs?: number } = {}) {
    const row = await this.executions.get(id);
    const [workflow, stepRows, children] = await Promise.all([
      this.dataSource.query(`SELECT code, name FROM workflows WHERE id = $1`, [row.workflow_id]) as Promise<Array<{ code: string; name: string }>>,
      this.executions.steps(row.execution_id),
      this.children(row.execution_id),
    ]);
    const live = LIVE.has(row.status) ? await this.liveProgress(row.execution_id, opts.liveTimeoutMs ?? 3000) : null;
    const compensations = await this.compensations(row.workflow_version_id, stepRows);
    // The row says how the run ended (with its output); the live answer only says it has started.
    const status = row.status === 'pending' && live?.status === 'running' ? 'running' : row.status;
    const counts = live ?? row;
    const byKey = new Map(stepRows.map((s) => [s.step_key, s]));
    const steps = live ? live.steps.map((p) => mergeStep(p, byKey.get(p.key))) : stepRows.map((s) => mergeStep(null, s));
    const failedItemsTotal = Math.max(live?.failed_items_total ?? 0, row.failed_items_total ?? 0);
    return {
      ...this.summary(row, workflow[0]),
      status,
      outcome: outcomeOf(status, failedItemsTotal),
      failed_items_total: failedItemsTotal,
      // The first failed items of each main step, with the step they failed in.
      failed_items: steps
        .filter((st) => st.role === 'main')
        .flatMap((st) => (st.failed_items ?? []).map((f) => ({ step_key: st.step_key, ...f })))
        .slice(0, MAX_FAILED_ITEMS_SHOWN),
      input_data: row.input_data,
      output_data: row.output_data,
      error_details: row.error_details,
      idempotency_key: row.idempotency_key,
      temporal_run_id: row.temporal_run_id,
      updated_at: row.updated_at,
      progress: {
        source: live ? 'live' : 'projection',
        status,
        total_steps: counts.total_steps,
        completed_steps: counts.completed_steps,
        failed_steps: counts.failed_steps,
        skipped_steps: counts.skipped_steps,
        failed_items_total: failedItemsTotal,
        running_steps: live ? live.running_steps : stepRows.filter((s) => s.status === 'running' || s.status === 'waiting').map((s) => s.step_key),
        percent: percent(counts.completed_steps + counts.skipped_steps, counts.total_steps, status),
      },
      steps,
      compensations,
      // Recovery runs: what they reuse and retry, and the audited edits of step outputs (on this run, or that started it).
      recovery: row.recovery ?? null,
      edits: await this.edits(row.execution_id),
      // A fan-out parent's child runs (one per supplier / marketplace); empty for any other run.
      children,
    };
  }

  /** The audited edits of step outputs made on a run or that started it (step_output_edits). */
  async edits(executionId: string) {
    const rows: Array<{ id: string; execution_id: string; step_key: string; new_execution_id: string | null; edited_by: string | null; reason: string | null; before: unknown; after: unknown; created_at: Date }> =
      await this.dataSource.query(
        `SELECT id, execution_id, step_key, new_execution_id, edited_by, reason, before, after, created_at
           FROM step_output_edits WHERE execution_id = $1 OR new_execution_id = $1 ORDER BY id`,
        [executionId],
      );
    return rows.map((r) => ({ ...r, id: Number(r.id), created_at: new Date(r.created_at).toISOString() }));
  }

  /** The child runs of a fan-out parent, by id. */
  async children(parentExecutionId: string): Promise<ExecutionChild[]> {
    const rows: Array<Record<string, unknown>> = await this.dataSource.query(
      `SELECT id, execution_id, status, failed_items_total, error_message, started_at, completed_at,
              input_data->'supplier_id' AS supplier_id, input_data->'marketplace_id' AS marketplace_id
       FROM workflow_executions WHERE parent_execution_id = $1 ORDER BY id LIMIT $2`,
      [parentExecutionId, MAX_CHILDREN_SHOWN],
    );
    const int = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) ? v : null);
    return rows.map((r) => {
      // The child's id says which level it is (`...:supplier-3`); its input has the row's id.
      const kind = /:(supplier|marketplace)-\d+$/.exec(String(r.execution_id))?.[1] ?? null;
      const supplier = int(r.supplier_id);
      const marketplace = int(r.marketplace_id);
      return {
        id: Number(r.id),
        execution_id: String(r.execution_id),
        status: String(r.status),
        outcome: outcomeOf(String(r.status), Number(r.failed_items_total)),
        kind,
        target_id: kind === 'supplier' ? supplier : kind === 'marketplace' ? marketplace : null,
        supplier_id: supplier,
        marketplace_id: marketplace,
        failed_items_total: Number(r.failed_items_total ?? 0),
        error_message: (r.error_message as string | null) ?? null,
        started_at: (r.started_at as Date | null) ?? null,
        completed_at: (r.completed_at as Date | null) ?? null,
      };
    });
  }

  /**
   * What the run's saga undid: one entry per compensation step that ran, with
   * the step it undoes (`step_key`), how that step had ended, and whether the
   * undo completed (`completed`: the step's effects are undone) or failed.
   */
  private async compensations(versionId: number | string, rows: WorkflowStepExecution[]) {
    const comps = rows.filter((r) => r.role === 'compensation');
    if (comps.length === 0) return [];
    const defs: Array<{ key: string; compensates: string | null }> = await this.dataSource.query(
      `SELECT key, compensates FROM workflow_steps WHERE workflow_version_id = $1 AND role = 'compensation'`,
      [versionId],
    );
    const target = new Map(defs.map((d) => [d.key, d.compensates]));
    const byKey = new Map(rows.map((r) => [r.step_key, r]));
    return comps.map((c) => {
      const key = target.get(c.step_key) ?? null;
      const undone = key ? byKey.get(key) : undefined;
      return {
        step_key: key,
        step_name: undone?.step_name ?? null,
        step_status: undone?.status ?? null,
        compensation_step: c.step_key,
        status: c.status,
        error_message: c.error_message,
        output_summary: c.output_summary,
        completed_at: c.completed_at,
      };
    });
  }

  /** The progress query, bounded in time; null when the run (or a worker to answer) is not there. */
  async liveProgress(executionId: string, timeoutMs = 3000): Promise<RunProgress | null> {
    try {
      const client = await this.temporal();
      return await client.withDeadline(Date.now() + timeoutMs, () => client.workflow.getHandle(executionId).query(progressQuery));
    } catch {
      return null;
    }
  }

  /**
   * Sends an approval decision after checking it can land: the step must be an
   * approval step of the run's definition version, not yet decided.
   */
  async signal(id: string, decision: ApprovalDecision): Promise<WorkflowExecution> {
    const row = await this.executions.get(id);
    const step: Array<{ step_type: string }> = await this.dataSource.query(
      `SELECT step_type FROM workflow_steps WHERE workflow_version_id = $1 AND key = $2`,
      [row.workflow_version_id, decision.step_key],
    );
    if (step.length === 0) {
      throw new AppError('STEP_NOT_FOUND', `step_key: execution ${row.execution_id} has no step "${decision.step_key}"`, 400, { field: 'step_key' });
    }
    if (step[0].step_type !== 'approval') {
      throw new AppError('NOT_AN_APPROVAL_STEP', `step_key: step "${decision.step_key}" is a ${step[0].step_type} step, not an approval step`, 400, { field: 'step_key' });
    }
    const projected = await this.dataSource.getRepository(WorkflowStepExecution).findOne({ where: { execution_id: row.execution_id, step_key: decision.step_key } });
    if (projected && STEP_FINAL.has(projected.status)) {
      throw new ConflictError('STEP_FINISHED', `step "${decision.step_key}" of ${row.execution_id} is already ${projected.status}`, { execution_id: row.execution_id, step_key: decision.step_key });
    }
    return this.executions.signal(row.execution_id, decision);
  }
}

function percent(done: number, total: number, status: string): number {
  if (status === 'completed') return 100;
  if (total <= 0) return 0;
  return Math.min(100, Math.round((done / total) * 1000) / 10);
}

function mergeStep(live: StepProgress | null, row: WorkflowStepExecution | undefined | null) {
  const status = live?.status ?? row!.status;
  const failedItemsTotal = Math.max(live?.failed_items_total ?? 0, row?.failed_items_total ?? 0);
  return {
    step_key: live?.key ?? row!.step_key,
    step_name: live?.name ?? row!.step_name,
    step_type: live?.step_type ?? row!.step_type,
    role: live?.role ?? row!.role,
    status,
    outcome: outcomeOf(status, failedItemsTotal),
    attempt: Math.max(live?.attempt ?? 0, row?.attempt ?? 0),
    max_attempts: row?.max_attempts ?? null,
    started_at: live?.started_at ?? row?.started_at ?? null,
    completed_at: live?.completed_at ?? row?.completed_at ?? null,
    duration_ms: row?.duration_ms ?? durationMs(live?.started_at ?? null, live?.completed_at ?? null),
    error_message: live?.error ?? row?.error_message ?? null,
    error_details: row?.error_details ?? null,
    output_summary: row?.output_summary ?? null,
    failed_items_total: failedItemsTotal,
    failed_items: (row?.failed_items ?? []) as FailedItemRecord[],
    output_payload_id: row?.output_payload_id ?? null,
  };
}

function durationMs(start: string | null, end: string | null): number | null {
  if (!start || !end) return null;
  return new Date(end).getTime() - new Date(start).getTime();
}
