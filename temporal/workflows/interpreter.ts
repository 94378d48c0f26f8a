/**
 * The interpreter: one Temporal workflow that runs any stored definition
 * version. Deterministic: it imports only @temporalio/workflow and pure DSL
 * modules; every effect happens in activities.
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition as waitUntil,
  CancelledFailure,
  isCancellation,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { StepDefinition, StepStatus, WorkflowDefinition } from '@engine/dsl/types';
import { effectiveRetry } from '@engine/dsl/normalize';
import { effectiveDependencies, inputSources, sameDependencies, type Dependencies } from '@engine/dsl/graph';
import { compensationsByTarget, failureHandlers, readySteps } from '@engine/dsl/scheduler';
import { evaluateCondition } from '@engine/dsl/conditions';
import { referencedSteps, PayloadRefEncountered } from '@engine/dsl/references';
import { fanOutLevel } from '@engine/dsl/fan-out';
import { runFanOut } from './fan-out';
import {
  aiReviewQuery,
  aiReviewSignal,
  approvalSignal,
  DEFAULT_OUTAGE_BUDGET_SECONDS,
  ErrorCodes,
  NON_RETRYABLE_ERROR_TYPES,
  progressQuery,
  type AiReviewDecision,
  type AiReviewState,
  type ApprovalDecision,
  type InterpreterInput,
  type RunProgress,
  type RunResult,
  type StepProgress,
  type StepProjection,
  type StepRequest,
  type StepResult,
} from '@engine/shared/contracts';
import { toStepCall, type StepCall } from '@engine/shared/step-call';
import { inflateDefinition, type ConfigReads, type SlimDefinition } from '@engine/shared/slim-definition';
import type { Activities } from '@engine/worker';

/** The interpreter's own bookkeeping activities (projection writes), run as local activities. */
type BookkeepingActivities = Pick<Activities, 'projectRun' | 'projectSteps'>;
/** The review of an `ai_process` step's held items: listed for the operator, then merged back once decided. */
type ReviewActivities = Pick<Activities, 'openAiReview' | 'applyAiReview'>;
/** Condition evaluation (claim-checked context), and the step executors: activities named by step type. */
type StepActivities = Pick<Activities, 'evaluateCondition'> & Record<string, StepActivity>;
type StepActivity = (req: StepRequest | StepCall) => Promise<StepResult>;

/**
 * Named retry/timeout profile of the interpreter's own bookkeeping (projection
 * writes): retried without an attempt limit for as long as the run's outage
 * budget, so a PostgreSQL outage shorter than the budget never fails a run.
 */
function bookkeepingProfile(outageBudgetSeconds: number) {
  return proxyLocalActivities<BookkeepingActivities>({
    startToCloseTimeout: '30 seconds',
    scheduleToCloseTimeout: `${Math.max(outageBudgetSeconds, 60)} seconds`,
    retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '5 seconds' },
  });
}

/**
 * Heartbeat timeout of every step: the step runner heartbeats often, so a
 * lost worker is noticed after this long, even though start-to-close also
 * allows for the outage budget; and a cancellation (of the run, or of a step
 * whose sibling failed) reaches a running activity only through its
 * heartbeats. Between these bounds, the step's own timeout.
 */
const HEARTBEAT_TIMEOUT_SECONDS = { min: 10, max: 30 };

/**
 * Patches (see `patched()`): runs recorded before them replay the old command
 * sequence. `saga-partial-steps`: a failed or cancelled step that may have
 * partly applied is compensated too. `saga-cancel`: cancelling a run runs the
 * compensations before the run is recorded as cancelled.
 */
const PATCH_PARTIAL_STEPS = 'saga-partial-steps';
const PATCH_CANCEL_SAGA = 'saga-cancel';
/**
 * `condition-failure-stops-batch`: a required step whose condition cannot be
 * evaluated fails the run before the other ready steps of its batch start
 * (runs before it went on starting them).
 */
const PATCH_CONDITION_STOPS_BATCH = 'condition-failure-stops-batch';
/**
 * `on-failure-order-by-key`: on-failure steps of equal `order` run by key, as
 * `failureHandlers` orders them (runs before it ran them in definition order).
 */
const PATCH_ON_FAILURE_BY_KEY = 'on-failure-order-by-key';
/**
 * `can-run-parallel-same-order`: of two main steps of equal `order`, the later
 * (by key) waits for the other unless both are marked `can_run_parallel` or
 * share a `parallel_group` (runs before it started them side by side). Asked
 * only for definitions where the two rules differ.
 */
const PATCH_CAN_RUN_PARALLEL = 'can-run-parallel-same-order';
/**
 * `skip-unconfigured-optional-ai`: an optional step that fails with
 * `AI_NOT_CONFIGURED` (no model key on the worker nor in the step) is recorded
 * as skipped with that reason (runs before it recorded it as failed).
 */
const PATCH_SKIP_UNCONFIGURED = 'skip-unconfigured-optional-ai';
/**
 * `perf-activity-reference`: a step activity of a stored definition version is
 * called with a reference (version id + step key) and the values resolved for
 * it (temporal/shared/step-call.ts), not the whole step request; the runner
 * makes the error codes of NON_RETRYABLE_ERROR_TYPES non-retryable itself, so
 * the retry policy no longer lists them. Runs before it sent the full request.
 */
const PATCH_ACTIVITY_REFERENCE = 'perf-activity-reference';

/** What one compensation did, for `$execution.compensated` and the run's error details. */
interface CompensationOutcome {
  /** The step undone. */
  step: string;
  /** Its status when it was undone: completed, or failed / cancelled part way. */
  step_status: StepStatus;
  compensation: string;
  status: 'completed' | 'failed';
  error: string | null;
}

interface StepState {
  step: StepDefinition;
  status: StepStatus;
  attempt: number;
  started_at: string | null;
  completed_at: string | null;
  error: string | null;
  /** Output value or payload ref; for skipped / failed-optional steps, their input passed through. */
  output?: unknown;
  /** An activity was started for the step: it may have applied effects even if it did not complete. */
  applied?: boolean;
  /** What a failed or cancelled step reported having done (its executor's partial output), if anything. */
  partial?: unknown;
  /** Items the step could not process after their retries (from its result's summary). */
  failed_items?: number;
  /** An `ai_process` step with `review`: items it held for an operator, and its result's summary. */
  review_pending?: number;
  summary?: Record<string, unknown>;
}

function nowIso(): string {
  // Workflow time is deterministic (Date is replaced inside the workflow sandbox).
  return new Date().toISOString();
}

function errorMessage(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause) return err.cause.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

function errorCode(err: unknown): string | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) return cause.type ?? undefined;
  return (cause as { name?: string } | undefined)?.name;
}

/** The partial output an executor attached to its failure or cancellation (`details[0].partial_output`). */
function partialOf(err: unknown): unknown {
  const cause = err instanceof ActivityFailure ? err.cause : undefined;
  if ((cause instanceof ApplicationFailure || cause instanceof CancelledFailure) && Array.isArray(cause.details)) {
    const d = cause.details[0] as { partial_output?: unknown } | undefined;
    if (d && typeof d === 'object' && 'partial_output' in d) return d.partial_output;
  }
  return undefined;
}

function attemptOf(err: unknown, fallback: number): number {
  const cause = err instanceof ActivityFailure ? err.cause : undefined;
  if (cause instanceof ApplicationFailure && Array.isArray(cause.details)) {
    const d = cause.details[0] as { attempt?: number } | undefined;
    if (d && typeof d.attempt === 'number') return d.attempt;
  }
  return fallback;
}

/** Failed items an `ITEMS_FAILED` step failure carries in its details. */
function failedItemsOf(err: unknown): number | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : undefined;
  if (cause instanceof ApplicationFailure && Array.isArray(cause.details)) {
    const d = cause.details[0] as { failed_items_total?: unknown } | undefined;
    if (d && typeof d.failed_items_total === 'number') return d.failed_items_total;
  }
  return undefined;
}

/** Builds the interpreter for one run; `run()` executes it. */
class Run {
  private readonly def: WorkflowDefinition;
  private readonly states = new Map<string, StepState>();
  private readonly approvals = new Map<string, ApprovalDecision>();
  /** Reviews of `ai_process` steps' held items, by step key: open while their step waits. */
  private readonly reviews = new Map<string, AiReviewState>();
  private readonly main: StepDefinition[];
  private readonly sources: Dependencies;
  private readonly deps: Dependencies;
  private status: RunProgress['status'] = 'running';
  private failure: string | null = null;
  /** Set when the run itself was cancelled (from the API). */
  private cancelled = false;
  /** Main steps in completion order, for compensation in reverse. */
  private readonly completionOrder: string[] = [];
  /** How long a PostgreSQL/Temporal outage may last before it fails a step or the bookkeeping. */
  private readonly outageBudgetSeconds: number;
  private readonly bookkeeping: ReturnType<typeof bookkeepingProfile>;
  /** Main steps in the order they ended, completed or (after starting work) failed / cancelled: what a saga may undo. */
  private readonly endOrder: string[] = [];
  /** The compensations that ran, once the run started undoing (null before). */
  private compensations: CompensationOutcome[] | null = null;

  /**
   * The run's id is its Temporal workflow id. Runs started by the API pass the
   * same value in their input; runs started by a Temporal Schedule get a
   * generated workflow id, so the workflow id is the one to trust.
   */
  private readonly executionId: string;
  /** Step activities get a reference to their stored version (`perf-activity-reference`); ad-hoc definitions (no version) the full request. */
  private readonly byReference: boolean;
  /** A slim input's steps: what each step's full config reads (its config here holds only what the interpreter reads). */
  private readonly configReads: Map<string, ConfigReads> | null = null;
  /** Revision 1 (InterpreterInput.revision): the main loop awaits fewer promises (decided here, once, from the input). */
  private readonly fewerAwaits: boolean;
  /** Revision 2: step calls leave out the step key (the activity id). */
  private readonly compactCalls: boolean;

  constructor(private readonly input: InterpreterInput) {
    this.executionId = workflowInfo().workflowId;
    this.outageBudgetSeconds = input.outage_budget_seconds ?? DEFAULT_OUTAGE_BUDGET_SECONDS;
    this.bookkeeping = bookkeepingProfile(this.outageBudgetSeconds);
    this.fewerAwaits = (input.revision ?? 0) >= 1;
    this.compactCalls = (input.revision ?? 0) >= 2;
    if (input.slim_definition) {
      if (!(input.definition.version_id > 0)) {
        throw ApplicationFailure.create({ type: ErrorCodes.DEFINITION_INVALID, message: 'a slim definition must name a stored version (version_id > 0)', nonRetryable: true });
      }
      const inflated = inflateDefinition(input.definition as SlimDefinition);
      this.def = inflated.definition;
      this.configReads = inflated.reads;
    } else {
      this.def = input.definition as WorkflowDefinition;
    }
    this.main = this.def.steps.filter((s) => s.role === 'main');
    const deps = effectiveDependencies(this.def);
    const legacy = effectiveDependencies(this.def, { sameOrder: 'parallel' });
    this.deps = sameDependencies(deps, legacy) || patched(PATCH_CAN_RUN_PARALLEL) ? deps : legacy;
    // A slim input says so itself: no patch marker. Whole definitions of stored versions ask the patch, as before.
    this.byReference = this.def.version_id > 0 && (input.slim_definition === true || patched(PATCH_ACTIVITY_REFERENCE));
    this.sources = inputSources(this.def, this.deps);
    for (const step of this.def.steps) {
      this.states.set(step.key, { step, status: 'pending', attempt: 0, started_at: null, completed_at: null, error: null });
    }
    const resume = input.resume;
    if (resume) {
      for (const [key, output] of Object.entries(resume.completed_outputs)) {
        const s = this.states.get(key);
        if (s && s.step.role === 'main') Object.assign(s, { status: 'completed', output });
      }
      for (const key of resume.skipped_steps) {
        const s = this.states.get(key);
        if (s && s.step.role === 'main') s.status = 'skipped';
      }
      // A restored skipped step passes its input through, as it did in the earlier run (upstream first).
      for (let pass = 0; pass < this.main.length; pass++) {
        let pending = false;
        for (const s of this.main) {
          const st = this.states.get(s.key)!;
          if (st.status !== 'skipped' || st.output !== undefined) continue;
          const sources = this.sources[s.key] ?? [];
          if (sources.some((k) => { const src = this.states.get(k)!; return src.status === 'skipped' && src.output === undefined; })) pending = true;
          else st.output = this.stepInput(s);
        }
        if (!pending) break;
      }
      // Restored steps count as done in completion order so their compensations still run.
      for (const s of this.main) if (this.states.get(s.key)!.status === 'completed') this.completionOrder.push(s.key);
      this.endOrder.push(...this.completionOrder);
    }
  }

  progress(): RunProgress {
    const steps: StepProgress[] = [...this.states.values()].map((s) => ({
      key: s.step.key,
      name: s.step.name,
      step_type: s.step.step_type,
      role: s.step.role,
      status: s.status,
      attempt: s.attempt,
      started_at: s.started_at,
      completed_at: s.completed_at,
      error: s.error,
      failed_items_total: s.failed_items ?? 0,
    }));
    const mainStates = this.main.map((s) => this.states.get(s.key)!);
    return {
      execution_id: this.executionId,
      status: this.status,
      total_steps: this.main.length,
      completed_steps: mainStates.filter((s) => s.status === 'completed').length,
      failed_steps: mainStates.filter((s) => s.status === 'failed').length,
      skipped_steps: mainStates.filter((s) => s.status === 'skipped').length,
      running_steps: mainStates.filter((s) => s.status === 'running' || s.status === 'waiting').map((s) => s.step.key),
      failed_items_total: this.failedItems(),
      steps,
      error: this.failure,
    };
  }

  onApproval(decision: ApprovalDecision): void {
    const s = this.states.get(decision.step_key);
    if (!s || s.step.step_type !== 'approval') return;
    if (!this.approvals.has(decision.step_key)) this.approvals.set(decision.step_key, decision);
  }

  /** A decision on an `ai_process` step's review: kept while the review waits, the first per item (and the first `rest`). */
  onAiReview(decision: AiReviewDecision): void {
    const review = this.reviews.get(decision.step_key);
    if (!review || review.status !== 'waiting') return;
    if (decision.rest ? review.decisions.some((d) => d.rest) : decision.key === undefined || review.decisions.some((d) => !d.rest && d.key === decision.key)) return;
    review.decisions.push(decision);
  }

  reviewStates(): AiReviewState[] {
    return [...this.reviews.values()];
  }

  async run(): Promise<RunResult> {
    // The definition was validated when it was saved (and its version is immutable): validating it here
    // again would make a later, stricter rule fail the replay of runs already in flight.
    const info = workflowInfo();
    await this.bookkeeping.projectRun({
      kind: 'started',
      execution_id: this.executionId,
      workflow_id: this.def.workflow_id,
      version_id: this.def.version_id,
      version: this.def.version,
      temporal_run_id: info.runId,
      trigger_type: this.input.trigger_type,
      triggered_by: this.input.triggered_by,
      input: this.input.input,
      total_steps: this.main.length,
      restarted_from: this.input.resume?.from_execution_id ?? null,
      schedule_id: this.input.schedule_id ?? null,
      parent_execution_id: this.input.parent_execution_id ?? null,
      started_at: nowIso(),
    });
    const restored = [...this.states.values()].filter((s) => s.status !== 'pending');
    if (restored.length > 0) {
      await this.projectSteps(restored.map((s) => this.projection(s, { output_summary: { restored_from: this.input.resume!.from_execution_id } })));
    }

    try {
      await this.runMain();
    } catch (err) {
      if (isCancellation(err)) {
        await CancellationScope.nonCancellable(() => this.finishCancelled());
        throw err;
      }
      throw err;
    }

    if (this.failure !== null) {
      await CancellationScope.nonCancellable(async () => {
        await this.compensate();
        await this.runOnFailure();
        this.status = 'failed';
        await this.projectFinished(null, this.failure, {
          failed_steps: this.main.filter((s) => this.states.get(s.key)!.status === 'failed').map((s) => s.key),
          ...(this.compensations && this.compensations.length > 0 ? { compensated: this.compensationReport() } : {}),
        });
      });
      throw ApplicationFailure.create({ type: ErrorCodes.STEP_FAILED, message: this.failure, nonRetryable: true });
    }

    this.status = 'completed';
    const output = this.finalOutput();
    await this.projectFinished(output, null, null);
    return {
      execution_id: this.executionId,
      status: 'completed',
      outcome: this.failedItems() > 0 ? 'completed_with_failures' : 'completed',
      failed_items_total: this.failedItems(),
      output,
      steps: Object.fromEntries([...this.states.values()].map((s) => [s.step.key, { status: s.status }])),
    };
  }

  /** Items the main steps could not process: a completed run with some is "completed with failures". */
  private failedItems(): number {
    return this.main.reduce((n, s) => n + (this.states.get(s.key)!.failed_items ?? 0), 0);
  }

  /** The run's output: the output of the last main steps (those nothing depends on). */
  private finalOutput(): unknown {
    const dependedOn = new Set(Object.values(this.sources).flat());
    const sinks = this.main.filter((s) => !dependedOn.has(s.key));
    if (sinks.length === 1) return this.states.get(sinks[0].key)!.output ?? null;
    return Object.fromEntries(sinks.map((s) => [s.key, this.states.get(s.key)!.output ?? null]));
  }

  private statusMap(): Record<string, StepStatus> {
    return Object.fromEntries(this.main.map((s) => [s.key, this.states.get(s.key)!.status]));
  }

  private async runMain(): Promise<void> {
    // Every promise a workflow makes costs the SDK a stack trace (its stack-trace query): revision 1 makes fewer.
    const running = new Map<string, { scope: CancellationScope | null; done: Promise<void> }>();
    const limit = Math.max(1, this.def.max_parallel_steps);
    for (;;) {
      if (this.failure === null) {
        const ready = readySteps(this.def, this.statusMap(), this.deps).filter((k) => !running.has(k));
        const skipped: StepState[] = [];
        for (const key of ready) {
          if (running.size >= limit) break;
          const state = this.states.get(key)!;
          let shouldRun: boolean;
          try {
            shouldRun = this.fewerAwaits && !state.step.condition ? true : await this.conditionHolds(state.step);
          } catch (err) {
            if (isCancellation(err)) throw err;
            // A condition that cannot be evaluated fails its step, rather than failing the workflow task over and over.
            state.started_at = nowIso();
            await this.recordFailure(state, ApplicationFailure.create({ type: 'BAD_CONDITION', message: `condition: ${errorMessage(err)}`, nonRetryable: true }));
            // The run has failed: no other step of this batch starts.
            if (this.failure !== null && patched(PATCH_CONDITION_STOPS_BATCH)) break;
            continue;
          }
          if (!shouldRun) {
            Object.assign(state, { status: 'skipped', output: this.stepInput(state.step), completed_at: nowIso() });
            skipped.push(state);
            continue;
          }
          state.status = 'running';
          state.started_at = nowIso();
          // The only step ready, none running: until it ends nothing else starts, so no sibling is ever cancelled
          // with it, and cancelling the run reaches its activity through the run's own scope.
          if (this.fewerAwaits && ready.length === 1 && running.size === 0) {
            running.set(key, { scope: null, done: this.runStep(state) });
            continue;
          }
          const scope = new CancellationScope();
          running.set(key, { scope, done: scope.run(() => this.runStep(state)) });
        }
        if (skipped.length > 0) {
          await this.projectSteps(skipped.map((s) => this.projection(s, { output_summary: { reason: 'condition false' } })));
          continue; // skips may make more steps ready
        }
      }
      if (running.size === 0) return;
      let finished: string;
      if (this.fewerAwaits && running.size === 1) {
        const [key, only] = running.entries().next().value!;
        await only.done;
        finished = key;
      } else {
        finished = await Promise.race([...running.entries()].map(([key, r]) => r.done.then(() => key)));
      }
      running.delete(finished);
      if (this.cancelled) {
        // The run was cancelled: every running step's scope is cancelled with it; wait for them.
        await Promise.all([...running.values()].map((r) => r.done));
        throw new CancelledFailure('run cancelled');
      }
      if (this.failure !== null && running.size > 0) {
        // A required step failed: cancel the siblings still running and wait for them to settle.
        for (const r of running.values()) r.scope?.cancel();
        await Promise.all([...running.values()].map((r) => r.done));
        running.clear();
        return;
      }
    }
  }

  private async conditionHolds(step: StepDefinition): Promise<boolean> {
    if (!step.condition) return true;
    try {
      return evaluateCondition(step.condition, this.referenceContext());
    } catch (err) {
      if (err instanceof PayloadRefEncountered) {
        // The condition reads into a claim-checked output: evaluate it where payloads can be loaded.
        return await stepActivities({ startToCloseTimeout: '1 minute' }).evaluateCondition({
          condition: step.condition,
          context: this.referenceContext(),
        });
      }
      throw err;
    }
  }

  private referenceContext() {
    const steps: Record<string, unknown> = {};
    for (const [key, s] of this.states) if (s.output !== undefined) steps[key] = s.output;
    return { input: this.input.input, steps, config: this.def.config, execution: this.executionContext() };
  }

  private executionContext(): Record<string, unknown> {
    return {
      id: this.executionId,
      execution_id: this.executionId,
      workflow_code: this.def.code,
      workflow_name: this.def.name,
      workflow_type: this.def.workflow_type,
      version: this.def.version,
      trigger_type: this.input.trigger_type,
      triggered_by: this.input.triggered_by,
      started_at: workflowInfo().startTime.toISOString(),
      status: this.status,
      error: this.failure,
      ...(this.compensations ? { compensated: this.compensationReport() } : {}),
    };
  }

  /**
   * What the saga undid, for the on-failure steps (`$execution.compensated`)
   * and the run's error details: `undone` and `failed` list step keys,
   * `summary` says it in one sentence.
   */
  private compensationReport(): Record<string, unknown> {
    const outcomes = this.compensations ?? [];
    const name = (key: string) => this.states.get(key)?.step.name ?? key;
    const undone = outcomes.filter((o) => o.status === 'completed');
    const failed = outcomes.filter((o) => o.status === 'failed');
    const parts: string[] = [];
    if (undone.length > 0) parts.push(`undone: ${undone.map((o) => `${name(o.compensation)} (for ${o.step})`).join(', ')}`);
    if (failed.length > 0) parts.push(`NOT undone: ${failed.map((o) => `${name(o.compensation)} (for ${o.step}) failed: ${o.error ?? 'unknown error'}`).join('; ')}`);
    return {
      undone: undone.map((o) => o.step),
      failed: failed.map((o) => o.step),
      steps: outcomes,
      summary: parts.length > 0 ? parts.join('; ') : 'nothing needed undoing',
    };
  }

  /** A step's input: the output of what it depends on, or the run's input for a first step. */
  private stepInput(step: StepDefinition): unknown {
    if (step.role === 'compensation' && step.compensates) {
      const target = this.states.get(step.compensates);
      if (!target) return null;
      if (target.status === 'completed') return target.output ?? null;
      // A step that failed or was cancelled part way: what it reported having done, else the input it was given.
      return target.partial !== undefined ? target.partial : this.stepInput(target.step);
    }
    if (step.role === 'on_failure') {
      return { error: this.failure, progress: this.progress(), ...(this.compensations ? { compensated: this.compensationReport() } : {}) };
    }
    const sources = this.sources[step.key] ?? [];
    if (sources.length === 0) return this.input.input;
    if (sources.length === 1) return this.states.get(sources[0])!.output ?? null;
    return Object.fromEntries(sources.map((k) => [k, this.states.get(k)!.output ?? null]));
  }

  private request(step: StepDefinition): StepRequest {
    const steps: Record<string, unknown> = {};
    const fromConfig = this.configReads?.get(step.key)?.steps ?? referencedSteps(step.config);
    const referenced = new Set([...fromConfig, ...referencedSteps(step.condition, 'condition')]);
    for (const key of referenced) {
      const s = this.states.get(key);
      if (s && s.output !== undefined) steps[key] = s.output;
    }
    return {
      execution_id: this.executionId,
      workflow_code: this.def.code,
      step_key: step.key,
      step_name: step.name,
      step_type: step.step_type,
      role: step.role,
      config: step.config,
      input: this.stepInput(step),
      context: { input: this.input.input, steps, config: this.def.config, execution: this.executionContext() },
      max_attempts: effectiveRetry(step, this.def).maxAttempts,
      timeout_seconds: step.timeout_seconds,
      idempotency_key: `${this.executionId}:${step.key}`,
      // Recovery runs: per-item side effects keyed from the first run (activity input only: no command changes).
      ...(this.input.idempotency_root ? { idempotency_root: this.input.idempotency_root } : {}),
      ...(this.input.items_subset ? { items_subset: true } : {}),
      compensates: step.compensates,
    };
  }

  private activityOptions(step: StepDefinition, byReference = false): ActivityOptions {
    const retry = effectiveRetry(step, this.def);
    // The runner enforces timeout_seconds on the step's work; start-to-close also allows for waiting out an outage.
    const heartbeat = Math.min(HEARTBEAT_TIMEOUT_SECONDS.max, Math.max(HEARTBEAT_TIMEOUT_SECONDS.min, step.timeout_seconds));
    return {
      activityId: step.key,
      // Shown on the Web UI's timeline instead of the step type (user metadata: not part of replay's command check).
      summary: step.name === step.key ? step.name : `${step.name} (${step.key})`,
      startToCloseTimeout: `${step.timeout_seconds + this.outageBudgetSeconds} seconds`,
      heartbeatTimeout: `${heartbeat} seconds`,
      cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
      retry: {
        maximumAttempts: retry.maxAttempts,
        initialInterval: `${Math.max(retry.initialIntervalSeconds, 0.001)} seconds`,
        backoffCoefficient: retry.backoff,
        maximumInterval: `${Math.max(retry.maxIntervalSeconds, retry.initialIntervalSeconds, 0.001)} seconds`,
        ...(byReference ? {} : { nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES }),
      },
    };
  }

  /** Runs one step to its end state; never throws except for cancellation of the whole run. */
  private async runStep(state: StepState): Promise<void> {
    const step = state.step;
    this.showDetails();
    try {
      let output = step.step_type === 'approval' ? await this.awaitApproval(state) : await this.execute(state);
      // An ai_process step that held low-confidence answers for an operator: the run waits for the decisions.
      if ((state.review_pending ?? 0) > 0) output = await this.awaitReview(state, output);
      Object.assign(state, { status: 'completed', output, completed_at: nowIso(), error: null });
      if (step.role === 'main') {
        this.completionOrder.push(step.key);
        this.endOrder.push(step.key);
      }
      // Approvals run in the workflow itself: no activity reports their end.
      if (step.step_type === 'approval') await this.projectSteps([this.projection(state, { output_summary: output as Record<string, unknown> })]);
    } catch (err) {
      if (isCancellation(err) && this.failure !== null) {
        // Cancelled because a sibling failed.
        Object.assign(state, { status: 'cancelled', completed_at: nowIso(), error: 'cancelled: another step failed' });
        this.endedPartway(state, err);
        await CancellationScope.nonCancellable(() => this.projectSteps([this.projection(state)]));
        return;
      }
      if (isCancellation(err)) {
        this.cancelled = true;
        Object.assign(state, { status: 'cancelled', completed_at: nowIso(), error: 'cancelled' });
        this.endedPartway(state, err);
        return;
      }
      await this.recordFailure(state, err);
    } finally {
      this.showDetails();
    }
  }

  /** The Web UI's "current details" (Markdown): steps done, what runs now, failed items, the failure. */
  private showDetails(): void {
    const main = this.main.map((s) => this.states.get(s.key)!);
    const done = main.filter((s) => s.status !== 'pending' && s.status !== 'running' && s.status !== 'waiting').length;
    const now = main
      .filter((s) => s.status === 'running' || s.status === 'waiting')
      .map((s) => `${s.step.name} (\`${s.step.key}\`${s.status === 'waiting' ? ', waiting for approval' : ''})`);
    const failedItems = this.failedItems();
    setCurrentDetails(
      [
        `**Steps done:** ${done} of ${main.length}`,
        now.length > 0 ? `**Running:** ${now.join(', ')}` : null,
        failedItems > 0 ? `**Failed items:** ${failedItems}` : null,
        this.failure !== null ? `**Failure:** ${this.failure}` : null,
      ]
        .filter((l): l is string => l !== null)
        .join('\n\n'),
    );
  }

  /** Records a step's final failure; a required main step's failure fails the run. */
  private async recordFailure(state: StepState, err: unknown): Promise<void> {
    const step = state.step;
    const message = errorMessage(err);
    if (step.role === 'main' && step.is_optional && errorCode(err) === ErrorCodes.AI_NOT_CONFIGURED && patched(PATCH_SKIP_UNCONFIGURED)) {
      // Not a fault of the step: the deployment has no model. Skipped like a false condition, with the reason.
      Object.assign(state, { status: 'skipped', attempt: attemptOf(err, state.attempt), completed_at: nowIso(), error: null, output: this.stepInput(step) });
      await this.projectSteps([this.projection(state, { output_summary: { reason: message }, error_details: { code: ErrorCodes.AI_NOT_CONFIGURED, optional: true } })]);
      return;
    }
    state.attempt = attemptOf(err, state.attempt);
    state.failed_items = failedItemsOf(err) ?? state.failed_items;
    Object.assign(state, { status: 'failed', completed_at: nowIso(), error: message });
    this.endedPartway(state, err);
    await this.projectSteps([this.projection(state, { error_details: { code: errorCode(err) ?? null, optional: step.is_optional } })]);
    if (step.role !== 'main') return; // compensation / on-failure errors are recorded, not escalated
    if (step.is_optional) {
      state.output = this.stepInput(step); // pass the input through to dependents
      return;
    }
    this.failure ??= `step "${step.key}" failed: ${message}`;
  }

  /** A main step that started work and then failed or was cancelled: remembered (with what it reported) for the saga. */
  private endedPartway(state: StepState, err: unknown): void {
    if (state.step.role !== 'main' || !state.applied) return;
    const partial = partialOf(err);
    if (partial !== undefined) state.partial = partial;
    this.endOrder.push(state.step.key);
  }

  private async execute(state: StepState): Promise<unknown> {
    const step = state.step;
    // A step type no worker registers fails with UNKNOWN_STEP_TYPE, non-retryable (the worker's `default` activity).
    const byReference = this.byReference;
    const fn = stepActivities(this.activityOptions(step, byReference))[step.step_type];
    state.applied = true;
    const result = await fn(
      byReference ? toStepCall(this.request(step), this.def, this.configReads?.get(step.key), { keyIsActivityId: this.compactCalls }) : this.request(step),
    );
    state.attempt = result.attempt ?? 1;
    const failedItems = result.summary?.failed_items;
    if (typeof failedItems === 'number') state.failed_items = failedItems;
    const held = result.summary?.review_pending;
    if (step.step_type === 'ai_process' && typeof held === 'number' && held > 0) Object.assign(state, { review_pending: held, summary: result.summary });
    return result.output;
  }

  /**
   * The review of an `ai_process` step's held items (its `review` config):
   * lists them for the operator, waits for a decision on each (or a `rest`
   * decision) by `aiReviewSignal`, at most `review.timeout_seconds` (then
   * `on_timeout` decides the rest), and merges the decided items back into
   * the step's output, which is what its dependents get.
   */
  private async awaitReview(state: StepState, output: unknown): Promise<unknown> {
    const step = state.step;
    const config = (step.config.review ?? {}) as { timeout_seconds?: number; on_timeout?: string };
    const timeoutSeconds = Number(config.timeout_seconds ?? 0);
    const review: AiReviewState = {
      step_key: step.key,
      pending: state.review_pending!,
      decisions: [],
      status: 'waiting',
      deadline: timeoutSeconds > 0 ? new Date(new Date().getTime() + timeoutSeconds * 1000).toISOString() : null,
    };
    this.reviews.set(step.key, review);
    await reviewActivities(this.outageBudgetSeconds, `review-open:${step.key}`).openAiReview({ execution_id: this.executionId, step_key: step.key, output });
    state.status = 'waiting';
    await this.projectSteps([this.projection(state, { output_summary: { ...state.summary } })]);
    this.showDetails();
    const decided = () => review.decisions.some((d) => d.rest) || new Set(review.decisions.map((d) => d.key)).size >= review.pending;
    const got = timeoutSeconds > 0 ? await waitUntil(decided, `${timeoutSeconds} seconds`) : (await waitUntil(decided), true);
    review.status = 'applying';
    // Named `review:<step>`: a restart of this run reuses the reviewed output as the step's (ExecutionsService).
    const result = await reviewActivities(this.outageBudgetSeconds, `review:${step.key}`).applyAiReview({
      execution_id: this.executionId,
      step_key: step.key,
      attempt: state.attempt,
      output,
      decisions: review.decisions,
      undecided: !got && config.on_timeout === 'approve' ? 'approve' : 'reject',
      timed_out: !got,
    });
    review.status = 'done';
    // The step's row ends completed with what the review did (dependents start once runStep records it).
    await this.projectSteps([this.projection({ ...state, status: 'completed', completed_at: nowIso() }, { output_summary: { ...state.summary, review_pending: 0, ...result.summary } })]);
    return result.output;
  }

  /** An approval step waits for an approve/reject signal, with an optional timeout. */
  private async awaitApproval(state: StepState): Promise<unknown> {
    const step = state.step;
    state.status = 'waiting';
    state.attempt = 1;
    await this.projectSteps([this.projection(state)]);
    const timeoutSeconds = Number(step.config.timeout_seconds ?? 0);
    const got = timeoutSeconds > 0
      ? await waitUntil(() => this.approvals.has(step.key), `${timeoutSeconds} seconds`)
      : (await waitUntil(() => this.approvals.has(step.key)), true);
    if (!got) {
      const onTimeout = step.config.on_timeout === 'approve' ? 'approve' : 'reject';
      if (onTimeout === 'approve') return { approved: true, decision: 'approve', timed_out: true, data: null, by: null };
      throw ApplicationFailure.create({ type: ErrorCodes.APPROVAL_TIMED_OUT, message: `approval timed out after ${timeoutSeconds}s`, nonRetryable: true });
    }
    const d = this.approvals.get(step.key)!;
    if (d.decision === 'reject') {
      throw ApplicationFailure.create({
        type: ErrorCodes.APPROVAL_REJECTED,
        message: `rejected${d.by ? ` by ${d.by}` : ''}${d.comment ? `: ${d.comment}` : ''}`,
        nonRetryable: true,
      });
    }
    return { approved: true, decision: 'approve', timed_out: false, data: d.data ?? null, by: d.by ?? null, comment: d.comment ?? null };
  }

  /**
   * Runs compensation steps in reverse order (the plan of `failureHandlers`):
   * of the completed main steps, and (for runs started since
   * `saga-partial-steps`) of the steps that failed or were cancelled after
   * they started work, which may have partly applied. Records each outcome
   * for `$execution.compensated`.
   */
  private async compensate(): Promise<void> {
    const byTarget = compensationsByTarget(this.def);
    const partway = this.endOrder.filter((k) => this.states.get(k)!.status !== 'completed' && byTarget.has(k));
    const order = partway.length > 0 && patched(PATCH_PARTIAL_STEPS) ? this.endOrder : this.completionOrder;
    this.compensations = [];
    for (const { step: key, compensation } of failureHandlers(this.def, order).compensations) {
      const state = this.states.get(compensation)!;
      if (state.status !== 'pending') continue; // each compensation runs once
      state.status = 'running';
      state.started_at = nowIso();
      await this.runStep(state);
      const ended = state.status as StepStatus; // set by runStep
      this.compensations.push({
        step: key,
        step_status: this.states.get(key)!.status,
        compensation,
        status: ended === 'completed' ? 'completed' : 'failed',
        error: ended === 'completed' ? null : state.error,
      });
    }
  }

  private async runOnFailure(): Promise<void> {
    let keys = failureHandlers(this.def, []).onFailure;
    // Runs recorded before `on-failure-order-by-key` ran equal-order steps in definition order.
    const legacy = this.def.steps.filter((s) => s.role === 'on_failure').sort((a, b) => a.order - b.order).map((s) => s.key);
    if (legacy.some((k, i) => k !== keys[i]) && !patched(PATCH_ON_FAILURE_BY_KEY)) keys = legacy;
    for (const key of keys) {
      const state = this.states.get(key)!;
      state.status = 'running';
      state.started_at = nowIso();
      await this.runStep(state);
    }
  }

  /**
   * Ends a cancelled run. Since `saga-cancel`, cancelling is a saga: the
   * steps that ran (and those cancelled part way) are compensated in reverse
   * before the run is recorded as cancelled.
   */
  private async finishCancelled(): Promise<void> {
    const byTarget = compensationsByTarget(this.def);
    const saga = this.endOrder.some((k) => byTarget.has(k)) && patched(PATCH_CANCEL_SAGA);
    this.status = 'cancelled';
    const touched: StepState[] = [];
    for (const s of this.states.values()) {
      if (saga && s.step.role !== 'main') continue; // compensations and on-failure steps are not cancelled: the saga may still run them
      if (s.status === 'pending' || s.status === 'running' || s.status === 'waiting' || s.status === 'cancelled') {
        if (s.started_at) touched.push(s);
        Object.assign(s, { status: 'cancelled', completed_at: s.started_at ? (s.completed_at ?? nowIso()) : null, error: s.started_at ? 'cancelled' : null });
      }
    }
    if (touched.length > 0) await this.projectSteps(touched.map((s) => this.projection(s)));
    if (saga) {
      this.failure ??= 'the run was cancelled';
      await this.compensate();
    }
    await this.projectFinished(null, 'cancelled', saga ? { compensated: this.compensationReport() } : null);
  }

  /** Records the run's end (its status is `this.status`): the one place the `finished` event is built. */
  private async projectFinished(output: unknown, errorMessage: string | null, errorDetails: Record<string, unknown> | null): Promise<void> {
    await this.bookkeeping.projectRun({
      kind: 'finished',
      execution_id: this.executionId,
      workflow_id: this.def.workflow_id,
      status: this.status as 'completed' | 'failed' | 'cancelled',
      output,
      error_message: errorMessage,
      error_details: errorDetails,
      completed_at: nowIso(),
    });
  }

  private projection(s: StepState, extra: Partial<StepProjection> = {}): StepProjection {
    return {
      execution_id: this.executionId,
      step_key: s.step.key,
      step_name: s.step.name,
      step_type: s.step.step_type,
      role: s.step.role,
      status: s.status,
      attempt: s.attempt,
      error_message: s.error,
      started_at: s.started_at,
      completed_at: s.completed_at,
      ...extra,
    };
  }

  private async projectSteps(rows: StepProjection[]): Promise<void> {
    await this.bookkeeping.projectSteps({ rows });
  }
}

/** The review activities: short database work, retried for as long as the outage budget. */
function reviewActivities(outageBudgetSeconds: number, activityId: string): ReviewActivities {
  return proxyActivities<ReviewActivities>({
    activityId,
    startToCloseTimeout: '5 minutes',
    scheduleToCloseTimeout: `${Math.max(outageBudgetSeconds, 60) + 300} seconds`,
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' },
  });
}

function stepActivities(options: ActivityOptions): StepActivities {
  return proxyActivities<StepActivities>(options);
}

/**
 * Runs the definition carried by `input`. Every named workflow type delegates here.
 * A definition with `fan_out` whose run names no supplier / marketplace runs as a
 * fan-out parent instead (./fan-out); definitions without it never take that path.
 */
export async function interpret(input: InterpreterInput): Promise<RunResult> {
  const level = input.resume ? null : fanOutLevel(input.definition, input.input);
  if (level) return runFanOut(input, level);
  const run = new Run(input);
  setHandler(progressQuery, () => run.progress());
  setHandler(approvalSignal, (d) => run.onApproval(d));
  setHandler(aiReviewSignal, (d) => run.onAiReview(d));
  setHandler(aiReviewQuery, () => run.reviewStates());
  return await run.run();
}

