/**
 * Values on their way into SQL parameters: checked and converted per column
 * type before anything is sent, so a bad record is reported by row and field
 * instead of failing a whole batch inside Postgres.
 */
import { createHash } from 'node:crypto';
import type { ColumnType } from './models';

export type Coerced = { ok: true; value: string | number | boolean | null } | { ok: false; message: string };

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/** The array element type a column is bound as (`unnest($1::text[])`); varchar/char are bound as text so an over-long value errors instead of being truncated by a cast. */
export function paramType(type: ColumnType): string {
  if (type.startsWith('varchar') || type.startsWith('char')) return 'text';
  return type;
}

/** Maximum length of a varchar(n)/char(n) column, else null. */
function maxLength(type: ColumnType): number | null {
  const m = /^(?:varchar|char)\((\d+)\)$/.exec(type);
  return m ? Number(m[1]) : null;
}

const ok = (value: string | number | boolean | null): Coerced => ({ ok: true, value });
const bad = (message: string): Coerced => ({ ok: false, message });

/**
 * Converts a value for a column of `type`. `null` and `undefined` become SQL
 * NULL. `checkLength: false` skips the varchar length check (filters compare
 * as text and may use any length).
 */
export function coerceValue(type: ColumnType, value: unknown, checkLength = true): Coerced {
  if (value === null || value === undefined) return ok(null);
  switch (type) {
    case 'integer':
    case 'bigint': {
      const n = typeof value === 'string' && /^-?\d{1,19}$/.test(value.trim()) ? value.trim() : typeof value === 'number' ? value : null;
      if (n === null || (typeof n === 'number' && !Number.isSafeInteger(n))) return bad(`expected an integer, got ${describe(value)}`);
      if (type === 'integer') {
        const v = Number(n);
        return v < INT32_MIN || v > INT32_MAX ? bad(`integer out of range: ${String(n)}`) : ok(v);
      }
      // bigint travels as text: a JS number cannot hold all of its range.
      const big = BigInt(n);
      return big > 9223372036854775807n || big < -9223372036854775808n ? bad(`bigint out of range: ${String(n)}`) : ok(big.toString());
    }
    case 'numeric': {
      if (typeof value === 'number') return Number.isFinite(value) ? ok(String(value)) : bad(`expected a finite number, got ${describe(value)}`);
      if (typeof value === 'string' && /^\s*-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(value)) return ok(value.trim());
      return bad(`expected a number, got ${describe(value)}`);
    }
    case 'boolean':
      if (typeof value === 'boolean') return ok(value);
      if (value === 'true' || value === 'false') return ok(value === 'true');
      return bad(`expected true or false, got ${describe(value)}`);
    case 'timestamptz': {
      const t = value instanceof Date ? value.getTime() : typeof value === 'string' || typeof value === 'number' ? new Date(value).getTime() : NaN;
      return Number.isFinite(t) ? ok(new Date(t).toISOString()) : bad(`expected a timestamp, got ${describe(value)}`);
    }
    case 'jsonb': {
      let json: string;
      try {
        json = canonicalJson(value);
      } catch (err) {
        return bad(`not serialisable as JSON: ${(err as Error).message}`);
      }
      // Postgres rejects \u0000 in jsonb; say so per row instead of failing the batch.
      return json.includes('\\u0000') ? bad('JSON contains a NUL character (\\u0000), which Postgres cannot store') : ok(json);
    }
    default: {
      if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
        return bad(`expected text, got ${describe(value)}`);
      }
      const s = String(value);
      if (s.includes('\u0000')) return bad('text contains a NUL character, which Postgres cannot store');
      const max = checkLength ? maxLength(type) : null;
      if (max !== null && codePoints(s) > max) return bad(`longer than ${max} characters (${codePoints(s)})`);
      return ok(s);
    }
  }
}

function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object' && value !== null) return 'an object';
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

/**
 * JSON with object keys sorted at every level, so the same record always
 * hashes the same however its keys were ordered (jsonb does not keep order
 * either). `undefined` members are dropped as JSON.stringify drops them.
 */
export function canonicalJson(value: unknown): string {
  const seen = new Set<object>();
  const walk = (v: unknown): unknown => {
    if (v === null || typeof v !== 'object') return v;
    if (v instanceof Date) return v.toISOString();
    if (seen.has(v)) throw new Error('value is cyclic');
    seen.add(v);
    let out: unknown;
    if (Array.isArray(v)) out = v.map((x) => (x === undefined ? null : walk(x)));
    else {
      const o: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) {
        const x = (v as Record<string, unknown>)[k];
        if (x !== undefined && typeof x !== 'function') o[k] = walk(x);
      }
      out = o;
    }
    seen.delete(v);
    return out;
  };
  const json = JSON.stringify(walk(value));
  if (json === undefined) throw new Error(`cannot serialise ${typeof value}`);
  return json;
}

/** sha256 (hex) of a value's canonical JSON. */
export function contentHash(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
