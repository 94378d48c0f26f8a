/**
 * What the shopify and woocommerce adapters share: one request function over
 * the SSRF-safe HttpClient that owns retries (5xx, 429 with Retry-After) and
 * maps what is left into StepErrors that say which platform refused what
 * (401/403: the credentials, never retried), the `Link: <...>; rel="next"`
 * parser, and the optional JSONata field mapping of a connection.
 */
import jsonata from 'jsonata';
import { StepError } from '@engine/activities/shared/errors';
import type { AuthProvider, HttpBody, HttpClient, HttpResponse, RetryPolicy } from '@engine/activities/shared/http';
import { ErrorCodes } from '@engine/shared/contracts';
import { CONNECTOR_DEFAULTS, connectorOptionsFrom, parseBaseUrl, RequestPacer } from '../connector-http';
import type { ConnectionRow, ProbeResult } from './types';
import type { CallOptions as ReadCallOptions } from '../connector-http';

export interface PlatformHttpOptions {
  /** Platform name for messages (`shopify`). */
  platform: string;
  baseUrl: string;
  auth?: AuthProvider;
  /** Query parameters every request carries (query-key auth); their values are credentials. */
  authQuery?: Record<string, string>;
  retry?: Partial<RetryPolicy>;
  timeoutMs?: number;
  requestsPerSecond?: number;
  /** The platform's error text from an error body. */
  errorText: (body: unknown) => string;
}

/** Connection-row settings as request options (the row's credentials are read by each adapter). */
export function rowHttpOptions(row: ConnectionRow): Pick<PlatformHttpOptions, 'baseUrl' | 'retry' | 'timeoutMs' | 'requestsPerSecond'> & { pageSize?: number; maxItems?: number } {
  const o = connectorOptionsFrom({ api_base_url: row.api_base_url, settings: row.settings, credentials: { type: 'none' } });
  return { baseUrl: o.baseUrl, retry: o.retry, timeoutMs: o.timeoutMs, requestsPerSecond: o.requestsPerSecond, pageSize: o.pageSize, maxItems: o.maxItems };
}

export interface CallOpts {
  query?: Record<string, string | number | undefined>;
  body?: HttpBody;
  idempotencyKey?: string;
  signal?: AbortSignal;
  /** Statuses >= 400 returned as responses instead of thrown. */
  accept?: number[];
}

/** One platform's HTTP plumbing. */
export class PlatformHttp {
  readonly baseUrl: string;
  private readonly credentialsHost: string;
  private readonly pacer: RequestPacer | null;
  private readonly secrets: string[];

  constructor(
    private readonly client: Pick<HttpClient, 'request'>,
    private readonly options: PlatformHttpOptions,
  ) {
    ({ baseUrl: this.baseUrl, credentialsHost: this.credentialsHost } = parseBaseUrl(options.baseUrl));
    this.pacer = options.requestsPerSecond ? new RequestPacer(options.requestsPerSecond) : null;
    this.secrets = Object.values(options.authQuery ?? {});
  }

  /** `base + path` with `{name}` segments URL-encoded; an absolute URL (a Link header's) is taken as is. */
  url(path: string, params: Record<string, string | number> = {}): string {
    if (/^https?:\/\//.test(path)) return path;
    return this.baseUrl + path.replace(/\{(\w+)\}/g, (_, k: string) => encodeURIComponent(String(params[k] ?? '')));
  }

  /**
   * One request. The client retries 5xx and 429 (waiting the Retry-After);
   * what is still an error then throws: 401/403 as a non-retryable refusal of
   * the credentials, other 4xx non-retryable, 5xx/429 retryable (Temporal
   * retries the step, after the Retry-After when there was one).
   */
  async request<T = unknown>(method: string, path: string, opts: CallOpts = {}): Promise<HttpResponse<T>> {
    await this.pacer?.wait(opts.signal);
    const url = this.url(path);
    const res = await this.client.request(method, url, {
      query: { ...opts.query, ...this.options.authQuery },
      body: opts.body,
      auth: this.options.auth,
      credentialsHosts: [this.credentialsHost],
      idempotencyKey: opts.idempotencyKey,
      retry: { attempts: CONNECTOR_DEFAULTS.retryAttempts, ...this.options.retry },
      timeoutMs: this.options.timeoutMs ?? CONNECTOR_DEFAULTS.timeoutSeconds * 1000,
      signal: opts.signal,
      throwHttpErrors: false,
      secrets: this.secrets,
    });
    if (res.status < 400 || (opts.accept ?? []).includes(res.status)) return res as HttpResponse<T>;
    const where = `${method} ${url.split('?')[0]}`;
    const text = this.options.errorText(res.body).slice(0, 300);
    if (res.status === 401 || res.status === 403) {
      throw new StepError(ErrorCodes.HTTP_CLIENT_ERROR, `${this.options.platform} refused the credentials (HTTP ${res.status}) on ${where}: ${text}; check the connection's secret`, {
        retryable: false,
        details: { status: res.status, platform: this.options.platform, reason: 'unauthenticated' },
      });
    }
    const client4xx = res.status < 500 && res.status !== 408 && res.status !== 429;
    const retryAfter = Number((Array.isArray(res.headers['retry-after']) ? res.headers['retry-after'][0] : res.headers['retry-after']) ?? NaN);
    throw new StepError(client4xx ? ErrorCodes.HTTP_CLIENT_ERROR : ErrorCodes.HTTP_STATUS, `${this.options.platform}: ${where} responded ${res.status}: ${text}`, {
      retryable: !client4xx,
      details: { status: res.status, platform: this.options.platform },
      nextRetryDelayMs: !client4xx && Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined,
    });
  }
}

/** The `rel="next"` URL of a `Link` header, or null. */
export function linkNext(header: string | string[] | undefined): string | null {
  const text = Array.isArray(header) ? header.join(', ') : header;
  if (!text) return null;
  for (const part of text.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]+)>\s*;(.*)$/.exec(part);
    if (m && /\brel\s*=\s*"?next"?/i.test(m[2])) return m[1];
  }
  return null;
}

/** A header's single value. */
export function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Overlays a connection's field mapping (target field → JSONata over the
 * remote item) on the platform's default mapping of that item.
 */
export async function withFieldMapping<T extends object>(mapping: Record<string, string> | null, remote: unknown, mapped: T): Promise<T> {
  const entries = Object.entries(mapping ?? {});
  if (entries.length === 0) return mapped;
  const out: Record<string, unknown> = { ...(mapped as Record<string, unknown>) };
  for (const [field, expr] of entries) {
    try {
      out[field] = await jsonata(expr).evaluate(remote);
    } catch (err) {
      throw new StepError(ErrorCodes.STEP_CONFIG_INVALID, `field_mapping.${field}: ${(err as { message?: string }).message ?? String(err)}`, { details: { field: `field_mapping.${field}` } });
    }
  }
  return out as T;
}

/** A money string (`"19.99"`) or number as a number; NaN-free. */
export function money(v: unknown): number {
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? Math.round(n * 100) / 100 : 0;
}

/** A number as the two-decimal string Shopify and WooCommerce take for prices. */
export function priceText(v: number): string {
  return v.toFixed(2);
}

/**
 * One cheap authenticated read: reachable / authenticated and a sample, or why not.
 */
export async function probeWith(
  http: PlatformHttp,
  path: string,
  query: Record<string, string | number>,
  opts: ReadCallOptions,
  read: (body: unknown) => Promise<{ ok: boolean; sample?: unknown; reason?: string }>,
): Promise<ProbeResult> {
  try {
    const res = await http.request('GET', path, { query, signal: opts.signal, accept: [404] });
    if (res.status === 404) return { reachable: true, authenticated: true, status: 404, reason: `GET ${path} answered 404: is the endpoint the API root?` };
    const r = await read(res.body);
    // No reason and no sample: reachable, authenticated, and the list is empty.
    return { reachable: true, authenticated: true, status: res.status, sample: r.sample, ...(r.ok ? {} : { reason: r.reason }) };
  } catch (err) {
    const info = (err as { info?: { status?: number } }).info;
    const status = info?.status;
    if (typeof status === 'number') return { reachable: true, authenticated: status === 401 || status === 403 ? false : true, status, reason: (err as Error).message };
    return { reachable: false, authenticated: false, reason: (err as Error).message };
  }
}

