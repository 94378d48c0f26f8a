/**
 * Request templates for HTTP executors (`api_call`, and `data_fetch` over
 * HTTP): rendering config values with references and literal secret
 * references, detecting per-item templates, reading response paths, and the
 * credential host of a URL. Pure except for {@link resolveSecretNames}.
 */
import { getPath, isPlainObject, resolveReferences } from '@engine/dsl/references';
import type { RunContext } from '@engine/dsl/types';
import { StepError } from '@engine/activities/shared/errors';
import { configError } from '@engine/activities/shared/config-issues';
import { isSecretRef } from '@engine/activities/shared/secrets';
import type { StepExecutionContext } from '@engine/activities/runtime/executor';
import { ErrorCodes } from '@engine/shared/contracts';

/** A run context with nothing in it: what {@link hasItemReferences} resolves against. */
const EMPTY_RUN: RunContext = { input: null, steps: {}, config: {}, execution: {} };

/**
 * Names of the secrets referenced (`{"secret": "NAME"}`) where written in a
 * config value. Values that references substitute later are data and are
 * never searched, so run input cannot smuggle in a secret reference.
 *
 * @example secretNames({ headers: { 'X-Key': { secret: 'SUPPLIER_KEY' } } }) // Set { 'SUPPLIER_KEY' }
 */
export function secretNames(value: unknown, out: Set<string> = new Set()): Set<string> {
  if (isSecretRef(value)) out.add(value.secret);
  else if (Array.isArray(value)) for (const v of value) secretNames(v, out);
  else if (isPlainObject(value)) for (const v of Object.values(value)) secretNames(v, out);
  return out;
}

/**
 * Resolves the named secrets through the step context, so the runner knows
 * their values and scrubs them from the step's output and errors.
 */
export async function resolveSecretNames(ctx: Pick<StepExecutionContext, 'resolveSecrets'>, names: Iterable<string>): Promise<Map<string, string>> {
  const list = [...new Set(names)];
  if (list.length === 0) return new Map();
  const refs: Record<string, { secret: string }> = {};
  for (const name of list) refs[name] = { secret: name };
  const values = (await ctx.resolveSecrets(refs)) as Record<string, string>;
  return new Map(list.map((name) => [name, values[name]]));
}

/**
 * Renders a config template: a literal `{"secret": "NAME"}` becomes the
 * secret's value, every string goes through `resolveString` (reference
 * resolution), arrays and plain objects are walked. What a reference returns
 * is kept as it is: it is never scanned again for references or secrets.
 *
 * @example renderTemplate({ title: '$title', key: { secret: 'K' } }, (s) => ctx.resolve(s, item), secrets)
 */
export function renderTemplate(template: unknown, resolveString: (s: string) => unknown, secrets: ReadonlyMap<string, string>): unknown {
  if (isSecretRef(template)) {
    const value = secrets.get(template.secret);
    if (value === undefined) throw new StepError(ErrorCodes.SECRET_NOT_FOUND, `secret ${JSON.stringify(template.secret)} was not resolved`);
    return value;
  }
  if (typeof template === 'string') return resolveString(template);
  if (Array.isArray(template)) return template.map((v) => renderTemplate(v, resolveString, secrets));
  if (isPlainObject(template)) {
    return Object.fromEntries(Object.entries(template).map(([k, v]) => [k, renderTemplate(v, resolveString, secrets)]));
  }
  return template;
}

/**
 * Whether a template holds references to the current item (`$`, `$title`,
 * `$.a.b`, `${.x}`), anywhere inside. Such a template is rendered once per item.
 *
 * @example hasItemReferences({ title: '$title' }) // true
 * @example hasItemReferences({ supplier: '$input.supplier_id' }) // false
 */
export function hasItemReferences(template: unknown): boolean {
  if (typeof template === 'string') {
    if (!template.includes('$')) return false;
    // Without an item, item references are returned as written; with one they resolve.
    const withoutItem = resolveReferences(template, EMPTY_RUN);
    const withItem = resolveReferences(template, { ...EMPTY_RUN, item: undefined });
    return withoutItem !== withItem;
  }
  if (Array.isArray(template)) return template.some(hasItemReferences);
  if (isPlainObject(template) && !isSecretRef(template)) return Object.values(template).some(hasItemReferences);
  return false;
}

/**
 * Parses a path into a value (`data.items`, `meta['next-cursor']`, `a[0].b`),
 * optionally written with a leading `$` or `$.`. `''` and `'$'` are the value
 * itself. Returns null for anything else.
 *
 * @example parsePath('$.data.items[0]') // ['data', 'items', '0']
 */
export function parsePath(path: string): string[] | null {
  let s = path.trim();
  if (s.startsWith('$')) s = s.slice(1);
  if (s.startsWith('.')) s = s.slice(1);
  const out: string[] = [];
  let i = 0;
  const word = /[A-Za-z0-9_-]/;
  while (i < s.length) {
    if (s[i] === '[') {
      const quote = s[i + 1];
      if (quote === '"' || quote === "'") {
        const close = s.indexOf(`${quote}]`, i + 2);
        if (close < 0) return null;
        out.push(s.slice(i + 2, close));
        i = close + 2;
      } else {
        const close = s.indexOf(']', i + 1);
        const key = close < 0 ? '' : s.slice(i + 1, close);
        if (!/^\d+$/.test(key)) return null;
        out.push(key);
        i = close + 1;
      }
    } else {
      if (out.length > 0) {
        if (s[i] !== '.') return null;
        i++;
      }
      let j = i;
      while (j < s.length && word.test(s[j])) j++;
      if (j === i) return null;
      out.push(s.slice(i, j));
      i = j;
    }
  }
  return out;
}

/** Reads a {@link parsePath} path from `root`; own data properties only, never a prototype. */
export function readPath(root: unknown, path: string): unknown {
  const segments = parsePath(path);
  return segments === null ? undefined : getPath(root, segments);
}

/**
 * The allow-list entry (`host:port`) for the origin of `url`: credentials
 * configured for a step go to this host only.
 *
 * @example credentialsHostOf('https://api.example.com/v1/items') // 'api.example.com:443'
 */
export function credentialsHostOf(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  if ((parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || !parsed.hostname || parsed.hostname.includes('$')) return null;
  const port = parsed.port ? Number(parsed.port) : parsed.protocol === 'https:' ? 443 : 80;
  return `${parsed.hostname}:${port}`;
}

/** Header and query values as strings; null and undefined drop the entry. */
export function stringValues(value: unknown, field: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!isPlainObject(value)) throw configError(field, 'must be an object');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined || v === null) continue;
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = String(v);
    else throw configError(`${field}.${k}`, `must resolve to a string, number or boolean, not ${Array.isArray(v) ? 'an array' : typeof v}`);
  }
  return out;
}
