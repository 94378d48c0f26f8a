import type { StepInput } from '@engine/dsl/types';

/** `n` small `data_transform` filter steps, each after the one before: the ten-step definition the benches start. */
export function chainOfFilterSteps(n: number): StepInput[] {
  return Array.from({ length: n }, (_, i) => ({
    key: `step_${i + 1}`,
    name: `Step ${i + 1}`,
    step_type: 'data_transform',
    timeout_seconds: 60,
    config: { transform_type: 'filter', match: 'all', rules: [{ field: 'qty', operator: 'gt', value: 0 }] },
    ...(i > 0 ? { depends_on_steps: [`step_${i}`] } : {}),
  }));
}
