/**
 * The building blocks of the data_transform and data_validate config checks:
 * an issue collector that knows when a run reference may stand in for a value,
 * field-path checks, and the non-retryable failure for a config found invalid
 * when the step runs.
 */
import { parseReference } from '@engine/dsl/references';
import { configInvalid, type ConfigIssue } from '@engine/activities/shared/config-issues';
import { parsePath, type Path } from '@engine/activities/shared/paths';

export { configInvalid, type ConfigIssue };

/**
 * When a config is checked: `definition` when a workflow is saved (a run
 * reference such as `"$input.min_price"` stands in for any value), `run` once
 * references are resolved (every value must have its real type).
 */
export type CheckMode = 'definition' | 'run';

/** A whole-string reference to the run (`$input.x`, `$config.x`, `$steps.k.x`, `$execution.x`). */
export function isRunReference(v: unknown): v is string {
  return typeof v === 'string' && parseReference(v)?.scope === 'run';
}

const REF_HINT = 'or a reference such as "$input.x" or "$config.x"';

/** Collects problems with the field paths they sit at. */
export class Issues {
  readonly list: ConfigIssue[] = [];

  constructor(readonly mode: CheckMode) {}

  add(field: string, message: string): void {
    this.list.push({ field, message });
  }

  /** True when `v` is a run reference that may stand for the value (definition mode only). */
  deferred(v: unknown): boolean {
    return this.mode === 'definition' && isRunReference(v);
  }

  /** An optional value of one kind; returns whether it was fine. */
  check(field: string, v: unknown, okay: (v: unknown) => boolean, what: string): boolean {
    if (v === undefined || this.deferred(v) || okay(v)) return true;
    this.add(field, `must be ${what}${this.mode === 'definition' ? ` ${REF_HINT}` : ''}`);
    return false;
  }

  number(field: string, v: unknown, opts: { min?: number; max?: number; integer?: boolean } = {}): boolean {
    const what = `${opts.integer ? 'an integer' : 'a number'}${range(opts)}`;
    return this.check(
      field,
      v,
      (x) =>
        typeof x === 'number' &&
        (opts.integer ? Number.isSafeInteger(x) : Number.isFinite(x)) &&
        (opts.min === undefined || x >= opts.min) &&
        (opts.max === undefined || x <= opts.max),
      what,
    );
  }

  boolean(field: string, v: unknown): boolean {
    return this.check(field, v, (x) => typeof x === 'boolean', 'true or false');
  }

  oneOf(field: string, v: unknown, values: readonly string[]): boolean {
    return this.check(field, v, (x) => typeof x === 'string' && values.includes(x), `one of ${values.join(', ')}`);
  }

  /** An item path: literal text (never a reference); returns the parsed path or null. */
  path(field: string, v: unknown, required = true): Path | null {
    if (v === undefined && !required) return null;
    if (typeof v !== 'string' || v === '') {
      this.add(field, 'must be a field path such as "price" or "dimensions.weight"');
      return null;
    }
    if (isRunReference(v)) {
      this.add(field, `names an item field; '${v}' is a run reference, not a field path`);
      return null;
    }
    const parsed = parsePath(v);
    if ('error' in parsed) {
      this.add(field, `'${v}' ${parsed.error}`);
      return null;
    }
    return parsed.path;
  }

  /** Reports keys of `obj` that are not in `known`. */
  unknownKeys(prefix: string, obj: Record<string, unknown>, known: readonly string[], hint = ''): void {
    for (const key of Object.keys(obj)) {
      if (!known.includes(key)) this.add(join(prefix, key), `unknown option '${key}'${hint ? `; ${hint}` : `; expected one of ${known.join(', ')}`}`);
    }
  }
}

function range(o: { min?: number; max?: number }): string {
  if (o.min !== undefined && o.max !== undefined) return ` from ${o.min} to ${o.max}`;
  if (o.min !== undefined) return ` >= ${o.min}`;
  if (o.max !== undefined) return ` <= ${o.max}`;
  return '';
}

/** `a` + `b` as a field path (`rules[0].field`, `mapping_rules.title`). */
export function join(prefix: string, key: string | number): string {
  if (typeof key === 'number') return `${prefix}[${key}]`;
  const k = /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? key : JSON.stringify(key);
  if (prefix === '') return k;
  return k.startsWith('"') ? `${prefix}[${k}]` : `${prefix}.${k}`;
}
