/**
 * The slim definition a run of a stored version carries in its start input
 * (`InterpreterInput.slim_definition`): what the interpreter itself reads, and
 * not what only the worker needs. Step activities of such a run are called by
 * reference (temporal/shared/step-call.ts): the worker loads the version and
 * takes every step's config from it, so the start event no longer holds every
 * step's config (most of a definition's bytes).
 *
 * Kept: the workflow's identity, config, retry defaults, parallelism, fan-out
 * and config overrides; per step, everything the graph, the scheduler, the
 * retry policy, the saga and the progress read, with the fields at their
 * default left out (a step's name too, when it is its key); of a config only
 * the keys the interpreter reads itself: an `approval` step's `timeout_seconds`
 * and `on_timeout`, an `ai_process` step's `review.timeout_seconds` and
 * `review.on_timeout`; and, for the by-reference call, which steps the config
 * references (`reads`) and whether it mentions `input` / `execution` at all
 * (`reads_input`, `reads_execution`).
 * Left out: the rest of every config, the input schema (checked before a run
 * starts).
 *
 * Runs in flight inflate their input with {@link inflateDefinition}: the
 * defaults below must never change (they are not STEP_DEFAULTS, which may), and
 * an interpreter that starts reading another config key must keep it here and
 * read it in old slim runs as absent.
 *
 * Pure: safe to import from workflow code.
 */
import type { Condition, StepDefinition, StepRole, WorkflowDefinition } from '@engine/dsl/types';
import { referencedSteps } from '@engine/dsl/references';
import { INTERPRETER_REVISION } from '@engine/shared/contracts';

/** One step of a slim definition; a field left out has its value in SLIM_STEP_DEFAULTS. */
export interface SlimStep {
  key: string;
  /** Left out when it is the key. */
  name?: string;
  step_type: string;
  /** Left out when it is the step's position + 1. */
  order?: number;
  depends_on_steps?: string[];
  is_optional?: boolean;
  can_run_parallel?: boolean;
  parallel_group?: string | null;
  condition?: Condition | null;
  timeout_seconds?: number;
  can_retry?: boolean;
  max_retries?: number | null;
  retry_delay_seconds?: number | null;
  retry_backoff?: number;
  max_retry_delay_seconds?: number;
  role?: StepRole;
  compensates?: string | null;
  /** The config keys the interpreter reads (see the module's comment); left out when none. */
  config?: Record<string, unknown>;
  /** Keys of the steps the full config references (`$steps.<key>`): their outputs travel with the call. */
  reads?: string[];
  /** The full config mentions `input` (a `$input` reference or expression variable): the run's input travels with the call. */
  reads_input?: true;
  /** The full config mentions `execution`: the run's `$execution` facts travel with the call. */
  reads_execution?: true;
}

/** A definition as a slim run input carries it. */
export type SlimDefinition = Omit<WorkflowDefinition, 'steps' | 'input_schema'> & { steps: SlimStep[] };

/** What a step's (full) config reads of the run, as the by-reference call needs it. */
export interface ConfigReads {
  steps: string[];
  input: boolean;
  execution: boolean;
}

/** Values of the fields a slim step leaves out. Fixed for good: runs in flight inflate with them. */
const SLIM_STEP_DEFAULTS = Object.freeze({
  depends_on_steps: [] as string[],
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
  role: 'main' as StepRole,
  compensates: null,
});
type Defaulted = keyof typeof SLIM_STEP_DEFAULTS;
const DEFAULTED = Object.keys(SLIM_STEP_DEFAULTS) as Defaulted[];

/** The config keys the interpreter reads itself, by step type (nested: `review` keeps only its own two). */
const INTERPRETER_CONFIG: Record<string, (config: Record<string, unknown>) => Record<string, unknown>> = {
  approval: (c) => pick(c, ['timeout_seconds', 'on_timeout']),
  ai_process: (c) => {
    const review = c.review;
    if (review === undefined) return {};
    return { review: typeof review === 'object' && review !== null && !Array.isArray(review) ? pick(review as Record<string, unknown>, ['timeout_seconds', 'on_timeout']) : review };
  },
};

function pick(o: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

function sameValue(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => x === b[i]);
  return a === b;
}

/**
 * What a step's config reads of the run: the steps it references and whether
 * it mentions `input` / `execution` anywhere (the test the by-reference call
 * uses to decide whether the run's input / `$execution` facts travel with it).
 */
export function configReads(config: Record<string, unknown>): ConfigReads {
  const text = JSON.stringify(config);
  return { steps: [...referencedSteps(config)], input: text.includes('input'), execution: text.includes('execution') };
}

/**
 * The slim form of a stored version's definition (`version_id` > 0). An
 * ad-hoc definition (version 0) has no version a worker could load: throws.
 */
export function slimDefinition(def: WorkflowDefinition): SlimDefinition {
  if (!(def.version_id > 0)) throw new Error(`only a stored definition version can be slimmed (version_id ${def.version_id})`);
  const { steps, input_schema: _schema, ...rest } = def;
  return { ...rest, steps: steps.map(slimStep) };
}

function slimStep(step: StepDefinition, index: number): SlimStep {
  const out: SlimStep = { key: step.key, step_type: step.step_type };
  if (step.name !== step.key) out.name = step.name;
  if (step.order !== index + 1) out.order = step.order;
  for (const k of DEFAULTED) {
    if (!sameValue(step[k], SLIM_STEP_DEFAULTS[k])) (out as unknown as Record<string, unknown>)[k] = step[k];
  }
  const kept = INTERPRETER_CONFIG[step.step_type]?.(step.config) ?? {};
  if (Object.keys(kept).length > 0) out.config = kept;
  const reads = configReads(step.config);
  if (reads.steps.length > 0) out.reads = reads.steps;
  if (reads.input) out.reads_input = true;
  if (reads.execution) out.reads_execution = true;
  return out;
}

/**
 * The definition the interpreter runs from a slim one (every field of every
 * step filled in again; configs hold only what the slim form kept) and what
 * each step's full config reads, by step key.
 */
export function inflateDefinition(slim: SlimDefinition): { definition: WorkflowDefinition; reads: Map<string, ConfigReads> } {
  const reads = new Map<string, ConfigReads>();
  const steps = slim.steps.map((s, index): StepDefinition => {
    reads.set(s.key, { steps: [...(s.reads ?? [])], input: s.reads_input === true, execution: s.reads_execution === true });
    const d = SLIM_STEP_DEFAULTS;
    return {
      key: s.key,
      name: s.name ?? s.key,
      step_type: s.step_type,
      order: s.order ?? index + 1,
      config: { ...(s.config ?? {}) },
      depends_on_steps: [...(s.depends_on_steps ?? d.depends_on_steps)],
      is_optional: s.is_optional ?? d.is_optional,
      can_run_parallel: s.can_run_parallel ?? d.can_run_parallel,
      parallel_group: s.parallel_group !== undefined ? s.parallel_group : d.parallel_group,
      condition: s.condition !== undefined ? s.condition : d.condition,
      timeout_seconds: s.timeout_seconds ?? d.timeout_seconds,
      can_retry: s.can_retry ?? d.can_retry,
      max_retries: s.max_retries !== undefined ? s.max_retries : d.max_retries,
      retry_delay_seconds: s.retry_delay_seconds !== undefined ? s.retry_delay_seconds : d.retry_delay_seconds,
      retry_backoff: s.retry_backoff ?? d.retry_backoff,
      max_retry_delay_seconds: s.max_retry_delay_seconds ?? d.max_retry_delay_seconds,
      role: s.role ?? d.role,
      compensates: s.compensates !== undefined ? s.compensates : d.compensates,
    };
  });
  return { definition: { ...slim, input_schema: null, steps }, reads };
}

/**
 * The definition fields of a run's start input: the slim form, marked, for a
 * stored version; an ad-hoc definition (version 0) as it is. Either with the
 * interpreter's current behaviour revision (InterpreterInput.revision).
 */
export function startDefinition(
  def: WorkflowDefinition,
): { definition: WorkflowDefinition; slim_definition?: undefined; revision: number } | { definition: SlimDefinition; slim_definition: true; revision: number } {
  return def.version_id > 0
    ? { definition: slimDefinition(def), slim_definition: true, revision: INTERPRETER_REVISION }
    : { definition: def, revision: INTERPRETER_REVISION };
}
