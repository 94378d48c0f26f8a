/**
 * Validation of untrusted definitions, run before a definition is stored and
 * again before a run starts. Every problem becomes a ValidationIssue naming the
 * step and the field; nothing here throws on malformed input.
 * Pure: safe to import from workflow code.
 */
import { validateCondition } from './conditions';
import { effectiveDependencies, findCycle, upstreamOf, type Dependencies } from './graph';
import { normalizeDefinition, normalizeStep, type DefinitionMeta } from './normalize';
import { findStepReferences, isPlainObject, MAX_NESTING } from './references';
import type { DefinitionInput, StepDefinition, StepInput, StepRole, StepTypeRegistry, ValidationIssue, WorkflowDefinition } from './types';

/** Issue codes, one per kind of problem. */
export type IssueCode =
  | 'INVALID_FIELD'
  | 'DUPLICATE_KEY'
  | 'UNKNOWN_STEP_TYPE'
  | 'MISSING_DEPENDENCY'
  | 'CYCLE'
  | 'REFERENCE_NOT_UPSTREAM'
  | 'BAD_CONDITION'
  | 'STEP_CONFIG_INVALID';

/** Step keys are slugs: they appear in references (`$steps.<key>`), whose `.name` segments take exactly these. */
export const STEP_KEY_PATTERN = /^[a-z][a-z0-9_]{0,62}$/;

/**
 * Keys a step may not have: every property an object inherits, and the keys
 * reference resolution refuses to follow. A step named `constructor` would be
 * stored, but `$steps.constructor` could never read it.
 */
export const RESERVED_STEP_KEYS: ReadonlySet<string> = new Set([
  '__proto__',
  'constructor',
  'prototype',
  '__definegetter__',
  '__definesetter__',
  '__lookupgetter__',
  '__lookupsetter__',
  'hasownproperty',
  'isprototypeof',
  'propertyisenumerable',
  'tolocalestring',
  'tostring',
  'valueof',
]);

/**
 * Why `key` cannot be a step key, or null when it can.
 *
 * @example stepKeyProblem('constructor') // "key 'constructor' is reserved: ..."
 */
export function stepKeyProblem(key: unknown): string | null {
  if (typeof key !== 'string' || key === '') return 'key is required: a slug of lowercase letters, digits and _ starting with a letter (at most 63 characters)';
  // Compared case-insensitively, so `hasOwnProperty` and `toString` are named as reserved rather than as bad slugs.
  if (RESERVED_STEP_KEYS.has(key.toLowerCase())) return `key '${key.slice(0, 64)}' is reserved (a name every object inherits, which $steps.<key> cannot address); choose another key`;
  if (!STEP_KEY_PATTERN.test(key)) return `key '${key.slice(0, 64)}' is not a slug of lowercase letters, digits and _ starting with a letter (at most 63 characters), so $steps.<key> could not address it`;
  return null;
}

/** Most steps a definition may have; keeps validation and scheduling cheap. */
export const MAX_STEPS = 500;

export interface ValidateOptions {
  /** Skip everything that needs the registry (step types and executor configs). */
  structuralOnly?: boolean;
}

/** Thrown for a definition that failed validation; carries the issues. */
export class DefinitionInvalidError extends Error {
  readonly code = 'DEFINITION_INVALID';

  constructor(readonly issues: ValidationIssue[]) {
    super(`invalid workflow definition: ${formatIssues(issues)}`);
    this.name = 'DefinitionInvalidError';
  }
}

/**
 * One line per problem set, for error messages and the CLI.
 *
 * @example formatIssues(issues) // "step 'fetch' config.url: url is required; max_parallel_steps: must be ..."
 */
export function formatIssues(issues: readonly ValidationIssue[]): string {
  return issues
    .map((i) => [i.step === null ? '' : `step '${i.step}'`, i.field ? `${i.field}:` : ''].filter(Boolean).join(' ') + ` ${i.message}`)
    .map((s) => s.trim())
    .join('; ');
}

interface FieldProblem {
  field: string;
  message: string;
}

interface NumberRule {
  min: number;
  max?: number;
  integer?: boolean;
}

/** Checks one optional field's value; returns what is wrong with it, or null. */
type FieldCheck = (value: unknown) => string | null;

const inRange =
  (rule: NumberRule): FieldCheck =>
  (value) => {
    const ok =
      typeof value === 'number' &&
      (rule.integer ? Number.isSafeInteger(value) : Number.isFinite(value)) &&
      value >= rule.min &&
      (rule.max === undefined || value <= rule.max);
    if (ok) return null;
    const kind = rule.integer ? 'an integer' : 'a number';
    return rule.max === undefined ? `must be ${kind} >= ${rule.min}` : `must be ${kind} between ${rule.min} and ${rule.max}`;
  };
const isBoolean: FieldCheck = (v) => (typeof v === 'boolean' ? null : 'must be true or false');
const isNonEmptyString: FieldCheck = (v) => (typeof v === 'string' && v !== '' ? null : 'must be a non-empty string');

const ROLES: readonly StepRole[] = ['main', 'compensation', 'on_failure'];

/** Optional workflow fields (absent or null takes the default). */
const WORKFLOW_FIELDS: Record<string, FieldCheck> = {
  workflow_type: isNonEmptyString,
  max_retries: inRange({ min: 0, max: 100, integer: true }),
  // Integers like their database columns: 0.5 would pass here and then fail in PostgreSQL naming no field.
  retry_delay_seconds: inRange({ min: 0, max: 86400, integer: true }),
  max_parallel_steps: inRange({ min: 1, max: 100, integer: true }),
  // Structure only here (workflow code imports this module); the API compiles the schema itself.
  input_schema: (v) => (isPlainObject(v) ? null : 'must be a JSON Schema object, like {"type": "object", "properties": {...}}'),
};

/** Optional scalar step fields (absent or null takes the default). */
const STEP_FIELDS: Record<string, FieldCheck> = {
  order: inRange({ min: 0, integer: true }),
  timeout_seconds: inRange({ min: 1, max: 86400, integer: true }),
  max_retries: inRange({ min: 0, max: 100, integer: true }),
  retry_delay_seconds: inRange({ min: 0, max: 86400, integer: true }),
  retry_backoff: inRange({ min: 1, max: 10 }),
  max_retry_delay_seconds: inRange({ min: 1, max: 86400, integer: true }),
  is_optional: isBoolean,
  can_run_parallel: isBoolean,
  can_retry: isBoolean,
  parallel_group: isNonEmptyString,
  role: (v) => (ROLES.includes(v as StepRole) ? null : `must be one of ${ROLES.join(', ')}`),
  compensates: (v) => (typeof v === 'string' ? null : 'must be a step key'),
};

/** Null and undefined both mean "take the default". */
const given = (v: unknown): boolean => v !== undefined && v !== null;

/** First reason `value` is not JSON data (cycle, depth, non-JSON value), with where it is. */
function jsonProblem(value: unknown, field: string, depth = 0, ancestors = new Set<object>()): FieldProblem | null {
  const problem = (message: string): FieldProblem => ({ field, message });
  if (value === null || value === undefined || typeof value === 'string' || typeof value === 'boolean') return null;
  if (typeof value === 'number') return Number.isFinite(value) ? null : problem('numbers must be finite');
  if (!Array.isArray(value) && !isPlainObject(value)) return problem(`must be JSON data, not ${typeof value}`);
  if (ancestors.has(value)) return problem('contains a circular reference');
  if (depth >= MAX_NESTING) return problem(`nests deeper than ${MAX_NESTING} levels`);
  ancestors.add(value);
  const entries: Array<[string, unknown]> = Array.isArray(value)
    ? value.map((v, i) => [`${field}[${i}]`, v])
    : Object.entries(value).map(([k, v]) => [`${field}.${k}`, v]);
  for (const [f, v] of entries) {
    const found = jsonProblem(v, f, depth + 1, ancestors);
    if (found) return found;
  }
  ancestors.delete(value);
  return null;
}

/** A step as far as it could be read: the parts that passed their checks, defaults elsewhere. */
interface ReadStep {
  /** Null for a step without a valid key; such steps stay out of the graph. */
  key: string | null;
  def: StepDefinition;
  configOk: boolean;
  conditionOk: boolean;
}

class Validator {
  readonly issues: ValidationIssue[] = [];

  constructor(
    private readonly registry: StepTypeRegistry,
    private readonly opts: ValidateOptions,
  ) {}

  add(code: IssueCode, step: string | null, field: string, message: string): void {
    this.issues.push({ code, step, field, message });
  }

  run(input: unknown): void {
    if (!isPlainObject(input)) {
      this.add('INVALID_FIELD', null, '', 'definition must be an object');
      return;
    }
    this.checkWorkflow(input);
    const steps = input.steps;
    if (!Array.isArray(steps)) {
      this.add('INVALID_FIELD', null, 'steps', 'steps must be a list');
      return;
    }
    if (steps.length > MAX_STEPS) {
      this.add('INVALID_FIELD', null, 'steps', `a workflow may have at most ${MAX_STEPS} steps`);
      return;
    }
    const read = steps.map((s, i) => this.readStep(s, i)).filter((r): r is ReadStep => r !== null);
    const unique = this.checkKeys(read);
    this.checkRoles(unique);
    this.checkDependencies(unique);
    const deps = effectiveDependencies({ steps: unique.map((r) => r.def) });
    const cycle = findCycle(deps);
    if (cycle) this.add('CYCLE', cycle[0], 'depends_on_steps', `dependency cycle: ${cycle.join(' → ')} (each waits for the next)`);
    this.checkReferences(unique, deps);
  }

  /** Checks the optional fields of `rules` in `obj`, reporting each problem; returns the valid ones. */
  private checkFields(
    obj: Record<string, unknown>,
    rules: Record<string, FieldCheck>,
    report: (field: string, message: string) => void,
  ): Record<string, unknown> {
    const valid: Record<string, unknown> = {};
    for (const [field, check] of Object.entries(rules)) {
      const problem = given(obj[field]) ? check(obj[field]) : null;
      if (problem) report(field, `${field} ${problem}`);
      else valid[field] = obj[field];
    }
    return valid;
  }

  /** Checks a `config` field: absent, or a JSON object. Returns the config to use, or null when invalid. */
  private checkConfig(config: unknown, report: (field: string, message: string) => void): Record<string, unknown> | null {
    if (!given(config)) return {};
    const problem = isPlainObject(config) ? jsonProblem(config, 'config') : { field: 'config', message: 'config must be an object' };
    if (problem) report(problem.field, problem.message);
    return problem === null ? (config as Record<string, unknown>) : null;
  }

  private checkWorkflow(w: Record<string, unknown>): void {
    const report = (field: string, message: string) => this.add('INVALID_FIELD', null, field, message);
    for (const field of ['code', 'name'] as const) {
      const v = w[field];
      if (typeof v !== 'string' || v.trim() === '') report(field, `${field} is required`);
      else if (v.length > 200) report(field, `${field} must be at most 200 characters`);
    }
    this.checkFields(w, WORKFLOW_FIELDS, report);
    this.checkConfig(w.config, report);
  }

  /** Checks one step's own fields and returns what could be read of it (null for a non-object). */
  private readStep(s: unknown, index: number): ReadStep | null {
    if (!isPlainObject(s)) {
      this.add('INVALID_FIELD', null, `steps[${index}]`, 'step must be an object');
      return null;
    }
    const keyProblem = stepKeyProblem(s.key);
    const key = keyProblem === null ? (s.key as string) : null;
    // A step without a usable key is named by its position instead.
    const prefix = key === null ? `steps[${index}].` : '';
    const bad = (code: IssueCode, field: string, message: string) => this.add(code, key, prefix + field, message);
    const invalid = (field: string, message: string) => bad('INVALID_FIELD', field, message);

    if (keyProblem !== null) invalid('key', keyProblem);
    if (typeof s.name !== 'string' || s.name.trim() === '') invalid('name', 'name is required');

    const stepType = typeof s.step_type === 'string' && s.step_type !== '' ? s.step_type : null;
    const known = stepType !== null && Object.prototype.hasOwnProperty.call(this.registry, stepType);
    if (stepType === null) invalid('step_type', 'step_type is required');
    else if (!known && !this.opts.structuralOnly) bad('UNKNOWN_STEP_TYPE', 'step_type', `unknown step type '${stepType}'`);

    const config = this.checkConfig(s.config, invalid);
    if (config && known && !this.opts.structuralOnly) this.checkExecutorConfig(stepType, config, bad);

    const fields: Partial<StepInput> = this.checkFields(s, STEP_FIELDS, invalid);

    let depends: string[] = [];
    if (Array.isArray(s.depends_on_steps)) {
      s.depends_on_steps.forEach((d, i) => typeof d !== 'string' && invalid(`depends_on_steps[${i}]`, 'must be a step key'));
      depends = s.depends_on_steps.filter((d): d is string => typeof d === 'string');
    } else if (given(s.depends_on_steps)) {
      invalid('depends_on_steps', 'depends_on_steps must be a list of step keys');
    }

    const conditionIssues = given(s.condition) ? validateCondition(s.condition, 'condition') : [];
    for (const issue of conditionIssues) bad('BAD_CONDITION', issue.field, issue.message);
    const conditionOk = conditionIssues.length === 0;

    const def = normalizeStep(
      {
        ...fields,
        key: key ?? '',
        name: '',
        step_type: stepType ?? '',
        config: config ?? {},
        depends_on_steps: depends,
        condition: conditionOk ? (s.condition as StepDefinition['condition']) : null,
      },
      index,
    );
    return { key, def, configOk: config !== null, conditionOk };
  }

  private checkExecutorConfig(
    stepType: string,
    config: Record<string, unknown>,
    bad: (code: IssueCode, field: string, message: string) => void,
  ): void {
    try {
      const found: unknown = this.registry[stepType](config);
      for (const issue of Array.isArray(found) ? found : []) {
        const field = isPlainObject(issue) && typeof issue.field === 'string' && issue.field ? `config.${issue.field}` : 'config';
        const message = isPlainObject(issue) && typeof issue.message === 'string' ? issue.message : 'invalid';
        bad('STEP_CONFIG_INVALID', field, message);
      }
    } catch (err) {
      bad('STEP_CONFIG_INVALID', 'config', `config could not be checked: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** Reports duplicate keys and returns the steps the graph is built from (the first of each valid key). */
  private checkKeys(read: ReadStep[]): ReadStep[] {
    const seen = new Set<string>();
    return read.filter((r) => {
      if (r.key === null) return false;
      if (seen.has(r.key)) {
        this.add('DUPLICATE_KEY', r.key, 'key', `another step already has the key '${r.key}'`);
        return false;
      }
      seen.add(r.key);
      return true;
    });
  }

  private checkRoles(steps: ReadStep[]): void {
    const main = new Set(steps.filter((r) => r.def.role === 'main').map((r) => r.def.key));
    const compensatedBy = new Map<string, string>();
    for (const { def } of steps) {
      const step = def.key;
      if (def.role !== 'compensation') {
        if (def.compensates !== null) this.add('INVALID_FIELD', step, 'compensates', "only steps with role 'compensation' may set compensates");
      } else if (def.compensates === null || !main.has(def.compensates)) {
        this.add('INVALID_FIELD', step, 'compensates', 'a compensation step must name the main step it compensates');
      } else if (compensatedBy.has(def.compensates)) {
        const other = compensatedBy.get(def.compensates);
        this.add('INVALID_FIELD', step, 'compensates', `step '${def.compensates}' is already compensated by '${other}'`);
      } else {
        compensatedBy.set(def.compensates, def.key);
      }
      if (def.role !== 'main' && def.depends_on_steps.length > 0) {
        this.add('INVALID_FIELD', step, 'depends_on_steps', `${def.role} steps run after the run fails and cannot have depends_on_steps`);
      }
    }
  }

  private checkDependencies(steps: ReadStep[]): void {
    const roles = new Map(steps.map((r) => [r.def.key, r.def.role]));
    for (const { def } of steps) {
      if (def.role !== 'main') continue;
      def.depends_on_steps.forEach((dep, i) => {
        const role = roles.get(dep);
        const problem =
          dep === def.key
            ? 'a step cannot depend on itself'
            : role === undefined
              ? `depends on '${dep}', which is not a step of this workflow`
              : role !== 'main'
                ? `depends on '${dep}', a ${role} step; only main steps can be depended on`
                : null;
        if (problem) this.add('MISSING_DEPENDENCY', def.key, `depends_on_steps[${i}]`, problem);
      });
    }
  }

  private checkReferences(steps: ReadStep[], deps: Dependencies): void {
    const graph = { steps: steps.map((r) => r.def) };
    const exists = new Set(graph.steps.map((s) => s.key));
    for (const r of steps) {
      const refs = [
        ...(r.configOk ? findStepReferences(r.def.config, 'config') : []),
        ...(r.conditionOk ? findStepReferences(r.def.condition, 'condition', 'condition') : []),
      ];
      if (refs.length === 0) continue;
      const upstream = upstreamOf(graph, r.def.key, deps);
      const reported = new Set<string>();
      for (const ref of refs) {
        const id = `${ref.field}\u0000${ref.step}`;
        if (upstream.has(ref.step) || reported.has(id)) continue;
        reported.add(id);
        const why =
          ref.step === r.def.key
            ? 'a step cannot read its own output'
            : !exists.has(ref.step)
              ? `there is no step '${ref.step}'`
              : `'${ref.step}' does not run before '${r.def.key}'; add it to depends_on_steps`;
        this.add('REFERENCE_NOT_UPSTREAM', r.def.key, ref.field, `references $steps.${ref.step}, but ${why}`);
      }
    }
  }
}

/**
 * Validates an untrusted definition (a DefinitionInput or a WorkflowDefinition)
 * against the step types of `registry`. Returns every problem found; an empty
 * list means valid. Never throws, whatever `def` is.
 *
 * @example
 * const issues = validateDefinition(body, registry);
 * if (issues.length) throw new DefinitionInvalidError(issues);
 */
export function validateDefinition(def: unknown, registry: StepTypeRegistry, opts: ValidateOptions = {}): ValidationIssue[] {
  const v = new Validator(registry, opts);
  try {
    v.run(def);
  } catch (err) {
    // Getters or proxies in the input can throw; that is a malformed definition, not a crash.
    v.add('INVALID_FIELD', null, '', `definition could not be read: ${err instanceof Error ? err.message : String(err)}`);
  }
  return v.issues;
}

/**
 * Validates and normalises in one go.
 *
 * @throws DefinitionInvalidError listing every issue.
 */
export function parseDefinition(
  input: unknown,
  registry: StepTypeRegistry,
  meta?: DefinitionMeta,
  opts?: ValidateOptions,
): WorkflowDefinition {
  const issues = validateDefinition(input, registry, opts);
  if (issues.length > 0) throw new DefinitionInvalidError(issues);
  return normalizeDefinition(input as DefinitionInput, meta);
}
