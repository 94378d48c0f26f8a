import { Inject, Injectable, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { EXECUTION_LIMITS, STEP_TYPE_REGISTRY, TASK_QUEUE, TEMPORAL_CLIENT } from '@src/core/tokens';
import { runMetadata } from '@src/executions/run-metadata';
import { randomUUID } from 'node:crypto';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { QueryDefinition } from '@temporalio/common';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, isGrpcDeadlineError } from '@temporalio/client';
import { defaultPayloadConverter, type SearchAttributePair, defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { In, type DataSource } from 'typeorm';
import type { StepTypeRegistry, WorkflowDefinition } from '@engine/dsl/types';
import { childDefinition, fanOutLevel } from '@engine/dsl/fan-out';
import { startDefinition } from '@engine/shared/slim-definition';
import { validateDefinition, formatIssues } from '@engine/dsl/validate';
import { clientCodecs, decodeHistoryPayloads } from '@engine/codec/data-converter';
import {
  approvalSignal,
  ErrorCodes,
  progressQuery,
  SEARCH_ATTRIBUTES,
  workflowTypeName,
  type ApprovalDecision,
  type InterpreterInput,
  type RunProgress,
  type StepResult,
} from '@engine/shared/contracts';
import { AppError, ConflictError, NotFoundError } from '@src/common/errors';
import { assertInputMatches } from '@src/workflows/input-schema';
import { assertAiConfigured } from '@src/executions/preflight';
import { WorkflowExecution, WorkflowStepExecution, type TriggerType } from '@src/executions/execution.entity';
import { WorkflowsService, type StartableWorkflow } from '@src/workflows/workflows.service';
import type { Workflow } from '@src/workflows/workflow.entity';
import { downstreamOf, reusePlan, type VersionChoice } from '@src/executions/recovery-plan';

export interface StartOptions {
  input_data?: unknown;
  trigger_type?: TriggerType;
  triggered_by?: string | null;
  /** The same key never starts a second run. */
  idempotency_key?: string | null;
  version?: number;
  schedule_id?: number | null;
  /** Overrides the configured task queue (tests run their own workers). */
  task_queue?: string;
  /** Recovery runs: what the run reuses and retries, kept on its row and in its memo. */
  recovery?: RecoveryRecord;
  /** Recovery runs: the first run's id, for per-item idempotency keys. */
  idempotency_root?: string;
  /** The run retries a subset of a step's items. */
  items_subset?: boolean;
}

/** What a recovery run reuses and re-runs, whatever started it. */
export interface RecoveryBase {
  version: number;
  from_version: number;
  /** The first run of the chain: per-item idempotency keys derive from it. */
  idempotency_root: string;
  reused_steps: string[];
  rerun_steps: string[];
  /** Steps of the chosen version whose definition differs from the earlier run's version (re-run with what follows). */
  changed_steps: string[];
}

/** What a recovery run is (row `recovery`, memo `recovery`). */
export type RecoveryRecord = RecoveryBase & {
  kind: 'restart' | 'retry_items' | 'edit_output';
  /** Which definition version the operator chose (or the default chose): `current` or `original`. */
  version_choice: VersionChoice;
} & Record<string, unknown>;

export interface RestartOptions {
  /** Re-run this step and everything downstream of it; reuse the rest. Default: the failed steps. */
  from_step?: string;
  /** Shallow-merged into the run's input. */
  input_overrides?: Record<string, unknown>;
  triggered_by?: string | null;
  task_queue?: string;
  /**
   * Which definition version the new run uses: `original` (the earlier run's) or `current`
   * (the workflow's current one). Default: current when it is newer, else original.
   */
  version?: VersionChoice;
}

export interface ExecutionLimits {
  /** Config `outage.budgetSeconds`, handed to each run (its steps wait out outages this long). */
  outageBudgetSeconds?: number;
  /** How long a start may wait for Temporal before it answers 503 (config `outage.temporalStartTimeoutMs`; default 10 s). */
  startTimeoutMs?: number;
  /**
   * How long asking Temporal whether a start that timed out reached it may take
   * (config `outage.temporalCallTimeoutMs`; default 1.5 s).
   */
  callTimeoutMs?: number;
  /**
   * Whether a default model key is configured (OPENAI_API_KEY). When false, a
   * run whose required AI steps would run without one is refused with 409
   * AI_NOT_CONFIGURED; left out, nothing is checked.
   */
  aiConfigured?: boolean;
  /** Where operators reach the admin UI (config `http.publicUrl`): the run's link in the Temporal Web UI. */
  publicUrl?: string;
}

const SA = {
  code: defineSearchAttributeKey(SEARCH_ATTRIBUTES.workflowCode, SearchAttributeType.KEYWORD),
  type: defineSearchAttributeKey(SEARCH_ATTRIBUTES.workflowType, SearchAttributeType.KEYWORD),
  trigger: defineSearchAttributeKey(SEARCH_ATTRIBUTES.triggerType, SearchAttributeType.KEYWORD),
  version: defineSearchAttributeKey(SEARCH_ATTRIBUTES.version, SearchAttributeType.INT),
};

/**
 * A `workflow_executions` row as PostgreSQL returns it, as the entity (the
 * column names are its properties; `duration_seconds` is numeric, read as a
 * string): cheaper than TypeORM's hydration or `repo.create()`.
 */
export function runRow(raw: Record<string, unknown>): WorkflowExecution {
  const row = Object.assign(new WorkflowExecution(), raw);
  row.duration_seconds = raw.duration_seconds === null || raw.duration_seconds === undefined ? null : Number(raw.duration_seconds);
  return row;
}

/** Definition versions whose validation an ExecutionsService remembers. */
const VALIDATED_VERSIONS = 1000;
/** Workflows whose row an ExecutionsService remembers between starts. */
const STARTABLE_WORKFLOWS = 1000;

/**
 * A run's row, inserted only while its workflow's row still says what the
 * start read ($14-$17; $17 null when a version was asked for): one round trip.
 */
const INSERT_RUN = `
  INSERT INTO workflow_executions (execution_id, workflow_id, workflow_version_id, version, status, trigger_type, triggered_by,
    input_data, total_steps, idempotency_key, schedule_id, restarted_from, singleton_key, recovery)
  SELECT $1, $2, $3, $4, 'pending', $5, $6, $7::jsonb, $8, $9, $10, $11, $12, $13::jsonb
  WHERE EXISTS (
    SELECT 1 FROM workflows w
    WHERE w.id = $2 AND w.deleted_at IS NULL AND w.status = 'active' AND w.code = $14 AND w.name = $15 AND w.workflow_type = $16
      AND ($17::integer IS NULL OR w.current_version = $17))
  RETURNING *`;

/**
 * Starts, inspects, signals, cancels and restarts runs. Temporal is the source
 * of truth; the execution rows are the projection the worker keeps current.
 */
@Injectable()
export class ExecutionsService {
  /** Validation issues by definition version id (versions are immutable). */
  private readonly validated = new Map<number, ReturnType<typeof validateDefinition>>();
  /** The last row read of each workflow started here: checked against the database by each run's INSERT. */
  private readonly startables = new Map<number, StartableWorkflow>();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(TEMPORAL_CLIENT) private readonly temporal: () => Promise<Client>,
    private readonly workflows: WorkflowsService,
    @Inject(STEP_TYPE_REGISTRY) private readonly registry: StepTypeRegistry,
    @Inject(TASK_QUEUE) private readonly defaultTaskQueue: string,
    @Inject(EXECUTION_LIMITS) @Optional() private readonly limits: ExecutionLimits = {},
  ) {}

  async start(workflowId: number, opts: StartOptions = {}, resume?: InterpreterInput['resume'], restartedFrom?: string): Promise<WorkflowExecution> {
    const repo = this.dataSource.getRepository(WorkflowExecution);
    if (opts.idempotency_key) {
      const existing = await this.runByIdempotencyKey(opts.idempotency_key);
      if (existing) return sameWorkflow(existing, workflowId, opts.idempotency_key);
    }
    // The workflow's row as this process last saw it (status, current version, code and name are mutable): the
    // run's INSERT inserts only if the row still says the same, so a start is one round trip to PostgreSQL. A miss,
    // a refusal computed from a remembered row, or a row that changed meanwhile reads the row again.
    let wf = this.startables.get(workflowId);
    let row: WorkflowExecution | null = null;
    let definition: WorkflowDefinition | undefined;
    let input: unknown;
    for (let attempt = 0; row === null; attempt++) {
      const remembered = wf !== undefined;
      if (!remembered) {
        this.startables.delete(workflowId);
        wf = await this.workflows.startable(workflowId);
      }
      const w = wf!;
      try {
        definition = await this.workflows.definitionFor(w, opts.version);
        input = opts.input_data ?? {};
        this.assertRunnable(w, definition, input);
      } catch (err) {
        if (!remembered) throw err;
        wf = undefined;
        continue;
      }
      const inserted = await this.insertRun(w, definition, input, opts, restartedFrom);
      if (inserted.kind === 'existing') return inserted.row;
      if (inserted.kind === 'stale') {
        // The row changed since it was read: read it again (a workflow edited on every attempt is refused).
        if (attempt >= 3) throw new ConflictError('CONFLICT', `workflow ${w.code} changed while the run was being started; try again`, { workflow_id: w.id });
        wf = undefined;
        continue;
      }
      row = inserted.row;
      if (!remembered) this.remember(w);
    }
    const workflow = wf!;
    definition = definition!;
    const executionId = row.execution_id;
    // A stored version's run carries its slim definition: the worker loads the steps' configs (slim-definition.ts).
    const start = startDefinition(definition);
    // No `execution_id`: it is the workflow id, which the interpreter reads (and the history holds already).
    const args: InterpreterInput = {
      ...start,
      definition: await this.pinFanOutInput(start.definition, input),
      input,
      trigger_type: row.trigger_type,
      triggered_by: row.triggered_by,
      resume,
      ...(opts.idempotency_root ? { idempotency_root: opts.idempotency_root } : {}),
      ...(opts.items_subset ? { items_subset: true } : {}),
      ...(this.limits.outageBudgetSeconds !== undefined ? { outage_budget_seconds: this.limits.outageBudgetSeconds } : {}),
    };
    // Bounded: while Temporal is down the client would retry for a minute; the caller gets a 503 within the limit instead.
    // A gRPC deadline, not an AbortSignal: the server learns it too, and nothing outlives the call (a timeout signal
    // with a listener stays referenced, with the call it would cancel, until its timer fires).
    const deadline = Date.now() + (this.limits.startTimeoutMs ?? 10_000);
    try {
      const client = await this.temporal();
      const handle = await client.withDeadline(deadline, () =>
        client.workflow.start(workflowTypeName(definition.workflow_type), {
          workflowId: executionId,
          taskQueue: opts.task_queue ?? this.defaultTaskQueue,
          args: [args],
          typedSearchAttributes: searchAttributes(definition, row.trigger_type),
          memo: {
            workflow_id: workflow.id,
            workflow_name: workflow.name,
            version: definition.version,
            restarted_from: restartedFrom ?? null,
            ...(opts.recovery ? { recovery: opts.recovery } : {}),
          },
          ...runMetadata({
            definition,
            executionId,
            trigger: row.trigger_type,
            input,
            publicUrl: this.limits.publicUrl ?? 'http://127.0.0.1:3000',
            restartedFrom,
            scheduleId: row.schedule_id,
          }),
        }),
      );
      // The worker's projection records the run id too; no second write on this hot path.
      row.temporal_run_id = handle.firstExecutionRunId;
      // What presenting the run needs of its workflow, so the answer reads nothing more.
      row.workflow = { id: workflow.id, code: workflow.code, name: workflow.name } as Workflow;
    } catch (err) {
      const message = String((err as Error).message ?? err).split('\n')[0];
      // The client's "Failed to start Workflow" says nothing of why: the gRPC error under it does.
      const cause = (err as { cause?: { message?: unknown } }).cause?.message;
      const why = typeof cause === 'string' && cause !== '' ? `${message}: ${cause.split('\n')[0].slice(0, 200)}` : message;
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        await repo.update({ execution_id: executionId }, { status: 'failed', error_message: `could not start: ${message}`, completed_at: new Date() });
        throw new ConflictError('ALREADY_STARTED', message, { execution_id: executionId });
      }
      // A start given up on at the deadline may have reached Temporal all the same (a loaded server answers late):
      // ask it. When it has the run, the start succeeded and the answer says so; the row stays.
      const runId = Date.now() >= deadline || isGrpcDeadlineError(err) ? await this.startedAfterAll(executionId) : null;
      if (runId !== null) {
        row.temporal_run_id = runId;
        row.workflow = { id: workflow.id, code: workflow.code, name: workflow.name } as Workflow;
        return row;
      }
      // The run never started: leave no row claiming it did. (Should Temporal have taken the start after all,
      // the worker's projection records the run when it begins; the start is never retried behind the caller's back.)
      await repo.delete({ execution_id: executionId }).catch(() => undefined);
      throw new AppError(ErrorCodes.DEPENDENCY_UNAVAILABLE, `could not start the run: Temporal did not answer (${why})`, 503, { dependency: 'temporal' });
    }
    return row;
  }

  /**
   * The run id of `executionId` when Temporal has the run (a start that timed out reached it after all), null
   * when it says it has none or does not answer within the call timeout. The start's gRPC call carried its
   * deadline to the server, which drops a request it has not carried out by then.
   */
  private async startedAfterAll(executionId: string): Promise<string | null> {
    try {
      const client = await this.temporal();
      const desc = await client.withDeadline(Date.now() + (this.limits.callTimeoutMs ?? 1500), () => client.workflow.getHandle(executionId).describe());
      return desc.runId;
    } catch {
      return null;
    }
  }

  /** Refuses a run the workflow cannot take now: inactive, an invalid definition, an input its schema refuses, AI not configured. */
  private assertRunnable(workflow: StartableWorkflow, definition: WorkflowDefinition, input: unknown): void {
    if (workflow.status !== 'active') {
      throw new AppError('WORKFLOW_INACTIVE', `workflow ${workflow.code} is inactive; activate it before running it`, 409, { workflow_id: workflow.id });
    }
    // Validate again: the registry of executors may have changed since the definition was saved. A version never
    // changes and this service's registry is fixed, so once per version and process.
    let issues = this.validated.get(definition.version_id);
    if (!issues) {
      issues = validateDefinition(definition, this.registry);
      this.validated.set(definition.version_id, issues);
      if (this.validated.size > VALIDATED_VERSIONS) this.validated.delete(this.validated.keys().next().value as number);
    }
    if (issues.length > 0) throw new AppError('DEFINITION_INVALID', `definition invalid: ${formatIssues(issues)}`, 400, { issues });
    // A run whose input the workflow cannot take is refused now, naming the field, rather than failing at its first step.
    assertInputMatches(definition.input_schema, input, workflow.code);
    if (this.limits.aiConfigured !== undefined) assertAiConfigured(definition, input, this.limits.aiConfigured);
  }

  /** The run started with an idempotency key, if any. Plain SQL: TypeORM's findOne costs the API some 3 ms of CPU (query building, hydration). */
  private async runByIdempotencyKey(key: string): Promise<WorkflowExecution | null> {
    const rows: Array<Record<string, unknown>> = await this.dataSource.query(`SELECT * FROM workflow_executions WHERE idempotency_key = $1`, [key]);
    return rows[0] ? runRow(rows[0]) : null;
  }

  /** Remembers an active workflow's row for the next starts (bounded: the longest remembered goes first). */
  private remember(workflow: StartableWorkflow): void {
    this.startables.delete(workflow.id);
    this.startables.set(workflow.id, { ...workflow });
    if (this.startables.size > STARTABLE_WORKFLOWS) this.startables.delete(this.startables.keys().next().value as number);
  }

  /**
   * Inserts the run's row in one statement, only if the workflow's row still
   * says what `workflow` says (live, active, the same code, name and type, and
   * the same current version unless one was asked for): `stale` when it does
   * not; `existing` when a concurrent request with the same idempotency key
   * won the race. A run refused by the singleton index throws
   * WORKFLOW_ALREADY_RUNNING.
   */
  private async insertRun(
    workflow: StartableWorkflow,
    definition: WorkflowDefinition,
    input: unknown,
    opts: StartOptions,
    restartedFrom: string | undefined,
  ): Promise<{ kind: 'inserted' | 'existing'; row: WorkflowExecution } | { kind: 'stale' }> {
    const repo = this.dataSource.getRepository(WorkflowExecution);
    const singletonKey = singletonKeyOf(definition);
    const values = [
      `${workflow.code}-${randomUUID()}`,
      workflow.id,
      definition.version_id,
      definition.version,
      opts.trigger_type ?? 'api',
      opts.triggered_by ?? null,
      JSON.stringify(input),
      definition.steps.filter((s) => s.role === 'main').length,
      opts.idempotency_key ?? null,
      opts.schedule_id ?? null,
      restartedFrom ?? null,
      singletonKey,
      opts.recovery ? JSON.stringify(opts.recovery) : null,
      workflow.code,
      workflow.name,
      workflow.workflow_type,
      // No version asked (absent, or null from a JSON body): the run is on the current version, which the INSERT checks.
      opts.version == null ? workflow.current_version : null,
    ];
    for (let attempt = 0; ; attempt++) {
      try {
        const rows: Array<Record<string, unknown>> = await this.dataSource.query(INSERT_RUN, values);
        if (rows.length === 0) return { kind: 'stale' };
        return { kind: 'inserted', row: runRow(rows[0]) };
      } catch (err) {
        const e = err as { code?: string; constraint?: string; driverError?: { constraint?: string } };
        if (e.code !== '23505') throw err;
        // A concurrent request with the same idempotency key won the race: answer with its run (before the
        // singleton check: the losing INSERT may meet the one-at-a-time index first, and the winner holds that slot).
        if (opts.idempotency_key) {
          const existing = await this.runByIdempotencyKey(opts.idempotency_key);
          if (existing) return { kind: 'existing', row: sameWorkflow(existing, workflow.id, opts.idempotency_key) };
        }
        if ((e.constraint ?? e.driverError?.constraint) === SINGLETON_INDEX && singletonKey) {
          // Another run holds the slot: refused, unless the projection is only late in saying that run is over.
          if (attempt === 0 && (await this.freeStaleSingleton(singletonKey))) continue;
          const holder = await repo.findOne({ where: { singleton_key: singletonKey, status: In(['pending', 'running']) } });
          throw new ConflictError(
            'WORKFLOW_ALREADY_RUNNING',
            `workflow ${workflow.code} already has a run in progress for ${singletonKey.slice(workflow.code.length + 1)}` +
              `${holder ? ` (${holder.execution_id})` : ''}; it runs one at a time (docs/exactly-once.md)`,
            { execution_id: holder?.execution_id ?? null, singleton_key: singletonKey },
          );
        }
        throw err;
      }
    }
  }

  /**
   * A run of a fan-out definition that names its supplier / marketplace in
   * its input (`{"marketplace_id": 2}`, or a restarted child) runs as that
   * row's child would: the field goes into its config too, and a
   * marketplace's endpoint becomes `marketplace_url` when the config has
   * that key (temporal/dsl/fan-out.ts `childDefinition`).
   */
  private async pinFanOutInput<D extends Pick<WorkflowDefinition, 'fan_out' | 'config' | 'config_overrides'>>(definition: D, input: unknown): Promise<D> {
    if (!definition.fan_out || !isObject(input)) return definition;
    let def = definition;
    for (const level of definition.fan_out) {
      const id = input[level.field];
      if (id === undefined || id === null || id === '' || (def.config[level.field] !== undefined && def.config[level.field] !== null && def.config[level.field] !== '')) continue;
      const rows: Array<{ id: number; code: string; name: string; api_base_url: string | null }> =
        typeof id === 'number' && Number.isInteger(id)
          ? await this.dataSource.query(`SELECT id, code, name, api_base_url FROM ${level.over === 'suppliers' ? 'suppliers' : 'marketplaces'} WHERE id = $1`, [id])
          : [];
      const target = rows[0] ? { id: Number(rows[0].id), code: rows[0].code, name: rows[0].name, endpoint: rows[0].api_base_url } : { id: id as number, code: '', name: '', endpoint: null };
      def = childDefinition(def, level, target);
    }
    return def;
  }

  /**
   * Frees the singleton slot `key` when the run holding it is over in
   * Temporal though its row still says pending/running (the projection is
   * late, or the worker never saw it end). A row whose workflow Temporal does
   * not know is freed only once it is old: its start may be in flight.
   */
  private async freeStaleSingleton(key: string): Promise<boolean> {
    const repo = this.dataSource.getRepository(WorkflowExecution);
    const holder = await repo.findOne({ where: { singleton_key: key, status: In(['pending', 'running']) } });
    if (!holder) return true;
    let over: boolean;
    try {
      const desc = await (await this.temporal()).workflow.getHandle(holder.execution_id).describe();
      over = desc.status.name !== 'RUNNING';
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) return false;
      over = Date.now() - holder.created_at.getTime() > STALE_START_MS;
    }
    if (!over) return false;
    await repo.update({ execution_id: holder.execution_id, singleton_key: key }, { singleton_key: null });
    return true;
  }

  /** By numeric id or by execution_id. */
  async get(id: string): Promise<WorkflowExecution> {
    const repo = this.dataSource.getRepository(WorkflowExecution);
    const row = /^\d+$/.test(id) ? await repo.findOne({ where: { id } }) : await repo.findOne({ where: { execution_id: id } });
    if (!row) throw new NotFoundError('Execution', id);
    return row;
  }

  async steps(executionId: string): Promise<WorkflowStepExecution[]> {
    return this.dataSource.getRepository(WorkflowStepExecution).find({ where: { execution_id: executionId }, order: { started_at: 'ASC', id: 'ASC' } });
  }

  async handle(id: string): Promise<WorkflowHandle> {
    const row = await this.get(id);
    return (await this.temporal()).workflow.getHandle(row.execution_id);
  }

  /** A query of a run, bounded in time (3 s); `fallback` when Temporal or the run cannot answer in time. */
  async boundedQuery<T>(executionId: string, query: QueryDefinition<T>, fallback: T, timeoutMs = 3000): Promise<T> {
    try {
      const client = await this.temporal();
      return await client.withDeadline(Date.now() + timeoutMs, () => client.workflow.getHandle(executionId).query(query));
    } catch {
      return fallback;
    }
  }

  /** Live progress from the running workflow; null when Temporal cannot answer (the projection still can). */
  async progress(id: string): Promise<RunProgress | null> {
    try {
      return await (await this.handle(id)).query(progressQuery);
    } catch {
      return null;
    }
  }

  async cancel(id: string): Promise<WorkflowExecution> {
    const row = await this.get(id);
    if (['completed', 'failed', 'cancelled'].includes(row.status)) {
      throw new ConflictError('EXECUTION_FINISHED', `execution ${row.execution_id} is already ${row.status}`, { execution_id: row.execution_id });
    }
    try {
      await (await this.temporal()).workflow.getHandle(row.execution_id).cancel();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new NotFoundError('Execution', row.execution_id);
      throw err;
    }
    return row;
  }

  async signal(id: string, decision: ApprovalDecision): Promise<WorkflowExecution> {
    const row = await this.get(id);
    if (row.status !== 'running' && row.status !== 'pending') {
      throw new ConflictError('EXECUTION_FINISHED', `execution ${row.execution_id} is ${row.status}`, { execution_id: row.execution_id });
    }
    await (await this.temporal()).workflow.getHandle(row.execution_id).signal(approvalSignal, decision);
    return row;
  }

  /**
   * Starts a new run that reuses the outputs of the steps that completed in an
   * earlier one, from its failed step or from a chosen step (re-running it and
   * everything downstream), optionally with edited input. Steps the earlier
   * run's saga undid (their compensation completed) are not reused: they run
   * again with everything downstream, so the new run leaves the shop as a
   * clean run would. A step whose compensation failed is refused
   * (`COMPENSATION_FAILED`) unless `from_step` re-runs it.
   */
  async restart(id: string, opts: RestartOptions = {}): Promise<WorkflowExecution> {
    const old = await this.get(id);
    assertFinished(old);
    const { original, definition, choice } = await this.chooseVersion(old, opts.version);
    if (fanOutLevel(definition, old.input_data) && !opts.from_step) {
      // A fan-out parent has no steps of its own to reuse: restarting it fans out again, over the rows active now.
      const input = opts.input_overrides && isObject(old.input_data) ? { ...old.input_data, ...opts.input_overrides } : opts.input_overrides ?? old.input_data;
      return this.start(
        old.workflow_id,
        {
          input_data: input,
          trigger_type: 'restart',
          triggered_by: opts.triggered_by ?? null,
          version: definition.version,
          task_queue: opts.task_queue,
          recovery: { kind: 'restart', version_choice: choice, version: definition.version, from_version: original.version, reused_steps: [], rerun_steps: [], changed_steps: [], idempotency_root: typeof old.recovery?.idempotency_root === 'string' ? old.recovery.idempotency_root : old.execution_id },
        },
        undefined,
        old.execution_id,
      );
    }
    const main = definition.steps.filter((s) => s.role === 'main');
    if (opts.from_step !== undefined && !main.some((s) => s.key === opts.from_step)) {
      throw new AppError('STEP_NOT_FOUND', `from_step: workflow ${definition.code} v${definition.version} has no step "${opts.from_step}"`, 400, { field: 'from_step' });
    }
    const outputs = await this.completedOutputs(old.execution_id);
    const stepRows = await this.steps(old.execution_id);
    const plan = this.reuse(old, original, definition, outputs, stepRows, opts.from_step ? [opts.from_step] : []);
    const input =
      opts.input_overrides && isObject(old.input_data) ? { ...old.input_data, ...opts.input_overrides } : opts.input_overrides ?? old.input_data;
    return this.start(
      old.workflow_id,
      {
        input_data: input,
        trigger_type: 'restart',
        triggered_by: opts.triggered_by ?? null,
        version: definition.version,
        task_queue: opts.task_queue,
        idempotency_root: plan.recovery.idempotency_root,
        // Other input, or steps changed upstream, may put other items at the same positions: keys from the items then.
        items_subset: opts.input_overrides !== undefined || plan.recovery.changed_steps.length > 0,
        recovery: { ...plan.recovery, kind: 'restart', version_choice: choice, ...(opts.from_step ? { from_step: opts.from_step } : {}) },
      },
      { from_execution_id: old.execution_id, completed_outputs: plan.completed, skipped_steps: plan.skipped },
      old.execution_id,
    );
  }

  /**
   * The definition a recovery run of `old` uses: its own version (`original`)
   * or the workflow's current one (`current`); by default the current one
   * when it is newer.
   */
  async chooseVersion(old: WorkflowExecution, choice: VersionChoice | undefined): Promise<{ original: WorkflowDefinition; definition: WorkflowDefinition; choice: VersionChoice }> {
    const { workflow, definition: original } = await this.workflows.definition(old.workflow_id, old.version);
    const chosen: VersionChoice = choice ?? (workflow.current_version > old.version ? 'current' : 'original');
    if (chosen === 'original' || workflow.current_version === old.version) return { original, definition: original, choice: chosen };
    const { definition } = await this.workflows.definition(old.workflow_id, workflow.current_version);
    return { original, definition, choice: chosen };
  }

  /**
   * Which outputs of `old` a run of `definition` reuses: every main step
   * except those in `rerun` and what depends on them, the steps that are new
   * or whose definition changed since the old run's version (and what
   * depends on them), and the steps the old run's saga undid.
   */
  reuse(
    old: WorkflowExecution,
    original: WorkflowDefinition,
    definition: WorkflowDefinition,
    outputs: Record<string, unknown>,
    stepRows: WorkflowStepExecution[],
    rerunFrom: string[],
  ): { completed: Record<string, unknown>; skipped: string[]; recovery: RecoveryBase } {
    const plan = reusePlan(original, definition, rerunFrom);
    const rerun = plan.rerun;
    // A step the old run's saga undid is not done any more: it runs again, and so does everything after it.
    const { undone, notUndone } = compensatedSteps(original, stepRows);
    for (const key of undone) for (const k of downstreamOf(definition, [key])) rerun.add(k);
    const main = definition.steps.filter((s) => s.role === 'main');
    const unsafe = notUndone.find((key) => !rerun.has(key) && key in outputs && main.some((s) => s.key === key));
    if (unsafe !== undefined) {
      const comp = original.steps.find((s) => s.role === 'compensation' && s.compensates === unsafe);
      throw new ConflictError(
        'COMPENSATION_FAILED',
        `execution ${old.execution_id}: the compensation "${comp?.key ?? '?'}" of step "${unsafe}" failed, so that step's effects may be partly undone ` +
          `and its output cannot be reused; check what it left behind, then restart with from_step "${unsafe}" (or an earlier step)`,
        { execution_id: old.execution_id, step_key: unsafe, field: 'from_step' },
      );
    }
    const completed: Record<string, unknown> = {};
    for (const s of main) if (!rerun.has(s.key) && s.key in outputs) completed[s.key] = outputs[s.key];
    const skipped = stepRows
      .filter((r) => r.status === 'skipped' && r.role === 'main' && !rerun.has(r.step_key) && main.some((s) => s.key === r.step_key))
      .map((r) => r.step_key);
    const root = typeof old.recovery?.idempotency_root === 'string' ? old.recovery.idempotency_root : old.execution_id;
    return {
      completed,
      skipped,
      recovery: {
        version: definition.version,
        from_version: original.version,
        idempotency_root: root,
        reused_steps: Object.keys(completed),
        rerun_steps: main.filter((s) => !(s.key in completed) && !skipped.includes(s.key)).map((s) => s.key),
        changed_steps: plan.changed,
      },
    };
  }

  /** Step outputs of a finished run, read from its Temporal history (activity results keyed by step). */
  async completedOutputs(executionId: string): Promise<Record<string, unknown>> {
    // fetchHistory() returns payloads as stored: decrypt them with the client's codec first.
    const client = await this.temporal();
    const history = await decodeHistoryPayloads(await client.workflow.getHandle(executionId).fetchHistory(), clientCodecs(client));
    const scheduled = new Map<string, string>();
    const outputs: Record<string, unknown> = {};
    for (const ev of history.events ?? []) {
      const sched = ev.activityTaskScheduledEventAttributes;
      if (sched?.activityId) scheduled.set(String(ev.eventId), sched.activityId);
      const done = ev.activityTaskCompletedEventAttributes;
      if (done) {
        // An ai_process step's review (`review:<step>`) ends with the step's output as the run used it.
        const id = scheduled.get(String(done.scheduledEventId));
        const key = id?.startsWith('review:') ? id.slice('review:'.length) : id;
        const payload = done.result?.payloads?.[0];
        if (key && payload) outputs[key] = (defaultPayloadConverter.fromPayload(payload) as StepResult).output;
      }
    }
    // Steps restored into that run from an earlier one keep their outputs too.
    const input = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    if (input) {
      const started = defaultPayloadConverter.fromPayload(input) as InterpreterInput;
      for (const [k, v] of Object.entries(started.resume?.completed_outputs ?? {})) if (!(k in outputs)) outputs[k] = v;
    }
    return outputs;
  }
}

/** The search attributes operators filter runs by in the Temporal Web UI (also set on scheduled runs). */
export function searchAttributes(def: WorkflowDefinition, trigger: string): SearchAttributePair[] {
  return [
    { key: SA.code, value: def.code },
    { key: SA.type, value: def.workflow_type },
    { key: SA.trigger, value: trigger },
    { key: SA.version, value: def.version },
  ];
}

/** The partial unique index that keeps one pending or running run per singleton key (migration 1796210398240-ExactlyOnce). */
const SINGLETON_INDEX = 'UQ_workflow_executions_singleton';
/** A pending row Temporal does not know is a start still in flight for this long. */
const STALE_START_MS = 120_000;
/** Workflow types that run one at a time per marketplace unless their config says `"singleton": false`. */
const SINGLETON_TYPES = new Set(['order_processing']);

/**
 * The singleton key of a run of `def`, or null when runs may overlap: an
 * order_processing workflow runs once at a time per marketplace
 * (`<code>:marketplace:<id>`), so two runs never fetch and act on the same
 * new orders; `config.singleton: true` makes any workflow a singleton, `false` opts out.
 */
export function singletonKeyOf(def: Pick<WorkflowDefinition, 'code' | 'workflow_type' | 'config'>): string | null {
  const config = (def.config ?? {}) as Record<string, unknown>;
  const on = typeof config.singleton === 'boolean' ? config.singleton : SINGLETON_TYPES.has(def.workflow_type);
  if (!on) return null;
  const marketplace = config.marketplace_id;
  const scope = typeof marketplace === 'number' || (typeof marketplace === 'string' && marketplace !== '') ? `marketplace:${String(marketplace)}` : 'all';
  return `${def.code}:${scope}`.slice(0, 200);
}

/** An idempotency key answers with its run only for the workflow it started. */
function sameWorkflow(existing: WorkflowExecution, workflowId: number, key: string): WorkflowExecution {
  if (existing.workflow_id !== workflowId) {
    throw new ConflictError('IDEMPOTENCY_KEY_REUSED', `idempotency_key: "${key}" already started a run of another workflow (${existing.execution_id})`, {
      field: 'idempotency_key',
      execution_id: existing.execution_id,
    });
  }
  return existing;
}

/**
 * The main steps a run's saga undid (their compensation completed) and those
 * whose compensation failed, from the run's step rows.
 */
export function compensatedSteps(def: WorkflowDefinition, rows: Array<Pick<WorkflowStepExecution, 'step_key' | 'role' | 'status'>>): { undone: string[]; notUndone: string[] } {
  const target = new Map(def.steps.filter((s) => s.role === 'compensation' && s.compensates).map((s) => [s.key, s.compensates!]));
  const undone: string[] = [];
  const notUndone: string[] = [];
  for (const r of rows) {
    const t = r.role === 'compensation' ? target.get(r.step_key) : undefined;
    if (t === undefined) continue;
    if (r.status === 'completed') undone.push(t);
    else if (r.status === 'failed') notUndone.push(t);
  }
  return { undone, notUndone };
}

/** A recovery run starts from a finished run only. */
export function assertFinished(old: WorkflowExecution): void {
  if (old.status === 'running' || old.status === 'pending') {
    throw new ConflictError('EXECUTION_RUNNING', `execution ${old.execution_id} is still ${old.status}; cancel it first`, { execution_id: old.execution_id });
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
