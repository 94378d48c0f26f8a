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

/** `['a', 0, 'b']` → `a[0].b` */
export function joinPath(path: ReadonlyArray<string | number>): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${p}` : p;
  return out;
}

/** Turns zod issues into `{field, message}`; each unknown key becomes an issue of its own. */
export function zodIssues(error: z.ZodError, prefix: Array<string | number> = []): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of error.issues) {
    const path = [...prefix, ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ field: joinPath([...path, key]), message: 'is not a known field' });
      continue;
    }
    if (issue.code === 'invalid_key') {
      out.push({ field: joinPath(path), message: 'is not a valid name' });
      continue;
    }
    out.push({ field: joinPath(path) || 'config', message: issue.message });
  }
  return out;
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
