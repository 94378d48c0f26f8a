/**
 * What the interpreter hands to a step activity since `perf-activity-reference`:
 * a reference to the step in its (immutable) definition version and the values
 * the interpreter resolved for this call, instead of the whole StepRequest. The
 * worker loads the version once (temporal/activities/runtime/definition-store.ts)
 * and rebuilds the StepRequest with {@link fromStepCall}; everything it takes
 * from the definition (config, name, type, role, retries, timeout, the
 * workflow's config and identity) is then not written into the run's history
 * once per step. Pure: safe to import from workflow code.
 */
import { effectiveRetry } from '@engine/dsl/normalize';
import type { WorkflowDefinition } from '@engine/dsl/types';
import type { StepRequest } from '@engine/shared/contracts';

export interface StepCall {
  /**
   * The definition version (its database id) and the step's key in it. The key
   * is left out from revision 2 (InterpreterInput.revision): it is the activity id.
   */
  step_ref: { version_id: number; step_key?: string };
  /** The step's input: a value or a payload ref. */
  input: unknown;
  /** Outputs (values or payload refs) of the steps the config or condition reads; absent when none. */
  steps?: Record<string, unknown>;
  /** The run's input, when the step's config may read it and it is not the step's input already. */
  run_input?: unknown;
  /** The run's input is the step's input (a first step): not written twice. */
  run_input_is_input?: true;
  /**
   * `$execution` facts the definition does not hold: trigger, start time, and
   * (left out when `running` / null) status, error, triggered_by; `compensated` for on-failure steps.
   * Absent when the step's config does not mention `execution` at all (nothing could read them).
   */
  execution?: Record<string, unknown>;
  /** Config keys the run sets over the stored version's (a fan-out child's marketplace): merged over it by the worker. */
  config_overrides?: Record<string, unknown>;
  /** Recovery runs (retry-items, restart): the first run's id, for per-item idempotency keys. */
  idempotency_root?: string;
  /** Recovery runs fed only some items: per-item keys come from the item, never its position. */
  items_subset?: true;
}

/** True for the reference shape; a StepRequest (runs started before the patch) has `step_type`. */
export function isStepCall(value: unknown): value is StepCall {
  return typeof value === 'object' && value !== null && 'step_ref' in value && !('step_type' in value);
}

/** `$execution` fields the worker takes from the definition and the execution id. */
const FROM_DEFINITION = ['id', 'execution_id', 'workflow_code', 'workflow_name', 'workflow_type', 'version'];

/**
 * The reference form of `req`, a request the interpreter built for a step of
 * `def` (a stored version: `version_id` > 0). The run's input is kept only when
 * the step's config mentions `input` at all (a `$input` reference, or the
 * `$input` variable of an expression): a config that does not name it cannot read it.
 * The `$execution` facts likewise, only when the config mentions `execution`.
 * `reads` says both for a step whose config `def` does not hold whole (a slim
 * definition, temporal/shared/slim-definition.ts).
 */
export function toStepCall(
  req: StepRequest,
  def: Pick<WorkflowDefinition, 'version_id' | 'steps' | 'config_overrides'>,
  reads?: { input: boolean; execution: boolean },
  opts: { keyIsActivityId?: boolean } = {},
): StepCall {
  const step = def.steps.find((s) => s.key === req.step_key);
  const text = reads || step === undefined ? '' : JSON.stringify(step.config);
  const readsInput = reads ? reads.input : text.includes('input');
  const readsExecution = reads ? reads.execution : text.includes('execution');
  const execution: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(req.context.execution)) {
    if (FROM_DEFINITION.includes(k)) continue;
    if ((k === 'status' && v === 'running') || ((k === 'error' || k === 'triggered_by') && v === null)) continue;
    execution[k] = v;
  }
  return {
    step_ref: opts.keyIsActivityId ? { version_id: def.version_id } : { version_id: def.version_id, step_key: req.step_key },
    input: req.input,
    ...(Object.keys(req.context.steps).length > 0 ? { steps: req.context.steps } : {}),
    ...(readsInput ? (req.context.input === req.input ? { run_input_is_input: true as const } : { run_input: req.context.input }) : {}),
    ...(readsExecution ? { execution } : {}),
    ...(def.config_overrides && Object.keys(def.config_overrides).length > 0 ? { config_overrides: def.config_overrides } : {}),
    ...(req.idempotency_root ? { idempotency_root: req.idempotency_root } : {}),
    ...(req.items_subset ? { items_subset: true as const } : {}),
  };
}

/**
 * The StepRequest a call stands for, given the definition version it names
 * (loaded by the worker), the run's id (the activity's workflow id) and the
 * activity's id (the step's key, when the call leaves it out).
 * Throws when the version has no such step.
 */
export function fromStepCall(call: StepCall, def: WorkflowDefinition, executionId: string, activityId?: string): StepRequest {
  const key = call.step_ref.step_key ?? activityId;
  const step = def.steps.find((s) => s.key === key);
  if (!step) throw new Error(`definition version ${def.version_id} (${def.code} v${def.version}) has no step "${key}"`);
  const { trigger_type, triggered_by = null, started_at, status = 'running', error = null, ...rest } = call.execution ?? {};
  return {
    execution_id: executionId,
    workflow_code: def.code,
    step_key: step.key,
    step_name: step.name,
    step_type: step.step_type,
    role: step.role,
    config: step.config,
    input: call.input,
    context: {
      input: call.run_input_is_input ? call.input : call.run_input,
      steps: call.steps ?? {},
      config: call.config_overrides ? { ...def.config, ...call.config_overrides } : def.config,
      execution: {
        id: executionId,
        execution_id: executionId,
        workflow_code: def.code,
        workflow_name: def.name,
        workflow_type: def.workflow_type,
        version: def.version,
        trigger_type,
        triggered_by,
        started_at,
        status,
        error,
        ...rest,
      },
    },
    max_attempts: effectiveRetry(step, def).maxAttempts,
    timeout_seconds: step.timeout_seconds,
    idempotency_key: `${executionId}:${step.key}`,
    ...(call.idempotency_root ? { idempotency_root: call.idempotency_root } : {}),
    ...(call.items_subset ? { items_subset: true } : {}),
    compensates: step.compensates,
  };
}
