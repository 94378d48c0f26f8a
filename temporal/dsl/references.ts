/**
 * References: how step configs and condition paths point into the run.
 *
 * Grammar (after the leading `$`): an optional root word followed by path
 * segments `.name`, `.0`, `[0]`, `[name]`, `['any key']` or `["any key"]`.
 *
 * | written                          | reads                                   |
 * |----------------------------------|-----------------------------------------|
 * | `$input`, `$input.a.b`           | the run's input                         |
 * | `$steps.fetch`, `$steps.fetch.x` | the output of step `fetch`              |
 * | `$config.x`, `$workflow.config.x`| the workflow's `config`                 |
 * | `$execution.x`                   | facts about the run (id, started at...) |
 * | `$`, `$.title`, `$title`         | the current item (`ctx.item`)           |
 *
 * A whole-string reference is replaced by the value with its type; inside a
 * longer string `$root.path` and `${root.path}` are interpolated and `$$` is a
 * literal `$`. Lookups read own data properties only and never a prototype.
 *
 * Pure and deterministic: safe to import from workflow code.
 */
import { isPayloadRef, type PayloadRef, type RunContext } from './types';

/** Roots that address the run context; any other root word is a field of the current item. */
const RUN_ROOTS: ReadonlySet<string> = new Set(['input', 'steps', 'config', 'execution']);

/** Keys through which a prototype, or its constructor, could be reached. */
const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** Deepest object nesting the walkers follow; validation rejects deeper configs. */
export const MAX_NESTING = 64;

/** Where a reference points: a path from the run context or from the current item. */
export interface Reference {
  /** `run`: `segments[0]` is `input`, `steps`, `config` or `execution`. `item`: a path into `ctx.item`. */
  scope: 'run' | 'item';
  segments: string[];
}

/** A `$steps.<key>` reference found in a config or condition, with the field it sits in. */
export interface StepReference {
  step: string;
  /** Dotted field path, e.g. `config.body.title` or `condition.conditions[0].path`. */
  field: string;
}

/**
 * Thrown when a path walks *into* a claim-check reference (a PayloadRef). Workflow
 * code cannot read stored payloads, so it catches this and asks an activity to
 * resolve the reference. Reading a PayloadRef as a whole value does not throw.
 */
export class PayloadRefEncountered extends Error {
  readonly code = 'PAYLOAD_REF';

  /**
   * @param ref the PayloadRef met on the way
   * @param path where it sits: from the run context (`['steps', 'fetch']`) or from the item
   */
  constructor(
    readonly ref: PayloadRef,
    readonly path: readonly string[],
  ) {
    super(`the value at '${path.join('.') || '$'}' is a stored payload; it must be resolved by an activity`);
    this.name = 'PayloadRefEncountered';
  }
}

/** True for keys that reference resolution refuses to follow (`__proto__`, `constructor`, `prototype`). */
export function isForbiddenKey(key: string): boolean {
  return FORBIDDEN_KEYS.has(key);
}

const isWordChar = (c: string | undefined): boolean => c !== undefined && /[A-Za-z0-9_]/.test(c);
const isWordStart = (c: string | undefined): boolean => c !== undefined && /[A-Za-z_]/.test(c);

interface Scan {
  segments: string[];
  /** No root word: the path starts with a segment (`.x`, `[0]`). */
  rootless: boolean;
  end: number;
}

/** Reads one `.name` / `[...]` segment at `i`, or null when there is none. */
function scanSegment(s: string, i: number): { key: string; end: number } | null {
  if (s[i] === '.') {
    let j = i + 1;
    while (isWordChar(s[j])) j++;
    return j > i + 1 ? { key: s.slice(i + 1, j), end: j } : null;
  }
  if (s[i] !== '[') return null;
  const quote = s[i + 1];
  if (quote === '"' || quote === "'") {
    const close = s.indexOf(quote + ']', i + 2);
    return close < 0 ? null : { key: s.slice(i + 2, close), end: close + 2 };
  }
  const close = s.indexOf(']', i + 1);
  const key = close < 0 ? '' : s.slice(i + 1, close);
  return /^[A-Za-z0-9_]+$/.test(key) ? { key, end: close + 1 } : null;
}

/** Scans an optional root word and the segments after it, stopping at the first character that fits neither. */
function scanPath(s: string, start: number): Scan {
  const segments: string[] = [];
  let i = start;
  while (isWordChar(s[i])) i++;
  const rootless = i === start;
  if (!rootless) segments.push(s.slice(start, i));
  for (let seg = scanSegment(s, i); seg; seg = scanSegment(s, i)) {
    segments.push(seg.key);
    i = seg.end;
  }
  return { segments, rootless, end: i };
}

/** Maps parsed segments onto the run context or the current item. */
function classify(scan: Scan): Reference {
  const [root, next] = scan.segments;
  if (!scan.rootless && RUN_ROOTS.has(root)) return { scope: 'run', segments: scan.segments };
  // The specification's condition form `workflow.config.x` names the workflow's config.
  if (!scan.rootless && root === 'workflow' && next === 'config') {
    return { scope: 'run', segments: ['config', ...scan.segments.slice(2)] };
  }
  return { scope: 'item', segments: scan.segments };
}

/** One piece of a string: literal text, or a reference (with the text it was written as). */
interface Part {
  text: string;
  ref?: Reference;
}

/**
 * Splits a string into literal text and references. `$$` becomes a literal `$`;
 * a `$` that starts no reference (`$5`, `US$`) stays literal. Without braces a
 * reference needs a root word; `${...}` also takes rootless paths (`${.title}`).
 */
function tokenize(s: string): Part[] {
  const parts: Part[] = [];
  let literal = '';
  let i = 0;
  while (i < s.length) {
    const dollar = s.indexOf('$', i);
    if (dollar < 0) {
      literal += s.slice(i);
      break;
    }
    literal += s.slice(i, dollar);
    const next = s[dollar + 1];
    if (next === '$') {
      literal += '$';
      i = dollar + 2;
      continue;
    }
    const braced = next === '{';
    const scan = scanPath(s, braced ? dollar + 2 : dollar + 1);
    const rootOk = scan.rootless ? braced : isWordStart(scan.segments[0]?.[0]);
    const closed = braced ? s[scan.end] === '}' : true;
    if (scan.segments.length === 0 || !rootOk || !closed) {
      literal += '$';
      i = dollar + 1;
      continue;
    }
    if (literal) parts.push({ text: literal });
    literal = '';
    const end = braced ? scan.end + 1 : scan.end;
    parts.push({ text: s.slice(dollar, end), ref: classify(scan) });
    i = end;
  }
  if (literal) parts.push({ text: literal });
  return parts;
}

/**
 * Parses a whole reference body (what follows the `$`): `input.x`, `.title`, `[0]`,
 * `title`, or '' for the item itself. The root word may not start with a digit.
 */
function parseBody(body: string): Reference | null {
  if (body === '') return { scope: 'item', segments: [] };
  const scan = scanPath(body, 0);
  if (scan.end !== body.length || scan.segments.length === 0) return null;
  return scan.rootless || isWordStart(body[0]) ? classify(scan) : null;
}

/**
 * Parses a string that is exactly one reference (`$input.x`, `${steps.a.b}`,
 * `$`, `$.title`), or returns null.
 *
 * @example parseReference('$steps.fetch.items[0]') // { scope: 'run', segments: ['steps', 'fetch', 'items', '0'] }
 */
export function parseReference(str: string): Reference | null {
  if (!str.startsWith('$') || str[1] === '$') return null;
  if (str[1] !== '{') return parseBody(str.slice(1));
  const parts = tokenize(str);
  return parts.length === 1 && parts[0].ref ? parts[0].ref : null;
}

/** True when the whole string is one reference, so resolving it keeps the value's type. */
export function isReference(str: unknown): str is string {
  return typeof str === 'string' && parseReference(str) !== null;
}

/**
 * Parses a condition path: a reference written with or without its leading `$`
 * (`workflow.config.x`, `$input.total`, `steps.a.count`). Returns null when it is not a path.
 */
export function parseConditionPath(path: string): Reference | null {
  return parseBody(path.startsWith('$') ? path.slice(1) : path);
}

/** Splits `a.b[0].c` / `a.b.0.c` / `a['b'].c` into keys; null when the path does not parse. */
function splitPath(path: string): string[] | null {
  if (path === '') return [];
  const scan = scanPath(path, 0);
  return scan.end === path.length ? scan.segments : null;
}

/**
 * Reads `path` from `root`, following own data properties only. Forbidden keys,
 * inherited properties, accessors and functions all read as undefined, so a path
 * can never reach a prototype.
 *
 * @throws PayloadRefEncountered when the path continues into a PayloadRef.
 * @example getPath({ a: { b: [{ c: 1 }] } }, 'a.b[0].c') // 1
 */
export function getPath(root: unknown, path: string | readonly string[]): unknown {
  const keys = typeof path === 'string' ? splitPath(path) : path;
  if (keys === null) return undefined;
  let current = root;
  for (let i = 0; i < keys.length; i++) {
    if (isPayloadRef(current)) throw new PayloadRefEncountered(current, keys.slice(0, i));
    const key = keys[i];
    if (typeof current !== 'object' || current === null || FORBIDDEN_KEYS.has(key)) return undefined;
    const descriptor = Object.getOwnPropertyDescriptor(current, key);
    if (!descriptor || !('value' in descriptor) || typeof descriptor.value === 'function') return undefined;
    current = descriptor.value;
  }
  return current;
}

/** Reads the value a parsed reference points to. */
export function lookupReference(ref: Reference, ctx: RunContext): unknown {
  return ref.scope === 'run' ? getPath(ctx, ref.segments) : getPath(ctx.item, ref.segments);
}

/** Text of an interpolated value: objects as JSON, null and undefined as ''. */
function toText(value: unknown, ref: Reference): string {
  if (isPayloadRef(value)) throw new PayloadRefEncountered(value, ref.segments);
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (typeof value === 'object' && value !== null) return JSON.stringify(value);
  return '';
}

function resolveString(s: string, ctx: RunContext): unknown {
  if (!s.includes('$')) return s;
  // Without a current item, item references are left for the executor that maps over items.
  const hasItem = 'item' in ctx;
  const whole = parseReference(s);
  if (whole) return whole.scope === 'item' && !hasItem ? s : lookupReference(whole, ctx);
  const parts = tokenize(s);
  if (!hasItem && parts.some((p) => p.ref?.scope === 'item')) return s;
  return parts.map((p) => (p.ref ? toText(lookupReference(p.ref, ctx), p.ref) : p.text)).join('');
}

/** Arrays and class instances excluded; checked without comparing to this realm's Object.prototype. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === null || Object.getPrototypeOf(proto) === null;
}

/**
 * Resolves every reference in `value` (deeply, through arrays and plain objects)
 * against `ctx`, returning a new value; the input is not mutated. Whole-string
 * references keep the value's type; references inside longer strings are
 * interpolated.
 *
 * Item references (`$`, `$.x`, `$title`) resolve only when `ctx` has an `item`
 * property. Without one, a string that contains any item reference is returned
 * as written, so the workflow can resolve run references and leave per-item
 * templates (the spec's `"body": {"title": "$title"}`) to the executor.
 * Resolution is single pass: substituted values are data and are never scanned
 * again, so resolve a template once, not its output.
 *
 * @throws PayloadRefEncountered when a reference reads into a PayloadRef.
 * @example resolveReferences({ id: '$input.supplier_id', note: 'for ${input.name}!' }, ctx)
 */
export function resolveReferences(value: Record<string, unknown>, ctx: RunContext): Record<string, unknown>;
export function resolveReferences(value: unknown, ctx: RunContext): unknown;
export function resolveReferences(value: unknown, ctx: RunContext): unknown {
  if (typeof value === 'string') return resolveString(value, ctx);
  if (Array.isArray(value)) return value.map((v) => resolveReferences(v, ctx));
  // Object.fromEntries defines own properties, so a `__proto__` key stays plain data.
  if (isPlainObject(value) && !isPayloadRef(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveReferences(v, ctx)]));
  }
  return value;
}

/**
 * Whether a config reads fields of the current item (`$sku`, `$.a.b`,
 * `"${title} (new)"`), rather than only the item itself (`$`) or run values.
 * An executor that maps over items needs objects for such a config.
 *
 * @example readsItemFields({ url: '/p/$sku' }) // true
 * @example readsItemFields({ body: '$', supplier: '$input.supplier_id' }) // false
 */
export function readsItemFields(value: unknown, depth = 0): boolean {
  if (depth > MAX_NESTING) return false;
  if (typeof value === 'string') {
    if (!value.includes('$')) return false;
    const whole = parseReference(value);
    if (whole) return whole.scope === 'item' && whole.segments.length > 0;
    return tokenize(value).some((p) => p.ref?.scope === 'item' && p.ref.segments.length > 0);
  }
  if (Array.isArray(value)) return value.some((v) => readsItemFields(v, depth + 1));
  if (isPlainObject(value) && !isPayloadRef(value)) return Object.values(value).some((v) => readsItemFields(v, depth + 1));
  return false;
}

/** The step a run-scope reference reads, if it names one (`$steps.<key>...`). */
function stepOf(ref: Reference | null): string | null {
  return ref?.scope === 'run' && ref.segments[0] === 'steps' && ref.segments.length > 1 ? ref.segments[1] : null;
}

const joinField = (base: string, key: string | number): string =>
  typeof key === 'number' ? `${base}[${key}]` : base ? `${base}.${key}` : key;

function collectConfigRefs(value: unknown, field: string, out: StepReference[], depth: number): void {
  if (depth > MAX_NESTING) return;
  if (typeof value === 'string') {
    for (const part of value.includes('$') ? tokenize(value) : []) {
      const step = stepOf(part.ref ?? null);
      if (step !== null) out.push({ step, field });
    }
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => collectConfigRefs(v, joinField(field, i), out, depth + 1));
  } else if (isPlainObject(value)) {
    for (const [k, v] of Object.entries(value)) collectConfigRefs(v, joinField(field, k), out, depth + 1);
  }
}

function collectConditionRefs(cond: unknown, field: string, out: StepReference[], depth: number): void {
  if (depth > MAX_NESTING || !isPlainObject(cond)) return;
  if (cond.type === 'value_check' && typeof cond.path === 'string') {
    const step = stepOf(parseConditionPath(cond.path));
    if (step !== null) out.push({ step, field: joinField(field, 'path') });
  } else if ((cond.type === 'all' || cond.type === 'any') && Array.isArray(cond.conditions)) {
    const base = joinField(field, 'conditions');
    cond.conditions.forEach((c, i) => collectConditionRefs(c, joinField(base, i), out, depth + 1));
  } else if (cond.type === 'not') {
    collectConditionRefs(cond.condition, joinField(field, 'condition'), out, depth + 1);
  }
}

/**
 * Finds every `$steps.<key>` reference, in any written form, with the field it
 * sits in. `kind: 'condition'` reads `value` as a Condition, whose paths may
 * omit the `$` (`steps.fetch.count`). Escaped `$$steps.x` is text, not a reference.
 *
 * @example findStepReferences({ url: '${steps.auth.base}/items' }, 'config') // [{ step: 'auth', field: 'config.url' }]
 */
export function findStepReferences(value: unknown, field = '', kind: 'config' | 'condition' = 'config'): StepReference[] {
  const out: StepReference[] = [];
  if (kind === 'condition') collectConditionRefs(value, field, out, 0);
  else collectConfigRefs(value, field, out, 0);
  return out;
}

/**
 * The keys of the steps a config (or, with `kind: 'condition'`, a condition) reads.
 * `$steps` on its own (all outputs) names no step and is not counted.
 */
export function referencedSteps(value: unknown, kind: 'config' | 'condition' = 'config'): Set<string> {
  return new Set(findStepReferences(value, '', kind).map((r) => r.step));
}
