import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { StepError, partialOutputOf } from '@engine/activities/shared/errors';
import { isPagedRef, type Condition, type RunContext, type WorkflowDefinition } from '@engine/dsl/types';
import { evaluateCondition } from '@engine/dsl/conditions';
import { resolveReferences } from '@engine/dsl/references';
import type { StepRequest, StepResult } from '@engine/shared/contracts';
import { fromStepCall, isStepCall, type StepCall } from '@engine/shared/step-call';
import { DefinitionVersionNotFound, type DefinitionStore } from '@engine/activities/runtime/definition-store';
import { ErrorCodes, NON_RETRYABLE_ERROR_TYPES } from '@engine/shared/contracts';
import type { ProjectionService } from '@engine/activities/projection/projection.service';
import type { PayloadStore } from '@engine/activities/runtime/payload-store';
import type { StepExecutor, StepExecutionContext } from '@engine/activities/runtime/executor';
import type { Logger } from '@src/logging/logger';
import { redact, redactString, resolveSecretRefs, type SecretResolver } from '@engine/activities/shared/secrets';
import { OutageRider } from '@engine/activities/runtime/outage';
import { untilAborted } from '@engine/activities/shared/abort';
import type { SecretScrubber } from '@engine/activities/runtime/secret-scrubber';
import { failedItemsOf } from '@engine/activities/shared/item-failures';
import { assertValidConfig } from '@engine/activities/shared/config-issues';
import type { WorkerMetrics } from '@engine/observability/worker-metrics';
import type { ItemLedgerStore } from '@engine/activities/runtime/item-ledger';

/** How often the runner heartbeats on its own while an executor works (the SDK throttles what it sends). */
const AUTO_HEARTBEAT_MS = 1_000;

/**
 * How long an executor that reports progress (calls `ctx.heartbeat`) may stay
 * silent before the runner stops heartbeating for it. Past this, the step's
 * heartbeat timeout (10-30 s) ends the attempt as hung and Temporal retries it
 * from the executor's last checkpoint. Longer than one outside call's default
 * timeout (30 s), so a slow call is not taken for a hang.
 */
export const EXECUTOR_SILENCE_MS = 60_000;

export interface StepRunnerDeps {
  projection: ProjectionService;
  payloads: PayloadStore;
  logger: Logger;
  secrets: SecretResolver;
  /** How long one PostgreSQL/Temporal outage is waited out inside an attempt (config `outage.budgetSeconds`). */
  outageBudgetMs?: number;
  /** Ports of the database, to tell its socket errors from an outside peer's. */
  databasePorts?: number[];
  /** Scrubs every secret the worker knows from every step's output, errors and heartbeats. */
  scrubber: SecretScrubber;
  /** Overrides EXECUTOR_SILENCE_MS (tests). */
  executorSilenceMs?: number;
  /** Overrides AUTO_HEARTBEAT_MS (tests). */
  autoHeartbeatMs?: number;
  /**
   * How long a step runs before its "running" row is written (default
   * RUNNING_REPORT_DELAY_MS). A step that ends sooner writes one row, its end:
   * an operator could not have seen it running anyway.
   */
  runningReportDelayMs?: number;
  /** Prometheus step metrics (duration, items, retries); none in tests that do not ask. */
  metrics?: WorkerMetrics;
  /** The per-item ledger; none when ITEM_LEDGER is off. */
  ledger?: ItemLedgerStore;
  /** Definition versions, for steps called by reference (temporal/shared/step-call.ts). */
  definitions?: DefinitionStore;
}

/** See StepRunnerDeps.runningReportDelayMs. */
export const RUNNING_REPORT_DELAY_MS = 200;

/**
 * Wraps each executor as a Temporal activity named by its step type. The
 * wrapper loads claim-checked inputs, resolves references, reports the attempt
 * to the projection, heartbeats, offloads large outputs, and turns errors into
 * ApplicationFailures whose `type` is the error code (non-retryable for
 * configuration and validation errors).
 */
export function buildStepActivities(executors: StepExecutor[], deps: StepRunnerDeps): Record<string, (req: StepRequest | StepCall) => Promise<StepResult>> {
  const out: Record<string, (req: StepRequest | StepCall) => Promise<StepResult>> = {};
  for (const executor of executors) {
    // Runs started before `perf-activity-reference` send the whole request; later ones a reference to their version,
    // from revision 2 without the step key (the activity id): those get `attempt` in their result only past the first.
    out[executor.type] = async (req) =>
      isStepCall(req) ? runStep(executor, await expandStepCall(req, deps), deps, req.step_ref.step_key === undefined) : runStep(executor, req, deps, false);
  }
  // Temporal runs `default` for an activity type no function is registered for.
  out.default = unknownStepTypeActivity;
  return out;
}

/**
 * The worker's `default` activity: a step type no executor is registered for
 * (a definition saved against a worker build that knew it) fails its step at
 * once, non-retryably, rather than being retried as Temporal's NotFoundError.
 */
export async function unknownStepTypeActivity(): Promise<never> {
  const type = Context.current().info.activityType;
  throw ApplicationFailure.create({
    type: ErrorCodes.UNKNOWN_STEP_TYPE,
    message: `no executor is registered for step type '${type}' on this worker`,
    nonRetryable: true,
  });
}

/**
 * The request a step called by reference stands for: its definition version
 * (cached; loaded from PostgreSQL once, an outage waited out within the budget)
 * and the values the interpreter resolved. A version or step that does not
 * exist fails the step, non-retryably.
 */
export async function expandStepCall(call: StepCall, deps: Pick<StepRunnerDeps, 'definitions' | 'logger' | 'outageBudgetMs' | 'databasePorts'>): Promise<StepRequest> {
  const actx = Context.current();
  const invalid = (message: string) => ApplicationFailure.create({ type: ErrorCodes.DEFINITION_INVALID, message, nonRetryable: true });
  if (!deps.definitions) throw invalid('this worker cannot load definition versions (no definition store)');
  const definitions = deps.definitions;
  // Heartbeats while an outage is waited out repeat the checkpoint a previous attempt left.
  const checkpoint: unknown = actx.info.attempt > 1 ? actx.info.heartbeatDetails : undefined;
  const outages = new OutageRider({
    budgetMs: deps.outageBudgetMs ?? 600_000,
    heartbeat: () => (checkpoint === undefined ? actx.heartbeat() : actx.heartbeat(checkpoint)),
    signal: actx.cancellationSignal,
    logger: deps.logger,
    databasePorts: deps.databasePorts,
  });
  let def: WorkflowDefinition;
  try {
    def = await outages.ride('loading the definition', () => definitions.get(call.step_ref.version_id));
  } catch (err) {
    if (err instanceof DefinitionVersionNotFound) throw invalid(err.message);
    throw err;
  }
  const executionId = actx.info.workflowExecution?.workflowId;
  if (!executionId) throw invalid('a step called by reference runs in a workflow: this activity has none');
  try {
    return fromStepCall(call, def, executionId, actx.info.activityId);
  } catch (err) {
    throw invalid((err as Error).message);
  }
}

/**
 * What the interpreter reads of a step's summary, which is all its result
 * carries (written to the run's history once per step): `failed_items`, and
 * for an `ai_process` step that held items for review the whole summary (the
 * interpreter shows it on the waiting step's row); the result leaves it out
 * when that is nothing. The whole summary is the step row's `output_summary`
 * (API, admin UI), written by this runner.
 */
export function workflowSummary(summary: Record<string, unknown>): Record<string, unknown> {
  if (typeof summary.review_pending === 'number' && summary.review_pending > 0) return summary;
  return typeof summary.failed_items === 'number' ? { failed_items: summary.failed_items } : {};
}

async function runStep(executor: StepExecutor, req: StepRequest, deps: StepRunnerDeps, compact: boolean): Promise<StepResult> {
  const actx = Context.current();
  const attempt = actx.info.attempt;
  const started = new Date();
  const logger = deps.logger.child({ execution_id: req.execution_id, step_key: req.step_key, attempt });
  const labels = { workflow_code: req.workflow_code, step_type: req.step_type, step_key: req.step_key };
  const seconds = () => (Date.now() - started.getTime()) / 1000;
  deps.metrics?.attemptStarted(labels, attempt);
  const base = {
    execution_id: req.execution_id,
    step_key: req.step_key,
    step_name: req.step_name,
    step_type: req.step_type,
    role: req.role,
    attempt,
    max_attempts: req.max_attempts,
  };
  // The step's own timeout: its work, not the time it waited for PostgreSQL or Temporal to come back.
  const stepTimeout = new AbortController();
  // The executor's signal (cancellation or the step's timeout), made when an executor first reads it.
  let signal: AbortSignal | null = null;
  // Heartbeat details are the executor's: a checkpoint a retried attempt resumes from. Every heartbeat the
  // runner sends repeats the last one (Temporal keeps only the latest details), starting from the checkpoint
  // the previous attempt left, so a retry that fails before its first heartbeat does not lose it.
  const checkpoint: unknown = attempt > 1 ? actx.info.heartbeatDetails : undefined;
  let details: unknown = checkpoint;
  /** When the executor last heartbeat itself during this attempt (0: never). */
  let executorBeatAt = 0;
  let executing = false;
  const silenceMs = deps.executorSilenceMs ?? EXECUTOR_SILENCE_MS;
  const beat = () => (details === undefined ? actx.heartbeat() : actx.heartbeat(details));
  const outages = new OutageRider({
    budgetMs: deps.outageBudgetMs ?? 600_000,
    heartbeat: beat,
    signal: actx.cancellationSignal,
    logger,
    databasePorts: deps.databasePorts,
  });
  const timer = setInterval(() => {
    // An executor that reports progress and has gone silent is left to the heartbeat timeout: it is hung.
    const silentMs = executing && executorBeatAt > 0 ? Date.now() - executorBeatAt : 0;
    if (silentMs <= silenceMs) beat();
    else if (silentMs > silenceMs + (actx.info.heartbeatTimeoutMs ?? 0) && !stepTimeout.signal.aborted) {
      // Temporal has timed the attempt out by now (and retries it elsewhere): stop it here too, freeing its slot.
      stepTimeout.abort(new StepError(ErrorCodes.STEP_TIMED_OUT, `the step reported no progress for ${Math.round(silentMs / 1000)} s: hung`, { retryable: true }));
    }
    if (req.timeout_seconds && Date.now() - started.getTime() - outages.waitedMs > req.timeout_seconds * 1000 && !stepTimeout.signal.aborted) {
      stepTimeout.abort(new StepError(ErrorCodes.STEP_TIMED_OUT, `the step took longer than its timeout_seconds (${req.timeout_seconds})`, { retryable: true }));
    }
  }, deps.autoHeartbeatMs ?? AUTO_HEARTBEAT_MS);
  // Secret values this attempt resolved: scrubbed from its errors and output whatever their length;
  // every other known secret is scrubbed by the worker-wide scrubber.
  const usedSecrets = new Set<string>();
  const clean = (t: string) => deps.scrubber.scrubText(usedSecrets.size > 0 ? redactString(t, usedSecrets) : t);
  // With the JSON text the scrub made of the value to search it, when it came back unchanged (see scrubWithJson).
  const cleanWithJson = <T>(v: T) => deps.scrubber.scrubWithJson(usedSecrets.size > 0 ? redact(v, usedSecrets) : v);
  const cleanValue = <T>(v: T): T => cleanWithJson(v).value;
  // The "running" row, written once the step has run for a while (see runningReportDelayMs); the end's write waits for it.
  let runningReport: Promise<unknown> | null = null;
  const reportRunning = () =>
    (runningReport ??= outages
      .ride('recording the attempt', () => deps.projection.reportStep({ ...base, status: 'running', started_at: started.toISOString(), error_message: null }))
      .then(
        () => null,
        (e: unknown) => ({ error: e }),
      ));
  const runningTimer = setTimeout(reportRunning, deps.runningReportDelayMs ?? RUNNING_REPORT_DELAY_MS);
  const ledger = deps.ledger?.open({ execution_id: req.execution_id, step_key: req.step_key, attempt }, cleanValue);
  const runningReported = async () => {
    clearTimeout(runningTimer);
    const failed = (await runningReport) as { error: unknown } | null;
    if (failed) throw failed.error;
  };
  try {
    // At debug: the step's row says when it started (its end row, or its running row once it runs for a while).
    logger.debug('step started', { step_type: req.step_type });
    // A step that reads lists page by page gets paged lists as references; any other gets them whole.
    const keepPaged = executor.readsPages?.(req.config) === true;
    const [input, contextInput, steps] = await outages.ride('loading inputs', () =>
      Promise.all([deps.payloads.hydrate(req.input, { keepPaged }), deps.payloads.hydrate(req.context.input, { keepPaged }), deps.payloads.hydrate(req.context.steps, { keepPaged })]),
    );
    const run: RunContext = {
      input: contextInput,
      steps: steps as Record<string, unknown>,
      config: req.context.config,
      execution: req.context.execution,
    };
    const ctx: StepExecutionContext = {
      execution_id: req.execution_id,
      workflow_code: req.workflow_code,
      step_key: req.step_key,
      attempt,
      max_attempts: req.max_attempts,
      idempotency_key: req.idempotency_key,
      item_idempotency_prefix: req.idempotency_root ? `${req.idempotency_root}:${req.step_key}` : req.idempotency_key,
      ...(req.items_subset ? { items_subset: true } : {}),
      input,
      run,
      resolve: (value, item) => resolveReferences(value, item === undefined ? run : { ...run, item }),
      // Per-item loops heartbeat: once the step is cancelled, that is where they stop.
      heartbeat: (progress) => {
        if (actx.cancellationSignal.aborted) throw cancelledError(actx.cancellationSignal.reason);
        executorBeatAt = Date.now();
        if (progress !== undefined) details = cleanValue(progress);
        beat();
      },
      checkpoint,
      get signal() {
        return (signal ??= AbortSignal.any([actx.cancellationSignal, stepTimeout.signal]));
      },
      logger,
      compensates: req.compensates ?? null,
      resolveSecrets: async (value) => {
        const resolved = await resolveSecretRefs(value, deps.secrets, { collect: usedSecrets });
        deps.scrubber.add(usedSecrets);
        return resolved;
      },
      ...(ledger ? { items: ledger } : {}),
      pages: {
        pageItems: deps.payloads.pageItems,
        of: (value) => deps.payloads.pagesOf(value),
        writer: (field) =>
          deps.payloads.pageWriter(req.execution_id, req.step_key, {
            field,
            attempt,
            clean: cleanValue,
            isClean: (json) => deps.scrubber.textIsClean(json, usedSecrets),
            mayRefer: () => usedSecrets.size === 0,
          }),
      },
    };
    // Validated once, here, with the validator the definition was saved with: executors start from a well-formed config
    // (a definition stored before a validator changed fails here, non-retryable, naming the field).
    assertValidConfig(executor.validateConfig, req.config);
    // An executor that meets an outage runs again once it is over: steps are idempotent (Temporal retries them too).
    const raw = await outages.ride('the step', async () => {
      executing = true;
      try {
        return await untilAborted(executor.execute(req.config, ctx), stepTimeout.signal);
      } finally {
        executing = false;
      }
    });
    await outages.ride('loading the secrets to scrub', () => deps.scrubber.refresh());
    if (ledger) await outages.ride('recording the items', () => ledger.flush());
    // The scrub serialises the output to look for secrets: when it finds none, the payload store reuses that text.
    const { value: output, json: outputJson } = cleanWithJson(raw);
    const stored = await outages.ride('storing the output', () => deps.payloads.offload(req.execution_id, req.step_key, output, { attempt, json: outputJson }));
    const failedItems = executor.failedItems?.(output) ?? null;
    const summary: Record<string, unknown> = { ...summarize(output), ...(executor.summarize?.(output) ?? {}) };
    // `failed_items` in the summary is the count of every failed item (the output's list is bounded), set only
    // from an executor that processes items: the one number the workflow and the projection read.
    delete summary.failed_items;
    if (failedItems) {
      delete summary.failed_items_count;
      summary.failed_items = failedItems.total;
    }
    const completed = new Date();
    await runningReported();
    await outages.ride('recording the result', () =>
      deps.projection.reportStep({
        ...base,
        status: 'completed',
        output_summary: summary,
        failed_items_total: failedItems?.total ?? 0,
        failed_items: failedItems?.items ?? null,
        output_payload_id: stored !== output && stored !== null ? (stored as { $payload: { id: string } }).$payload.id : null,
        error_message: null,
        started_at: started.toISOString(),
        completed_at: completed.toISOString(),
        duration_ms: completed.getTime() - started.getTime(),
      }),
    );
    const outage = outages.waitedMs > 0 ? { outage_waited_ms: outages.waitedMs } : {};
    logger.info('step completed', { duration_ms: completed.getTime() - started.getTime(), ...outage, ...summary });
    deps.metrics?.attemptCompleted(labels, seconds(), summary);
    const forWorkflow = workflowSummary(summary);
    return { output: stored, ...(compact && attempt === 1 ? {} : { attempt }), ...(Object.keys(forWorkflow).length > 0 ? { summary: forWorkflow } : {}) };
  } catch (err) {
    await deps.scrubber.refresh().catch(() => undefined);
    // What the step had done when it stopped (claim-checked when large): the input of its compensation.
    const partial = await partialDetails(err, req, deps, cleanValue).catch((e) => {
      logger.warn('could not keep the partial output', { error: e });
      return {};
    });
    // What the attempt did item by item is kept even when it failed: the operator sees which items went through.
    if (ledger) await ledger.flush().catch((e: unknown) => logger.warn('could not record the items of the failed attempt', { error: e }));
    if (actx.cancellationSignal.aborted) {
      // Report a cancellation (never a failure), so the workflow sees the step as cancelled and can undo it.
      logger.warn('step cancelled', { partial: 'partial_output' in partial });
      const reason = cancelledError(actx.cancellationSignal.reason);
      deps.metrics?.attemptFailed(labels, seconds(), 'cancelled', 'CANCELLED', true);
      throw new CancelledFailure(reason.message, [partial]);
    }
    const failure = toFailure(err, attempt, clean, cleanValue, partial);
    const final = failure.nonRetryable || attempt >= req.max_attempts;
    await runningReported().catch(() => undefined);
    // An ITEMS_FAILED failure carries its failed items: the step row shows them.
    const failedItems = failure.type === ErrorCodes.ITEMS_FAILED ? failedItemsOf(failure.details?.[0]) : null;
    await outages
      .ride('recording the failed attempt', () =>
        deps.projection.reportStep({
          ...base,
          status: 'running',
          ...(failedItems ? { failed_items_total: failedItems.total, failed_items: failedItems.items } : {}),
          error_message: `attempt ${attempt} failed: ${failure.message}`,
          error_details: { code: failure.type, attempt, final },
          started_at: started.toISOString(),
        }),
      )
      .catch((e) => logger.warn('could not record the failed attempt', { error: e }));
    logger.warn('step attempt failed', { code: failure.type, error: failure.message, final });
    deps.metrics?.attemptFailed(labels, seconds(), 'failed', failure.type ?? 'UNKNOWN', final, failedItems?.total ?? 0);
    throw failure;
  } finally {
    clearInterval(timer);
    clearTimeout(runningTimer);
  }
}

/** Item counts for the projection, whatever the executor returns. */
function summarize(output: unknown): Record<string, unknown> {
  if (Array.isArray(output)) return { items: output.length };
  if (output && typeof output === 'object') {
    const o = output as Record<string, unknown>;
    const counts: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o)) {
      if (Array.isArray(v)) counts[`${k}_count`] = v.length;
      else if (isPagedRef(v)) counts[`${k}_count`] = v.$payload.items;
      else if (typeof v === 'number' || typeof v === 'boolean') counts[k] = v;
      if (Object.keys(counts).length >= 12) break;
    }
    return counts;
  }
  return output === null || output === undefined ? {} : { value_type: typeof output };
}

/**
 * The failure Temporal records: the error's code as its type, retryability from
 * the error (config and validation codes never retry), the attempt in details,
 * and secret values scrubbed from the message.
 */
function toFailure(err: unknown, attempt: number, clean: (t: string) => string, cleanValue: <T>(v: T) => T, extra: Record<string, unknown> = {}): ApplicationFailure {
  if (err instanceof ApplicationFailure) {
    const code = err.type ?? 'STEP_ERROR';
    return ApplicationFailure.create({
      message: clean(err.message),
      type: code,
      nonRetryable: err.nonRetryable || NON_RETRYABLE_ERROR_TYPES.includes(code),
      details: [{ ...cleanValue(extraOf(err)), ...extra, attempt, code }],
      nextRetryDelay: err.nextRetryDelay ?? undefined,
    });
  }
  const e = err as { code?: unknown; message?: string; retryable?: boolean };
  const code = typeof e?.code === 'string' ? e.code : 'STEP_ERROR';
  const nonRetryable = e?.retryable === false || NON_RETRYABLE_ERROR_TYPES.includes(code);
  return ApplicationFailure.create({
    message: clean(e?.message ?? String(err)),
    type: code,
    nonRetryable,
    details: [{ ...extra, attempt, code }],
  });
}

function extraOf(err: ApplicationFailure): Record<string, unknown> {
  const first = err.details?.[0];
  return first && typeof first === 'object' ? (first as Record<string, unknown>) : {};
}

/** The cancellation as a CancelledFailure, whatever the abort reason was. */
function cancelledError(reason: unknown): CancelledFailure {
  if (reason instanceof CancelledFailure) return reason;
  return new CancelledFailure(typeof reason === 'string' ? reason : ((reason as Error | undefined)?.message ?? 'cancelled'));
}

/** `{ partial_output }` when the executor attached one (scrubbed of secrets, large ones to the payload store), else `{}`. */
async function partialDetails(err: unknown, req: StepRequest, deps: StepRunnerDeps, cleanValue: <T>(v: T) => T): Promise<Record<string, unknown>> {
  const raw = partialOutputOf(err);
  if (raw === undefined) return {};
  return { partial_output: await deps.payloads.offload(req.execution_id, req.step_key, cleanValue(raw), { kind: 'partial', attempt: Context.current().info.attempt }) };
}

/** Evaluates a condition that reads into claim-checked outputs. */
export function buildConditionActivity(payloads: PayloadStore) {
  return async function evaluateConditionActivity(req: { condition: unknown; context: RunContext }): Promise<boolean> {
    const ctx: RunContext = {
      ...req.context,
      input: await payloads.hydrate(req.context.input),
      steps: (await payloads.hydrate(req.context.steps)) as Record<string, unknown>,
    };
    return evaluateCondition(req.condition as Condition, ctx);
  };
}
