/**
 * The step graph: who waits for whom, where a step's input comes from, and
 * checks for cycles. Pure and deterministic: safe to import from workflow code.
 *
 * Only `main` steps form the DAG. Every function tolerates dependencies on keys
 * that do not exist (validation reports those); traversals skip them.
 */
import type { StepDefinition } from './types';

/** The fields of a step the graph reads. */
export type GraphStep = Pick<StepDefinition, 'key' | 'order' | 'depends_on_steps' | 'can_run_parallel' | 'parallel_group' | 'role' | 'compensates'>;

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

/** How implicit ordering treats steps of equal `order` (see {@link effectiveDependencies}). */
export interface OrderingOptions {
  /**
   * `serial` (the default, the specification's meaning of `can_run_parallel`):
   * of two steps of equal order the one whose key sorts later waits for the
   * other, unless both are marked `can_run_parallel` or they share a
   * `parallel_group`. `parallel`: steps of equal order never wait for each
   * other (runs recorded before the interpreter's `can-run-parallel-same-order`
   * patch).
   */
  sameOrder?: 'serial' | 'parallel';
}

/** True when two steps may overlap although implicit ordering would put one after the other. */
function sideBySide(a: GraphStep, b: GraphStep): boolean {
  return (a.parallel_group !== null && a.parallel_group === b.parallel_group) || (a.can_run_parallel && b.can_run_parallel);
}

/**
 * Implicit prerequisites: every main step of lower order outside the step's own
 * parallel group; with `sameOrder: 'serial'`, also every main step of the same
 * order that sorts before it by key and may not run beside it.
 */
function implicitDependencies(step: GraphStep, main: readonly GraphStep[], sameOrder: 'serial' | 'parallel'): GraphStep[] {
  const ownGroup = (o: GraphStep) => step.parallel_group !== null && o.parallel_group === step.parallel_group;
  return main.filter((o) => {
    if (o.order < step.order) return !ownGroup(o);
    // Same-order ordering applies between steps that both use implicit ordering, so it adds no cycle through explicit lists.
    return sameOrder === 'serial' && o.order === step.order && o.key < step.key && o.depends_on_steps.length === 0 && !sideBySide(o, step);
  });
}

/**
 * What each main step waits for: its `depends_on_steps` when it lists any;
 * otherwise every main step of lower `order` that is not in its own (non-null)
 * `parallel_group`, and every main step of the same order (also without
 * `depends_on_steps`) whose key sorts before its own, unless both steps are
 * marked `can_run_parallel` or they share a `parallel_group`. Members of one
 * group, and steps of equal order that are both marked, run side by side.
 *
 * @example // a(1), b(2, group g), c(3, group g), d(4)
 * effectiveDependencies(def) // { a: [], b: ['a'], c: ['a'], d: ['a', 'b', 'c'] }
 * @example // x(1, can_run_parallel), y(1, can_run_parallel), z(1)
 * effectiveDependencies(def) // { x: [], y: [], z: ['x', 'y'] }
 */
export function effectiveDependencies(def: StepGraph, options: OrderingOptions = {}): Dependencies {
  const main = mainSteps(def);
  const sameOrder = options.sameOrder ?? 'serial';
  return Object.fromEntries(
    main.map((s) => [
      s.key,
      s.depends_on_steps.length > 0 ? [...new Set(s.depends_on_steps)] : implicitDependencies(s, main, sameOrder).map((o) => o.key),
    ]),
  );
}

/** True when two dependency maps list the same prerequisites for every step (in any order). */
export function sameDependencies(a: Dependencies, b: Dependencies): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => {
    const x = a[k];
    const y = Object.prototype.hasOwnProperty.call(b, k) ? b[k] : undefined;
    return y !== undefined && x.length === y.length && x.every((d) => y.includes(d));
  });
}

/**
 * Whose output each step receives as its input: explicit dependencies as
 * listed; for implicit ones only the previous layer (those of the greatest
 * order below the step's own: a step that waits for a sibling of its own
 * order still reads the layer before). `[]` means the run's input. A compensation step reads the
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
      const lower = own.filter((k) => (index.get(k)?.order ?? Infinity) < s.order);
      const last = Math.max(...lower.map((k) => index.get(k)!.order));
      return [s.key, lower.filter((k) => index.get(k)!.order === last)];
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
