/**
 * Value parsing and conversion for transforms and validation: decimal numbers
 * in local formats, currency amounts, units of weight / length / volume, dates
 * to ISO 8601, booleans, text clean-up and type casts. Pure functions; every
 * parser returns a result instead of throwing, so a batch of 100k items never
 * pays for exceptions.
 */

/** A conversion's outcome: the value, or why it could not be converted. */
export type Converted<T = unknown> = { ok: true; value: T } | { ok: false; message: string };

const ok = <T>(value: T): Converted<T> => ({ ok: true, value });
const fail = (message: string): Converted<never> => ({ ok: false, message });

const show = (v: unknown): string => {
  const s = typeof v === 'string' ? JSON.stringify(v) : String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
};

// ---------------------------------------------------------------- numbers

/** Which character separates decimals; `auto` decides per value (see {@link parseDecimal}). */
export type DecimalSeparator = 'auto' | '.' | ',';

/** Spaces used as digit grouping: space, no-break space, narrow no-break space, thin space; and the Swiss apostrophe. */
const GROUPING_NOISE = /[\s\u00a0\u202f\u2009'\u2019]/g;

/**
 * Parses a number written in a local format: `1234.5`, `1,234.56`,
 * `1.234,56`, `1 234,56`, `1'234.50`, `-12,5`, `1e3`.
 *
 * With `auto`: when both `.` and `,` occur, the last one is the decimal
 * separator; when one of them occurs several times it is grouping
 * (`1,234,567`); when it occurs once and is followed by exactly three digits
 * after a non-zero integer part it is grouping (`1,234` → 1234, `1.234` →
 * 1234), otherwise decimal (`12,5`, `0.125`). Pass the separator explicitly
 * when a source writes three decimals.
 */
export function parseDecimal(value: unknown, separator: DecimalSeparator = 'auto'): Converted<number> {
  if (typeof value === 'number') return Number.isFinite(value) ? ok(value) : fail(`${show(value)} is not a finite number`);
  if (typeof value !== 'string') return fail(`${show(value)} is not a number`);
  if (/^\d{1,15}$/.test(value)) return ok(Number(value));
  let s = value.trim().replace(GROUPING_NOISE, '');
  let sign = '';
  if (s.startsWith('-') || s.startsWith('+') || s.startsWith('\u2212')) {
    sign = s[0] === '+' ? '' : '-';
    s = s.slice(1);
  }
  if (/^\d+(\.\d+)?e[+-]?\d+$/i.test(s)) return finite(Number(sign + s), value);
  if (!/^[\d.,]+$/.test(s) || !/\d/.test(s)) return fail(`${show(value)} is not a number`);
  const dec = separator === 'auto' ? guessDecimal(s) : separator;
  const group = dec === '.' ? ',' : '.';
  const parts = s.split(dec ?? '\u0000');
  if (parts.length > 2) return fail(`${show(value)} has more than one decimal separator`);
  const [intPart, fracPart] = parts;
  const digits = intPart.split(group).join('');
  if (!/^\d*$/.test(digits) || (fracPart !== undefined && !/^\d+$/.test(fracPart)) || (digits === '' && fracPart === undefined)) {
    return fail(`${show(value)} is not a number`);
  }
  return finite(Number(`${sign}${digits || '0'}${fracPart !== undefined ? `.${fracPart}` : ''}`), value);
}

function finite(n: number, original: unknown): Converted<number> {
  return Number.isFinite(n) ? ok(n) : fail(`${show(original)} is not a finite number`);
}

/** The decimal separator of a digits-and-separators string, or null when it has none. */
function guessDecimal(s: string): '.' | ',' | null {
  const lastDot = s.lastIndexOf('.');
  const lastComma = s.lastIndexOf(',');
  if (lastDot >= 0 && lastComma >= 0) return lastDot > lastComma ? '.' : ',';
  const sep = lastDot >= 0 ? '.' : lastComma >= 0 ? ',' : null;
  if (sep === null) return null;
  const first = s.indexOf(sep);
  if (first !== s.lastIndexOf(sep)) return sep === '.' ? ',' : '.'; // repeated: grouping
  const intPart = s.slice(0, first);
  const after = s.slice(first + 1);
  const grouping = after.length === 3 && /^\d+$/.test(after) && intPart !== '' && !/^0+$/.test(intPart);
  return grouping ? (sep === '.' ? ',' : '.') : sep;
}

/** A number, or a string holding one in plain notation (`' 12.5 '`); null otherwise. Same rule as step conditions. */
export function asNumber(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v !== 'string' || v.trim() === '') return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

/** JSONata's truthiness: empty strings, 0, null, false, empty arrays (and arrays of falsy values) are false. */
export function isTruthy(v: unknown): boolean {
  if (Array.isArray(v)) return v.some(isTruthy);
  if (typeof v === 'object' && v !== null) return true;
  return Boolean(v);
}

/** Rounds to `digits` decimals, without the binary noise of `toFixed` round trips (`1.005` → 1.01). */
export function roundTo(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round((n + Number.EPSILON * Math.sign(n)) * f) / f;
}

// ---------------------------------------------------------------- currency

/** A parsed currency amount. `currency` is an ISO 4217 code, or null when neither the value nor the default named one. */
export interface Money {
  amount: number;
  currency: string | null;
}

/** ISO 4217 codes recognised as words around an amount (`EUR 12`, `12.50 usd`). */
const ISO_CODES = new Set(
  (
    'AED ARS AUD BGN BRL CAD CHF CLP CNY COP CZK DKK EGP EUR GBP HKD HUF IDR ILS INR ISK JPY KRW KWD MAD MXN MYR ' +
    'NGN NOK NZD PEN PHP PKR PLN QAR RON RSD RUB SAR SEK SGD THB TRY TWD UAH USD VND ZAR'
  ).split(' '),
);

/** Dollar currencies: a bare `$` means one of these when it is the default currency, else USD. */
const DOLLARS = new Set(['USD', 'CAD', 'AUD', 'NZD', 'HKD', 'SGD', 'MXN', 'TWD']);

/** Symbols, longest first so `US$` wins over `$`. `null` means "the dollar of the default currency". */
const SYMBOLS: Array<[string, string | null]> = [
  ['US$', 'USD'],
  ['CA$', 'CAD'],
  ['AU$', 'AUD'],
  ['NZ$', 'NZD'],
  ['HK$', 'HKD'],
  ['R$', 'BRL'],
  ['S$', 'SGD'],
  ['C$', 'CAD'],
  ['A$', 'AUD'],
  ['Fr.', 'CHF'],
  ['zł', 'PLN'],
  ['Kč', 'CZK'],
  ['€', 'EUR'],
  ['£', 'GBP'],
  ['¥', 'JPY'],
  ['₹', 'INR'],
  ['₩', 'KRW'],
  ['₽', 'RUB'],
  ['₺', 'TRY'],
  ['₪', 'ILS'],
  ['฿', 'THB'],
  ['$', null],
];
const SYMBOLS_LOWER: Array<[string, string | null]> = SYMBOLS.map(([symbol, iso]) => [symbol.toLowerCase(), iso]);

/**
 * Parses a price with its currency: `1.234,56 €`, `$1,234.56`, `EUR 12.50`,
 * `12,50 EUR`, `-€5`, `CHF 1'234.50`, `US$ 10`. A number is an amount in
 * `defaultCurrency`. A bare `$` is `defaultCurrency` when that is a dollar
 * currency (CAD, AUD, ...), else USD; `¥` is CNY when that is the default.
 *
 * @example parseCurrency('1.234,56 €') // { ok: true, value: { amount: 1234.56, currency: 'EUR' } }
 */
export function parseCurrency(value: unknown, defaultCurrency: string | null = null, separator: DecimalSeparator = 'auto'): Converted<Money> {
  if (typeof value === 'number') {
    return Number.isFinite(value) ? ok({ amount: value, currency: defaultCurrency }) : fail(`${show(value)} is not an amount`);
  }
  if (typeof value !== 'string' || value.length > 64) return fail(`${show(value)} is not an amount`);
  let s = value.trim();
  let currency: string | null = null;
  let negative = false;
  const stripSign = () => {
    if (/^[-\u2212]/.test(s)) {
      negative = !negative;
      s = s.slice(1).trim();
    }
  };
  stripSign();
  const code = /[A-Za-z]{3}/.test(s) ? /^([A-Za-z]{3})(?![A-Za-z])\.?\s*|\s*(?<![A-Za-z])([A-Za-z]{3})\.?$/.exec(s) : null;
  if (code && ISO_CODES.has((code[1] ?? code[2]).toUpperCase())) {
    currency = (code[1] ?? code[2]).toUpperCase();
    s = (code.index === 0 ? s.slice(code[0].length) : s.slice(0, code.index)).trim();
    stripSign();
  }
  const lower = currency === null ? s.toLowerCase() : '';
  for (const [symbol, iso] of currency === null ? SYMBOLS_LOWER : []) {
    const at = lower.startsWith(symbol) ? 'start' : lower.endsWith(symbol) ? 'end' : null;
    if (!at) continue;
    s = (at === 'start' ? s.slice(symbol.length) : s.slice(0, s.length - symbol.length)).trim();
    currency = iso ?? (defaultCurrency && DOLLARS.has(defaultCurrency) ? defaultCurrency : 'USD');
    if (symbol === '¥' && defaultCurrency === 'CNY') currency = 'CNY';
    stripSign();
    break;
  }
  const n = parseDecimal(s, separator);
  if (!n.ok) return fail(`${show(value)} is not an amount`);
  return ok({ amount: negative ? -n.value : n.value, currency: currency ?? defaultCurrency });
}

// ---------------------------------------------------------------- units

/** Dimensions with unit conversion. */
export type Dimension = 'weight' | 'length' | 'volume';

/** Each unit's size in the dimension's base unit (g, mm, ml), with its spellings. */
const UNITS: Record<Dimension, Array<[number, string[]]>> = {
  weight: [
    [0.001, ['mg', 'milligram', 'milligrams']],
    [1, ['g', 'gr', 'gram', 'grams', 'gramm']],
    [1000, ['kg', 'kgs', 'kilo', 'kilos', 'kilogram', 'kilograms']],
    [1_000_000, ['t', 'tonne', 'tonnes']],
    [28.349523125, ['oz', 'ounce', 'ounces']],
    [453.59237, ['lb', 'lbs', 'pound', 'pounds']],
  ],
  length: [
    [1, ['mm', 'millimeter', 'millimeters', 'millimetre', 'millimetres']],
    [10, ['cm', 'centimeter', 'centimeters', 'centimetre', 'centimetres']],
    [1000, ['m', 'meter', 'meters', 'metre', 'metres']],
    [1_000_000, ['km', 'kilometer', 'kilometers', 'kilometre', 'kilometres']],
    [25.4, ['in', 'inch', 'inches', '"', '″']],
    [304.8, ['ft', 'foot', 'feet', "'", '′']],
    [914.4, ['yd', 'yard', 'yards']],
  ],
  volume: [
    [1, ['ml', 'milliliter', 'milliliters', 'millilitre', 'millilitres']],
    [10, ['cl', 'centiliter', 'centilitre']],
    [100, ['dl', 'deciliter', 'decilitre']],
    [1000, ['l', 'liter', 'liters', 'litre', 'litres']],
    [29.5735295625, ['fl oz', 'floz', 'fl. oz', 'fl.oz']],
    [3785.411784, ['gal', 'gallon', 'gallons']],
  ],
};

const UNIT_INDEX: Map<string, { dimension: Dimension; factor: number }> = new Map();
for (const [dimension, units] of Object.entries(UNITS) as Array<[Dimension, Array<[number, string[]]>]>) {
  for (const [factor, names] of units) for (const name of names) UNIT_INDEX.set(name, { dimension, factor });
}

/** The canonical units a conversion may target, per dimension. */
export const TARGET_UNITS: Record<Dimension, readonly string[]> = {
  weight: ['mg', 'g', 'kg', 't', 'oz', 'lb'],
  length: ['mm', 'cm', 'm', 'km', 'in', 'ft', 'yd'],
  volume: ['ml', 'cl', 'dl', 'l', 'fl oz', 'gal'],
};

/** The dimension and size of a unit name (case-insensitive), or undefined. */
export function unitInfo(unit: string): { dimension: Dimension; factor: number } | undefined {
  return UNIT_INDEX.get(unit.trim().toLowerCase());
}

/**
 * Converts a measurement to `to`: `"500 g"`, `"1,5kg"`, `"2 lbs"`, `12` (a bare
 * number is in `from`, or already in `to` when no `from` is given). Rounded to
 * `precision` decimals.
 *
 * @example convertUnit('2 lb', 'weight', 'kg') // { ok: true, value: 0.907 }
 */
export function convertUnit(
  value: unknown,
  dimension: Dimension,
  to: string,
  opts: { from?: string; precision?: number; separator?: DecimalSeparator } = {},
): Converted<number> {
  const target = unitInfo(to);
  if (!target || target.dimension !== dimension) return fail(`'${to}' is not a unit of ${dimension}`);
  let amount: number;
  let unitName: string | undefined = opts.from;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return fail(`${show(value)} is not a measurement`);
    amount = value;
  } else if (typeof value === 'string' && value.length <= 64) {
    const m = /^\s*([+-]?[\d.,'\s]*\d[\d.,]*)\s*(.*?)\s*$/.exec(value);
    if (!m) return fail(`${show(value)} is not a measurement`);
    const n = parseDecimal(m[1], opts.separator ?? 'auto');
    if (!n.ok) return fail(`${show(value)} is not a measurement`);
    amount = n.value;
    if (m[2] !== '') unitName = m[2];
  } else {
    return fail(`${show(value)} is not a measurement`);
  }
  const source = unitName === undefined ? target : unitInfo(unitName);
  if (!source) return fail(`${show(value)} has an unknown unit '${unitName}'`);
  if (source.dimension !== dimension) return fail(`${show(value)} is a ${source.dimension}, not a ${dimension}`);
  return ok(roundTo((amount * source.factor) / target.factor, opts.precision ?? 3));
}

// ---------------------------------------------------------------- dates

/** How to read `01/02/2024`: day first, month first, or decide per value (see {@link parseDate}). */
export type DateOrder = 'auto' | 'dmy' | 'mdy' | 'ymd';
/** What to write: `YYYY-MM-DD`, a full UTC timestamp, or whichever the value carries. */
export type DateOutput = 'auto' | 'date' | 'datetime';

const MONTHS: Record<string, number> = {};
[
  ['jan', 'january'],
  ['feb', 'february'],
  ['mar', 'march'],
  ['apr', 'april'],
  ['may'],
  ['jun', 'june'],
  ['jul', 'july'],
  ['aug', 'august'],
  ['sep', 'sept', 'september'],
  ['oct', 'october'],
  ['nov', 'november'],
  ['dec', 'december'],
].forEach((names, i) => names.forEach((n) => (MONTHS[n] = i + 1)));

const TIME = String.raw`(?:[T\s,]+(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*([ap]\.?m\.?)?)?\s*(Z|UTC|GMT|[+-]\d{2}:?\d{2}|[+-]\d{2})?`;
const ISO_RE = new RegExp(String.raw`^(\d{4})-(\d{2})-(\d{2})${TIME}$`, 'i');
const COMPACT_RE = /^(\d{4})(\d{2})(\d{2})$/;
const NUMERIC_RE = new RegExp(String.raw`^(\d{1,4})([./-])(\d{1,2})\2(\d{1,4})${TIME}$`, 'i');
const WEEKDAY = String.raw`(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+)?`;
const DAY_FIRST_RE = new RegExp(String.raw`^${WEEKDAY}(\d{1,2})(?:st|nd|rd|th)?[\s.-]+([a-z]{3,9})\.?[\s.,-]+(\d{4})${TIME}$`, 'i');
const MONTH_FIRST_RE = new RegExp(String.raw`^${WEEKDAY}([a-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})${TIME}$`, 'i');

interface DateParts {
  y: number;
  m: number;
  d: number;
  /** Time parts; `hasTime` false for a date alone. */
  hasTime: boolean;
  h: number;
  min: number;
  s: number;
  ms: number;
  /** Offset east of UTC in minutes (0 for Z, UTC and zone-less times). */
  offset: number;
}

/** Time fields captured by {@link TIME}, starting at `g`. */
function timeParts(m: RegExpExecArray, g: number): Omit<DateParts, 'y' | 'm' | 'd'> | null {
  const [hh, mm, ss, frac, ampm, zone] = [m[g], m[g + 1], m[g + 2], m[g + 3], m[g + 4], m[g + 5]];
  if (hh === undefined) return zone === undefined ? { hasTime: false, h: 0, min: 0, s: 0, ms: 0, offset: 0 } : null;
  let h = Number(hh);
  if (ampm) {
    if (h < 1 || h > 12) return null;
    h = (h % 12) + (/^p/i.test(ampm) ? 12 : 0);
  }
  let offset = 0;
  if (zone && !/^(z|utc|gmt)$/i.test(zone)) {
    const z = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone)!;
    offset = (z[1] === '-' ? -1 : 1) * (Number(z[2]) * 60 + Number(z[3] ?? 0));
  }
  const ms = frac ? Number(frac.slice(0, 3).padEnd(3, '0')) : 0;
  return { hasTime: true, h, min: Number(mm), s: Number(ss ?? 0), ms, offset };
}

const fullYear = (y: string): number => (y.length === 2 ? (Number(y) < 69 ? 2000 + Number(y) : 1900 + Number(y)) : Number(y));

function partsOf(s: string, order: DateOrder): DateParts | null {
  let m = ISO_RE.exec(s);
  if (m) {
    const t = timeParts(m, 4);
    return t && { y: Number(m[1]), m: Number(m[2]), d: Number(m[3]), ...t };
  }
  if ((m = COMPACT_RE.exec(s))) return { y: Number(m[1]), m: Number(m[2]), d: Number(m[3]), hasTime: false, h: 0, min: 0, s: 0, ms: 0, offset: 0 };
  if ((m = NUMERIC_RE.exec(s))) {
    const t = timeParts(m, 5);
    if (!t) return null;
    const [a, sep, b, c] = [m[1], m[2], m[3], m[4]];
    if (a.length === 4 || order === 'ymd') {
      if (c.length > 2) return null;
      return { y: fullYear(a), m: Number(b), d: Number(c), ...t };
    }
    if (c.length !== 4 && c.length !== 2) return null;
    const first = Number(a);
    const second = Number(b);
    let dayFirst: boolean;
    if (order === 'dmy' || order === 'mdy') dayFirst = order === 'dmy';
    else if (first > 12) dayFirst = true;
    else if (second > 12) dayFirst = false;
    else dayFirst = sep !== '/';
    return { y: fullYear(c), m: dayFirst ? second : first, d: dayFirst ? first : second, ...t };
  }
  if ((m = DAY_FIRST_RE.exec(s))) {
    const month = MONTHS[m[2].toLowerCase()];
    const t = timeParts(m, 4);
    return month && t ? { y: Number(m[3]), m: month, d: Number(m[1]), ...t } : null;
  }
  if ((m = MONTH_FIRST_RE.exec(s))) {
    const month = MONTHS[m[1].toLowerCase()];
    const t = timeParts(m, 4);
    return month && t ? { y: Number(m[3]), m: month, d: Number(m[2]), ...t } : null;
  }
  return null;
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** A UTC instant from calendar parts; `setUTCFullYear` keeps years 0-99 literal (Date.UTC maps them to 19xx). */
function utc(y: number, m: number, d: number, h = 0, min = 0, s = 0, ms = 0): Date {
  const date = new Date(0);
  date.setUTCFullYear(y, m - 1, d);
  date.setUTCHours(h, min, s, ms);
  return date;
}

function fromParts(p: DateParts, output: DateOutput, original: unknown): Converted<string> {
  if (p.m < 1 || p.m > 12 || p.d < 1 || p.d > 31 || p.h > 23 || p.min > 59 || p.s > 59) return fail(`${show(original)} is not a valid date`);
  const day = utc(p.y, p.m, p.d);
  if (day.getUTCMonth() !== p.m - 1 || day.getUTCDate() !== p.d) return fail(`${show(original)} is not a valid date`);
  if (output === 'date' || (output === 'auto' && !p.hasTime)) return ok(`${pad(p.y, 4)}-${pad(p.m)}-${pad(p.d)}`);
  const instant = new Date(utc(p.y, p.m, p.d, p.h, p.min, p.s, p.ms).getTime() - p.offset * 60_000);
  return ok(instant.toISOString());
}

/**
 * Reads a date in a common format and writes it as ISO 8601: `2024-03-05`,
 * `2024-03-05T10:00:00+01:00`, `20240305`, `05.03.2024`, `03/05/2024`,
 * `5 March 2024`, `Mar 5, 2024`, `Tue, 05 Mar 2024 10:00:00 GMT`, epoch
 * seconds or milliseconds (numbers; below 1e11 they are seconds).
 *
 * Day or month first (`order: 'auto'`): a first number above 12 is a day, a
 * second above 12 is a day; otherwise `.` and `-` mean day first (European)
 * and `/` month first (US). Two-digit years are 1969-2068. Times without a
 * zone are taken as UTC. Output is `YYYY-MM-DD` for a date alone and a UTC
 * timestamp (`toISOString`) when there is a time, unless `output` says which.
 *
 * @example parseDate('05.03.2024') // { ok: true, value: '2024-03-05' }
 */
export function parseDate(value: unknown, order: DateOrder = 'auto', output: DateOutput = 'auto'): Converted<string> {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return fail(`${show(value)} is not a date`);
    const ms = Math.abs(value) < 1e11 ? value * 1000 : value;
    const d = new Date(ms);
    if (Number.isNaN(d.getTime())) return fail(`${show(value)} is not a date`);
    return ok(output === 'date' ? d.toISOString().slice(0, 10) : d.toISOString());
  }
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) return fail('invalid Date');
    return ok(output === 'date' ? value.toISOString().slice(0, 10) : value.toISOString());
  }
  if (typeof value !== 'string') return fail(`${show(value)} is not a date`);
  const s = value.trim();
  if (s.length > 64) return fail(`${show(value)} is not a date`);
  const parts = partsOf(s, order);
  return parts ? fromParts(parts, output, value) : fail(`${show(value)} is not a date`);
}

const STRICT_ISO_RE = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2}))?)?$/i;

/** True for an ISO 8601 date (`2024-03-05`) or date-time (`2024-03-05T10:00:00Z`) that exists in the calendar. */
export function isIsoDate(value: unknown): boolean {
  if (typeof value !== 'string' || value.length > 40) return false;
  const m = STRICT_ISO_RE.exec(value);
  if (!m) return false;
  const [y, mo, d, h, min, s, zh, zm] = m.slice(1).map((x) => (x === undefined ? 0 : Number(x)));
  if (h > 23 || min > 59 || s > 59 || zh > 23 || zm > 59 || mo < 1 || mo > 12 || d < 1) return false;
  const day = utc(y, mo, d);
  return day.getUTCMonth() === mo - 1 && day.getUTCDate() === d;
}

// ---------------------------------------------------------------- booleans and text

const TRUE_WORDS = new Set(['true', 'yes', 'y', '1', 'on', 't']);
const FALSE_WORDS = new Set(['false', 'no', 'n', '0', 'off', 'f', '']);

/** `true`/`yes`/`y`/`1`/`on` and `false`/`no`/`n`/`0`/`off`/`''` (any case); numbers: non-zero is true. */
export function parseBoolean(value: unknown): Converted<boolean> {
  if (typeof value === 'boolean') return ok(value);
  if (typeof value === 'number') return Number.isNaN(value) ? fail('NaN is not a boolean') : ok(value !== 0);
  if (typeof value === 'string') {
    const w = value.trim().toLowerCase();
    if (TRUE_WORDS.has(w)) return ok(true);
    if (FALSE_WORDS.has(w)) return ok(false);
  }
  return fail(`${show(value)} is not a boolean`);
}

/** Text operations of `normalize`; each leaves non-strings unchanged. */
export const TEXT_OPERATIONS = ['trim', 'lowercase', 'uppercase', 'title_case', 'collapse_whitespace'] as const;
export type TextOperation = (typeof TEXT_OPERATIONS)[number];

/** Capitalises the first letter of every word (after a space, `-`, `/`, `(` or a quote) and lowercases the rest. */
export function titleCase(s: string): string {
  return s.toLowerCase().replace(/(^|[\s\-/(["“‘])(\p{L})/gu, (_m, before: string, letter: string) => before + letter.toUpperCase());
}

export function applyTextOperation(op: TextOperation, value: unknown): unknown {
  if (typeof value !== 'string') return value;
  switch (op) {
    case 'trim':
      return value.trim();
    case 'lowercase':
      return value.toLowerCase();
    case 'uppercase':
      return value.toUpperCase();
    case 'title_case':
      return titleCase(value);
    case 'collapse_whitespace':
      return value.replace(/\s+/g, ' ');
  }
}

// ---------------------------------------------------------------- casts

/** Types a mapped value may be cast to. */
export const CAST_TYPES = ['string', 'number', 'integer', 'boolean', 'date', 'array'] as const;
export type CastType = (typeof CAST_TYPES)[number];

export interface CastOptions {
  decimalSeparator?: DecimalSeparator;
  dateOrder?: DateOrder;
  /** For `array`: what splits a string into elements (default `,`). */
  separator?: string;
}

/**
 * Casts a value (never null or undefined: those are left to the caller).
 * - `string`: numbers and booleans as text, objects and arrays as JSON;
 * - `number`: numbers, numeric strings in local formats ({@link parseDecimal}), booleans as 1/0;
 * - `integer`: as `number`, then truncated toward zero;
 * - `boolean`: see {@link parseBoolean};
 * - `date`: see {@link parseDate};
 * - `array`: arrays as they are, strings split on `separator` (trimmed, empties dropped), anything else wrapped.
 */
export function castValue(type: CastType, value: unknown, opts: CastOptions = {}): Converted {
  switch (type) {
    case 'string':
      if (typeof value === 'string') return ok(value);
      if (typeof value === 'number' || typeof value === 'boolean') return ok(String(value));
      return ok(JSON.stringify(value));
    case 'number':
    case 'integer': {
      const n = typeof value === 'boolean' ? ok(value ? 1 : 0) : parseDecimal(value, opts.decimalSeparator);
      if (!n.ok) return n;
      return ok(type === 'integer' ? Math.trunc(n.value) || 0 : n.value);
    }
    case 'boolean':
      return parseBoolean(value);
    case 'date':
      return parseDate(value, opts.dateOrder);
    case 'array':
      if (Array.isArray(value)) return ok(value);
      if (typeof value === 'string') {
        return ok(
          value
            .split(opts.separator ?? ',')
            .map((p) => p.trim())
            .filter((p) => p !== ''),
        );
      }
      return ok([value]);
  }
}
