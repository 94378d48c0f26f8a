/**
 * Secrets for step executors. A definition never holds a secret value, only a
 * reference `{"secret": "NAME"}`; the activity resolves references right
 * before use, so values stay out of definitions, workflow history and logs.
 * `redact` scrubs known values from anything that leaves the activity
 * (outputs, error messages).
 *
 * @example
 * const resolver = new ChainedSecretResolver([new EncryptedStoreSecretResolver({ key, load }), new EnvSecretResolver()]);
 * const used = new Set<string>();
 * const config = await resolveSecretRefs(step.config, resolver, { collect: used });
 * try { ... } catch (err) { throw redact(err, used); }
 */
import { StepError, errorCode } from '@engine/activities/shared/errors';
import { decryptSecret, type StoredSecret } from '@engine/activities/shared/secret-crypto';
import { ErrorCodes } from '@engine/shared/contracts';

export {
  encryptSecret,
  decryptSecret,
  parseMasterKey,
  masterKeyFromEnv,
  type EncryptedSecret,
  type StoredSecret,
} from '@engine/activities/shared/secret-crypto';

/** A reference to a secret by name, as written in step configuration. */
export interface SecretRef {
  secret: string;
}

/** Names a secret may have: a letter, then letters, digits, `_`, `.` or `-` (at most 128 characters). */
export const SECRET_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_.-]{0,127}$/;

/** `T` with every {@link SecretRef} replaced by its string value. */
export type SecretsResolved<T> = T extends SecretRef
  ? string
  : T extends readonly (infer U)[]
    ? SecretsResolved<U>[]
    : T extends Record<string, unknown>
      ? { [K in keyof T]: SecretsResolved<T[K]> }
      : T;

/**
 * True for exactly `{"secret": "<string>"}`: a plain object whose only key is
 * `secret`. Objects with more keys are ordinary configuration.
 */
export function isSecretRef(value: unknown): value is SecretRef {
  if (!isPlainObject(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && keys[0] === 'secret' && typeof (value as { secret: unknown }).secret === 'string';
}

/** Whether `value` holds a secret reference anywhere inside it. */
export function containsSecretRef(value: unknown): boolean {
  const seen = new Set<object>();
  const walk = (v: unknown): boolean => {
    if (isSecretRef(v)) return true;
    if (!v || typeof v !== 'object' || seen.has(v)) return false;
    seen.add(v);
    if (Array.isArray(v)) return v.some(walk);
    if (!isPlainObject(v)) return false;
    return Object.values(v).some(walk);
  };
  return walk(value);
}

/** Throws `SECRET_REF_INVALID` unless `name` is a valid secret name. */
export function assertSecretName(name: string): void {
  if (typeof name !== 'string' || !SECRET_NAME_PATTERN.test(name)) {
    throw new StepError(ErrorCodes.SECRET_REF_INVALID, `invalid secret name ${JSON.stringify(String(name).slice(0, 64))}`);
  }
}

/** The `SECRET_NOT_FOUND` error: names the secret, never a value. */
export function secretNotFound(name: string): StepError {
  return new StepError(ErrorCodes.SECRET_NOT_FOUND, `secret ${JSON.stringify(name)} is not defined`, { details: { secret: name } });
}

/**
 * Resolves a secret name to its value. Throws `SECRET_NOT_FOUND` for an
 * unknown name; other failures (store unreachable) are thrown as they are so
 * Temporal retries them.
 */
export interface SecretResolver {
  resolve(name: string): Promise<string>;
}

export interface ResolveSecretRefsOptions {
  /** Receives every resolved value, to pass to {@link redact} later. */
  collect?: Set<string>;
}

/**
 * Returns a copy of `value` with every `{"secret": "NAME"}` replaced by the
 * secret's value. Each distinct name is resolved once. Values other than
 * arrays and plain objects are kept as they are.
 *
 * @example await resolveSecretRefs({ headers: { 'X-API-Key': { secret: 'SUPPLIER_KEY' } } }, resolver)
 */
export async function resolveSecretRefs<T>(value: T, resolver: SecretResolver, options: ResolveSecretRefsOptions = {}): Promise<SecretsResolved<T>> {
  const names = new Set<string>();
  const stack = new Set<object>();
  const collectNames = (v: unknown): void => {
    if (isSecretRef(v)) {
      assertSecretName(v.secret);
      names.add(v.secret);
      return;
    }
    if (!v || typeof v !== 'object' || (!Array.isArray(v) && !isPlainObject(v))) return;
    if (stack.has(v)) throw new StepError(ErrorCodes.SECRET_REF_INVALID, 'configuration is cyclic');
    stack.add(v);
    for (const item of Array.isArray(v) ? v : Object.values(v)) collectNames(item);
    stack.delete(v);
  };
  collectNames(value);
  if (names.size === 0) return value as SecretsResolved<T>;

  const resolved = new Map<string, string>();
  await Promise.all(
    [...names].map(async (name) => {
      const secret = await resolver.resolve(name);
      resolved.set(name, secret);
      options.collect?.add(secret);
    }),
  );
  const replace = (v: unknown): unknown => {
    if (isSecretRef(v)) return resolved.get(v.secret);
    if (Array.isArray(v)) return v.map(replace);
    if (isPlainObject(v)) return Object.fromEntries(Object.entries(v).map(([k, item]) => [k, replace(item)]));
    return v;
  };
  return replace(value) as SecretsResolved<T>;
}

/** Env names may not hold `.` or `-`; they map to `_`. */
function envSuffix(name: string): string {
  return name.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
}

/** The only environment variables that hold secrets: `MERCHFLOW_SECRET_<NAME>`. */
export const ENV_SECRET_PREFIX = 'MERCHFLOW_SECRET_';

/**
 * Secrets from environment variables, `MERCHFLOW_SECRET_<NAME>` only (the name
 * upper-cased, `.`/`-` as `_`). Nothing else in the worker's environment
 * (PATH, SMTP_URL, AWS_*, the engine's own settings) can be read as a secret,
 * so a definition author cannot send it to a host of their choosing. Empty
 * values count as unset.
 */
export class EnvSecretResolver implements SecretResolver {
  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  async resolve(name: string): Promise<string> {
    assertSecretName(name);
    const v = this.env[`${ENV_SECRET_PREFIX}${envSuffix(name)}`];
    if (v !== undefined && v !== '') return v;
    throw secretNotFound(name);
  }

  /** Every non-empty `MERCHFLOW_SECRET_*` value (for the worker-wide scrubber). */
  values(): string[] {
    return Object.entries(this.env)
      .filter(([k, v]) => k.startsWith(ENV_SECRET_PREFIX) && typeof v === 'string' && v !== '')
      .map(([, v]) => v as string);
  }
}

export interface EncryptedStoreSecretResolverOptions {
  /** 32-byte master key, e.g. from `masterKeyFromEnv()`. */
  key: Buffer;
  /** Loads the encrypted record for a name, or null when there is none. */
  load: (name: string) => Promise<StoredSecret | null | undefined>;
}

/** Secrets stored encrypted (AES-256-GCM, name as associated data); see `encryptSecret`. */
export class EncryptedStoreSecretResolver implements SecretResolver {
  constructor(private readonly options: EncryptedStoreSecretResolverOptions) {}

  async resolve(name: string): Promise<string> {
    assertSecretName(name);
    const record = await this.options.load(name);
    if (!record) throw secretNotFound(name);
    return decryptSecret(name, record, this.options.key);
  }
}

/**
 * Tries resolvers in order (store first, then env, typically). Only
 * `SECRET_NOT_FOUND` moves on to the next; a decryption failure or an
 * unreachable store is reported rather than masked by another source.
 */
export class ChainedSecretResolver implements SecretResolver {
  constructor(private readonly resolvers: readonly SecretResolver[]) {}

  async resolve(name: string): Promise<string> {
    assertSecretName(name);
    for (const r of this.resolvers) {
      try {
        return await r.resolve(name);
      } catch (err) {
        if (errorCode(err) !== ErrorCodes.SECRET_NOT_FOUND) throw err;
      }
    }
    throw secretNotFound(name);
  }
}

/** What replaces a secret value. */
export const REDACTED = '[REDACTED]';

/**
 * Every spelling under which a secret may show up in text: as is, URL- and
 * form-encoded (query strings, bodies) and JSON-escaped. Longest first, so a
 * secret that contains another is replaced whole.
 */
export function secretForms(secrets: Iterable<string>): string[] {
  const forms = new Set<string>();
  for (const s of secrets) {
    if (typeof s !== 'string' || s === '') continue;
    forms.add(s);
    forms.add(encodeURIComponent(s));
    forms.add(new URLSearchParams({ s }).toString().slice(2));
    forms.add(JSON.stringify(s).slice(1, -1));
  }
  return [...forms].sort((a, b) => b.length - a.length);
}

/** Replaces every occurrence of each secret in `text` with `[REDACTED]`. */
export function redactString(text: string, secrets: Iterable<string>): string {
  return replaceForms(text, secretForms(secrets));
}

/** {@link redactString} with spellings from {@link secretForms}, computed once by the caller. */
export function replaceForms(text: string, forms: readonly string[]): string {
  let out = text;
  for (const f of forms) if (out.includes(f)) out = out.split(f).join(REDACTED);
  return out;
}

/**
 * Returns a copy of `value` with every known secret value replaced by
 * `[REDACTED]`: strings, keys and values of plain objects and arrays, and
 * errors (message, stack, cause and own fields; the copy keeps the error's
 * prototype, so an `ApplicationFailure` stays one). Other objects are
 * returned as they are.
 *
 * @example redact({ error: `401 for token ${t}` }, [t]) // { error: '401 for token [REDACTED]' }
 */
export function redact<T>(value: T, knownSecrets: Iterable<string>): T {
  return redactForms(value, secretForms(knownSecrets));
}

/** {@link redact} with spellings from {@link secretForms}, computed once by the caller. */
export function redactForms<T>(value: T, forms: readonly string[]): T {
  if (forms.length === 0) return value;
  const seen = new Map<object, unknown>();
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return replaceForms(v, forms);
    if (!v || typeof v !== 'object') return v;
    if (seen.has(v)) return seen.get(v);
    if (Array.isArray(v)) {
      const out: unknown[] = [];
      seen.set(v, out);
      for (const item of v) out.push(walk(item));
      return out;
    }
    if (v instanceof Error) {
      const copy = Object.create(Object.getPrototypeOf(v)) as Error;
      seen.set(v, copy);
      for (const key of Reflect.ownKeys(v)) {
        const desc = Object.getOwnPropertyDescriptor(v, key)!;
        const current = (v as unknown as Record<PropertyKey, unknown>)[key];
        Object.defineProperty(copy, key, {
          value: walk(current),
          writable: true,
          configurable: true,
          enumerable: desc.enumerable,
        });
      }
      // V8 may keep `stack` off the instance; make sure the copy's is scrubbed.
      if (!Object.prototype.hasOwnProperty.call(v, 'stack') && typeof v.stack === 'string') {
        Object.defineProperty(copy, 'stack', { value: replaceForms(v.stack, forms), writable: true, configurable: true });
      }
      return copy;
    }
    if (isPlainObject(v)) {
      const out: Record<string, unknown> = {};
      seen.set(v, out);
      for (const [k, item] of Object.entries(v)) out[replaceForms(k, forms)] = walk(item);
      return out;
    }
    return v;
  };
  return walk(value) as T;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}
