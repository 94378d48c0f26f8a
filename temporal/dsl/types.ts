/**
 * The workflow definition language: the shapes shared by the API (which stores
 * definitions), the interpreter workflow (which runs one immutable version) and
 * the step executors. Pure types only; safe to import from workflow code.
 */

/** Step types that ship with Merchflow. Test suites may register more. */
export const BUILTIN_STEP_TYPES = [
  'data_fetch',
  'data_transform',
  'data_validate',
  'api_call',
  'database_query',
  'ai_process',
  'notification',
  'approval',
] as const;
export type BuiltinStepType = (typeof BUILTIN_STEP_TYPES)[number];

/** Operators of a `value_check` condition. */
export const CONDITION_OPERATORS = ['equals', 'not_equals', 'gt', 'gte', 'lt', 'lte', 'in', 'exists'] as const;
export type ConditionOperator = (typeof CONDITION_OPERATORS)[number];

/**
 * A condition evaluated when a step becomes ready; false means the step is skipped.
 *
 * `path` is a dotted path into the run context: `workflow.config.x` (the
 * specification's form), `config.x`, `input.x`, `steps.<key>.x`, `execution.x`,
 * each optionally written with a leading `$`.
 *
 * @example { "type": "value_check", "path": "workflow.config.enable_ai_enrichment", "operator": "equals", "value": true }
 */
export type Condition =
  | { type: 'value_check'; path: string; operator: ConditionOperator; value?: unknown }
  | { type: 'all'; conditions: Condition[] }
  | { type: 'any'; conditions: Condition[] }
  | { type: 'not'; condition: Condition };

/**
 * What a step is for. `main` steps form the DAG. `compensation` steps undo the
 * main step named by `compensates` and run in reverse completion order when the
 * run fails. `on_failure` steps run last when the run fails (a notification, say).
 */
export type StepRole = 'main' | 'compensation' | 'on_failure';

export interface StepDefinition {
  /** Unique slug within the workflow (`^[a-z][a-z0-9_]*$`), used in references. */
  key: string;
  name: string;
  step_type: string;
  /** Position in the workflow; used for ordering when `depends_on_steps` is empty. */
  order: number;
  /** Executor configuration; strings may hold references (`$input.x`, `$steps.k.x`, ...). */
  config: Record<string, unknown>;
  /** Keys of steps that must finish (completed or skipped) before this one starts. */
  depends_on_steps: string[];
  /** A failure of an optional step is recorded and the run continues. */
  is_optional: boolean;
  can_run_parallel: boolean;
  /** Steps of the same group and order do not wait for each other. */
  parallel_group: string | null;
  condition: Condition | null;
  /** Start-to-close timeout of one attempt. */
  timeout_seconds: number;
  can_retry: boolean;
  /** Retries after the first attempt; null takes the workflow's `max_retries`. */
  max_retries: number | null;
  /** Delay before the first retry; null takes the workflow's `retry_delay_seconds`. */
  retry_delay_seconds: number | null;
  /** Multiplier applied to the delay after each retry (exponential backoff). */
  retry_backoff: number;
  /** Upper bound of the delay between retries. */
  max_retry_delay_seconds: number;
  role: StepRole;
  /** For `compensation` steps: the key of the main step this one undoes. */
  compensates: string | null;
}

export interface WorkflowDefinition {
  /** Database id of the workflow and of the pinned version (0 for ad-hoc definitions). */
  workflow_id: number;
  version_id: number;
  version: number;
  code: string;
  name: string;
  workflow_type: string;
  /** Values steps read as `$config.*` and conditions as `workflow.config.*`. */
  config: Record<string, unknown>;
  /** Defaults for steps. */
  max_retries: number;
  retry_delay_seconds: number;
  /** How many ready steps may run at once. */
  max_parallel_steps: number;
  /** JSON Schema the run's `input_data` must match (checked before a run starts); null for none. */
  input_schema: Record<string, unknown> | null;
  /**
   * Run once per active supplier or marketplace when the run does not name one
   * (see ./fan-out): the levels, outermost first; null (or absent, in versions
   * stored before fan-out existed) for none.
   */
  fan_out?: FanOutLevel[] | null;
  /**
   * Config keys this run sets over its stored version's config (a fan-out
   * child's `marketplace_id` and endpoint): already merged into `config`, and
   * sent with each step called by reference, whose worker reads the stored
   * version's config (temporal/shared/step-call.ts).
   */
  config_overrides?: Record<string, unknown>;
  steps: StepDefinition[];
}

/** What a fan-out iterates over: the active rows of the `suppliers` or `marketplaces` table. */
export const FAN_OUT_OVER = ['suppliers', 'marketplaces'] as const;
export type FanOutOver = (typeof FAN_OUT_OVER)[number];

/**
 * One level of a definition's fan-out: a run whose input (and, for
 * marketplaces, whose config) has no `field` is a parent that starts one child
 * run per active supplier / marketplace, at most `max_concurrent` at a time.
 */
export interface FanOutLevel {
  over: FanOutOver;
  /** The key each child's input gets (`supplier_id` / `marketplace_id`); marketplace children also get it in their config. */
  field: string;
  max_concurrent: number;
}

/** `fan_out` as a user writes it: one level or a list; `field` and `max_concurrent` may be left out. */
export type FanOutInput = { over: FanOutOver; field?: string; max_concurrent?: number };

/** A step definition as a user writes it: everything but key, name, step_type and config may be left out. */
export type StepInput = Pick<StepDefinition, 'key' | 'name' | 'step_type'> &
  Partial<Omit<StepDefinition, 'key' | 'name' | 'step_type'>>;

/** A definition as a user writes it (API body, template); normalised into a WorkflowDefinition. */
export interface DefinitionInput {
  code: string;
  name: string;
  workflow_type?: string;
  config?: Record<string, unknown>;
  max_retries?: number;
  retry_delay_seconds?: number;
  max_parallel_steps?: number;
  input_schema?: Record<string, unknown> | null;
  fan_out?: FanOutInput | FanOutInput[] | null;
  steps: StepInput[];
}

/** One problem found by validation; `step` is the step key when the problem belongs to a step. */
export interface ValidationIssue {
  code: string;
  /** Step key, or null for workflow-level problems. */
  step: string | null;
  /** Dotted field path within the step (or workflow), e.g. `config.url`, `depends_on_steps[1]`. */
  field: string;
  message: string;
}

/** Validates one executor's config; returns issues with `field` relative to the config (`url`, `rules[0].type`). */
export type ConfigValidator = (config: Record<string, unknown>) => Array<{ field: string; message: string }>;

/** The step types a validator accepts, each with its config validator. */
export type StepTypeRegistry = Record<string, ConfigValidator>;

export type StepStatus = 'pending' | 'running' | 'completed' | 'failed' | 'skipped' | 'cancelled' | 'waiting';
export type RunStatus = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled';

/**
 * A claim-check reference: a value too large for workflow history, stored in the
 * payload table. Executors receive the resolved value; the workflow only sees this.
 * With `pages`, a list stored page by page (`items` items in `pages` rows, see
 * PayloadStore.pageWriter); it stands for one list of an output.
 */
export interface PayloadRef {
  $payload: { id: string; size: number; sha256?: string; items?: number; pages?: number };
}

/** A list stored page by page (PayloadStore.pageWriter): a payload ref with its page and item counts. */
export type PagedRef = PayloadRef & { $payload: { pages: number; items: number } };

export function isPagedRef(value: unknown): value is PagedRef {
  return isPayloadRef(value) && typeof value.$payload.pages === 'number';
}

export function isPayloadRef(value: unknown): value is PayloadRef {
  return (
    typeof value === 'object' &&
    value !== null &&
    '$payload' in value &&
    typeof (value as PayloadRef).$payload === 'object' &&
    (value as PayloadRef).$payload !== null &&
    typeof (value as PayloadRef).$payload.id === 'string'
  );
}

/** What references resolve against. Values may be PayloadRefs until an activity resolves them. */
export interface RunContext {
  input: unknown;
  steps: Record<string, unknown>;
  config: Record<string, unknown>;
  execution: Record<string, unknown>;
  /** The current item (`$`), when an executor maps over a list. */
  item?: unknown;
}
