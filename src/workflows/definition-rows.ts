/**
 * A stored version's rows as the WorkflowDefinition the engine runs: one
 * mapping for the API (WorkflowsService) and the worker (DefinitionStore).
 * No NestJS here: the worker imports it.
 */
import type { StepDefinition, WorkflowDefinition } from '@engine/dsl/types';
import type { Workflow, WorkflowStep, WorkflowVersion } from '@src/workflows/workflow.entity';

export function toStepDefinition(s: WorkflowStep): StepDefinition {
  return {
    key: s.key,
    name: s.name,
    step_type: s.step_type,
    order: s.order,
    config: s.config,
    depends_on_steps: s.depends_on_steps,
    is_optional: s.is_optional,
    can_run_parallel: s.can_run_parallel,
    parallel_group: s.parallel_group,
    condition: s.condition,
    timeout_seconds: s.timeout_seconds,
    can_retry: s.can_retry,
    max_retries: s.max_retries,
    retry_delay_seconds: s.retry_delay_seconds,
    retry_backoff: s.retry_backoff,
    max_retry_delay_seconds: s.max_retry_delay_seconds,
    role: s.role,
    compensates: s.compensates,
  };
}

/** The definition of version `v` of workflow `wf` with its steps (already mapped). */
export function definitionOf(wf: Pick<Workflow, 'id' | 'code' | 'workflow_type'>, v: WorkflowVersion, steps: StepDefinition[]): WorkflowDefinition {
  return {
    workflow_id: wf.id,
    version_id: v.id,
    version: v.version,
    code: wf.code,
    name: v.name,
    workflow_type: wf.workflow_type,
    config: v.config,
    max_retries: v.max_retries,
    retry_delay_seconds: v.retry_delay_seconds,
    max_parallel_steps: v.max_parallel_steps,
    input_schema: v.input_schema ?? null,
    // Versions stored before fan-out existed have none: the key stays absent, as in their recorded runs.
    ...(v.fan_out ? { fan_out: v.fan_out } : {}),
    steps,
  };
}
