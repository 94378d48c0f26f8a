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

// ---- when an expression fires ----------------------------------------------

const SHORTHAND_CRON: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };
const DAY_SECONDS = 86_400;
/** The Gregorian calendar repeats every 400 years (146 097 days, a whole number of weeks). */
const CYCLE_YEARS = 400;

/** What a valid expression means in time: how often it may fire, and whether it ever fires again. */
export interface CronTiming {
  /** Shortest time between two consecutive firings, in seconds (null when it fires at most once more). */
  minGapSeconds: number | null;
  /** Whether any firing is still to come after `now`. */
  firesAgain: boolean;
}

/** The values a field matches, as Temporal reads it: `x/n` runs from x to the field's maximum. */
function expand(field: string, spec: FieldSpec): boolean[] {
  const out = new Array<boolean>(spec.max + 1).fill(false);
  for (const part of field.split(',')) {
    const [range, stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    let start = spec.min;
    let end = spec.max;
    if (range !== '*') {
      const bounds = range.split('-').map((b) => valueOf(b, spec)!);
      start = bounds[0];
      end = bounds.length === 2 ? bounds[1] : stepText === undefined ? bounds[0] : spec.max;
    }
    for (let v = start; v <= end; v += step) out[v] = true;
  }
  if (spec === DOW && out[7]) out[0] = true;
  return out;
}

/** The wall-clock date and time in `tz` at `now`. */
function wallClock(now: Date, tz: string): { y: number; m: number; d: number; secondOfDay: number } {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' })
      .formatToParts(now)
      .map((p) => [p.type, Number(p.value)]),
  ) as Record<string, number>;
  return { y: parts.year, m: parts.month, d: parts.day, secondOfDay: (parts.hour % 24) * 3600 + parts.minute * 60 + parts.second };
}

const daysIn = (y: number, m: number): number => new Date(Date.UTC(y, m, 0)).getUTCDate();

/**
 * When a cron expression (already accepted by {@link cronProblem}) fires, read
 * the way Temporal reads it: every field must match (day-of-month and
 * day-of-week both, unlike classic cron), seconds default to 0, years to any.
 * Computed on the wall clock of `timezone` (daylight-saving shifts ignored).
 *
 * @example cronTiming('* * * * * * *', 'UTC').minGapSeconds // 1
 * @example cronTiming('0 0 31 2 *', 'UTC').firesAgain       // false
 */
export function cronTiming(expr: string, timezone: string, now: Date = new Date()): CronTiming {
  let text = expr.trim();
  const lower = text.toLowerCase();
  const every = /^@every\s+(\d+)([smhd])/.exec(lower);
  if (every) return { minGapSeconds: Number(every[1]) * UNIT_SECONDS[every[2]], firesAgain: true };
  if (SHORTHAND_CRON[lower]) text = SHORTHAND_CRON[lower];
  const fields = text.split(/\s+/);
  const layout = LAYOUTS[fields.length];
  const at = (spec: FieldSpec): string | undefined => {
    const i = layout.indexOf(spec);
    return i < 0 ? undefined : fields[i];
  };
  const second = expand(at(SECOND) ?? '0', SECOND);
  const minute = expand(at(MINUTE)!, MINUTE);
  const hour = expand(at(HOUR)!, HOUR);
  const dom = expand(at(DOM)!, DOM);
  const month = expand(at(MONTH)!, MONTH);
  const dow = expand(at(DOW)!, DOW);
  const yearField = at(YEAR) ?? '*';
  const years = expand(yearField, YEAR);

  // Seconds of the day it fires at, ascending.
  const times: number[] = [];
  for (let h = 0; h < 24; h++) {
    if (!hour[h]) continue;
    for (let mi = 0; mi < 60; mi++) {
      if (!minute[mi]) continue;
      for (let s = 0; s < 60; s++) if (second[s]) times.push(h * 3600 + mi * 60 + s);
    }
  }
  let minGap: number | null = null;
  for (let i = 1; i < times.length; i++) minGap = Math.min(minGap ?? Infinity, times[i] - times[i - 1]);
  const first = times[0];
  const last = times[times.length - 1];

  // Walk the days from today: every day of a 400-year cycle when any year matches, else up to the last year.
  const today = wallClock(now, timezone);
  let lastYear = YEAR.max;
  while (lastYear >= YEAR.min && !years[lastYear]) lastYear--;
  const endYear = yearField === '*' ? today.y + CYCLE_YEARS + 1 : lastYear;
  let firesAgain = false;
  let previousDay: number | null = null;
  let dayNumber = 0;
  let weekday = new Date(Date.UTC(today.y, today.m - 1, today.d)).getUTCDay();
  outer: for (let y = today.y; y <= endYear; y++) {
    if (!years[y]) {
      // Skip the year whole, keeping the day count and weekday right.
      const skipped = (Date.UTC(y + 1, 0, 1) - Date.UTC(y, y === today.y ? today.m - 1 : 0, y === today.y ? today.d : 1)) / 86_400_000;
      dayNumber += skipped;
      weekday = (weekday + skipped) % 7;
      continue;
    }
    for (let m = y === today.y ? today.m : 1; m <= 12; m++) {
      const dim = daysIn(y, m);
      for (let d = y === today.y && m === today.m ? today.d : 1; d <= dim; d++, dayNumber++, weekday = (weekday + 1) % 7) {
        if (!month[m] || !dom[d] || !dow[weekday]) continue;
        if (!firesAgain) firesAgain = dayNumber > 0 || last > today.secondOfDay;
        if (previousDay !== null) {
          minGap = Math.min(minGap ?? Infinity, (dayNumber - previousDay) * DAY_SECONDS - last + first);
          if (minGap <= 1) break outer;
        }
        previousDay = dayNumber;
      }
    }
  }
  return { minGapSeconds: minGap, firesAgain };
}

/**
 * Why a valid expression may not be scheduled: it fires more often than
 * `minIntervalSeconds` allows, or never again. Null when it is fine.
 */
export function cronTimingProblem(expr: string, timezone: string, minIntervalSeconds: number, now: Date = new Date()): string | null {
  const timing = cronTiming(expr, timezone, now);
  if (!timing.firesAgain) return 'never fires: no date from now on matches every field (check day-of-month against month, day-of-week and year)';
  if (timing.minGapSeconds !== null && timing.minGapSeconds < minIntervalSeconds) {
    return `fires every ${formatSeconds(timing.minGapSeconds)} at times; schedules may fire at most once every ${formatSeconds(minIntervalSeconds)}`;
  }
  return null;
}

function formatSeconds(s: number): string {
  if (s % 86400 === 0) return `${s / 86400} day${s === 86400 ? '' : 's'}`;
  if (s % 3600 === 0) return `${s / 3600} hour${s === 3600 ? '' : 's'}`;
  if (s % 60 === 0) return `${s / 60} minute${s === 60 ? '' : 's'}`;
  return `${s} second${s === 1 ? '' : 's'}`;
}
