/**
 * Validation of untrusted definitions, run before a definition is stored and
 * again before a run starts. Every problem becomes a ValidationIssue naming the
 * step and the field; nothing here throws on malformed input. Rules about one
 * field come from the zod schema (./schema); the rules here span fields.
 * Pure, but not for workflow code: definitions are validated before a run
 * starts, never inside the interpreter (eslint guard).
 */
import { effectiveDependencies, findCycle, upstreamOf, type Dependencies } from './graph';
import { normalizeDefinition, normalizeStep, type DefinitionMeta } from './normalize';
import { findStepReferences, isPlainObject } from './references';
import { DefinitionHeadSchema, stepKeyProblem, StepSchema, zodFieldProblems } from './schema';
import type { DefinitionInput, StepDefinition, StepInput, StepTypeRegistry, ValidationIssue, WorkflowDefinition } from './types';

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

export { MAX_STEPS, RESERVED_STEP_KEYS, STEP_KEY_PATTERN, stepKeyProblem } from './schema';

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

/** A step as far as it could be read: the parts that passed their checks, defaults elsewhere. */
type StepFields = Partial<ReturnType<typeof StepSchema.parse>>;

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
    const head = DefinitionHeadSchema.safeParse(input);
    if (!head.success) {
      for (const p of zodFieldProblems(head.error)) this.add('INVALID_FIELD', null, p.field, p.message);
      if (head.error.issues.some((i) => i.path[0] === 'steps')) return;
    }
    const steps = input.steps as unknown[];
    const read = steps.map((s, i) => this.readStep(s, i)).filter((r): r is ReadStep => r !== null);
    const unique = this.checkKeys(read);
    this.checkRoles(unique);
    this.checkDependencies(unique);
    const deps = effectiveDependencies({ steps: unique.map((r) => r.def) });
    const cycle = findCycle(deps);
    if (cycle) this.add('CYCLE', cycle[0], 'depends_on_steps', `dependency cycle: ${cycle.join(' → ')} (each waits for the next)`);
    this.checkReferences(unique, deps);
  }

  /** Checks one step's own fields and returns what could be read of it (null for a non-object). */
  private readStep(s: unknown, index: number): ReadStep | null {
    if (!isPlainObject(s)) {
      this.add('INVALID_FIELD', null, `steps[${index}]`, 'step must be an object');
      return null;
    }
    const parsed = StepSchema.safeParse(s);
    const key = stepKeyProblem(s.key) === null ? (s.key as string) : null;
    // A step without a usable key is named by its position instead.
    const prefix = key === null ? `steps[${index}].` : '';
    const bad = (code: IssueCode, field: string, message: string) => this.add(code, key, prefix + field, message);

    // Fields that fail their rule are reported and left out; the rest still take part in the graph checks.
    let fields: StepFields = {};
    const failed = new Set<PropertyKey>();
    if (parsed.success) {
      fields = parsed.data;
    } else {
      for (const p of zodFieldProblems(parsed.error)) bad((p.issueCode as IssueCode | undefined) ?? 'INVALID_FIELD', p.field, p.message);
      parsed.error.issues.forEach((i) => failed.add(i.path[0]));
      const rest = StepSchema.partial().safeParse(Object.fromEntries(Object.entries(s).filter(([k]) => !failed.has(k))));
      if (rest.success) fields = rest.data;
    }
    // The step keys of a list with a bad entry still count as dependencies.
    const depends = Array.isArray(s.depends_on_steps) ? s.depends_on_steps.filter((d): d is string => typeof d === 'string') : [];

    const stepType = failed.has('step_type') ? null : (fields.step_type ?? null);
    const known = stepType !== null && Object.prototype.hasOwnProperty.call(this.registry, stepType);
    if (stepType !== null && !known && !this.opts.structuralOnly) bad('UNKNOWN_STEP_TYPE', 'step_type', `unknown step type '${stepType}'`);
    const configOk = !failed.has('config');
    const config = fields.config ?? {};
    if (configOk && known && !this.opts.structuralOnly) this.checkExecutorConfig(stepType, config, bad);
    const conditionOk = !failed.has('condition');

    const def = normalizeStep(
      {
        ...(fields as Partial<StepInput>),
        key: key ?? '',
        name: '',
        step_type: stepType ?? '',
        config: configOk ? config : {},
        depends_on_steps: depends,
        condition: conditionOk ? ((fields.condition ?? null) as StepDefinition['condition']) : null,
      },
      index,
    );
    return { key, def, configOk, conditionOk };
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
