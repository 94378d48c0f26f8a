/** Builders shared by the DSL unit tests. */
import { normalizeDefinition } from '@engine/dsl/normalize';
import type { DefinitionInput, RunContext, StepInput, StepTypeRegistry, WorkflowDefinition } from '@engine/dsl/types';

/** A step with a name and type derived from its key. */
export function step(key: string, extra: Partial<StepInput> = {}): StepInput {
  return { key, name: `Step ${key}`, step_type: 'data_transform', config: {}, ...extra };
}

/** A definition as a user writes it. */
export function input(steps: StepInput[], extra: Partial<DefinitionInput> = {}): DefinitionInput {
  return { code: 'test_flow', name: 'Test flow', steps, ...extra };
}

/** A normalised definition. */
export function definition(steps: StepInput[], extra: Partial<DefinitionInput> = {}): WorkflowDefinition {
  return normalizeDefinition(input(steps, extra));
}

/** A run context with empty roots, overridden by `parts`. */
export function runContext(parts: Partial<RunContext> = {}): RunContext {
  return { input: {}, steps: {}, config: {}, execution: {}, ...parts };
}

/** Step types for validation tests: `data_fetch` requires `source_type`; the others accept anything. */
export const registry: StepTypeRegistry = {
  data_fetch: (config) => (typeof config.source_type === 'string' ? [] : [{ field: 'source_type', message: 'source_type is required' }]),
  data_transform: () => [],
  api_call: () => [],
  notification: () => [],
};
