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
 * if (isRunFinished(def, states, deps)) return runOutcome(def, states, deps);
 */
import { byOrderThenKey, effectiveDependencies, mainSteps, type Dependencies, type GraphStep, type StepGraph } from './graph';
import type { RunStatus, StepDefinition, StepStatus } from './types';

/** Step key to status; absent keys are `pending`. */
export type StepStates = Readonly<Record<string, StepStatus | undefined>>;

/** The fields of a step the scheduler reads. */
export type SchedulableStep = GraphStep & Pick<StepDefinition, 'is_optional'>;

/** Statuses of a step that has started and not yet finished. */
const ACTIVE: ReadonlySet<StepStatus> = new Set(['running', 'waiting']);

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
 * It does not look at failures: stop scheduling once `failedRequiredSteps` is non-empty.
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

/** Main steps that are running or waiting (for an approval). */
export function activeSteps(def: StepGraph, states: StepStates): string[] {
  return mainSteps(def)
    .filter((s) => ACTIVE.has(statusOf(states, s.key)))
    .map((s) => s.key);
}

/** Required main steps that failed: any one of them fails the run. */
export function failedRequiredSteps(def: StepGraph<SchedulableStep>, states: StepStates): string[] {
  return mainSteps(def)
    .filter((s) => !s.is_optional && statusOf(states, s.key) === 'failed')
    .map((s) => s.key);
}

/**
 * Where the run stands:
 * - `running` while a main step is active, or (with no failure or cancellation) one is ready;
 * - then `failed` if a required step failed, `cancelled` if a step was cancelled;
 * - `failed` if steps are left pending that can never start (a dependency that
 *   will not be satisfied);
 * - otherwise `completed`.
 */
export function runOutcome(
  def: StepGraph<SchedulableStep>,
  states: StepStates,
  deps: Dependencies = effectiveDependencies(def),
): Exclude<RunStatus, 'pending'> {
  const statuses = mainSteps(def).map((s) => statusOf(states, s.key));
  if (statuses.some((s) => ACTIVE.has(s))) return 'running';
  if (failedRequiredSteps(def, states).length > 0) return 'failed';
  if (statuses.includes('cancelled')) return 'cancelled';
  if (readySteps(def, states, deps).length > 0) return 'running';
  return statuses.includes('pending') ? 'failed' : 'completed';
}

/** True when nothing is active and nothing more can start. */
export function isRunFinished(
  def: StepGraph<SchedulableStep>,
  states: StepStates,
  deps: Dependencies = effectiveDependencies(def),
): boolean {
  return runOutcome(def, states, deps) !== 'running';
}

/** The steps to run after a failed run, in the order to run them. */
export interface FailureHandlers {
  /** Compensation steps of the main steps that completed, most recent first. */
  compensations: string[];
  /** `on_failure` steps, by order then key. */
  onFailure: string[];
}

/**
 * What to run when the run fails: the compensation of each completed main step,
 * in reverse completion order, then the on-failure steps.
 *
 * @param completedInOrder main step keys in the order they completed
 */
export function failureHandlers(def: StepGraph, completedInOrder: readonly string[]): FailureHandlers {
  const compensationOf = new Map<string, string>();
  for (const s of def.steps) {
    if (s.role === 'compensation' && s.compensates && !compensationOf.has(s.compensates)) compensationOf.set(s.compensates, s.key);
  }
  const compensations = [...completedInOrder]
    .reverse()
    .map((key) => compensationOf.get(key))
    .filter((key): key is string => key !== undefined);
  const onFailure = def.steps
    .filter((s) => s.role === 'on_failure')
    .sort(byOrderThenKey)
    .map((s) => s.key);
  return { compensations: [...new Set(compensations)], onFailure };
}
