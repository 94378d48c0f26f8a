/**
 * The response bodies of the API, in zod, registered under the component names
 * the OpenAPI document uses (`#/components/schemas/<id>`). Objects are loose:
 * the API may add fields without breaking a generated client. The presenters
 * (`presentWorkflow`, `ExecutionQueriesService.summary`, `presentSchedule`,
 * `presentKey`, ...) build these shapes; the API tests check real responses
 * against them.
 */
import { z } from 'zod';
import { DEFINITION_BODY_SCHEMAS } from '@engine/dsl/schema';
import { API_ERROR_CODES, type ApiErrorCode } from '@engine/shared/error-catalogue';

/** Every schema here, by component name. */
export const responseRegistry = z.registry<{ id: string; description?: string }>();

function named<T extends z.ZodType>(id: string, schema: T, description?: string): T {
  responseRegistry.add(schema, { id, ...(description ? { description } : {}) });
  return schema;
}

const timestamp = z.string().meta({ format: 'date-time' });
const json = z.unknown();
const jsonObject = z.record(z.string(), z.unknown());

/** A page of a list: `{count, page, page_size, results}`. */
function page<T extends z.ZodType>(id: string, item: T) {
  return named(
    id,
    z.looseObject({
      count: z.int().meta({ description: 'How many match, over all pages' }),
      page: z.int(),
      page_size: z.int(),
      results: z.array(item),
    }),
  );
}

export const ErrorBody = named(
  'Error',
  z.looseObject({
    code: z.enum(API_ERROR_CODES.map((c) => c.code) as [ApiErrorCode, ...ApiErrorCode[]]).meta({
      description: 'Stable machine-readable code from the error catalogue (temporal/shared/error-catalogue.ts), e.g. VALIDATION_FAILED, NOT_FOUND, AI_NOT_CONFIGURED',
      example: 'VALIDATION_FAILED',
    }),
    message: z.string().meta({ description: 'What went wrong, naming the field', example: 'input_data.supplier_id: must be integer' }),
    details: jsonObject.meta({ description: 'More about the error: the issues by field, the execution id, the request id of a 500' }),
  }),
  'The one error shape of the API.',
);

const StepDefinitionOut = z.looseObject({
  key: z.string(),
  name: z.string(),
  step_type: z.string(),
  order: z.int(),
  config: jsonObject,
  depends_on_steps: z.array(z.string()),
  is_optional: z.boolean(),
  can_run_parallel: z.boolean(),
  parallel_group: z.string().nullable(),
  condition: jsonObject.nullable(),
  timeout_seconds: z.int(),
  can_retry: z.boolean(),
  max_retries: z.int().nullable(),
  retry_delay_seconds: z.int().nullable(),
  retry_backoff: z.number(),
  max_retry_delay_seconds: z.int(),
  role: z.enum(['main', 'compensation', 'on_failure']),
  compensates: z.string().nullable(),
});

export const Workflow = named(
  'Workflow',
  z.looseObject({
    id: z.int(),
    code: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    workflow_type: z.string(),
    status: z.enum(['active', 'inactive']),
    is_template: z.boolean(),
    current_version: z.int(),
    version: z.int().optional().meta({ description: 'The version whose steps are shown (single workflow only)' }),
    config: jsonObject,
    max_retries: z.int(),
    retry_delay_seconds: z.int(),
    max_parallel_steps: z.int(),
    input_schema: jsonObject.nullable().optional(),
    fan_out: z.array(jsonObject).nullable().optional().meta({ description: 'Fan-out levels (docs/definitions.md#fan-out); null for none' }),
    total_executions: z.int(),
    successful_executions: z.int(),
    failed_executions: z.int(),
    success_rate: z.number().nullable(),
    average_duration_seconds: z.number().nullable(),
    last_executed_at: timestamp.nullable(),
    created_by: z.string().nullable(),
    created_at: timestamp,
    updated_at: timestamp,
    step_count: z.int().optional(),
    steps: z.array(StepDefinitionOut).optional(),
    graph: z.looseObject({ edges: z.array(z.array(z.string()).meta({ description: '[prerequisite, step]' })) }).optional(),
    template: z.string().optional().meta({ description: 'The template it was created from (create from template only)' }),
  }),
  'A workflow; a single workflow also carries the steps of one version and its step graph.',
);

export const WorkflowPage = page('WorkflowPage', Workflow);

export const WorkflowVersion = named(
  'WorkflowVersion',
  z.looseObject({
    id: z.int(),
    version: z.int(),
    is_current: z.boolean(),
    name: z.string(),
    config: jsonObject,
    max_retries: z.int(),
    retry_delay_seconds: z.int(),
    max_parallel_steps: z.int(),
    checksum: z.string(),
    created_by: z.string().nullable(),
    created_at: timestamp,
    step_count: z.int().optional(),
  }),
);

export const WorkflowVersionPage = page('WorkflowVersionPage', WorkflowVersion);

export const DefinitionCheck = named(
  'DefinitionCheck',
  z.looseObject({ valid: z.literal(true), step_count: z.int(), definition: jsonObject.meta({ description: 'The definition as it would be saved (defaults filled in)' }) }),
);

export const Template = named(
  'Template',
  z.looseObject({
    name: z.string(),
    display_name: z.string(),
    description: z.string(),
    workflow_type: z.string(),
    step_count: z.int(),
    steps: z.array(z.looseObject({ key: z.string(), name: z.string(), step_type: z.string(), is_optional: z.boolean() })),
    valid: z.boolean(),
    issues: z.array(jsonObject),
    install_code: z.string(),
  }),
);

export const TemplatePage = page('TemplatePage', Template);

export const Execution = named(
  'Execution',
  z.looseObject({
    id: z.int(),
    execution_id: z.string(),
    workflow_id: z.int(),
    workflow_code: z.string().nullable(),
    workflow_name: z.string().nullable(),
    version: z.int(),
    status: z.string().meta({ description: 'pending, running, completed, failed, cancelled, ...' }),
    outcome: z.string().meta({ description: 'The status, or completed_with_failures' }),
    trigger_type: z.string(),
    triggered_by: z.string().nullable(),
    schedule_id: z.int().nullable(),
    restarted_from: z.string().nullable(),
    parent_execution_id: z.string().nullable().meta({ description: 'The fan-out parent that started this run (docs/definitions.md#fan-out)' }),
    total_steps: z.int(),
    completed_steps: z.int(),
    failed_steps: z.int(),
    skipped_steps: z.int(),
    failed_items_total: z.int(),
    current_step: z.string().nullable(),
    progress_percent: z.number(),
    error_message: z.string().nullable(),
    started_at: timestamp.nullable(),
    completed_at: timestamp.nullable(),
    duration_seconds: z.number().nullable(),
    created_at: timestamp,
    temporal_ui_url: z.string(),
    input_data: json.optional().meta({ description: 'The run input (execute only)' }),
    cancel_requested: z.boolean().optional(),
    accepted: z.boolean().optional(),
    signal: z.looseObject({ step_key: z.string(), decision: z.enum(['approve', 'reject']) }).optional(),
    recovery: jsonObject.nullable().optional().meta({ description: 'Recovery runs (restart, retry-items, edited output): kind, version_choice, version, reused and re-run steps, idempotency_root' }),
  }),
  'A run, as listed; execute, cancel, restart and signal answer with it.',
);

/** An audited edit of a step's output (step_output_edits). */
const StepOutputEdit = z.looseObject({
  id: z.int(),
  execution_id: z.string().meta({ description: 'The run whose step output was edited' }),
  step_key: z.string(),
  new_execution_id: z.string().nullable().meta({ description: 'The run the edit started' }),
  edited_by: z.string().nullable(),
  reason: z.string().nullable(),
  before: json,
  after: json,
  created_at: timestamp,
});

export const RetryItemsRun = named(
  'RetryItemsRun',
  Execution.extend({
    recovery: jsonObject,
    retry: z.looseObject({
      step: z.string().meta({ description: 'The step the items are fed to again' }),
      count: z.int(),
      keys: z.array(z.string()).meta({ description: 'The first 100 keys retried' }),
      version: z.int(),
      version_choice: z.enum(['current', 'original']),
      other_steps: z.record(z.string(), z.int()).meta({ description: 'Matching items of later steps, left for another retry' }),
      not_retryable: z.int(),
    }),
  }),
  'The new run, and what it retries.',
);

export const StepOutput = named(
  'StepOutput',
  z.looseObject({
    step_key: z.string(),
    status: z.string(),
    editable: z.boolean().meta({ description: 'The run is finished and the step completed or failed: POST here edits it' }),
    bytes: z.int().meta({ description: 'Size of the output as JSON' }),
    output: json.optional().meta({ description: 'The output; absent above 1 MiB' }),
  }),
  "A step's output, to edit it.",
);

export const EditedOutputRun = named('EditedOutputRun', Execution.extend({ recovery: jsonObject, edit: StepOutputEdit }), 'The new run that continues from the edited output, and the audit record.');

export const ExecutionPage = page('ExecutionPage', Execution);

const FailedItem = z.looseObject({ step_key: z.string().optional(), key: z.string(), code: z.string(), message: z.string(), status: z.int().nullable().optional().meta({ description: 'HTTP status of a failed outside call' }) });

const StepRun = z.looseObject({
  step_key: z.string(),
  step_name: z.string(),
  step_type: z.string(),
  role: z.string(),
  status: z.string(),
  outcome: z.string(),
  attempt: z.int(),
  max_attempts: z.int().nullable(),
  started_at: timestamp.nullable(),
  completed_at: timestamp.nullable(),
  duration_ms: z.number().nullable(),
  error_message: z.string().nullable(),
  error_details: json,
  output_summary: json,
  failed_items_total: z.int(),
  failed_items: z.array(FailedItem),
});

export const ExecutionDetail = named(
  'ExecutionDetail',
  Execution.extend({
    failed_items: z.array(FailedItem),
    input_data: json,
    output_data: json,
    error_details: json,
    idempotency_key: z.string().nullable(),
    temporal_run_id: z.string().nullable(),
    updated_at: timestamp,
    progress: z.looseObject({
      source: z.enum(['live', 'projection']),
      status: z.string(),
      total_steps: z.int(),
      completed_steps: z.int(),
      failed_steps: z.int(),
      skipped_steps: z.int(),
      failed_items_total: z.int(),
      running_steps: z.array(z.string()),
      percent: z.number(),
    }),
    steps: z.array(StepRun),
    compensations: z.array(jsonObject),
    edits: z.array(StepOutputEdit).meta({ description: 'Audited edits of step outputs made on this run or that started it' }),
    children: z
      .array(
        z.looseObject({
          id: z.int(),
          execution_id: z.string(),
          status: z.string(),
          outcome: z.string(),
          kind: z.enum(['supplier', 'marketplace']).nullable(),
          target_id: z.int().nullable().meta({ description: 'The id of the supplier or marketplace the child ran for' }),
          supplier_id: z.int().nullable(),
          marketplace_id: z.int().nullable(),
          failed_items_total: z.int(),
          error_message: z.string().nullable(),
          started_at: timestamp.nullable(),
          completed_at: timestamp.nullable(),
        }),
      )
      .meta({ description: "A fan-out parent's child runs, one per supplier or marketplace; empty for other runs" }),
  }),
  'One run in full: input, output, progress (live while it runs), each step.',
);

export const Schedule = named(
  'Schedule',
  z.looseObject({
    id: z.int(),
    name: z.string(),
    workflow_id: z.int(),
    workflow_code: z.string().nullable(),
    workflow_version: z.int().nullable(),
    cron_expression: z.string(),
    timezone: z.string(),
    input_data: jsonObject,
    is_active: z.boolean(),
    status: z.enum(['active', 'paused']),
    temporal_schedule_id: z.string(),
    sync_state: z.string(),
    sync_error: z.string().nullable(),
    next_run_at: timestamp.nullable(),
    last_run_at: timestamp.nullable(),
    total_runs: z.int(),
    created_by: z.string().nullable(),
    created_at: timestamp,
    updated_at: timestamp,
    temporal_ui_url: z.string().nullable(),
    live: jsonObject.optional().meta({ description: 'Its state in Temporal: next runs, recent runs (single schedule only)' }),
    triggered: z.boolean().optional(),
  }),
);

export const SchedulePage = page('SchedulePage', Schedule);

export const ApiKey = named(
  'ApiKey',
  z.looseObject({
    id: z.int(),
    name: z.string(),
    prefix: z.string(),
    role: z.enum(['viewer', 'operator', 'admin']),
    source: z.string(),
    created_by: z.string().nullable(),
    created_at: timestamp,
    expires_at: timestamp.nullable(),
    last_used_at: timestamp.nullable(),
    revoked_at: timestamp.nullable(),
    is_active: z.boolean(),
    key: z.string().optional().meta({ description: 'The plaintext key: in the create response only, never again' }),
  }),
);

export const ApiKeyPage = page('ApiKeyPage', ApiKey);

const RunStats = z.looseObject({
  runs: z.int(),
  completed: z.int(),
  failed: z.int(),
  cancelled: z.int(),
  in_progress: z.int(),
  completed_with_failures: z.int(),
  failed_items: z.int(),
  success_rate: z.number().nullable(),
  average_duration_seconds: z.number().nullable(),
});

export const Stats = named(
  'Stats',
  z.looseObject({
    generated_at: timestamp,
    filters: z.looseObject({ workflow: z.int().nullable(), created_after: timestamp.nullable(), created_before: timestamp.nullable() }),
    overall: RunStats.extend({ failures_by_step: z.array(z.looseObject({ workflow_id: z.int(), workflow_code: z.string(), step_key: z.string(), failures: z.int() })) }),
    workflows: z.array(RunStats.extend({ workflow_id: z.int(), code: z.string(), name: z.string(), failures_by_step: z.array(z.looseObject({ step_key: z.string(), failures: z.int() })) })),
  }),
);

export const Health = named(
  'Health',
  z.looseObject({
    status: z.enum(['ok', 'degraded']),
    database: z.looseObject({ status: z.enum(['up', 'down']), error: z.string().optional() }),
    temporal: z.looseObject({ status: z.enum(['up', 'down']), namespace: z.string(), task_queue: z.string(), ui_url: z.string().nullable(), error: z.string().optional() }),
    time: timestamp,
  }),
);

export const Payloads = named(
  'Payloads',
  z.looseObject({ payloads: z.array(z.looseObject({ metadata: z.record(z.string(), z.string().meta({ description: 'base64' })), data: z.string().meta({ description: 'base64' }) })) }),
  "Temporal's remote codec protocol body.",
);

export const CodecSession = named('CodecSession', z.looseObject({ codec_endpoint: z.string(), cookie: z.string(), expires: z.string() }));
export const CodecSessionCleared = named('CodecSessionCleared', z.looseObject({ cleared: z.boolean() }));

/** The component schemas of every response body, in OpenAPI 3.0 JSON Schema. */
/**
 * The request bodies written in zod (the definition schema of temporal/dsl/schema.ts),
 * as OpenAPI components under the names the controllers reference.
 */
export function requestComponentSchemas(): Record<string, Record<string, unknown>> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(DEFINITION_BODY_SCHEMAS)) registry.add(schema, { id });
  // Custom checks (JSON objects, conditions) carry their JSON Schema in their metadata.
  const out = z.toJSONSchema(registry, { target: 'openapi-3.0', io: 'input', unrepresentable: 'any', uri: (id) => `#/components/schemas/${id}` }) as { schemas: Record<string, Record<string, unknown>> };
  for (const schema of Object.values(out.schemas)) delete schema.$id;
  return out.schemas;
}

export function responseComponentSchemas(): Record<string, Record<string, unknown>> {
  const out = z.toJSONSchema(responseRegistry, { target: 'openapi-3.0', io: 'output', uri: (id) => `#/components/schemas/${id}` }) as { schemas: Record<string, Record<string, unknown>> };
  // The registry's ids become the component names; a `$id` inside an OpenAPI 3.0 schema is not allowed.
  for (const schema of Object.values(out.schemas)) delete schema.$id;
  return out.schemas;
}

/** A stored secret as the API shows it: never its value. */
export const Secret = named(
  'Secret',
  z.looseObject({
    name: z.string(),
    description: z.string().nullable(),
    created_by: z.string().nullable(),
    created_at: timestamp,
    updated_at: timestamp,
    last_used_at: timestamp.nullable(),
  }),
  'A stored secret: name and times only; no endpoint ever returns a value',
);

/** `{count, results}` lists (no paging). */
function list<T extends z.ZodType>(id: string, item: T) {
  return named(id, z.looseObject({ count: z.int(), results: z.array(item) }));
}

export const SecretList = list('SecretList', Secret);

/** A step type as editors need it. */
export const StepType = named(
  'StepType',
  z.looseObject({
    type: z.string(),
    description: z.string().nullable(),
    config_schema: jsonObject.nullable().meta({ description: 'JSON Schema (draft 2020-12) of the config as written in a definition; null when the type publishes none yet. Cross-field rules are checked by the server only.' }),
    example: jsonObject.nullable().meta({ description: 'An example config that passes validation' }),
  }),
  'A step type: its id, what it does, its config schema and an example config',
);
export const StepTypeList = list('StepTypeList', StepType);

/** A supplier, marketplace or carrier. */
export const Connection = named(
  'Connection',
  z.looseObject({
    id: z.int(),
    kind: z.enum(['suppliers', 'marketplaces', 'carriers']),
    code: z.string(),
    name: z.string(),
    endpoint: z.string(),
    platform: z.string(),
    credentials: jsonObject.meta({ description: 'Auth settings; credentials name secrets (`{"secret": "NAME"}`), never values' }),
    field_mapping: z.record(z.string(), z.string()),
    rate_budget: jsonObject,
    is_active: z.boolean(),
    disabled_at: timestamp.nullable(),
    created_at: timestamp,
    updated_at: timestamp,
  }),
);

export const ConnectionList = list('ConnectionList', Connection);

export const ConnectionTest = named(
  'ConnectionTest',
  z.looseObject({
    ok: z.boolean(),
    reachable: z.boolean(),
    authenticated: z.boolean().nullable(),
    request: z.string(),
    status: z.int().nullable(),
    sample: z.looseObject({ item: json, mapped: jsonObject.nullable() }).nullable(),
    reason: z.string().nullable(),
  }),
  'What one authenticated read against the endpoint saw',
);

/** A notification channel. */
export const Channel = named(
  'Channel',
  z.looseObject({
    id: z.int(),
    name: z.string(),
    type: z.enum(['email', 'webhook', 'slack']),
    config: jsonObject.meta({ description: 'email: recipients, from; webhook: url, signing_secret (a secret name); slack: url_secret (a secret name)' }),
    is_active: z.boolean(),
  }),
);

export const ChannelList = list('ChannelList', Channel);

export const ChannelTest = named('ChannelTest', z.looseObject({ ok: z.boolean(), result: json, reason: z.string().nullable().optional() }), 'What the test send did');

export const Mailbox = list(
  'Mailbox',
  z.looseObject({
    id: z.int(),
    from: z.string().nullable(),
    to: z.array(z.string()),
    subject: z.string().nullable(),
    message_id: z.string().nullable(),
    received_at: timestamp,
    text: z.string(),
  }),
);

const itemStatus = z.enum(['ok', 'invalid', 'failed', 'skipped']);

export const ItemOutcome = named(
  'ItemOutcome',
  z.looseObject({
    id: z.string().meta({ description: 'The outcome\'s id, `<batch>-<position>` (for `.../items/{id}/payload/`)', example: '12-345' }),
    step_key: z.string(),
    item_key: z.string().meta({ description: 'SKU, order id, external id, or the input position' }),
    item_index: z.int().nullable().meta({ description: 'Position in the step\'s input list' }),
    status: itemStatus,
    reason_code: z.string().nullable(),
    message: z.string().nullable(),
    attempt: z.int(),
    has_payload: z.boolean().meta({ description: 'The item itself is kept (items that did not go through)' }),
    recorded_at: timestamp,
  }),
  'What one step did with one item',
);

export const ItemOutcomePage = page('ItemOutcomePage', ItemOutcome);

export const ItemCounts = named(
  'ItemCounts',
  z.looseObject({
    by_status: z.looseObject({ ok: z.int(), invalid: z.int(), failed: z.int(), skipped: z.int() }),
    by_reason: z.array(z.looseObject({ step_key: z.string(), status: itemStatus, reason_code: z.string().nullable(), count: z.int() })),
  }),
  'Item outcomes counted',
);

export const ItemPayload = named(
  'ItemPayload',
  z.looseObject({ id: z.string(), step_key: z.string(), item_key: z.string(), item_index: z.int().nullable(), item: json }),
  'An item kept in the ledger',
);

export const ReviewItem = named(
  'ReviewItem',
  z.looseObject({
    key: z.string().meta({ description: 'The item key (SKU, external id, ...; `key#index` for a repeated key)' }),
    index: z.int().meta({ description: "Position in the step's item list" }),
    confidence: z.number().nullable(),
    original: jsonObject.meta({ description: 'The item as the step received it' }),
    proposal: jsonObject.meta({ description: "The item as it continues if approved: the AI's answer applied" }),
    decision: z.enum(['approve', 'edit', 'reject']).nullable(),
    edited: jsonObject.nullable().meta({ description: 'With edit: the item as it continues' }),
    reason: z.string().nullable(),
    decided_by: z.string().nullable(),
    decided_at: timestamp.nullable(),
    timed_out: z.boolean(),
    applied: z.boolean().meta({ description: "Merged back into the step's output" }),
  }),
  'One item an ai_process step held for review',
);

export const ReviewList = named(
  'ReviewList',
  z.looseObject({
    execution_id: z.string(),
    reviews: z.array(
      z.looseObject({
        step_key: z.string(),
        status: z.enum(['waiting', 'applying', 'done']),
        total: z.int(),
        decided: z.int(),
        deadline: timestamp.nullable(),
        items: z.array(ReviewItem).meta({ description: 'The first 1,000 items by position' }),
      }),
    ),
  }),
  "A run's reviews of ai_process answers",
);

export const ReviewRest = named(
  'ReviewRest',
  z.looseObject({ step_key: z.string(), decision: z.enum(['approve', 'reject']), decided: z.int() }),
  'A decision for every item not decided yet',
);
