/**
 * What a run is sure to need before it starts, checked at execute time so a
 * run that cannot succeed is refused with a clear 409 instead of failing
 * mid-run: today, a model for the required AI steps that will run.
 */
import type { Condition, RunContext, WorkflowDefinition } from '@engine/dsl/types';
import { evaluateCondition } from '@engine/dsl/conditions';
import { parseConditionPath } from '@engine/dsl/references';
import { AppError } from '@src/common/errors';

/** Every `value_check` path of a condition. */
function conditionPaths(c: Condition): string[] {
  if (c.type === 'all' || c.type === 'any') return c.conditions.flatMap(conditionPaths);
  if (c.type === 'not') return conditionPaths(c.condition);
  return [c.path];
}

/**
 * Whether a step with this condition surely runs, judged only from what is
 * known before the run (its input and the workflow's config). A condition that
 * reads a step's output or the execution cannot be known: the answer is then
 * false, so nothing is refused on a guess.
 */
export function surelyRuns(condition: Condition | null, known: Pick<RunContext, 'input' | 'config'>): boolean {
  if (!condition) return true;
  const paths = conditionPaths(condition).map((p) => parseConditionPath(p));
  if (paths.some((r) => !r || r.scope !== 'run' || (r.segments[0] !== 'input' && r.segments[0] !== 'config'))) return false;
  try {
    return evaluateCondition(condition, { input: known.input, config: known.config, steps: {}, execution: {} } as RunContext);
  } catch {
    return false;
  }
}

/** Keys of the required `ai_process` steps that will run and have no model key (neither their own `api_key` nor OPENAI_API_KEY). */
export function aiStepsWithoutKey(definition: WorkflowDefinition, input: unknown, defaultKeySet: boolean): string[] {
  if (defaultKeySet) return [];
  return definition.steps
    .filter((s) => s.role === 'main' && s.step_type === 'ai_process' && !s.is_optional && s.config.api_key === undefined)
    .filter((s) => surelyRuns(s.condition, { input, config: definition.config }))
    .map((s) => s.key);
}

/** Throws 409 AI_NOT_CONFIGURED naming the steps and the missing setting. */
export function assertAiConfigured(definition: WorkflowDefinition, input: unknown, defaultKeySet: boolean): void {
  const steps = aiStepsWithoutKey(definition, input, defaultKeySet);
  if (steps.length === 0) return;
  throw new AppError(
    'AI_NOT_CONFIGURED',
    `the required AI step${steps.length > 1 ? 's' : ''} ${steps.join(', ')} would run without a model: set OPENAI_API_KEY (on the API and the worker) or give the step "api_key": {"secret": "NAME"}, or turn the step off in the workflow's config`,
    409,
    { steps, setting: 'OPENAI_API_KEY' },
  );
}
