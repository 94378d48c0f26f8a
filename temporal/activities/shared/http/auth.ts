/**
 * Authentication for outbound calls. Secrets arrive already resolved (see
 * `@engine/activities/shared/secrets`); providers never log them and report
 * them through `secrets()` so the client can scrub them from error messages.
 * The client adds a provider's headers only on hops whose host the credential
 * was configured for.
 */
import { StepError, errorCode } from '@engine/activities/shared/errors';
import type { HttpClient } from '@engine/activities/shared/http/http-client';
import { ErrorCodes } from '@engine/shared/contracts';

/** What a provider may use while producing headers. */
export interface AuthContext {
  /** The client making the call; used for token requests so they get the same SSRF checks. */
  client: HttpClient;
  signal?: AbortSignal;
}

/**
 * Supplies credential headers for a request.
 *
 * @example client.request('GET', url, { auth: bearerAuth(token) })
 */
export interface AuthProvider {
  /** Lower-case names of the headers this provider sets; they are treated as credentials. */
  readonly headerNames: readonly string[];
  /** Headers to add to a hop that may carry credentials. */
  headers(ctx: AuthContext): Promise<Record<string, string>>;
  /**
   * Called once per request after a 401 on a hop that carried these headers
   * (`rejected` holds the headers that were sent). Return true when new
   * credentials were obtained and the hop should be retried.
   */
  onUnauthorized?(ctx: AuthContext, rejected: Record<string, string>): Promise<boolean>;
  /** Secret values currently in use, for redaction. */
  secrets(): string[];
}

/** `Authorization: Bearer <token>`. */
export function bearerAuth(token: string): AuthProvider {
  const value = `Bearer ${token}`;
  return {
    headerNames: ['authorization'],
    headers: async () => ({ authorization: value }),
    secrets: () => [token, value],
  };
}

/**
 * An API key in a header, `X-API-Key` unless `headerName` says otherwise.
 *
 * @example apiKeyAuth(key, { headerName: 'X-Shopify-Access-Token' })
 */
export function apiKeyAuth(key: string, options: { headerName?: string; prefix?: string } = {}): AuthProvider {
  const name = (options.headerName ?? 'x-api-key').toLowerCase();
  const value = options.prefix ? `${options.prefix} ${key}` : key;
  return {
    headerNames: [name],
    headers: async () => ({ [name]: value }),
    secrets: () => [key, value],
  };
}

/** `Authorization: Basic base64(username:password)`. */
export function basicAuth(username: string, password: string): AuthProvider {
  const encoded = Buffer.from(`${username}:${password}`, 'utf8').toString('base64');
  const value = `Basic ${encoded}`;
  return {
    headerNames: ['authorization'],
    headers: async () => ({ authorization: value }),
    secrets: () => [password, encoded, value],
  };
}

export interface OAuth2ClientCredentialsOptions {
  /** Token endpoint; must pass the same allow-list checks as any other URL. */
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  scope?: string | readonly string[];
  audience?: string;
  /** How the client authenticates to the token endpoint (RFC 6749 §2.3.1). Default `client_secret_basic`. */
  authMethod?: 'client_secret_basic' | 'client_secret_post';
  /** Extra form parameters for the token request. */
  extraParams?: Record<string, string>;
  /** Refresh this long before the token expires. Default 30 s. */
  expirySkewMs?: number;
  /** Lifetime assumed when the endpoint omits `expires_in`. Default 300 s. */
  defaultExpiresInSec?: number;
  /** Clock, injectable for tests. */
  now?: () => number;
}

/** OAuth2 client-credentials provider; see {@link oauth2ClientCredentials}. */
export class OAuth2ClientCredentials implements AuthProvider {
  readonly headerNames = ['authorization'] as const;
  private token: { value: string; expiresAt: number } | undefined;
  private inflight: Promise<string> | undefined;
  private tokenRequests = 0;

  constructor(private readonly options: OAuth2ClientCredentialsOptions) {}

  /** How many token requests were made; for metrics and tests. */
  get tokenRequestCount(): number {
    return this.tokenRequests;
  }

  async headers(ctx: AuthContext): Promise<Record<string, string>> {
    return { authorization: `Bearer ${await this.accessToken(ctx)}` };
  }

  async onUnauthorized(ctx: AuthContext, rejected: Record<string, string>): Promise<boolean> {
    // The server rejected the cached token (revoked, or clocks disagree): fetch a new one,
    // unless a concurrent request already replaced the token that was rejected.
    if (this.token && rejected.authorization === `Bearer ${this.token.value}`) this.token = undefined;
    await this.accessToken(ctx);
    return true;
  }

  secrets(): string[] {
    return [this.options.clientSecret, ...(this.token ? [this.token.value] : [])];
  }

  /** The cached token while it is valid, else a new one; concurrent callers share one token request. */
  async accessToken(ctx: AuthContext): Promise<string> {
    const now = (this.options.now ?? Date.now)();
    if (this.token && now < this.token.expiresAt) return this.token.value;
    this.inflight ??= this.fetchToken(ctx).finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async fetchToken(ctx: AuthContext): Promise<string> {
    const o = this.options;
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (o.scope) form.set('scope', typeof o.scope === 'string' ? o.scope : o.scope.join(' '));
    if (o.audience) form.set('audience', o.audience);
    for (const [k, v] of Object.entries(o.extraParams ?? {})) form.set(k, v);
    const method = o.authMethod ?? 'client_secret_basic';
    if (method === 'client_secret_post') {
      form.set('client_id', o.clientId);
      form.set('client_secret', o.clientSecret);
    }
    this.tokenRequests++;
    let body: unknown;
    try {
      const res = await ctx.client.request('POST', o.tokenUrl, {
        body: form,
        headers: { accept: 'application/json' },
        // RFC 6749 says to form-encode id and secret before Basic encoding.
        auth: method === 'client_secret_basic' ? basicAuth(encodeURIComponent(o.clientId), encodeURIComponent(o.clientSecret)) : undefined,
        // A token request has no side effect, so retrying it is safe.
        retry: { retryNonIdempotent: true },
        secrets: [o.clientSecret],
        signal: ctx.signal,
      });
      body = res.body;
    } catch (err) {
      if (errorCode(err) === ErrorCodes.HTTP_CLIENT_ERROR) {
        const e = err as StepError;
        throw new StepError(ErrorCodes.OAUTH_TOKEN_ERROR, `token request rejected: ${e.message}`, { details: e.info });
      }
      throw err;
    }
    const payload = (typeof body === 'string' ? safeJson(body) : body) as Record<string, unknown> | undefined;
    const token = payload?.access_token;
    if (typeof token !== 'string' || token === '') {
      throw new StepError(ErrorCodes.OAUTH_TOKEN_ERROR, 'token response has no access_token', {
        details: { tokenUrl: new URL(o.tokenUrl).origin },
      });
    }
    const tokenType = payload?.token_type;
    if (typeof tokenType === 'string' && tokenType.toLowerCase() !== 'bearer') {
      throw new StepError(ErrorCodes.OAUTH_TOKEN_ERROR, `unsupported token_type ${JSON.stringify(tokenType.slice(0, 20))}`);
    }
    const expiresIn = Number(payload?.expires_in);
    const lifetimeMs = (Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : (o.defaultExpiresInSec ?? 300)) * 1000;
    const skew = Math.min(o.expirySkewMs ?? 30_000, lifetimeMs / 2);
    this.token = { value: token, expiresAt: (o.now ?? Date.now)() + lifetimeMs - skew };
    return token;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * OAuth2 client credentials: POSTs `grant_type=client_credentials` to the
 * token endpoint, caches the token until shortly before `expires_in`, and on a
 * 401 fetches a new token and retries once. Keep one provider per
 * (token endpoint, client) for the worker's lifetime so the cache is shared.
 *
 * @example
 * const auth = oauth2ClientCredentials({ tokenUrl, clientId, clientSecret: await resolver.resolve('SUPPLIER_SECRET') });
 * await client.request('GET', 'https://api.supplier.example/products', { auth });
 */
export function oauth2ClientCredentials(options: OAuth2ClientCredentialsOptions): OAuth2ClientCredentials {
  return new OAuth2ClientCredentials(options);
}
