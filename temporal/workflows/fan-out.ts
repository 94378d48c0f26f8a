/**
 * The interpreter's fan-out path: a run of a definition with `fan_out` whose
 * input (and config) names no supplier / marketplace is a PARENT. It lists
 * the active rows, starts one child workflow per row (the same definition
 * version, the field set in the child's input and config), at most
 * `max_concurrent` at a time, and ends with a summary of every child's outcome.
 *
 * - Child workflow ids derive from the parent's (`<parent>:supplier-3`): the
 *   commands are replayed, never re-issued, so a retried workflow task or a
 *   restarted worker never starts a child twice; should a child of that id
 *   exist anyway (a parent reset, or re-run under the same id), the start is
 *   refused (WorkflowIdReusePolicy REJECT_DUPLICATE) and the parent reads that
 *   child's outcome from its row instead of running it again.
 * - ParentClosePolicy REQUEST_CANCEL: a parent that ends while children still
 *   run (terminated by an operator, say) has them cancelled, so each runs its
 *   saga (compensations) rather than being cut off mid-step (TERMINATE) or left
 *   running unseen (ABANDON). Cancelling the parent cancels its children and
 *   waits for their compensation to finish.
 * - One child failing never fails the others: the parent completes; its failed
 *   items are its failed children (so it shows "completed with failures"). It
 *   fails only when every child failed.
 *
 * Deterministic: imports only @temporalio/workflow, @temporalio/common and pure modules.
 */
import {
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  ChildWorkflowCancellationType,
  isCancellation,
  ParentClosePolicy,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  startChild,
  workflowInfo,
  WorkflowIdReusePolicy,
} from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType, WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { FanOutLevel } from '@engine/dsl/types';
import {
  childDefinition,
  childInput,
  childWorkflowId,
  fanOutFailed,
  fanOutSummary,
  kindOf,
  restrictedIds,
  type FanOutChildOutcome,
  type FanOutTarget,
} from '@engine/dsl/fan-out';
import {
  DEFAULT_OUTAGE_BUDGET_SECONDS,
  ErrorCodes,
  progressQuery,
  SEARCH_ATTRIBUTES,
  type InterpreterInput,
  type RunProgress,
  type RunResult,
  type StepProjection,
} from '@engine/shared/contracts';
import type { Activities } from '@engine/worker';

/** The trigger type of a child run. */
export const FAN_OUT_TRIGGER = 'fan_out';
/** The step type of a parent's rows, one per child. */
export const CHILD_STEP_TYPE = 'child_workflow';

const TRIGGER_KEY = defineSearchAttributeKey(SEARCH_ATTRIBUTES.triggerType, SearchAttributeType.KEYWORD);

interface ChildState {
  target: FanOutTarget;
  execution_id: string;
  status: 'pending' | 'running' | FanOutChildOutcome['status'];
  started_at: string | null;
  completed_at: string | null;
  outcome: FanOutChildOutcome | null;
}

function nowIso(): string {
  return new Date().toISOString();
}

/** The message of a child's failure: its run's own error, under Temporal's wrapping. */
function failureMessage(err: unknown): string {
  let e = err as { message?: string; cause?: unknown } | undefined;
  while (e && e.cause && typeof e.cause === 'object') e = e.cause as typeof e;
  return e?.message ?? String(err);
}

/** Runs the parent: list, start children with bounded concurrency, summarise. */
export async function runFanOut(input: InterpreterInput, level: FanOutLevel): Promise<RunResult> {
  const info = workflowInfo();
  const executionId = info.workflowId;
  const budget = input.outage_budget_seconds ?? DEFAULT_OUTAGE_BUDGET_SECONDS;
  const def = input.definition;
  const kind = kindOf(level.over);
  // Bookkeeping as the interpreter does it: retried for as long as the outage budget.
  const bookkeeping = proxyLocalActivities<Pick<Activities, 'projectRun' | 'projectSteps'>>({
    startToCloseTimeout: '30 seconds',
    scheduleToCloseTimeout: `${Math.max(budget, 60)} seconds`,
    retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '5 seconds' },
  });
  const listing = proxyActivities<Pick<Activities, 'listFanOutTargets'>>({
    activityId: `list_${level.over}`,
    summary: `List active ${level.over}`,
    startToCloseTimeout: '30 seconds',
    scheduleToCloseTimeout: `${Math.max(budget, 60)} seconds`,
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds' },
  });
  // Waits (retrying) until a child that exists already has ended; no attempt limit: the child ends eventually.
  const existing = proxyActivities<Pick<Activities, 'fanOutChildOutcome'>>({
    startToCloseTimeout: '30 seconds',
    retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '30 seconds', nonRetryableErrorTypes: [] },
  });

  let targets: FanOutTarget[];
  try {
    targets = await listing.listFanOutTargets({ over: level.over, ids: restrictedIds(level, input.input) });
  } catch (err) {
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(() =>
        bookkeeping.projectRun({ kind: 'finished', execution_id: executionId, workflow_id: def.workflow_id, status: 'cancelled', output: null, error_message: 'cancelled', error_details: null, completed_at: nowIso() }),
      );
    }
    throw err;
  }
  const children: ChildState[] = targets.map((target) => ({
    target,
    execution_id: childWorkflowId(executionId, level, target),
    status: 'pending',
    started_at: null,
    completed_at: null,
    outcome: null,
  }));
  let status: RunProgress['status'] = 'running';
  let failure: string | null = null;
  const stepKey = (c: ChildState) => `${kind}_${c.target.id}`;
  const stepName = (c: ChildState) => `${kind} ${c.target.id} (${c.target.code})`;

  setHandler(progressQuery, (): RunProgress => ({
    execution_id: executionId,
    status,
    total_steps: children.length,
    completed_steps: children.filter((c) => c.status === 'completed' || c.status === 'completed_with_failures').length,
    failed_steps: children.filter((c) => c.status === 'failed').length,
    skipped_steps: 0,
    running_steps: children.filter((c) => c.status === 'running').map(stepKey),
    failed_items_total: children.filter((c) => c.status === 'failed').length,
    steps: children.map((c) => ({
      key: stepKey(c),
      name: stepName(c),
      step_type: CHILD_STEP_TYPE,
      role: 'main',
      status: c.status === 'completed_with_failures' ? 'completed' : c.status,
      attempt: c.started_at ? 1 : 0,
      started_at: c.started_at,
      completed_at: c.completed_at,
      error: c.outcome?.error ?? null,
    })),
    error: failure,
  }));

  await bookkeeping.projectRun({
    kind: 'started',
    execution_id: executionId,
    workflow_id: def.workflow_id,
    version_id: def.version_id,
    version: def.version,
    temporal_run_id: info.runId,
    trigger_type: input.trigger_type,
    triggered_by: input.triggered_by,
    input: input.input,
    total_steps: children.length,
    restarted_from: input.resume?.from_execution_id ?? null,
    schedule_id: input.schedule_id ?? null,
    parent_execution_id: input.parent_execution_id ?? null,
    started_at: nowIso(),
  });

  const row = (c: ChildState): StepProjection => ({
    execution_id: executionId,
    step_key: stepKey(c),
    step_name: stepName(c),
    step_type: CHILD_STEP_TYPE,
    role: 'main',
    status: c.status === 'completed_with_failures' ? 'completed' : c.status,
    attempt: 1,
    error_message: c.outcome?.error ?? null,
    started_at: c.started_at,
    completed_at: c.completed_at,
    output_summary: { child_execution_id: c.execution_id, [level.field]: c.target.id, code: c.target.code, ...(c.outcome ? { outcome: c.outcome.status } : {}) },
    // A failed child is one failed item of its parent; a child's own failed items count too.
    ...(c.outcome ? { failed_items_total: c.outcome.status === 'failed' ? 1 : c.outcome.failed_items_total } : {}),
    ...(c.outcome?.status === 'failed'
      ? { failed_items: [{ key: `${kind}:${c.target.id}`, code: ErrorCodes.STEP_FAILED, message: c.outcome.error ?? 'the child run failed' }] }
      : {}),
  });
  const details = () =>
    setCurrentDetails(
      `**Fan-out over ${level.over}:** ${children.filter((c) => c.outcome).length} of ${children.length} done` +
        (children.some((c) => c.status === 'failed') ? `\n\n**Failed:** ${children.filter((c) => c.status === 'failed').map(stepName).join(', ')}` : ''),
    );

  const runChild = async (c: ChildState): Promise<void> => {
    c.status = 'running';
    c.started_at = nowIso();
    details();
    await bookkeeping.projectSteps({ rows: [row(c)] });
    let outcome: FanOutChildOutcome;
    const base = { execution_id: c.execution_id, kind, id: c.target.id, code: c.target.code };
    try {
      const handle = await startChild(info.workflowType, {
        workflowId: c.execution_id,
        args: [
          {
            execution_id: c.execution_id,
            definition: childDefinition(def, level, c.target),
            // A slim parent's children are slim too (the same version; its configs are loaded by the worker).
            ...(input.slim_definition ? { slim_definition: true as const } : {}),
            // The parent's behaviour revision (a parent started before revisions starts its children without one, as it did).
            ...(input.revision !== undefined ? { revision: input.revision } : {}),
            input: childInput(input.input, level, c.target),
            trigger_type: FAN_OUT_TRIGGER,
            triggered_by: input.triggered_by,
            parent_execution_id: executionId,
            ...(input.outage_budget_seconds !== undefined ? { outage_budget_seconds: input.outage_budget_seconds } : {}),
          } satisfies InterpreterInput,
        ],
        parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        cancellationType: ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
        memo: { ...(info.memo ?? {}), parent_execution_id: executionId, [level.field]: c.target.id },
        // The parent's search attributes (registered on the namespace, as its start proved) with the child's trigger.
        ...(info.typedSearchAttributes.getAll().length > 0
          ? { typedSearchAttributes: info.typedSearchAttributes.updateCopy([{ key: TRIGGER_KEY, value: FAN_OUT_TRIGGER }]) }
          : {}),
        staticSummary: `${def.code}: ${stepName(c)}`,
      });
      const result = (await handle.result()) as RunResult;
      const steps = Object.values(result.steps ?? {});
      outcome = {
        ...base,
        status: result.outcome === 'completed_with_failures' ? 'completed_with_failures' : 'completed',
        steps: {
          completed: steps.filter((s) => s.status === 'completed').length,
          skipped: steps.filter((s) => s.status === 'skipped').length,
          failed: steps.filter((s) => s.status === 'failed').length,
        },
        failed_items_total: result.failed_items_total ?? 0,
        error: null,
      };
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        // Started before (by an earlier run under this id): never a second one; its row says how it ended.
        const r = await existing.fanOutChildOutcome({ execution_id: c.execution_id });
        const ok = r?.status === 'completed';
        outcome = {
          ...base,
          status: ok ? (r!.failed_items_total > 0 ? 'completed_with_failures' : 'completed') : r?.status === 'cancelled' ? 'cancelled' : 'failed',
          steps: r ? { completed: r.completed_steps, skipped: r.skipped_steps, failed: r.failed_steps } : null,
          failed_items_total: r?.failed_items_total ?? 0,
          error: ok ? null : (r?.error_message ?? 'the child run failed'),
        };
      } else if (isCancellation(err)) {
        outcome = { ...base, status: 'cancelled', steps: null, failed_items_total: 0, error: 'cancelled' };
      } else {
        outcome = { ...base, status: 'failed', steps: null, failed_items_total: 0, error: failureMessage(err) };
      }
    }
    c.outcome = outcome;
    c.status = outcome.status;
    c.completed_at = nowIso();
    details();
    await CancellationScope.nonCancellable(() => bookkeeping.projectSteps({ rows: [row(c)] }));
  };

  // Bounded concurrency: `max_concurrent` lanes, each taking the next child in id order.
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < children.length) {
      const c = children[next++];
      if (CancellationScope.current().consideredCancelled) {
        Object.assign(c, { status: 'cancelled', outcome: { execution_id: c.execution_id, kind, id: c.target.id, code: c.target.code, status: 'cancelled', steps: null, failed_items_total: 0, error: 'cancelled before it started' } });
        continue;
      }
      await runChild(c);
    }
  };
  details();
  await Promise.all(Array.from({ length: Math.min(level.max_concurrent, children.length) }, lane));

  const outcomes = children.map((c) => c.outcome!);
  const summary = fanOutSummary(level, outcomes);
  const finish = async (s: 'completed' | 'failed' | 'cancelled', error: string | null) => {
    status = s;
    await CancellationScope.nonCancellable(() =>
      bookkeeping.projectRun({
        kind: 'finished',
        execution_id: executionId,
        workflow_id: def.workflow_id,
        status: s,
        output: summary,
        error_message: error,
        error_details: error ? { code: s === 'failed' ? ErrorCodes.FAN_OUT_FAILED : null, fan_out: summary.summary } : null,
        completed_at: nowIso(),
      }),
    );
  };
  if (CancellationScope.current().consideredCancelled) {
    await finish('cancelled', 'cancelled');
    throw new CancelledFailure('the run was cancelled');
  }
  if (fanOutFailed(outcomes)) {
    failure = `every ${kind} run failed: ${summary.summary}`;
    await finish('failed', failure);
    throw ApplicationFailure.create({ type: ErrorCodes.FAN_OUT_FAILED, message: failure, nonRetryable: true, details: [summary] });
  }
  await finish('completed', null);
  const failedItems = outcomes.reduce((n, o) => n + (o.status === 'failed' ? 1 : o.failed_items_total), 0);
  return {
    execution_id: executionId,
    status: 'completed',
    outcome: failedItems > 0 ? 'completed_with_failures' : 'completed',
    failed_items_total: failedItems,
    output: summary,
    steps: Object.fromEntries(children.map((c) => [stepKey(c), { status: c.status === 'completed_with_failures' ? 'completed' : c.status === 'pending' || c.status === 'running' ? 'cancelled' : c.status }])),
  };
}
