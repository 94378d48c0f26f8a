import type { z } from 'zod';
import { StepError } from '@engine/activities/shared/errors';

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

/**
 * Checks a config again at run time (references resolved, or a definition
 * stored before a validator changed) and fails the step, non-retryable,
 * naming every bad field.
 */
export function assertValidConfig(validate: (config: Record<string, unknown>) => ConfigIssue[], config: Record<string, unknown>, prefix = ''): void {
  const issues = validate(config);
  if (issues.length > 0) {
    throw new StepError('STEP_CONFIG_INVALID', `${prefix}${issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`, { details: { issues } });
  }
}
