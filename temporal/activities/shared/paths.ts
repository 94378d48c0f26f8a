/**
 * Field paths into items (`a.b.c`, `images[0].url`, `['key.with.dots']`), read
 * and written without ever touching a prototype and without mutating the item
 * a path was read from. Shared by data_transform and data_validate.
 */
import { isForbiddenKey } from '@engine/dsl/references';

/** A parsed path: the keys from the item down. Empty for the item itself. */
export type Path = readonly string[];

/**
 * Parses an item path. Dotted segments may hold any character but `.`, `[` and
 * `]` (so `Product Name` and `content-type` work); brackets take an index
 * (`[0]`) or a quoted key (`['a.b']`). A leading `$` or `$.` (the reference
 * form of the current item) is accepted and ignored.
 *
 * @returns the keys, or an error message naming what is wrong.
 * @example parsePath('dimensions.weight') // { path: ['dimensions', 'weight'] }
 */
export function parsePath(text: string): { path: Path } | { error: string } {
  let s = text;
  if (s === '$') return { path: [] };
  if (s.startsWith('$.')) s = s.slice(2);
  else if (s.startsWith('$[')) s = s.slice(1);
  else if (s.startsWith('$')) s = s.slice(1);
  if (s === '') return { error: 'is an empty path' };
  const keys: string[] = [];
  let i = 0;
  let expectKey = true;
  while (i < s.length) {
    const c = s[i];
    if (c === '[') {
      const quote = s[i + 1];
      let key: string;
      if (quote === '"' || quote === "'") {
        const close = s.indexOf(quote + ']', i + 2);
        if (close < 0) return { error: `has an unclosed [${quote} at ${i}` };
        key = s.slice(i + 2, close);
        i = close + 2;
      } else {
        const close = s.indexOf(']', i + 1);
        key = close < 0 ? '' : s.slice(i + 1, close);
        if (!/^\d+$/.test(key)) return { error: `has a bad index at ${i} (use [0] or ['key'])` };
        i = close + 1;
      }
      keys.push(key);
      expectKey = false;
    } else if (c === '.') {
      if (expectKey) return { error: `has an empty segment at ${i}` };
      expectKey = true;
      i++;
    } else if (c === ']') {
      return { error: `has an unmatched ] at ${i}` };
    } else {
      if (!expectKey) return { error: `needs a '.' before position ${i}` };
      let j = i;
      while (j < s.length && s[j] !== '.' && s[j] !== '[' && s[j] !== ']') j++;
      keys.push(s.slice(i, j));
      expectKey = false;
      i = j;
    }
  }
  if (expectKey) return { error: 'ends with a dot' };
  const bad = keys.find(isForbiddenKey);
  if (bad !== undefined) return { error: `uses the forbidden key '${bad}'` };
  return { path: keys };
}

/** Parses a path that was already validated; throws on a bad one (a programming error). */
export function mustParsePath(text: string): Path {
  const parsed = parsePath(text);
  if ('error' in parsed) throw new Error(`path '${text}' ${parsed.error}`);
  return parsed.path;
}

/** Reads `path` from `root` through own properties only. */
export function getIn(root: unknown, path: Path): unknown {
  let cur = root;
  for (let i = 0; i < path.length; i++) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, path[i])) return undefined;
    cur = (cur as Record<string, unknown>)[path[i]];
  }
  return cur;
}

/** A fast reader for a parsed path (own properties only); the item itself for the empty path. */
export function pathReader(path: Path): (item: unknown) => unknown {
  if (path.length === 0) return (item) => item;
  if (path.length === 1) {
    const key = path[0];
    return (item) => (item !== null && typeof item === 'object' && Object.hasOwn(item, key) ? (item as Record<string, unknown>)[key] : undefined);
  }
  return (item) => getIn(item, path);
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Writes `value` at `path` in `root`, creating objects on the way. Objects on
 * the way are copied before being written to, so nothing shared with an input
 * item is ever mutated; `root` itself must be owned by the caller.
 */
export function setIn(root: Record<string, unknown>, path: Path, value: unknown): void {
  let cur = root;
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i];
    const next = Object.hasOwn(cur, key) ? cur[key] : undefined;
    const copy: Record<string, unknown> = isRecord(next) ? { ...next } : {};
    cur[key] = copy;
    cur = copy;
  }
  cur[path[path.length - 1]] = value;
}

/** Removes the field at `path` from `root` (owned by the caller), copying objects on the way. */
export function removeIn(root: Record<string, unknown>, path: Path): void {
  let cur = root;
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i];
    const next = Object.hasOwn(cur, key) ? cur[key] : undefined;
    if (!isRecord(next)) return;
    const copy = { ...next };
    cur[key] = copy;
    cur = copy;
  }
  delete cur[path[path.length - 1]];
}

/** The path written back as text (`a.b[0]`), for messages and reports. */
export function formatPath(path: Path): string {
  if (path.length === 0) return '$';
  return path.map((k, i) => (/^\d+$/.test(k) ? `[${k}]` : /[.[\]]/.test(k) ? `['${k}']` : i === 0 ? k : `.${k}`)).join('');
}
