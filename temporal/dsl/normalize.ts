/**
 * Turns a definition as a user writes it into a complete WorkflowDefinition, and
 * derives each step's retry policy. Pure: safe to import from workflow code.
 */
import type { DefinitionInput, StepDefinition, StepInput, WorkflowDefinition } from './types';
import { inputSources } from './graph';
import { normalizeFanOut } from './fan-out';

/** Step types that work on a list of items; after a `data_fetch` they read its `items` by default. */
const ITEM_WISE_AFTER_FETCH = new Set(['data_transform', 'data_validate']);

/**
 * Values a step takes for fields it leaves out; besides these, `order` defaults
 * to its position + 1, `depends_on_steps` to `[]` and `config` to `{}`.
 */
export const STEP_DEFAULTS = {
  is_optional: false,
  can_run_parallel: false,
  parallel_group: null,
  condition: null,
  timeout_seconds: 300,
  can_retry: true,
  max_retries: null,
  retry_delay_seconds: null,
  retry_backoff: 2,
  max_retry_delay_seconds: 300,
  role: 'main',
  compensates: null,
} as const satisfies Partial<StepDefinition>;

/** Values a workflow takes for fields it leaves out. */
export const WORKFLOW_DEFAULTS = {
  workflow_type: 'custom',
  max_retries: 3,
  retry_delay_seconds: 5,
  max_parallel_steps: 10,
} as const satisfies Partial<WorkflowDefinition>;

/** Database identity of the version a definition was loaded from; all 0 for ad-hoc definitions. */
export interface DefinitionMeta {
  workflow_id?: number;
  version_id?: number;
  version?: number;
}

/**
 * Fills one step's defaults. `index` is its position in the workflow; a missing
 * `order` becomes `index + 1`. Arrays and `config` are copied shallowly, nested
 * values are shared: definitions are treated as immutable.
 */
export function normalizeStep(step: StepInput, index: number): StepDefinition {
  const d = STEP_DEFAULTS;
  return {
    key: step.key,
    name: step.name,
    step_type: step.step_type,
    order: step.order ?? index + 1,
    config: { ...(step.config ?? {}) },
    depends_on_steps: [...(step.depends_on_steps ?? [])],
    is_optional: step.is_optional ?? d.is_optional,
    can_run_parallel: step.can_run_parallel ?? d.can_run_parallel,
    parallel_group: step.parallel_group ?? d.parallel_group,
    condition: step.condition ?? d.condition,
    timeout_seconds: step.timeout_seconds ?? d.timeout_seconds,
    can_retry: step.can_retry ?? d.can_retry,
    max_retries: step.max_retries ?? d.max_retries,
    retry_delay_seconds: step.retry_delay_seconds ?? d.retry_delay_seconds,
    retry_backoff: step.retry_backoff ?? d.retry_backoff,
    max_retry_delay_seconds: step.max_retry_delay_seconds ?? d.max_retry_delay_seconds,
    role: step.role ?? d.role,
    compensates: step.compensates ?? d.compensates,
  };
}

/**
 * Fills every default of a definition. It does not validate: run
 * `validateDefinition` first (or use `parseDefinition`, which does both).
 *
 * @example normalizeDefinition({ code: 'demo', name: 'Demo', steps: [{ key: 'a', name: 'A', step_type: 'data_fetch', config: {} }] })
 */
export function normalizeDefinition(input: DefinitionInput, meta: DefinitionMeta = {}): WorkflowDefinition {
  const w = WORKFLOW_DEFAULTS;
  // Only a definition with a fan-out carries the key: one without is exactly what it was before fan-out existed.
  const fanOut = normalizeFanOut(input.fan_out);
  return {
    workflow_id: meta.workflow_id ?? 0,
    version_id: meta.version_id ?? 0,
    version: meta.version ?? 0,
    code: input.code,
    name: input.name,
    workflow_type: input.workflow_type ?? w.workflow_type,
    config: { ...(input.config ?? {}) },
    max_retries: input.max_retries ?? w.max_retries,
    retry_delay_seconds: input.retry_delay_seconds ?? w.retry_delay_seconds,
    max_parallel_steps: input.max_parallel_steps ?? w.max_parallel_steps,
    input_schema: input.input_schema ?? null,
    ...(fanOut ? { fan_out: fanOut } : {}),
    steps: readFetchItems(input.steps.map(normalizeStep)),
  };
}

/**
 * A `data_transform` or `data_validate` step fed by one step whose output holds
 * its list at `items` — a `data_fetch` (`{items, count, pages}`), or an
 * item-wise step that itself read `items` — and that names no list of its own
 * (`source_field`, `items_field`, `input`) reads `items`: without this it would
 * process the wrapper object as one item and quietly produce nulls. A JSONata
 * transform keeps the whole input (its expression says what it reads).
 */
function readFetchItems(steps: StepDefinition[]): StepDefinition[] {
  // The first step of each key, as the graph reads them (validation reports duplicates).
  const byKey = new Map<string, StepDefinition>();
  for (const s of steps) if (!byKey.has(s.key)) byKey.set(s.key, s);
  const sources = inputSources({ steps });
  const holdsItems = new Map<string, boolean>();
  const out = new Map<string, StepDefinition>();
  const visit = (key: string, seen: Set<string>): boolean => {
    const known = holdsItems.get(key);
    if (known !== undefined) return known;
    const s = byKey.get(key);
    if (!s || seen.has(key)) return false; // unknown keys and cycles: validation reports them
    seen.add(key);
    let step = s;
    if (ITEM_WISE_AFTER_FETCH.has(s.step_type) && s.role === 'main') {
      const c = s.config ?? {};
      const own = c.source_field !== undefined || c.items_field !== undefined || c.input !== undefined || c.transform_type === 'jsonata';
      const from = sources[s.key] ?? [];
      if (!own && from.length === 1 && visit(from[0], seen)) step = { ...s, config: { ...c, source_field: 'items' } };
    }
    out.set(key, step);
    const c = step.config ?? {};
    const result = step.step_type === 'data_fetch' || (ITEM_WISE_AFTER_FETCH.has(step.step_type) && c.source_field === 'items' && c.output_field === undefined);
    holdsItems.set(key, result);
    return result;
  };
  for (const s of steps) visit(s.key, new Set());
  return steps.map((s) => (byKey.get(s.key) === s ? (out.get(s.key) ?? s) : s));
}

/** A step's retry policy, in the terms of a Temporal activity retry policy. */
export interface RetrySettings {
  /** Attempts in all, the first included; 1 means no retry. */
  maxAttempts: number;
  initialIntervalSeconds: number;
  backoff: number;
  maxIntervalSeconds: number;
}

/**
 * The retry policy of a step: its own settings, falling back to the workflow's
 * `max_retries` and `retry_delay_seconds`. The maximum interval is never below
 * the initial one (Temporal rejects that).
 *
 * @example effectiveRetry(step, def) // { maxAttempts: 4, initialIntervalSeconds: 5, backoff: 2, maxIntervalSeconds: 300 }
 */
export function effectiveRetry(
  step: Pick<StepDefinition, 'can_retry' | 'max_retries' | 'retry_delay_seconds' | 'retry_backoff' | 'max_retry_delay_seconds'>,
  def: Pick<WorkflowDefinition, 'max_retries' | 'retry_delay_seconds'>,
): RetrySettings {
  const initialIntervalSeconds = step.retry_delay_seconds ?? def.retry_delay_seconds;
  return {
    maxAttempts: step.can_retry ? (step.max_retries ?? def.max_retries) + 1 : 1,
    initialIntervalSeconds,
    backoff: step.retry_backoff,
    maxIntervalSeconds: Math.max(step.max_retry_delay_seconds, initialIntervalSeconds),
  };
}
