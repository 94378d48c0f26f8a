import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { SCHEDULES_OPTIONS, STEP_TYPE_REGISTRY, TEMPORAL_CLIENT } from '@src/core/tokens';
import { createHash, randomUUID } from 'node:crypto';
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleDescription,
  type ScheduleOptions,
  type ScheduleSummary,
} from '@temporalio/client';
import type { DataSource, EntityManager } from 'typeorm';
import type { StepTypeRegistry, WorkflowDefinition } from '@engine/dsl/types';
import { formatIssues, validateDefinition } from '@engine/dsl/validate';
import { workflowTypeName, type InterpreterInput } from '@engine/shared/contracts';
import { assertInputMatches } from '@src/workflows/input-schema';
import { AppError, ConflictError, NotFoundError, ValidationFailedError } from '@src/common/errors';
import { offsetOf, pageOf, type Page, type PageRequest } from '@src/common/pagination';
import { searchAttributes, singletonKeyOf } from '@src/executions/executions.service';
import { runMetadata } from '@src/executions/run-metadata';
import { startDefinition } from '@engine/shared/slim-definition';
import type { Logger } from '@src/logging/logger';
import { cronProblem, cronTimingProblem, timezoneProblem } from '@src/schedules/cron';
import { WorkflowSchedule } from '@src/schedules/schedule.entity';
import { WorkflowsService } from '@src/workflows/workflows.service';

/** Every Temporal Schedule Merchflow owns has this id prefix, then the row id. */
export const SCHEDULE_ID_PREFIX = 'merchflow-schedule-';
/** How long one Temporal call may take before the change is rolled back. */
const TEMPORAL_DEADLINE_MS = 10_000;
/** Orphans and vanished schedules are only judged once they are this old (listing is eventually consistent). */
const SETTLE_MS = 120_000;
const SWEEP_EVERY_MS = 30_000;

export interface ScheduleInput {
  workflow_id: number;
  name: string;
  cron_expression: string;
  timezone?: string;
  input_data?: Record<string, unknown>;
  is_active?: boolean;
}

export type SchedulePatch = Partial<Omit<ScheduleInput, 'workflow_id'>>;

export interface ScheduleFilter {
  workflow_id?: number;
  is_active?: boolean;
}

/** What Temporal says about a schedule right now. */
export interface LiveScheduleInfo {
  paused: boolean;
  note: string | null;
  next_run_times: Date[];
  recent_runs: Array<{ execution_id: string; scheduled_at: Date; taken_at: Date }>;
  running_runs: string[];
  total_actions: number;
}

export interface ScheduleView {
  row: WorkflowSchedule;
  workflow_code: string | null;
  live: LiveScheduleInfo | null;
}

export interface SchedulesOptions {
  taskQueue: string;
  namespace: string;
  /** Identifies this deployment's database, so an orphan sweep never touches another deployment's schedules. */
  owner: string;
  logger?: Logger;
  /** How old an orphan or a vanished schedule must be before the sweep acts (default 2 minutes). */
  settleMs?: number;
  /** Shortest time allowed between two runs of a schedule, in seconds (default 60). */
  minIntervalSeconds?: number;
}

/** A stable, secret-free fingerprint of the database a deployment uses. */
export function scheduleOwner(databaseUrl: string, namespace: string): string {
  let identity = databaseUrl;
  try {
    const u = new URL(databaseUrl);
    identity = `${u.hostname}:${u.port}${u.pathname}`;
  } catch {
    /* keep the raw value; it is hashed */
  }
  return createHash('sha256').update(`${identity}|${namespace}`).digest('hex').slice(0, 16);
}

/**
 * Cron schedules of workflows, kept as Temporal Schedules and mirrored in
 * `workflow_schedules`.
 *
 * Consistency: a create writes the row and creates the Temporal Schedule in one
 * database transaction (the row is invisible until Temporal said yes; if the
 * commit fails the Temporal Schedule is deleted again). A change first marks
 * the row `pending` (committed), then, holding the row lock, writes the new
 * values and calls Temporal, and commits `synced` only when Temporal accepted.
 * When the call fails the transaction rolls back and the row's last confirmed
 * values are pushed to Temporal again; when the process dies mid-call the
 * `pending` mark stays and the next read pushes the row. Temporal answering
 * "not found" means the schedule was deleted there: the row goes too. Orphans
 * (a Temporal Schedule with our prefix and no row, left by a crash between
 * the Temporal create and the commit) are deleted by a periodic sweep on list.
 */
@Injectable()
export class SchedulesService {
  private lastSweep = 0;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(TEMPORAL_CLIENT) private readonly temporal: () => Promise<Client>,
    private readonly workflows: WorkflowsService,
    @Inject(STEP_TYPE_REGISTRY) private readonly registry: StepTypeRegistry,
    @Inject(SCHEDULES_OPTIONS) private readonly opts: SchedulesOptions,
  ) {}

  temporalUiUrl(uiUrl: string, scheduleId: string): string {
    return `${uiUrl.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(this.opts.namespace)}/schedules/${encodeURIComponent(scheduleId)}`;
  }

  // ---- reads -------------------------------------------------------------

  /** Lists schedules; first repairs rows left pending and, now and then, sweeps Temporal for drift and orphans. */
  async list(filter: ScheduleFilter, page: PageRequest, opts: { sweep?: boolean } = {}): Promise<Page<ScheduleView>> {
    await this.repairPending();
    if (opts.sweep || Date.now() - this.lastSweep > SWEEP_EVERY_MS) await this.sweep().catch((err) => this.warn('schedule sweep failed', err));
    const qb = this.dataSource
      .getRepository(WorkflowSchedule)
      .createQueryBuilder('s')
      .leftJoin('s.workflow', 'w')
      .addSelect(['w.code']);
    if (filter.workflow_id !== undefined) qb.andWhere('s.workflow_id = :wid', { wid: filter.workflow_id });
    if (filter.is_active !== undefined) qb.andWhere('s.is_active = :active', { active: filter.is_active });
    const [rows, count] = await qb.orderBy('s.id', 'ASC').skip(offsetOf(page)).take(page.page_size).getManyAndCount();
    return pageOf(page, count, rows.map((row) => ({ row, workflow_code: row.workflow?.code ?? null, live: null })));
  }

  /** One schedule, reconciled with Temporal (its live state when Temporal answers). */
  async get(id: number): Promise<ScheduleView> {
    const { live } = await this.reconcile(id);
    const row = await this.row(id);
    return { row, workflow_code: await this.workflowCode(row.workflow_id), live };
  }

  // ---- changes -----------------------------------------------------------

  async create(input: ScheduleInput, createdBy: string | null = null): Promise<ScheduleView> {
    this.checkInput(input, true);
    this.checkTiming(input.cron_expression, input.timezone ?? 'UTC');
    const definition = await this.runnableDefinition(input.workflow_id);
    // Every run of the schedule gets this input: refuse it now if the workflow cannot take it.
    assertInputMatches(definition.input_schema, input.input_data ?? {}, definition.code);
    let scheduleId: string | null = null;
    try {
      const row = await this.dataSource.transaction(async (m) => {
        const repo = m.getRepository(WorkflowSchedule);
        const row = repo.create({
          workflow_id: input.workflow_id,
          name: input.name,
          cron_expression: input.cron_expression.trim(),
          timezone: input.timezone ?? 'UTC',
          input_data: input.input_data ?? {},
          is_active: input.is_active ?? true,
          workflow_version: definition.version,
          temporal_schedule_id: `creating-${randomUUID()}`,
          sync_state: 'synced',
          sync_error: null,
          created_by: createdBy,
        });
        await repo.save(row);
        row.temporal_schedule_id = `${SCHEDULE_ID_PREFIX}${row.id}`;
        await repo.update({ id: row.id }, { temporal_schedule_id: row.temporal_schedule_id });
        scheduleId = row.temporal_schedule_id;
        await this.upsertInTemporal(row, definition);
        return row;
      });
      return this.get(row.id);
    } catch (err) {
      // The row was rolled back: take the Temporal Schedule back too, if it got that far.
      if (scheduleId) await this.deleteInTemporal(scheduleId).catch((e) => this.warn('could not roll back a Temporal schedule; the sweep will', e, { schedule_id: scheduleId }));
      throw this.mapError(err, 'create');
    }
  }

  /** Changes a schedule and re-pins the workflow's current definition version. */
  async update(id: number, patch: SchedulePatch): Promise<ScheduleView> {
    this.checkInput(patch, false);
    if (patch.cron_expression !== undefined || patch.timezone !== undefined) {
      const current = patch.cron_expression === undefined || patch.timezone === undefined ? await this.row(id) : null;
      this.checkTiming(patch.cron_expression ?? current!.cron_expression, patch.timezone ?? current!.timezone);
    }
    await this.mutate(id, async (row) => {
      const definition = await this.runnableDefinition(row.workflow_id);
      if (patch.name !== undefined) row.name = patch.name;
      if (patch.cron_expression !== undefined) row.cron_expression = patch.cron_expression.trim();
      if (patch.timezone !== undefined) row.timezone = patch.timezone;
      if (patch.input_data !== undefined) row.input_data = patch.input_data;
      if (patch.is_active !== undefined) row.is_active = patch.is_active;
      // Re-pinned to the current version: its input schema applies to the schedule's input.
      assertInputMatches(definition.input_schema, row.input_data ?? {}, definition.code);
      row.workflow_version = definition.version;
      await this.upsertInTemporal(row, definition, { mustExist: true });
    });
    return this.get(id);
  }

  async pause(id: number, note = 'paused from Merchflow'): Promise<ScheduleView> {
    await this.mutate(id, async (row) => {
      row.is_active = false;
      await this.withTemporal((c) => c.schedule.getHandle(row.temporal_schedule_id).pause(note));
    });
    return this.get(id);
  }

  async unpause(id: number, note = 'unpaused from Merchflow'): Promise<ScheduleView> {
    await this.mutate(id, async (row) => {
      row.is_active = true;
      await this.withTemporal((c) => c.schedule.getHandle(row.temporal_schedule_id).unpause(note));
    });
    return this.get(id);
  }

  /** Starts a run now (even while paused); the worker's projection records it as trigger_type 'schedule'. */
  async trigger(id: number): Promise<ScheduleView> {
    const row = await this.row(id);
    if (row.sync_state !== 'synced') {
      const { state } = await this.reconcile(id);
      if (state === 'deleted') throw new NotFoundError('Schedule', id);
      if (state !== 'synced') throw new AppError('SCHEDULE_NOT_SYNCED', `schedule ${id} is not in sync with Temporal yet; retry shortly`, 503, { schedule_id: id });
    }
    // A singleton workflow (the order workflow per marketplace) keeps the schedule's SKIP even when triggered by hand:
    // while the schedule's run is still going, the trigger starts nothing (docs/exactly-once.md).
    const singleton = singletonKeyOf(await this.pinnedDefinition(row)) !== null;
    try {
      await this.withTemporal((c) =>
        c.schedule.getHandle(row.temporal_schedule_id).trigger(singleton ? ScheduleOverlapPolicy.SKIP : ScheduleOverlapPolicy.ALLOW_ALL),
      );
    } catch (err) {
      if (err instanceof ScheduleNotFoundError) {
        await this.dropVanished(id);
        throw new NotFoundError('Schedule', id);
      }
      throw this.mapError(err, 'trigger');
    }
    return this.get(id);
  }

  async remove(id: number): Promise<void> {
    await this.mutate(id, async (row) => {
      await this.deleteInTemporal(row.temporal_schedule_id);
      return 'delete';
    });
  }

  // ---- reconciliation ----------------------------------------------------

  /**
   * Brings one row and its Temporal Schedule together. Pending rows are pushed
   * to Temporal; synced rows take Temporal's paused state and run times; a
   * schedule Temporal no longer has takes its row with it. A row another
   * request is changing is left alone.
   */
  async reconcile(id: number): Promise<{ state: 'synced' | 'pending' | 'deleted' | 'busy' | 'unknown'; live: LiveScheduleInfo | null }> {
    return this.dataSource.transaction(async (m) => {
      const repo = m.getRepository(WorkflowSchedule);
      const row = await repo.findOne({ where: { id }, lock: { mode: 'pessimistic_write', onLocked: 'skip_locked' } });
      if (!row) {
        if (await repo.exists({ where: { id } })) return { state: 'busy' as const, live: null };
        throw new NotFoundError('Schedule', id);
      }
      let desc: ScheduleDescription;
      try {
        desc = await this.withTemporal((c) => c.schedule.getHandle(row.temporal_schedule_id).describe());
      } catch (err) {
        if (err instanceof ScheduleNotFoundError) {
          this.opts.logger?.warn('schedule vanished from Temporal; removing its row', { schedule_id: id, temporal_schedule_id: row.temporal_schedule_id });
          await repo.delete({ id });
          return { state: 'deleted' as const, live: null };
        }
        if (row.sync_state !== 'synced') await repo.update({ id }, { sync_error: errorText(err) });
        return { state: row.sync_state === 'synced' ? ('unknown' as const) : ('pending' as const), live: null };
      }
      if (row.sync_state !== 'synced') {
        try {
          const definition = await this.pinnedDefinition(row);
          await this.upsertInTemporal(row, definition, { mustExist: true });
          desc = await this.withTemporal((c) => c.schedule.getHandle(row.temporal_schedule_id).describe());
        } catch (err) {
          await repo.update({ id }, { sync_error: errorText(err) });
          return { state: 'pending' as const, live: liveInfo(desc) };
        }
      } else if (desc.state.paused === row.is_active) {
        // Paused or unpaused in Temporal itself (Web UI, tctl): Temporal owns that state.
        row.is_active = !desc.state.paused;
      }
      const live = liveInfo(desc);
      Object.assign(row, {
        sync_state: 'synced',
        sync_error: null,
        next_run_at: live.next_run_times[0] ?? null,
        last_run_at: live.recent_runs.at(-1)?.taken_at ?? row.last_run_at,
        total_runs: live.total_actions,
      });
      await repo.save(row);
      return { state: 'synced' as const, live };
    });
  }

  /** Pushes every pending row (bounded) to Temporal. */
  async repairPending(limit = 50): Promise<void> {
    const pending: Array<{ id: number }> = await this.dataSource.query(
      `SELECT id FROM workflow_schedules WHERE sync_state <> 'synced' ORDER BY updated_at LIMIT $1`,
      [limit],
    );
    for (const { id } of pending) {
      await this.reconcile(id).catch((err) => {
        if (!(err instanceof NotFoundError)) this.warn('schedule repair failed', err, { schedule_id: id });
      });
    }
  }

  /**
   * Compares Temporal's list of our schedules with the rows: adopts paused
   * state and next run times, removes rows whose schedule is gone (confirmed
   * with a describe), and deletes orphaned Temporal Schedules of this deployment.
   */
  async sweep(): Promise<{ orphans_deleted: string[]; rows_removed: number[] }> {
    this.lastSweep = Date.now();
    const client = await this.temporal();
    const seen = new Map<string, ScheduleSummary>();
    for await (const s of client.schedule.list({ pageSize: 500 })) {
      if (s.scheduleId.startsWith(SCHEDULE_ID_PREFIX)) seen.set(s.scheduleId, s);
    }
    const rows = await this.dataSource.getRepository(WorkflowSchedule).find();
    const byScheduleId = new Map(rows.map((r) => [r.temporal_schedule_id, r]));
    const orphans: string[] = [];
    for (const [scheduleId, summary] of seen) {
      if (byScheduleId.has(scheduleId)) continue;
      const owner = (summary.memo?.merchflow as { owner?: string } | undefined)?.owner;
      if (owner !== this.opts.owner) continue;
      const desc = await this.withTemporal((c) => c.schedule.getHandle(scheduleId).describe()).catch(() => null);
      if (!desc || Date.now() - desc.info.createdAt.getTime() < (this.opts.settleMs ?? SETTLE_MS)) continue;
      // A create that crashed between Temporal and the commit may still be committing: check the row once more.
      const id = Number(scheduleId.slice(SCHEDULE_ID_PREFIX.length));
      if (Number.isInteger(id) && (await this.dataSource.getRepository(WorkflowSchedule).exists({ where: { id } }))) continue;
      await this.deleteInTemporal(scheduleId);
      orphans.push(scheduleId);
      this.opts.logger?.warn('deleted an orphaned Temporal schedule', { temporal_schedule_id: scheduleId });
    }
    const removed: number[] = [];
    for (const row of rows) {
      const summary = seen.get(row.temporal_schedule_id);
      const settled = Date.now() - row.updated_at.getTime() > (this.opts.settleMs ?? SETTLE_MS);
      const drifted = summary && row.sync_state === 'synced' && summary.state.paused === row.is_active;
      if ((!summary && settled) || drifted) {
        const { state } = await this.reconcile(row.id).catch(() => ({ state: 'unknown' as const }));
        if (state === 'deleted') removed.push(row.id);
      }
    }
    return { orphans_deleted: orphans, rows_removed: removed };
  }

  // ---- internals -----------------------------------------------------------

  /**
   * Applies a change under the row lock, Temporal call included, after marking
   * the row pending so a crash mid-call is repaired on the next read.
   */
  private async mutate(id: number, change: (row: WorkflowSchedule, m: EntityManager) => Promise<'delete' | void>): Promise<void> {
    const marked = await this.dataSource.getRepository(WorkflowSchedule).update({ id }, { sync_state: 'pending' });
    if (!marked.affected) throw new NotFoundError('Schedule', id);
    try {
      await this.dataSource.transaction(async (m) => {
        await m.query(`SET LOCAL lock_timeout = '15s'`);
        const repo = m.getRepository(WorkflowSchedule);
        const row = await repo.findOne({ where: { id }, lock: { mode: 'pessimistic_write' } });
        if (!row) throw new NotFoundError('Schedule', id);
        const outcome = await change(row, m);
        if (outcome === 'delete') {
          await repo.delete({ id });
          return;
        }
        Object.assign(row, { sync_state: 'synced', sync_error: null });
        await repo.save(row);
      });
    } catch (err) {
      if (err instanceof ScheduleNotFoundError) {
        await this.dropVanished(id);
        throw new NotFoundError('Schedule', id);
      }
      // Rolled back: the row holds its last confirmed values, marked pending; put them back in Temporal now if possible.
      await this.reconcile(id).catch(() => undefined);
      throw this.mapError(err, 'update');
    }
  }

  /** The schedule's Temporal Schedule is gone: so is the mirror. */
  private async dropVanished(id: number): Promise<void> {
    this.opts.logger?.warn('schedule vanished from Temporal; removing its row', { schedule_id: id });
    await this.dataSource.getRepository(WorkflowSchedule).delete({ id });
  }

  /** Creates the Temporal Schedule, or updates it to match the row when it exists. */
  private async upsertInTemporal(row: WorkflowSchedule, definition: WorkflowDefinition, opts: { mustExist?: boolean } = {}): Promise<void> {
    try {
      await this.upsertInTemporalRaw(row, definition, opts);
    } catch (err) {
      // The schedule client reports a spec Temporal refuses as a TypeError ("Invalid schedule spec").
      const e = err as { name?: string; cause?: { code?: number; details?: string } };
      if (err instanceof TypeError || (e.name === 'ServiceError' && e.cause?.code === 3)) {
        const detail = e.cause?.details ?? (err as Error).message;
        throw new ValidationFailedError([{ field: 'cron_expression', message: `Temporal rejected the schedule: ${String(detail).split('\n')[0]}` }], 'SCHEDULE_INVALID');
      }
      throw err;
    }
  }

  private async upsertInTemporalRaw(row: WorkflowSchedule, definition: WorkflowDefinition, opts: { mustExist?: boolean }): Promise<void> {
    const options = this.scheduleOptions(row, definition);
    if (!opts.mustExist) {
      try {
        await this.withTemporal((c) => c.schedule.create(options));
        return;
      } catch (err) {
        if (!(err instanceof ScheduleAlreadyRunning)) throw err;
      }
    }
    await this.withTemporal((c) =>
      c.schedule.getHandle(row.temporal_schedule_id).update(() => ({
        spec: options.spec,
        action: options.action,
        policies: options.policies,
        state: { paused: !row.is_active, note: options.state?.note },
      })),
    );
  }

  private async deleteInTemporal(scheduleId: string): Promise<void> {
    try {
      await this.withTemporal((c) => c.schedule.getHandle(scheduleId).delete());
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
    }
  }

  /** What Temporal runs: the workflow's named type with the pinned definition, as ExecutionsService.start would. */
  private scheduleOptions(row: WorkflowSchedule, definition: WorkflowDefinition): ScheduleOptions {
    const input: InterpreterInput = {
      // No execution_id: Temporal names each run `<workflowId>-<time>` and the interpreter uses its workflow id.
      // The slim definition (slim-definition.ts): the worker loads the pinned version's step configs.
      ...startDefinition(definition),
      input: row.input_data ?? {},
      trigger_type: 'schedule',
      triggered_by: `schedule:${row.id}`,
      schedule_id: row.id,
    };
    return {
      scheduleId: row.temporal_schedule_id,
      spec: { cronExpressions: [row.cron_expression], timezone: row.timezone },
      action: {
        type: 'startWorkflow',
        workflowType: workflowTypeName(definition.workflow_type),
        workflowId: `${definition.code}-s${row.id}`,
        taskQueue: this.opts.taskQueue,
        args: [input],
        typedSearchAttributes: searchAttributes(definition, 'schedule'),
        memo: { workflow_id: definition.workflow_id, workflow_name: definition.name, version: definition.version, schedule_id: row.id },
        // No execution id yet (Temporal names scheduled runs): no admin link, the rest as for a started run.
        ...runMetadata({ definition, executionId: '', trigger: 'schedule', input: row.input_data ?? {}, publicUrl: '', scheduleId: row.id }),
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour', pauseOnFailure: false },
      memo: { merchflow: { owner: this.opts.owner, schedule_row_id: row.id } },
      state: { paused: !row.is_active, note: row.is_active ? `${row.name}` : `${row.name} (paused)` },
    };
  }

  /** The workflow's current definition, checked as a run start would check it. */
  private async runnableDefinition(workflowId: number): Promise<WorkflowDefinition> {
    const { workflow, definition } = await this.workflows.definition(workflowId);
    if (workflow.status !== 'active') {
      throw new ConflictError('WORKFLOW_INACTIVE', `workflow ${workflow.code} is inactive; activate it before scheduling it`, { workflow_id: workflow.id });
    }
    const issues = validateDefinition(definition, this.registry);
    if (issues.length > 0) throw new AppError('DEFINITION_INVALID', `definition invalid: ${formatIssues(issues)}`, 400, { issues });
    return definition;
  }

  private async pinnedDefinition(row: WorkflowSchedule): Promise<WorkflowDefinition> {
    return (await this.workflows.definition(row.workflow_id, row.workflow_version ?? undefined)).definition;
  }

  private checkInput(input: SchedulePatch, creating: boolean): void {
    const errors: Array<{ field: string; message: string }> = [];
    if (creating || input.cron_expression !== undefined) {
      const p = cronProblem(input.cron_expression);
      if (p) errors.push({ field: 'cron_expression', message: p });
    }
    if (input.timezone !== undefined) {
      const p = timezoneProblem(input.timezone);
      if (p) errors.push({ field: 'timezone', message: p });
    }
    if (creating || input.name !== undefined) {
      if (typeof input.name !== 'string' || input.name.trim() === '' || input.name.length > 200) errors.push({ field: 'name', message: 'must be 1 to 200 characters' });
    }
    if (errors.length > 0) throw new ValidationFailedError(errors);
  }

  /** Refuses an expression that fires more often than the minimum interval, or never again (checked after `checkInput`). */
  private checkTiming(cron: string, timezone: string): void {
    const problem = cronTimingProblem(cron, timezone, this.opts.minIntervalSeconds ?? 60);
    if (problem) throw new ValidationFailedError([{ field: 'cron_expression', message: problem }]);
  }

  private async row(id: number): Promise<WorkflowSchedule> {
    const row = await this.dataSource.getRepository(WorkflowSchedule).findOne({ where: { id } });
    if (!row) throw new NotFoundError('Schedule', id);
    return row;
  }

  private async workflowCode(workflowId: number): Promise<string | null> {
    const rows: Array<{ code: string }> = await this.dataSource.query(`SELECT code FROM workflows WHERE id = $1`, [workflowId]);
    return rows[0]?.code ?? null;
  }

  private async withTemporal<T>(fn: (c: Client) => Promise<T>): Promise<T> {
    const client = await this.temporal();
    return client.withDeadline(Date.now() + TEMPORAL_DEADLINE_MS, () => fn(client));
  }

  private mapError(err: unknown, op: string): unknown {
    if (err instanceof AppError) return err;
    if (err instanceof ScheduleAlreadyRunning) return new ConflictError('SCHEDULE_EXISTS', (err as Error).message);
    if ((err as { driverError?: unknown }).driverError) return err;
    return new AppError('TEMPORAL_UNAVAILABLE', `could not ${op} the schedule in Temporal: ${errorText(err)}`, 503, {});
  }

  private warn(msg: string, err: unknown, fields: Record<string, unknown> = {}): void {
    this.opts.logger?.warn(msg, { ...fields, error: errorText(err) });
  }
}

function liveInfo(desc: ScheduleDescription): LiveScheduleInfo {
  return {
    paused: desc.state.paused,
    note: desc.state.note ?? null,
    next_run_times: desc.info.nextActionTimes.slice(0, 5),
    recent_runs: desc.info.recentActions.map((a) => ({ execution_id: a.action.workflow.workflowId, scheduled_at: a.scheduledAt, taken_at: a.takenAt })),
    running_runs: desc.info.runningActions.map((a) => a.workflow.workflowId),
    total_actions: desc.info.numActionsTaken,
  };
}

function errorText(err: unknown): string {
  return ((err as Error)?.message ?? String(err)).split('\n')[0].slice(0, 500);
}
