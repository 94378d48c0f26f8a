/**
 * Scheduling decisions for the interpreter, as pure functions of the definition
 * and the current step states. Deterministic: safe to import from workflow code.
 *
 * State input: `states` maps a step key to its StepStatus; a key that is absent
 * reads as `pending`. The interpreter keeps one such record, updating it as
 * steps start (`running`, or `waiting` for an approval), finish (`completed`,
 * `failed` once retries are exhausted), are skipped by their condition
 * (`skipped`) or cancelled. Whether a failure is tolerated comes from the
 * step's `is_optional`, so no other bookkeeping is needed.
 *
 * @example
 * const deps = effectiveDependencies(def);          // once per run
 * for (const key of readySteps(def, states, deps)) { ... start or skip it ... }
 * // on failure: run failureHandlers(def, endedInOrder) in order
 */
import { byOrderThenKey, effectiveDependencies, mainSteps, type Dependencies, type GraphStep, type StepGraph } from './graph';
import type { StepDefinition, StepStatus } from './types';

/** Step key to status; absent keys are `pending`. */
export type StepStates = Readonly<Record<string, StepStatus | undefined>>;

/** The fields of a step the scheduler reads. */
export type SchedulableStep = GraphStep & Pick<StepDefinition, 'is_optional'>;

function statusOf(states: StepStates, key: string): StepStatus {
  return (Object.prototype.hasOwnProperty.call(states, key) ? states[key] : undefined) ?? 'pending';
}

/** True when a step in `status` lets its dependents start: completed, skipped, or failed but optional. */
export function isSatisfied(step: Pick<StepDefinition, 'is_optional'>, status: StepStatus): boolean {
  return status === 'completed' || status === 'skipped' || (status === 'failed' && step.is_optional);
}

/**
 * Main steps that are still `pending` and whose effective dependencies are all
 * satisfied, sorted by order then key. The caller evaluates each one's
 * condition (false: mark it `skipped`) and starts at most
 * `max_parallel_steps` minus the number already active.
 * It does not look at failures: the caller stops scheduling once a required step failed.
 */
export function readySteps(
  def: StepGraph<SchedulableStep>,
  states: StepStates,
  deps: Dependencies = effectiveDependencies(def),
): string[] {
  const main = mainSteps(def);
  const byKey = new Map(main.map((s) => [s.key, s]));
  const satisfied = (key: string): boolean => {
    const dep = byKey.get(key);
    return dep !== undefined && isSatisfied(dep, statusOf(states, key));
  };
  return main
    .filter((s) => statusOf(states, s.key) === 'pending' && (deps[s.key] ?? []).every(satisfied))
    .sort(byOrderThenKey)
    .map((s) => s.key);
}

/** One compensation to run: the main step undone and the compensation step that undoes it. */
export interface CompensationPlan {
  step: string;
  compensation: string;
}

/** The steps to run after a failed (or, since `saga-cancel`, cancelled) run, in the order to run them. */
export interface FailureHandlers {
  /** The compensation of each ended main step that has one, most recent first, each once. */
  compensations: CompensationPlan[];
  /** `on_failure` steps, by order then key. */
  onFailure: string[];
}

/**
 * What to run when the run fails: the compensation of each main step in
 * `endedInOrder`, most recent first, then the on-failure steps. The one place
 * that orders failure handling; the interpreter runs exactly this plan.
 * Ties: a step compensated twice (which validation rejects) takes its first
 * compensation in definition order; on-failure steps of equal order run by key.
 *
 * @param endedInOrder main step keys in the order they ended (completed, or
 *   failed / cancelled after starting work)
 * @example
 * failureHandlers(def, ['a', 'c']) // { compensations: [{ step: 'c', compensation: 'undo_c' }, ...], onFailure: ['email'] }
 */
export function failureHandlers(def: StepGraph, endedInOrder: readonly string[]): FailureHandlers {
  const compensationOf = compensationsByTarget(def);
  const seen = new Set<string>();
  const compensations: CompensationPlan[] = [];
  for (const key of [...endedInOrder].reverse()) {
    const compensation = compensationOf.get(key);
    if (compensation === undefined || seen.has(compensation)) continue;
    seen.add(compensation);
    compensations.push({ step: key, compensation });
  }
  const onFailure = def.steps
    .filter((s) => s.role === 'on_failure')
    .sort(byOrderThenKey)
    .map((s) => s.key);
  return { compensations, onFailure };
}

/** Main step key to the key of the compensation step that undoes it (the first in definition order). */
export function compensationsByTarget(def: StepGraph): Map<string, string> {
  const compensationOf = new Map<string, string>();
  for (const s of def.steps) {
    if (s.role === 'compensation' && s.compensates && !compensationOf.has(s.compensates)) compensationOf.set(s.compensates, s.key);
  }
  return compensationOf;
}
