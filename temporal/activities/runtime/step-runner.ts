import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Condition, RunContext } from '@engine/dsl/types';
import { evaluateCondition } from '@engine/dsl/conditions';
import { resolveReferences } from '@engine/dsl/references';
import type { StepRequest, StepResult } from '@engine/shared/contracts';
import { ErrorCodes, NON_RETRYABLE_ERROR_TYPES } from '@engine/shared/contracts';
import type { ProjectionService } from '@engine/activities/projection/projection.service';
import type { PayloadStore } from '@engine/activities/runtime/payload-store';
import type { StepExecutor, StepExecutionContext } from '@engine/activities/runtime/executor';
import type { Logger } from '@src/logging/logger';
import { redact, redactString, resolveSecretRefs, type SecretResolver } from '@engine/activities/shared/secrets';
import { failedItemsOf } from '@engine/activities/shared/item-failures';

/** How often the runner heartbeats on its own while an executor works. */
const AUTO_HEARTBEAT_MS = 5_000;

export interface StepRunnerDeps {
  projection: ProjectionService;
  payloads: PayloadStore;
  logger: Logger;
  secrets: SecretResolver;
}

/**
 * Wraps each executor as a Temporal activity named by its step type. The
 * wrapper loads claim-checked inputs, resolves references, reports the attempt
 * to the projection, heartbeats, offloads large outputs, and turns errors into
 * ApplicationFailures whose `type` is the error code (non-retryable for
 * configuration and validation errors).
 */
export function buildStepActivities(executors: StepExecutor[], deps: StepRunnerDeps): Record<string, (req: StepRequest) => Promise<StepResult>> {
  const out: Record<string, (req: StepRequest) => Promise<StepResult>> = {};
  for (const executor of executors) {
    out[executor.type] = (req) => runStep(executor, req, deps);
  }
  return out;
}

async function runStep(executor: StepExecutor, req: StepRequest, deps: StepRunnerDeps): Promise<StepResult> {
  const actx = Context.current();
  const attempt = actx.info.attempt;
  const started = new Date();
  const logger = deps.logger.child({ execution_id: req.execution_id, step_key: req.step_key, attempt });
  const base = {
    execution_id: req.execution_id,
    step_key: req.step_key,
    step_name: req.step_name,
    step_type: req.step_type,
    role: req.role,
    attempt,
    max_attempts: req.max_attempts,
  };
  await deps.projection.reportStep({ ...base, status: 'running', started_at: started.toISOString(), error_message: null });
  logger.info('step started', { step_type: req.step_type });

  const timer = setInterval(() => actx.heartbeat(), AUTO_HEARTBEAT_MS);
  // Secret values this attempt resolved: scrubbed from its errors and output.
  const usedSecrets = new Set<string>();
  try {
    const [input, contextInput, steps] = await Promise.all([
      deps.payloads.hydrate(req.input),
      deps.payloads.hydrate(req.context.input),
      deps.payloads.hydrate(req.context.steps),
    ]);
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
      input,
      run,
      resolve: (value, item) => resolveReferences(value, item === undefined ? run : { ...run, item }),
      heartbeat: (details) => actx.heartbeat(details),
      signal: actx.cancellationSignal,
      logger,
      compensates: req.compensates ?? null,
      resolveSecrets: (value) => resolveSecretRefs(value, deps.secrets, { collect: usedSecrets }),
    };
    const raw = await executor.execute(req.config, ctx);
    const output = usedSecrets.size > 0 ? redact(raw, usedSecrets) : raw;
    const stored = await deps.payloads.offload(req.execution_id, req.step_key, output);
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
    await deps.projection.reportStep({
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
    });
    logger.info('step completed', { duration_ms: completed.getTime() - started.getTime(), ...summary });
    return { output: stored, attempt, summary };
  } catch (err) {
    const failure = toFailure(
      err,
      attempt,
      usedSecrets.size > 0 ? (t) => redactString(t, usedSecrets) : undefined,
      usedSecrets.size > 0 ? (v) => redact(v, usedSecrets) : undefined,
    );
    if (actx.cancellationSignal.aborted) {
      logger.warn('step cancelled');
      throw err;
    }
    const final = failure.nonRetryable || attempt >= req.max_attempts;
    // An ITEMS_FAILED failure carries its failed items: the step row shows them.
    const failedItems = failure.type === ErrorCodes.ITEMS_FAILED ? failedItemsOf(failure.details?.[0]) : null;
    await deps.projection
      .reportStep({
        ...base,
        status: 'running',
        ...(failedItems ? { failed_items_total: failedItems.total, failed_items: failedItems.items } : {}),
        error_message: `attempt ${attempt} failed: ${failure.message}`,
        error_details: { code: failure.type, attempt, final },
        started_at: started.toISOString(),
      })
      .catch((e) => logger.warn('could not record the failed attempt', { error: e }));
    logger.warn('step attempt failed', { code: failure.type, error: failure.message, final });
    throw failure;
  } finally {
    clearInterval(timer);
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
function toFailure(err: unknown, attempt: number, redact?: (t: string) => string, redactValue?: <T>(v: T) => T): ApplicationFailure {
  const clean = (t: string) => (redact ? redact(t) : t);
  if (err instanceof ApplicationFailure) {
    const code = err.type ?? 'STEP_ERROR';
    const first = err.details?.[0];
    // Details (an ITEMS_FAILED failure's item messages) are scrubbed like the message.
    const extra = first && typeof first === 'object' ? (redactValue ? redactValue(first as Record<string, unknown>) : (first as Record<string, unknown>)) : {};
    return ApplicationFailure.create({
      message: clean(err.message),
      type: code,
      nonRetryable: err.nonRetryable || NON_RETRYABLE_ERROR_TYPES.includes(code),
      details: [{ ...extra, attempt, code }],
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
    details: [{ attempt, code }],
  });
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
