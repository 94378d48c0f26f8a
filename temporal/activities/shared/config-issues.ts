/**
 * The one config-issue type of the step executors and the one way a bad
 * config fails a step: `STEP_CONFIG_INVALID`, non-retryable, with a message
 * `config.<field>: <what is wrong>` for each issue (at most five, then a count),
 * and the issues themselves in `details`.
 */
import type { z } from 'zod';
import { StepError } from '@engine/activities/shared/errors';
import { ErrorCodes } from '@engine/shared/contracts';

/** One problem with a step config: the field (a dotted path with [i] for indexes) and what is wrong. */
export interface ConfigIssue {
  field: string;
  message: string;
}

/** `['a', 0, 'b', 'x.y']` → `a[0].b["x.y"]` (keys that would read as several segments are quoted). */
export function joinPath(path: ReadonlyArray<string | number>): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else if (p === '' || /[.[\]"'\s]/.test(p)) out += `[${JSON.stringify(p)}]`;
    else out += out ? `.${p}` : p;
  }
  return out;
}

/** The message of an unknown key; a schema may add what it takes (`unknownKeysHint` in shared/zod). */
export const UNKNOWN_FIELD = 'is not a known field';

type Issue = z.core.$ZodIssue;

/**
 * Turns zod issues into `{field, message}`; each unknown key becomes an issue
 * of its own. A value that fits no branch of a union is reported with the
 * issues of the one branch whose type it has (a string rule, an object rule),
 * else with the union's message.
 */
export function zodIssues(error: { issues: readonly Issue[] }, prefix: Array<string | number> = []): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of error.issues) {
    const path = [...prefix, ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))];
    if (issue.code === 'unrecognized_keys') {
      const message = issue.message.startsWith(UNKNOWN_FIELD) ? issue.message : UNKNOWN_FIELD;
      for (const key of issue.keys) out.push({ field: joinPath([...path, key]), message });
      continue;
    }
    if (issue.code === 'invalid_key') {
      out.push({ field: joinPath(path), message: 'is not a valid name' });
      continue;
    }
    if (issue.code === 'invalid_union') {
      const typed = issue.errors.filter(fits);
      if (typed.length === 1) {
        out.push(...zodIssues({ issues: typed[0] }, path));
        continue;
      }
    }
    out.push({ field: joinPath(path) || 'config', message: issue.message });
  }
  return out;
}

/** Whether a union branch had the value's type: no type error at its root (nor a union at its root that no branch fits). */
function fits(branch: readonly Issue[]): boolean {
  return !branch.some((i) => i.path.length === 0 && (i.code === 'invalid_type' || (i.code === 'invalid_union' && i.errors.length > 0 && !i.errors.some(fits))));
}

const SHOWN = 5;

/** `config.<field>: <message>` — how every config issue reads in a step failure. */
export function formatConfigIssue(issue: ConfigIssue): string {
  const field = issue.field === '' || issue.field === 'config' ? '' : issue.field.startsWith('config.') ? issue.field.slice('config.'.length) : issue.field;
  return `config${field === '' ? '' : field.startsWith('[') ? field : `.${field}`}: ${issue.message}`;
}

/** The non-retryable failure for a config with issues, naming every field. */
export function configInvalid(issues: ReadonlyArray<ConfigIssue>): StepError {
  const text = issues.slice(0, SHOWN).map(formatConfigIssue).join('; ');
  const more = issues.length > SHOWN ? ` (and ${issues.length - SHOWN} more)` : '';
  return new StepError(ErrorCodes.STEP_CONFIG_INVALID, `${text}${more}`, {
    retryable: false,
    details: { field: issues[0]?.field ?? '', issues: issues.slice(0, 20) },
  });
}

/** The non-retryable failure for one bad config field. */
export function configError(field: string, message: string): StepError {
  return configInvalid([{ field, message }]);
}

/**
 * Checks a config (the step runner does this once, before `execute`, with the
 * validator used when the definition was saved) and fails the step,
 * non-retryable, naming every bad field.
 */
export function assertValidConfig(validate: (config: Record<string, unknown>) => ConfigIssue[], config: Record<string, unknown>): void {
  const issues = validate(config);
  if (issues.length > 0) throw configInvalid(issues);
}
