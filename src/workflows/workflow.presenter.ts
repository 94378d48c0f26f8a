import { dependencyEdges } from '@engine/dsl/graph';
import type { StepDefinition, WorkflowDefinition } from '@engine/dsl/types';
import type { Workflow, WorkflowVersion } from '@src/workflows/workflow.entity';

/** The JSON of a workflow: settings, statistics, and (when given) the steps of one version. */
export function presentWorkflow(wf: Workflow, def?: WorkflowDefinition, extra: { step_count?: number } = {}) {
  const rate = wf.total_executions > 0 ? wf.successful_executions / wf.total_executions : null;
  return {
    id: wf.id,
    code: wf.code,
    name: def?.name ?? wf.name,
    description: wf.description,
    workflow_type: wf.workflow_type,
    status: wf.status,
    is_template: wf.is_template,
    current_version: wf.current_version,
    ...(def ? { version: def.version } : {}),
    config: def?.config ?? wf.config,
    max_retries: def?.max_retries ?? wf.max_retries,
    retry_delay_seconds: def?.retry_delay_seconds ?? wf.retry_delay_seconds,
    max_parallel_steps: def?.max_parallel_steps ?? wf.max_parallel_steps,
    ...(def ? { input_schema: def.input_schema, fan_out: def.fan_out ?? null } : {}),
    total_executions: wf.total_executions,
    successful_executions: wf.successful_executions,
    failed_executions: wf.failed_executions,
    success_rate: rate === null ? null : Math.round(rate * 10000) / 10000,
    average_duration_seconds: wf.average_duration_seconds,
    last_executed_at: wf.last_executed_at,
    created_by: wf.created_by,
    created_at: wf.created_at,
    updated_at: wf.updated_at,
    ...(extra.step_count !== undefined ? { step_count: extra.step_count } : {}),
    ...(def
      ? {
          step_count: def.steps.filter((s) => s.role === 'main').length,
          steps: def.steps.map(presentStep),
          // The step graph to draw: prerequisite → step, implied edges left out.
          graph: { edges: dependencyEdges(def) },
        }
      : {}),
  };
}

export function presentStep(s: StepDefinition) {
  return { ...s };
}

export function presentVersion(v: WorkflowVersion, currentVersion: number, stepCount?: number) {
  return {
    id: v.id,
    version: v.version,
    is_current: v.version === currentVersion,
    name: v.name,
    config: v.config,
    max_retries: v.max_retries,
    retry_delay_seconds: v.retry_delay_seconds,
    max_parallel_steps: v.max_parallel_steps,
    checksum: v.checksum,
    created_by: v.created_by,
    created_at: v.created_at,
    ...(stepCount !== undefined ? { step_count: stepCount } : {}),
  };
}
