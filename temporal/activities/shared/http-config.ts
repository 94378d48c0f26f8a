/**
 * Config pieces shared by the HTTP executors (`api_call`, `data_fetch` over
 * HTTP): zod schemas for auth, headers, query, timeout and retry, the mapping
 * of zod issues to `{field, message}`, and the runtime builders (auth
 * providers, retry policy).
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { SECRET_NAME_PATTERN, redact } from '@engine/activities/shared/secrets';
import {
  apiKeyAuth,
  basicAuth,
  bearerAuth,
  oauth2ClientCredentials,
  type AuthProvider,
  type OAuth2ClientCredentials,
  type RetryPolicy,
} from '@engine/activities/shared/http';
import { parsePath, secretNames } from '@engine/activities/shared/template';
import { configError } from '@engine/activities/shared/config-issues';
import { zodIssues, type ConfigIssue } from '@engine/activities/shared/config-issues';
import { intIn, numberIn, refOr, type SchemaMode } from '@engine/activities/shared/zod';

/** `{"secret": "NAME"}`. */
export const secretRefSchema = z.strictObject(
  { secret: z.string().regex(SECRET_NAME_PATTERN, { message: 'must be a secret name: a letter, then letters, digits, "_", "." or "-"' }) },
  { error: (iss) => (iss.input === undefined ? 'is required: a secret reference {"secret": "NAME"}' : 'must be a secret reference {"secret": "NAME"}') },
);

/** A path into a value: `data.items`, `meta['next-cursor']`, `$.a[0]`. */
export const pathSchema = z.string({ error: 'must be a path like "data.items"' }).refine((p) => (parsePath(p)?.length ?? 0) > 0, {
  message: 'must be a path like "data.items" or "meta[\'next-cursor\']"',
});

/** An HTTP header name (RFC 9110 token). */
export const headerNameSchema = z.string().regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, { message: 'is not a valid header name' });

/** Header names that carry credentials: a literal value for one would put a credential into the definition. */
const CREDENTIAL_HEADERS = new Set(['authorization', 'proxy-authorization', 'x-api-key', 'cookie', 'api-key', 'x-auth-token']);

/** A template string (may interpolate references). */
const templateString = z.string({ error: 'must be a string' });

/** `headers`: values are template strings, numbers, booleans or secret references. */
export const headersSchema = z
  .record(
    headerNameSchema,
    z.union([templateString, z.number(), z.boolean(), secretRefSchema], { error: 'must be a string or a secret reference {"secret": "NAME"}' }),
    { error: 'must be an object of header names to values' },
  )
  .superRefine((headers, ctx) => {
    for (const [name, value] of Object.entries(headers)) {
      if (CREDENTIAL_HEADERS.has(name.toLowerCase()) && typeof value === 'string' && !value.includes('$')) {
        ctx.addIssue({ code: 'custom', path: [name], message: 'carries a credential: use a secret reference {"secret": "NAME"} (or `auth`)' });
      }
    }
  });

/** `query`: parameter values are template strings, numbers, booleans, null (omitted) or secret references. */
export const querySchema = z.record(
  z.string().min(1, { message: 'query parameter names may not be empty' }),
  z.union([templateString, z.number(), z.boolean(), z.null(), secretRefSchema], { error: 'must be a string, number, boolean or secret reference' }),
  { error: 'must be an object of parameter names to values' },
);

/** `url`: a template string; when it holds no reference it must already be an http(s) URL. */
export const urlSchema = z
  .string({ error: 'is required: an http or https URL' })
  .min(1, { message: 'is required: an http or https URL' })
  .superRefine((url, ctx) => {
    if (url.includes('$')) return;
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be an http or https URL' });
      return;
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') ctx.addIssue({ code: 'custom', message: 'must be an http or https URL' });
    else if (parsed.username || parsed.password) ctx.addIssue({ code: 'custom', message: 'may not embed credentials: use `auth`' });
  });

/** `method`: any HTTP method token. */
export function methodSchema(mode: SchemaMode): z.ZodType {
  return refOr(mode, z.string().regex(/^[A-Za-z]{1,20}$/, { message: 'must be an HTTP method such as GET or POST' }), 'an HTTP method such as GET or POST');
}

/** `timeout_seconds`: per-request timeout. */
export function timeoutSchema(mode: SchemaMode): z.ZodType {
  return refOr(mode, numberIn(0.1, 600), 'a number of seconds from 0.1 to 600');
}

/**
 * `retry`: retries inside one activity attempt, for 408, 429, 5xx and
 * connection failures; `Retry-After` is honoured up to `max_retry_after_seconds`
 * (longer waits are handed to Temporal's retry).
 */
export function retrySchema(mode: SchemaMode): z.ZodType {
  return z.strictObject(
    {
      attempts: refOr(mode, intIn(1, 10), 'an integer from 1 to 10').optional(),
      backoff_seconds: refOr(mode, numberIn(0, 60), 'a number from 0 to 60').optional(),
      factor: refOr(mode, numberIn(1, 10), 'a number from 1 to 10').optional(),
      max_delay_seconds: refOr(mode, numberIn(0, 600), 'a number from 0 to 600').optional(),
      max_retry_after_seconds: refOr(mode, numberIn(0, 3600), 'a number from 0 to 3600').optional(),
    },
    { error: 'must be an object: {attempts, backoff_seconds, factor, max_delay_seconds, max_retry_after_seconds}' },
  );
}

export interface RetryConfig {
  attempts?: number;
  backoff_seconds?: number;
  factor?: number;
  max_delay_seconds?: number;
  max_retry_after_seconds?: number;
}

/** The HttpClient retry policy for a `retry` config (unset fields keep the client's defaults). */
export function retryPolicyOf(retry: RetryConfig | undefined): Partial<RetryPolicy> {
  if (!retry) return {};
  const policy: Partial<RetryPolicy> = {};
  if (retry.attempts !== undefined) policy.attempts = retry.attempts;
  if (retry.backoff_seconds !== undefined) policy.baseDelayMs = retry.backoff_seconds * 1000;
  if (retry.factor !== undefined) policy.factor = retry.factor;
  if (retry.max_delay_seconds !== undefined) policy.maxDelayMs = retry.max_delay_seconds * 1000;
  if (retry.max_retry_after_seconds !== undefined) policy.maxRetryAfterMs = retry.max_retry_after_seconds * 1000;
  return policy;
}

const usernameSchema = z.union([z.string().min(1), secretRefSchema], { error: 'must be a string or a secret reference {"secret": "NAME"}' });

/**
 * `auth`: credentials come from secrets, by name, and go only to the host of
 * the step's `url`.
 *
 * @example { "type": "bearer", "token": { "secret": "MARKETPLACE_TOKEN" } }
 * @example { "type": "api_key", "key": { "secret": "SUPPLIER_KEY" }, "header": "X-Api-Key" }
 * @example { "type": "basic", "username": "merchflow", "password": { "secret": "SUPPLIER_PASSWORD" } }
 * @example { "type": "oauth2_client_credentials", "token_url": "https://auth.example.com/token", "client_id": "merchflow", "client_secret": { "secret": "OAUTH_SECRET" }, "scope": "listings" }
 */
export const authSchema = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ type: z.literal('none') }),
    z.strictObject({ type: z.literal('bearer'), token: secretRefSchema }),
    z.strictObject({
      type: z.literal('api_key'),
      key: secretRefSchema,
      header: headerNameSchema.optional(),
      prefix: z.string().max(40, { message: 'must be at most 40 characters' }).optional(),
    }),
    z.strictObject({ type: z.literal('basic'), username: usernameSchema, password: secretRefSchema }),
    z.strictObject({
      type: z.literal('oauth2_client_credentials'),
      token_url: urlSchema,
      client_id: usernameSchema,
      client_secret: secretRefSchema,
      scope: z.union([z.string(), z.array(z.string())], { error: 'must be a string or a list of strings' }).optional(),
      audience: z.string({ error: 'must be a string' }).optional(),
      auth_method: z.enum(['client_secret_basic', 'client_secret_post'], { error: 'must be "client_secret_basic" or "client_secret_post"' }).optional(),
    }),
  ],
  { error: 'must be an object whose type is none, bearer, api_key, basic or oauth2_client_credentials' },
);

/** The auth config after rendering: secrets are resolved to their values. */
export type RenderedAuth =
  | { type: 'none' }
  | { type: 'bearer'; token: string }
  | { type: 'api_key'; key: string; header?: string; prefix?: string }
  | { type: 'basic'; username: string; password: string }
  | {
      type: 'oauth2_client_credentials';
      token_url: string;
      client_id: string;
      client_secret: string;
      scope?: string | string[];
      audience?: string;
      auth_method?: 'client_secret_basic' | 'client_secret_post';
    };

/** The specification's flat form: `auth_type` beside `token`, `api_key`, `api_key_header`, `username`, `password`. */
export const LEGACY_AUTH_KEYS = ['auth_type', 'token', 'api_key', 'api_key_header', 'username', 'password'] as const;
const LEGACY_FIELD: Record<string, string> = { type: 'auth_type', token: 'token', key: 'api_key', header: 'api_key_header', username: 'username', password: 'password' };

/**
 * The step's auth config as one `auth` object, whichever form it was written
 * in. The specification's `{"auth_type": "bearer", "token": {"secret": "T"}}`
 * becomes `{type: "bearer", token: {secret: "T"}}`.
 */
export function normalizeAuth(config: Record<string, unknown>): { auth: unknown; legacy: boolean; issues: ConfigIssue[] } {
  const hasLegacy = config.auth_type !== undefined;
  if (!hasLegacy) {
    const stray = LEGACY_AUTH_KEYS.filter((k) => k !== 'auth_type' && config[k] !== undefined);
    return { auth: config.auth, legacy: false, issues: stray.map((k) => ({ field: k, message: 'is only used with auth_type' })) };
  }
  if (config.auth !== undefined) {
    return { auth: undefined, legacy: true, issues: [{ field: 'auth_type', message: 'give either `auth` or `auth_type`, not both' }] };
  }
  const type = config.auth_type;
  const auth: Record<string, unknown> = { type };
  if (type === 'bearer') auth.token = config.token;
  if (type === 'api_key') {
    auth.key = config.api_key ?? config.token;
    if (config.api_key_header !== undefined) auth.header = config.api_key_header;
  }
  if (type === 'basic') {
    auth.username = config.username;
    auth.password = config.password;
  }
  if (type === 'oauth2_client_credentials') {
    return { auth: undefined, legacy: true, issues: [{ field: 'auth_type', message: 'oauth2_client_credentials needs the `auth` object form' }] };
  }
  const used = new Set(['auth_type', ...Object.keys(auth).map((k) => LEGACY_FIELD[k])]);
  if (type === 'api_key' && config.api_key === undefined && config.token !== undefined) used.add('token');
  const stray = LEGACY_AUTH_KEYS.filter((k) => !used.has(k) && config[k] !== undefined);
  return { auth, legacy: true, issues: stray.map((k) => ({ field: k, message: `is not used with auth_type ${JSON.stringify(type)}` })) };
}

/** Validates a step's auth (either form); issue fields are named as the user wrote them. */
export function validateAuth(config: Record<string, unknown>): ConfigIssue[] {
  const { auth, legacy, issues } = normalizeAuth(config);
  if (auth === undefined) return issues;
  const parsed = authSchema.safeParse(auth);
  if (parsed.success) return issues;
  const mapped = zodIssues(parsed.error, legacy ? [] : ['auth']).map((i) => {
    if (!legacy) return i;
    const field = LEGACY_FIELD[i.field.split('.')[0]] ?? 'auth_type';
    return { field, message: i.message };
  });
  return [...issues, ...mapped];
}

/**
 * OAuth2 providers kept for the worker's lifetime, one per (token endpoint,
 * client, secret, scope), so concurrent items and later runs share a cached
 * token. The key holds a hash of the secret, never the secret.
 */
export class OAuthProviderCache {
  private readonly providers = new Map<string, OAuth2ClientCredentials>();

  constructor(private readonly maxEntries = 64) {}

  get(auth: Extract<RenderedAuth, { type: 'oauth2_client_credentials' }>): OAuth2ClientCredentials {
    const key = createHash('sha256')
      .update(JSON.stringify([auth.token_url, auth.client_id, auth.client_secret, auth.scope ?? null, auth.audience ?? null, auth.auth_method ?? null]))
      .digest('hex');
    let provider = this.providers.get(key);
    if (!provider) {
      provider = oauth2ClientCredentials({
        tokenUrl: auth.token_url,
        clientId: auth.client_id,
        clientSecret: auth.client_secret,
        scope: auth.scope,
        audience: auth.audience,
        authMethod: auth.auth_method,
      });
      this.providers.set(key, provider);
      while (this.providers.size > this.maxEntries) this.providers.delete(this.providers.keys().next().value as string);
    }
    return provider;
  }
}

/** Builds the HttpClient auth provider for a rendered auth config (none for `type: none`). */
export function authProviderOf(auth: RenderedAuth | undefined, oauth: OAuthProviderCache): AuthProvider | undefined {
  if (!auth || auth.type === 'none') return undefined;
  const str = (v: unknown, field: string): string => {
    if (typeof v !== 'string' || v === '') throw configError(`auth.${field}`, 'must resolve to a non-empty string');
    return v;
  };
  switch (auth.type) {
    case 'bearer':
      return bearerAuth(str(auth.token, 'token'));
    case 'api_key':
      return apiKeyAuth(str(auth.key, 'key'), { headerName: auth.header, prefix: auth.prefix });
    case 'basic':
      return basicAuth(str(auth.username, 'username'), str(auth.password, 'password'));
    case 'oauth2_client_credentials':
      str(auth.token_url, 'token_url');
      str(auth.client_id, 'client_id');
      str(auth.client_secret, 'client_secret');
      return oauth.get(auth);
    default:
      throw configError('auth.type', 'is not a known auth type');
  }
}

/**
 * Lower-case names of the configured headers that carry credentials: those
 * whose value is a secret reference and the usual credential header names.
 * The client strips them from any hop outside the credentials' host.
 */
export function credentialHeaderNames(headers: unknown): string[] {
  if (!headers || typeof headers !== 'object') return [];
  return Object.entries(headers as Record<string, unknown>)
    .filter(([name, v]) => secretNames(v).size > 0 || CREDENTIAL_HEADERS.has(name.toLowerCase()))
    .map(([name]) => name.toLowerCase());
}

/** Scrubs an auth provider's dynamic credentials (OAuth tokens), which the runner does not know, from a value. */
export function scrubProviderSecrets<T>(value: T, provider: AuthProvider | undefined): T {
  const values = provider?.secrets() ?? [];
  return values.length > 0 ? redact(value, values) : value;
}
