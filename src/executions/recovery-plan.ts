/**
 * Pure planning for recovery runs (restart, retry of items, edited output):
 * which steps of the chosen definition version may reuse the earlier run's
 * outputs, and where a step reads its item list from, so a retry can feed it
 * only some items. No I/O: src/executions/recovery.service.ts does that.
 */
import type { StepDefinition, WorkflowDefinition } from '@engine/dsl/types';
import { effectiveDependencies, inputSources } from '@engine/dsl/graph';
import { getIn, parsePath, setIn, type Path } from '@engine/activities/shared/paths';

export type VersionChoice = 'current' | 'original';
export const VERSION_CHOICES: readonly VersionChoice[] = ['current', 'original'];

/**
 * What decides a step's behaviour, as text: everything but its name. A step
 * whose text reads the workflow's config (`$config`, `${config.…}`) includes
 * that config, and every step the workflow-wide retry defaults.
 */
export function stepFingerprint(def: Pick<WorkflowDefinition, 'config' | 'max_retries' | 'retry_delay_seconds'>, step: StepDefinition): string {
  const { name: _name, ...rest } = step;
  const text = stableJson(rest);
  const readsConfig = /config\./.test(text) || /"\$config"/.test(text);
  return stableJson({ step: rest, config: readsConfig ? def.config : null, retry: [def.max_retries ?? null, def.retry_delay_seconds ?? null] });
}

/** Main steps of `next` that are new in it or whose definition differs from `prev`'s step of the same key. */
export function changedSteps(prev: WorkflowDefinition, next: WorkflowDefinition): Set<string> {
  const before = new Map(prev.steps.filter((s) => s.role === 'main').map((s) => [s.key, stepFingerprint(prev, s)]));
  const changed = new Set<string>();
  for (const s of next.steps) if (s.role === 'main' && before.get(s.key) !== stepFingerprint(next, s)) changed.add(s.key);
  // A step whose dependencies changed reads other input: counted changed by its own fingerprint (depends_on_steps, order).
  return changed;
}

/** Main steps in an order where each comes after what it depends on (ties: by order, then key). */
export function topologicalMain(def: WorkflowDefinition): string[] {
  const deps = effectiveDependencies(def);
  const main = def.steps.filter((s) => s.role === 'main').sort((a, b) => a.order - b.order || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const out: string[] = [];
  const done = new Set<string>();
  while (out.length < main.length) {
    const next = main.find((s) => !done.has(s.key) && (deps[s.key] ?? []).every((d) => done.has(d)));
    if (!next) break; // a cycle: validation refuses those
    done.add(next.key);
    out.push(next.key);
  }
  return out;
}

/** The steps and every main step that depends on one of them, transitively. */
export function downstreamOf(def: WorkflowDefinition, keys: Iterable<string>): Set<string> {
  const deps = effectiveDependencies(def);
  const out = new Set(keys);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [k, ds] of Object.entries(deps)) {
      if (!out.has(k) && ds.some((d) => out.has(d))) {
        out.add(k);
        grew = true;
      }
    }
  }
  return out;
}

/**
 * The rule for reusing an earlier run's outputs in a run of `next` (the same
 * version, or a newer one): a step is re-run when it is in `rerun`, when it is
 * new or its definition differs from the earlier version's, or when a step it
 * depends on is re-run; every other step with an output in the earlier run is
 * reused.
 */
export function reusePlan(prev: WorkflowDefinition, next: WorkflowDefinition, rerun: Iterable<string>): { rerun: Set<string>; changed: string[] } {
  const changed = prev.version_id === next.version_id ? new Set<string>() : changedSteps(prev, next);
  const seeds = [...rerun].filter((k) => next.steps.some((s) => s.key === k && s.role === 'main'));
  return { rerun: downstreamOf(next, [...seeds, ...changed]), changed: [...changed] };
}

/** Where a step's value of items lives: the run's input, or a step's output, at `path` (empty: the value itself). */
export type ItemOrigin = { kind: 'input'; path: Path } | { kind: 'step'; step: string; path: Path };

/** Why a step's items cannot be fed back to it. */
export class OriginError extends Error {}

/** The config field naming where an item-wise step's list is in its input. */
function listField(step: StepDefinition): string | undefined {
  const c = step.config;
  const v = step.step_type === 'api_call' || step.step_type === 'database_query' ? c.items_field : (c.source_field ?? c.items_field);
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * Where `stepKey` read its list of items from: its `source_field` /
 * `items_field` inside its input, which is the run's input (a first step),
 * the output of the one step it reads, or (several sources) an object keyed
 * by source step; or inside what `config.input` names (`$steps.<key>…`,
 * `$input…`). Steps passed through as skipped are looked through to the
 * step whose output they passed on.
 *
 * @throws OriginError when the list comes from somewhere a retry cannot put a new list (an expression).
 */
export function itemOrigin(def: WorkflowDefinition, stepKey: string, skipped: ReadonlySet<string>): ItemOrigin {
  const step = def.steps.find((s) => s.key === stepKey);
  if (!step) throw new OriginError(`no step "${stepKey}"`);
  const field = listField(step);
  let path: string[] = [];
  if (field !== undefined) {
    const parsed = parsePath(field);
    if ('error' in parsed) throw new OriginError(`step "${stepKey}": its list field ${field} ${parsed.error}`);
    path = [...parsed.path];
  }
  const sources = inputSources(def);
  let origin: ItemOrigin;
  if (step.config.input !== undefined) {
    const ref = step.config.input;
    const m = typeof ref === 'string' ? /^\$(steps\.([a-z][a-z0-9_]*)|input)((?:\.[A-Za-z0-9_]+)*)$/.exec(ref) : null;
    if (!m) throw new OriginError(`step "${stepKey}" reads its items from config.input ${JSON.stringify(ref)}, which a retry cannot replace (only $steps.<key>… or $input…)`);
    const inner = m[3] ? m[3].slice(1).split('.') : [];
    origin = m[2] ? { kind: 'step', step: m[2], path: [...inner, ...path] } : { kind: 'input', path: [...inner, ...path] };
  } else {
    const src = sources[stepKey] ?? [];
    if (src.length === 0) origin = { kind: 'input', path };
    else if (src.length === 1) origin = { kind: 'step', step: src[0], path };
    else {
      if (path.length === 0 || !src.includes(path[0])) throw new OriginError(`step "${stepKey}" reads several steps (${src.join(', ')}) and its list field does not start with one of them`);
      origin = { kind: 'step', step: path[0], path: path.slice(1) };
    }
  }
  // A skipped step passed its input on: the list is where that input came from.
  for (let guard = 0; origin.kind === 'step' && skipped.has(origin.step) && guard < def.steps.length; guard++) {
    const src = sources[origin.step] ?? [];
    if (src.length === 0) origin = { kind: 'input', path: origin.path };
    else if (src.length === 1) origin = { kind: 'step', step: src[0], path: origin.path };
    else throw new OriginError(`step "${origin.step}" was skipped and reads several steps; a retry cannot tell where its list came from`);
  }
  return origin;
}

/** `value` with `items` at `path` (a copy along the path; the value itself when the path is empty). */
export function withItemsAt(value: unknown, path: Path, items: unknown[]): unknown {
  if (path.length === 0) return items;
  const root = isObject(value) ? structuredClone(value) : {};
  setIn(root, path, items);
  return root;
}

/** The list at `path` of `value`, or undefined. */
export function itemsAt(value: unknown, path: Path): unknown {
  return path.length === 0 ? value : getIn(value, path);
}

/**
 * What an edited output must look like: the same JSON kind as the step's
 * earlier output (object or list); for item-wise steps whose output keeps
 * the list at a path (data_validate / data_transform / ai_process with a
 * `source_field`, api_call per item: `results`), a list of items there.
 * Returns the problems, each naming its path (`output.products`).
 */
export function outputShapeIssues(step: StepDefinition, before: unknown, after: unknown): string[] {
  const issues: string[] = [];
  if (after === null || typeof after !== 'object') return [`output: must be a JSON object or list, not ${after === null ? 'null' : typeof after}`];
  if (before !== undefined && before !== null && typeof before === 'object' && Array.isArray(before) !== Array.isArray(after)) {
    issues.push(`output: must be ${Array.isArray(before) ? 'a list' : 'an object'}, as the step's output was`);
    return issues;
  }
  const listPaths: string[] = [];
  const c = step.config;
  if (['data_validate', 'data_transform', 'ai_process'].includes(step.step_type)) {
    const out = step.step_type === 'data_transform' ? (c.output_field ?? c.source_field ?? c.items_field) : (c.source_field ?? c.items_field);
    if (typeof out === 'string' && out !== '') listPaths.push(out);
    else if (step.step_type === 'data_validate' && !Array.isArray(after)) listPaths.push('valid');
  }
  if (step.step_type === 'api_call' && isObject(before) && Array.isArray(before.results)) listPaths.push('results');
  for (const p of listPaths) {
    const parsed = parsePath(p);
    if ('error' in parsed || Array.isArray(after)) continue;
    const v = getIn(after, parsed.path);
    if (!Array.isArray(v)) issues.push(`output.${p}: must be a list of items (the step keeps its items there)`);
    else if (step.step_type !== 'api_call') {
      const bad = v.findIndex((x) => !isObject(x));
      if (bad >= 0) issues.push(`output.${p}[${bad}]: must be an object (an item)`);
    }
  }
  return issues;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** JSON with object keys sorted: equal values give equal text. */
export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (isObject(v)) {
    return `{${Object.keys(v)
      .filter((k) => v[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson(v[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}
