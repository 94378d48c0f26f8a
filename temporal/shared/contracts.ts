/**
 * Contracts shared by the API, the CLI, the worker and the workflow code:
 * workflow type names, signal and query definitions, and the shapes that cross
 * between them. Pure: safe to import from workflow code.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { PayloadRef, RunStatus, StepStatus, WorkflowDefinition } from '@engine/dsl/types';
import type { SlimDefinition } from '@engine/shared/slim-definition';

export const DEFAULT_TASK_QUEUE = 'merchflow';

/** Temporal workflow type per definition `workflow_type`; each interprets its stored DAG. */
export const WORKFLOW_TYPE_NAMES: Record<string, string> = {
  product_import: 'productImportWorkflow',
  listing_creation: 'listingCreationWorkflow',
  inventory_sync: 'inventorySyncWorkflow',
  order_processing: 'orderProcessingWorkflow',
};
export const GENERIC_WORKFLOW_NAME = 'definitionWorkflow';

export function workflowTypeName(workflowType: string): string {
  return WORKFLOW_TYPE_NAMES[workflowType] ?? GENERIC_WORKFLOW_NAME;
}

/** Custom search attributes registered on the Temporal namespace (see scripts/temporal-server.ts). */
export const SEARCH_ATTRIBUTES = {
  workflowCode: 'MerchflowWorkflowCode',
  workflowType: 'MerchflowWorkflowType',
  triggerType: 'MerchflowTriggerType',
  version: 'MerchflowVersion',
} as const;
export const SEARCH_ATTRIBUTE_TYPES: Record<string, 'Keyword' | 'Int'> = {
  MerchflowWorkflowCode: 'Keyword',
  MerchflowWorkflowType: 'Keyword',
  MerchflowTriggerType: 'Keyword',
  MerchflowVersion: 'Int',
};

/** What a run is started with: one immutable definition version and the run's input. */
export interface InterpreterInput {
  /** Informational, left out by the API since the interpreter reads its Temporal workflow id (the same value). */
  execution_id?: string;
  /** The whole definition, or (with `slim_definition`) its slim form (temporal/shared/slim-definition.ts). */
  definition: WorkflowDefinition | SlimDefinition;
  /**
   * The definition is slim (a stored version, `version_id` > 0): what the
   * interpreter reads, not the steps' configs. Its step activities are called
   * by reference (temporal/shared/step-call.ts), with no patch marker: the
   * worker loads the version. Set on every run the API, a Temporal Schedule
   * or a fan-out parent of a slim run starts; absent in runs started before
   * it (they carry the whole definition) and for ad-hoc definitions (version 0).
   */
  slim_definition?: true;
  /**
   * The interpreter's behaviour revision this run was started with (absent: 0),
   * decided once in its constructor, like a patch but without a marker in the
   * history (the input is in the history already). Starters set
   * INTERPRETER_REVISION on new runs (temporal/shared/slim-definition.ts
   * `startDefinition`; a fan-out parent passes its own on); runs started before
   * replay as recorded. 1: the main loop awaits fewer promises — a step without
   * a condition starts without awaiting one, a step that is the only one ready
   * with none running gets no cancellation scope of its own (no sibling can be
   * cancelled with it), and one running step is awaited without a race.
   * 2: a step called by reference leaves its key out of the call (it is the
   * activity id), and its result leaves out `attempt` when it is 1.
   */
  revision?: number;
  input: unknown;
  trigger_type: string;
  triggered_by: string | null;
  /** The `workflow_schedules` row of a run started by a Temporal Schedule. */
  schedule_id?: number | null;
  /** Set when this run restarts an earlier one from a step. */
  resume?: ResumeInput;
  /**
   * How long a PostgreSQL/Temporal outage may last before it fails a step
   * (config `outage.budgetSeconds`); absent in older runs: DEFAULT_OUTAGE_BUDGET_SECONDS.
   */
  outage_budget_seconds?: number;
  /**
   * Recovery runs (restart, retry of items, edited output): the first run's
   * execution id, from which per-item idempotency keys derive so a side effect
   * the first run made is not made twice (a retry of a retry keeps it).
   */
  idempotency_root?: string;
  /** Set when the run retries a subset of a step's items: per-item keys come from the item, not its position. */
  items_subset?: boolean;
  /** Set on a child run started by a fan-out parent (temporal/workflows/fan-out.ts): the parent's execution id. */
  parent_execution_id?: string | null;
}

/** The revision new runs are started with (InterpreterInput.revision). */
export const INTERPRETER_REVISION = 2;

/** The outage budget of runs whose input does not name one. */
export const DEFAULT_OUTAGE_BUDGET_SECONDS = 600;

export interface ResumeInput {
  from_execution_id: string;
  /** Outputs (values or payload refs) of steps that completed in the earlier run and are reused. */
  completed_outputs: Record<string, unknown>;
  /** Steps that were skipped in the earlier run and stay skipped. */
  skipped_steps: string[];
}

export interface RunResult {
  execution_id: string;
  status: RunStatus;
  /** `completed_with_failures` when some items failed after their retries (the run still completed). */
  outcome?: RunOutcome;
  failed_items_total?: number;
  output: unknown;
  steps: Record<string, { status: StepStatus; output?: unknown }>;
}

/**
 * What an operator is shown: the status, except that a completed run or step
 * with items that failed after their retries is `completed_with_failures`.
 */
export type RunOutcome = RunStatus | 'completed_with_failures';

export function outcomeOf(status: string, failedItems: number | null | undefined): string {
  return status === 'completed' && (failedItems ?? 0) > 0 ? 'completed_with_failures' : status;
}

export interface StepProgress {
  key: string;
  name: string;
  step_type: string;
  role: string;
  status: StepStatus;
  attempt: number;
  started_at: string | null;
  completed_at: string | null;
  error: string | null;
  /** Items the step could not process after their retries. */
  failed_items_total?: number;
}

export interface RunProgress {
  execution_id: string;
  status: RunStatus;
  total_steps: number;
  completed_steps: number;
  failed_steps: number;
  skipped_steps: number;
  running_steps: string[];
  /** Items the main steps could not process after their retries. */
  failed_items_total?: number;
  steps: StepProgress[];
  error: string | null;
}

export interface ApprovalDecision {
  step_key: string;
  decision: 'approve' | 'reject';
  data?: unknown;
  by?: string | null;
  comment?: string | null;
}

export const progressQuery = defineQuery<RunProgress>('progress');
export const approvalSignal = defineSignal<[ApprovalDecision]>('approval');

/** What an operator decides for one item an `ai_process` step held for review (`review.below_confidence`). */
export type AiReviewVerdict = 'approve' | 'edit' | 'reject';

/**
 * One decision on a step's review: for the item `key`, or (with `rest`) for
 * every item not decided yet. The API checks the key against the step's held
 * items before it signals; the first decision of an item stands.
 */
export interface AiReviewDecision {
  step_key: string;
  /** The held item's key (its SKU, external id, ... or its index); absent with `rest`. */
  key?: string;
  decision: AiReviewVerdict;
  /** With `edit`: the item as it continues (a JSON object). */
  item?: Record<string, unknown>;
  reason?: string | null;
  /** Who decided (the API key's name or the admin user) and when (ISO time, set by the API). */
  by?: string | null;
  at: string;
  /** The decision applies to every item of the step not decided yet (approve-all / reject-rest). */
  rest?: boolean;
}

/** Where a step's review stands, as the workflow knows it (`aiReviewQuery`). */
export interface AiReviewState {
  step_key: string;
  /** Items held for review. */
  pending: number;
  /** Decisions so far, in the order they came; a `rest` decision closes the review. */
  decisions: AiReviewDecision[];
  status: 'waiting' | 'applying' | 'done';
  /** ISO time the review times out, if it does. */
  deadline: string | null;
}

export const aiReviewSignal = defineSignal<[AiReviewDecision]>('aiReview');
export const aiReviewQuery = defineQuery<AiReviewState[]>('aiReviews');

/** What the interpreter hands to `applyAiReview` once a step's review is decided. */
export interface AiReviewRequest {
  execution_id: string;
  step_key: string;
  attempt: number;
  /** The step's output (value or payload ref): its items, the held ones in place. */
  output: unknown;
  decisions: AiReviewDecision[];
  /** What happens to items nobody decided (the timeout's `on_timeout`, or a `rest` decision). */
  undecided: AiReviewVerdict;
  timed_out: boolean;
}

/** What the interpreter hands to a step executor activity. */
export interface StepRequest {
  execution_id: string;
  workflow_code: string;
  step_key: string;
  step_name: string;
  step_type: string;
  role: string;
  /** Raw config; references are resolved inside the activity. */
  config: Record<string, unknown>;
  /** The step's input: a value or a payload ref. */
  input: unknown;
  /** What references resolve against; values may be payload refs. Only the steps the config references. */
  context: {
    input: unknown;
    steps: Record<string, unknown>;
    config: Record<string, unknown>;
    execution: Record<string, unknown>;
  };
  max_attempts: number;
  /** The step's timeout: the runner enforces it on the step's work, outage waits not counted. */
  timeout_seconds?: number;
  /** `${execution_id}:${step_key}`: for outside calls and idempotent side effects. */
  idempotency_key: string;
  /** Recovery runs: the first run's id, for per-item idempotency keys (see InterpreterInput.idempotency_root). */
  idempotency_root?: string;
  /** The run retries a subset of items: per-item keys come from the item, not its position. */
  items_subset?: boolean;
  /** For compensation steps: the key of the step being undone. */
  compensates?: string | null;
}

export interface StepResult {
  /** The output value, or a payload ref when it was larger than the threshold. */
  output: unknown | PayloadRef;
  /** The attempt that produced it; left out when 1 for a step called by its compact reference (revision 2). */
  attempt?: number;
  /**
   * What the interpreter reads of the step's summary: `failed_items`, and the
   * whole summary of an `ai_process` step holding items for review
   * (`review_pending` > 0); absent when none of that. Results written before
   * held the whole summary; the step row's `output_summary` always does.
   */
  summary?: Record<string, unknown>;
}

/** Projection events the workflow records through local activities. */
export type RunProjectionEvent =
  | {
      kind: 'started';
      execution_id: string;
      workflow_id: number;
      version_id: number;
      version: number;
      temporal_run_id: string;
      trigger_type: string;
      triggered_by: string | null;
      input: unknown;
      total_steps: number;
      restarted_from: string | null;
      schedule_id?: number | null;
      /** A fan-out child's parent run. */
      parent_execution_id?: string | null;
      started_at: string;
    }
  | {
      kind: 'finished';
      execution_id: string;
      workflow_id: number;
      status: RunStatus;
      output: unknown;
      error_message: string | null;
      error_details: Record<string, unknown> | null;
      completed_at: string;
    };

/** One item a step could not process after its retries (see activities/shared/item-failures). */
export interface FailedItemRecord {
  key: string;
  index?: number;
  code: string;
  message: string;
  status?: number;
}

export interface StepProjection {
  execution_id: string;
  step_key: string;
  step_name: string;
  step_type: string;
  role?: string;
  status: StepStatus;
  attempt: number;
  error_message?: string | null;
  error_details?: Record<string, unknown> | null;
  output_summary?: Record<string, unknown> | null;
  /** Items that failed after their retries: every one counted, the first few listed. */
  failed_items_total?: number;
  failed_items?: FailedItemRecord[] | null;
  started_at?: string | null;
  completed_at?: string | null;
}

export { ERROR_CATALOGUE, ErrorCodes, NON_RETRYABLE_ERROR_TYPES, errorCode, isErrorCode, type ErrorCode, type ErrorEntry } from '@engine/shared/error-catalogue';
