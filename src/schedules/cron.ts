/**
 * Up-front checks of what a Temporal Schedule accepts as a cron expression,
 * so a bad one is a 400 naming `cron_expression` instead of a Temporal error.
 *
 * Accepted, as Temporal reads them:
 * - 5 fields: minute hour day-of-month month day-of-week
 * - 6 fields: the same plus year
 * - 7 fields: second minute hour day-of-month month day-of-week year
 * - `@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`, `@midnight`, `@hourly`
 * - `@every <n><s|m|h|d>[/<n><s|m|h|d>]`
 * Each field: `*`, a value, a range `a-b`, a step `x/n`, or a comma list of those;
 * months and days of the week also by name (JAN-DEC, SUN-SAT).
 *
 * @example cronProblem('0 3 * * MON-FRI') // null
 * @example cronProblem('61 * * * *')      // "minute: 61 is out of range 0-59"
 */

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: Record<string, number>;
}

const MONTHS: Record<string, number> = { JAN: 1, FEB: 2, MAR: 3, APR: 4, MAY: 5, JUN: 6, JUL: 7, AUG: 8, SEP: 9, OCT: 10, NOV: 11, DEC: 12 };
const DAYS: Record<string, number> = { SUN: 0, MON: 1, TUE: 2, WED: 3, THU: 4, FRI: 5, SAT: 6 };

const SECOND: FieldSpec = { name: 'second', min: 0, max: 59 };
const MINUTE: FieldSpec = { name: 'minute', min: 0, max: 59 };
const HOUR: FieldSpec = { name: 'hour', min: 0, max: 23 };
const DOM: FieldSpec = { name: 'day-of-month', min: 1, max: 31 };
const MONTH: FieldSpec = { name: 'month', min: 1, max: 12, names: MONTHS };
const DOW: FieldSpec = { name: 'day-of-week', min: 0, max: 7, names: DAYS };
const YEAR: FieldSpec = { name: 'year', min: 1970, max: 2999 };

const LAYOUTS: Record<number, FieldSpec[]> = {
  5: [MINUTE, HOUR, DOM, MONTH, DOW],
  6: [MINUTE, HOUR, DOM, MONTH, DOW, YEAR],
  7: [SECOND, MINUTE, HOUR, DOM, MONTH, DOW, YEAR],
};

const SHORTHANDS = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']);
const DURATION = /^[1-9]\d{0,8}[smhd]$/;

/** Why `expr` is not a cron expression Temporal would take, or null when it is fine. */
export function cronProblem(expr: unknown): string | null {
  if (typeof expr !== 'string') return 'must be a string';
  const text = expr.trim();
  if (text === '') return 'must not be empty';
  if (text.length > 120) return 'must be at most 120 characters';
  if (/^(CRON_)?TZ=/i.test(text)) return 'set the time zone in the timezone field, not in the expression';
  if (text.includes('#')) return 'comments (#) are not supported';
  if (text.startsWith('@')) {
    const lower = text.toLowerCase();
    if (SHORTHANDS.has(lower)) return null;
    const m = /^@every\s+(\S+)$/.exec(lower);
    if (m) {
      const [interval, phase, extra] = m[1].split('/');
      if (extra !== undefined || !DURATION.test(interval) || (phase !== undefined && !/^\d{1,9}[smhd]$/.test(phase))) {
        return '@every needs an interval like 15m, 2h or 1d (optionally /<phase>)';
      }
      return null;
    }
    return `unknown shorthand ${text.split(/\s/)[0]} (use @yearly, @monthly, @weekly, @daily, @hourly or @every <interval>)`;
  }
  const fields = text.split(/\s+/);
  const layout = LAYOUTS[fields.length];
  if (!layout) return `has ${fields.length} fields; expected 5 (minute hour day-of-month month day-of-week), 6 (+ year) or 7 (second first, + year)`;
  for (let i = 0; i < fields.length; i++) {
    const problem = fieldProblem(fields[i], layout[i]);
    if (problem) return `${layout[i].name}: ${problem}`;
  }
  return null;
}

function fieldProblem(field: string, spec: FieldSpec): string | null {
  for (const part of field.split(',')) {
    if (part === '') return 'has an empty list item';
    const [range, step, extra] = part.split('/');
    if (extra !== undefined) return `"${part}" has more than one /`;
    if (step !== undefined && !/^[1-9]\d{0,3}$/.test(step)) return `step "${step}" must be a positive integer`;
    if (range === '?') return '"?" is not supported; use *';
    if (range === '*') continue;
    const bounds = range.split('-');
    if (bounds.length > 2) return `"${range}" is not a value or a range`;
    const values: number[] = [];
    for (const b of bounds) {
      const v = valueOf(b, spec);
      if (v === null) return `"${b}" is not a valid ${spec.name}`;
      if (v < spec.min || v > spec.max) return `${b} is out of range ${spec.min}-${spec.max}`;
      values.push(v);
    }
    if (values.length === 2 && values[0] > values[1]) return `range ${range} goes backwards`;
  }
  return null;
}

function valueOf(text: string, spec: FieldSpec): number | null {
  if (/^\d{1,4}$/.test(text)) return Number(text);
  const named = spec.names?.[text.toUpperCase()];
  return named ?? null;
}

/** Why `tz` is not an IANA time zone name, or null. */
export function timezoneProblem(tz: unknown): string | null {
  if (typeof tz !== 'string' || tz.trim() === '') return 'must be an IANA time zone name such as UTC or Europe/Paris';
  if (tz.length > 64) return 'must be at most 64 characters';
  try {
    const resolved = new Intl.DateTimeFormat('en-US', { timeZone: tz }).resolvedOptions().timeZone;
    // Temporal reads zone names case-sensitively.
    if (resolved !== tz && resolved.toLowerCase() === tz.toLowerCase()) return `"${tz}" is not spelled as the time zone database spells it; use "${resolved}"`;
    return null;
  } catch {
    return `"${tz}" is not a known time zone (use an IANA name such as UTC or Europe/Paris)`;
  }
}
