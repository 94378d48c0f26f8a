/**
 * The step graph: who waits for whom, where a step's input comes from, and
 * checks for cycles. Pure and deterministic: safe to import from workflow code.
 *
 * Only `main` steps form the DAG. Every function tolerates dependencies on keys
 * that do not exist (validation reports those); traversals skip them.
 */
import type { StepDefinition } from './types';

/** The fields of a step the graph reads. */
export type GraphStep = Pick<StepDefinition, 'key' | 'order' | 'depends_on_steps' | 'parallel_group' | 'role' | 'compensates'>;

/** Anything with steps: a WorkflowDefinition, or a partial one during validation. */
export interface StepGraph<S extends GraphStep = GraphStep> {
  steps: readonly S[];
}

/** Step key to the keys it waits for (or reads from). */
export type Dependencies = Record<string, string[]>;

/** Deterministic ordering of steps: by `order`, then by key (code units, not locale). */
export function byOrderThenKey(a: Pick<GraphStep, 'order' | 'key'>, b: Pick<GraphStep, 'order' | 'key'>): number {
  return a.order - b.order || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

/** First step with each key (validation reports duplicates; the graph ignores them). */
function stepIndex<S extends GraphStep>(def: StepGraph<S>): Map<string, S> {
  const index = new Map<string, S>();
  for (const s of def.steps) if (!index.has(s.key)) index.set(s.key, s);
  return index;
}

/** The `main` steps in definition order, the first of each key only. */
export function mainSteps<S extends GraphStep>(def: StepGraph<S>): S[] {
  return [...stepIndex(def).values()].filter((s) => s.role === 'main');
}

/** Implicit prerequisites: every main step of lower order outside the step's own parallel group. */
function implicitDependencies(step: GraphStep, main: readonly GraphStep[]): GraphStep[] {
  return main.filter((o) => o.order < step.order && (step.parallel_group === null || o.parallel_group !== step.parallel_group));
}

/**
 * What each main step waits for: its `depends_on_steps` when it lists any;
 * otherwise every main step of lower `order` that is not in its own (non-null)
 * `parallel_group`. Steps of equal order, and members of one group, therefore
 * run side by side.
 *
 * @example // a(1), b(2, group g), c(3, group g), d(4)
 * effectiveDependencies(def) // { a: [], b: ['a'], c: ['a'], d: ['a', 'b', 'c'] }
 */
export function effectiveDependencies(def: StepGraph): Dependencies {
  const main = mainSteps(def);
  return Object.fromEntries(
    main.map((s) => [
      s.key,
      s.depends_on_steps.length > 0 ? [...new Set(s.depends_on_steps)] : implicitDependencies(s, main).map((o) => o.key),
    ]),
  );
}

/**
 * Whose output each step receives as its input: explicit dependencies as
 * listed; for implicit ones only the previous layer (those of the greatest
 * order among them). `[]` means the run's input. A compensation step reads the
 * step it compensates; an on-failure step reads the run's input.
 */
export function inputSources(def: StepGraph, deps: Dependencies = effectiveDependencies(def)): Dependencies {
  const index = stepIndex(def);
  return Object.fromEntries(
    [...index.values()].map((s): [string, string[]] => {
      if (s.role === 'compensation') return [s.key, s.compensates ? [s.compensates] : []];
      if (s.role !== 'main') return [s.key, []];
      const own = deps[s.key] ?? [];
      if (s.depends_on_steps.length > 0) return [s.key, own];
      const last = Math.max(...own.map((k) => index.get(k)?.order ?? -Infinity));
      return [s.key, own.filter((k) => index.get(k)?.order === last)];
    }),
  );
}

/** Every key reachable from `starts` through `deps` (the starts themselves excluded unless reached again). */
function reachable(starts: readonly string[], deps: Dependencies): Set<string> {
  const seen = new Set<string>();
  const queue = [...starts];
  for (let key = queue.shift(); key !== undefined; key = queue.shift()) {
    for (const dep of Object.prototype.hasOwnProperty.call(deps, key) ? deps[key] : []) {
      if (!seen.has(dep)) {
        seen.add(dep);
        queue.push(dep);
      }
    }
  }
  return seen;
}

/**
 * The steps whose outputs are certain to exist when step `key` runs, so it may
 * reference them: for a main step its transitive effective dependencies; for a
 * compensation step the step it compensates and that step's upstream; for an
 * on-failure step every main step (those that did not run read as undefined).
 */
export function upstreamOf(def: StepGraph, key: string, deps: Dependencies = effectiveDependencies(def)): Set<string> {
  const step = stepIndex(def).get(key);
  if (!step) return new Set();
  if (step.role === 'on_failure') return new Set(mainSteps(def).map((s) => s.key));
  if (step.role === 'compensation') {
    if (!step.compensates) return new Set();
    return new Set([step.compensates, ...reachable([step.compensates], deps)]);
  }
  return reachable([key], deps);
}

/**
 * A dependency cycle as a path of keys that starts and ends with the same key
 * (`['a', 'b', 'a']`: a waits for b, b waits for a), or null. Deterministic: the
 * first cycle met walking keys in insertion order.
 */
export function findCycle(deps: Dependencies): string[] | null {
  const done = new Set<string>();
  const onPath = new Map<string, number>();
  const path: string[] = [];
  const has = (k: string) => Object.prototype.hasOwnProperty.call(deps, k);

  const visit = (key: string): string[] | null => {
    const at = onPath.get(key);
    if (at !== undefined) return [...path.slice(at), key];
    if (done.has(key) || !has(key)) return null;
    onPath.set(key, path.length);
    path.push(key);
    for (const dep of deps[key]) {
      const cycle = visit(dep);
      if (cycle) return cycle;
    }
    path.pop();
    onPath.delete(key);
    done.add(key);
    return null;
  };

  for (const key of Object.keys(deps)) {
    const cycle = visit(key);
    if (cycle) return cycle;
  }
  return null;
}

/**
 * The edges worth drawing: each main step's effective dependencies less those
 * already implied through another one (a transitive reduction), so a picture
 * of `a → b → c` has no extra `a → c` arrow. Edges run prerequisite → step.
 *
 * @example // a(1), b(2, group g), c(3, group g), d(4)
 * dependencyEdges(def) // [['a','b'], ['a','c'], ['b','d'], ['c','d']]
 */
export function dependencyEdges(def: StepGraph, deps: Dependencies = effectiveDependencies(def)): Array<[string, string]> {
  const keys = new Set(mainSteps(def).map((s) => s.key));
  const edges: Array<[string, string]> = [];
  for (const s of mainSteps(def)) {
    const direct = (deps[s.key] ?? []).filter((d) => keys.has(d) && d !== s.key);
    // A dependency that another direct dependency already waits for is implied.
    const implied = new Set(direct.flatMap((d) => [...reachable([d], deps)]));
    for (const d of direct) if (!implied.has(d)) edges.push([d, s.key]);
  }
  return edges;
}
