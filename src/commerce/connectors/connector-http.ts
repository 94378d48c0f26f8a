/**
 * What the supplier, marketplace and carrier connectors share: one base URL,
 * credentials from a resolved secret, the SSRF-safe HttpClient with its
 * retries and Retry-After handling, an optional client-side request pace,
 * idempotency keys on writes, and paginated reads through `fetchPaginated`.
 * No database and no Temporal: a connector is a plain HTTP client built from
 * a supplier or marketplace row.
 */
import { StepError } from '@engine/activities/shared/errors';
import { authFromCredentials } from './platforms/auth';
import { type AuthProvider, type HttpBody, type HttpClient, type HttpResponse, type RetryPolicy } from '@engine/activities/shared/http';
import { fetchPaginated, type FetchPaginatedResult } from '@engine/activities/shared/pagination';
import type { ApiCredentials, ConnectorSettings } from '@src/commerce/entities/shared';
import { ErrorCodes } from '@engine/shared/contracts';
import { budgetedClient, type RateBudgets } from './rate-budget';

export const CONNECTOR_DEFAULTS = {
  pageSize: 500,
  maxItems: 1_000_000,
  timeoutSeconds: 30,
  retryAttempts: 5,
} as const;

/** How to reach one API: from a supplier/marketplace row (see {@link connectorOptionsFrom}) or given directly. */
export interface ConnectorOptions {
  /** e.g. `http://127.0.0.1:4010/marketplace/v1` (no trailing slash needed). */
  baseUrl: string;
  /** Credentials, already resolved from their secret. */
  auth?: AuthProvider;
  pageSize?: number;
  maxItems?: number;
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  /** Client-side pace of this process only; the server's 429 + Retry-After is honoured either way. */
  requestsPerSecond?: number;
  /**
   * The connection's shared rate budget (rate-budget.ts): every attempt of
   * every request acquires from it, and a 429 Retry-After holds back every
   * caller of the connection, in every run and worker.
   */
  budget?: { budgets: RateBudgets; key: string };
}

/** Per call: cancellation and progress. */
export interface CallOptions {
  signal?: AbortSignal;
  /** Called after every page of a paginated read. */
  heartbeat?: (details: unknown) => void;
}

export interface WriteOptions extends CallOptions {
  /** Sent as `Idempotency-Key`; makes a retried POST safe. */
  idempotencyKey?: string;
}

/**
 * A connection's base URL without its trailing slashes, and the `host:port`
 * its credentials may be sent to; fails for good naming `api_base_url` when it
 * is not an http(s) URL.
 */
export function parseBaseUrl(baseUrl: string): { baseUrl: string; credentialsHost: string } {
  let parsed: URL;
  try {
    parsed = new URL(baseUrl);
  } catch {
    throw new StepError(ErrorCodes.STEP_CONFIG_INVALID, `api_base_url ${JSON.stringify(baseUrl.slice(0, 200))} is not a URL`, { details: { field: 'api_base_url' } });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new StepError(ErrorCodes.STEP_CONFIG_INVALID, 'api_base_url must be an http(s) URL', { details: { field: 'api_base_url' } });
  }
  return { baseUrl: baseUrl.replace(/\/+$/, ''), credentialsHost: `${parsed.hostname}:${parsed.port || (parsed.protocol === 'https:' ? 443 : 80)}` };
}

/** A row's credentials and settings as connector options. `secretValue` is the resolved value of `credentials.secret`. */
export function connectorOptionsFrom(row: { api_base_url: string; credentials?: ApiCredentials | null; settings?: ConnectorSettings | null }, secretValue?: string | null): ConnectorOptions {
  const settings = row.settings ?? {};
  const auth = authFromCredentials(row.credentials, secretValue);
  const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : undefined);
  return {
    baseUrl: row.api_base_url,
    auth,
    pageSize: num(settings.page_size),
    maxItems: num(settings.max_items),
    timeoutMs: num(settings.timeout_seconds) !== undefined ? num(settings.timeout_seconds)! * 1000 : undefined,
    retry: num(settings.retry_attempts) !== undefined ? { attempts: Math.min(10, Math.floor(num(settings.retry_attempts)!)) } : undefined,
    requestsPerSecond: num(settings.requests_per_second),
  };
}

/**
 * Spaces requests at most `rate` per second (a token bucket of one). Shared by
 * every call of one connector, including concurrent ones.
 */
export class RequestPacer {
  private next = 0;
  constructor(private readonly rate: number) {}

  async wait(signal?: AbortSignal): Promise<void> {
    const interval = 1000 / this.rate;
    const now = Date.now();
    const at = Math.max(now, this.next);
    this.next = at + interval;
    if (at > now) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, at - now);
        signal?.addEventListener(
          'abort',
          () => {
            clearTimeout(timer);
            reject(new StepError(ErrorCodes.HTTP_ABORTED, 'the call was cancelled'));
          },
          { once: true },
        );
      });
    }
  }
}

/** The HTTP plumbing of one connector. */
export class ConnectorHttp {
  readonly baseUrl: string;
  private readonly pacer: RequestPacer | null;
  private readonly retry: Partial<RetryPolicy>;
  private readonly credentialsHost: string;

  private readonly client: Pick<HttpClient, 'request'>;

  constructor(
    client: Pick<HttpClient, 'request'>,
    readonly options: ConnectorOptions,
  ) {
    this.client = options.budget ? budgetedClient(client, options.budget.budgets, options.budget.key) : client;
    ({ baseUrl: this.baseUrl, credentialsHost: this.credentialsHost } = parseBaseUrl(options.baseUrl));
    this.pacer = options.requestsPerSecond ? new RequestPacer(options.requestsPerSecond) : null;
    this.retry = { attempts: CONNECTOR_DEFAULTS.retryAttempts, ...options.retry };
  }

  /** `base + path`, with each `{name}` segment value URL-encoded. */
  url(path: string, params: Record<string, string> = {}): string {
    return this.baseUrl + path.replace(/\{(\w+)\}/g, (_, k: string) => encodeURIComponent(params[k] ?? ''));
  }

  /**
   * One request. Statuses listed in `accept` come back as responses; any
   * other status >= 400 throws the client's StepError (4xx: not retryable).
   */
  async request<T = unknown>(
    method: string,
    url: string,
    opts: { query?: Record<string, string | number | undefined>; body?: HttpBody; idempotencyKey?: string; signal?: AbortSignal; accept?: number[]; responseType?: 'auto' | 'stream'; maxResponseBytes?: number } = {},
  ): Promise<HttpResponse<T>> {
    await this.pacer?.wait(opts.signal);
    const res = await this.client.request(method, url, {
      query: opts.query,
      body: opts.body,
      auth: this.options.auth,
      credentialsHosts: [this.credentialsHost],
      idempotencyKey: opts.idempotencyKey,
      retry: this.retry,
      timeoutMs: this.options.timeoutMs ?? CONNECTOR_DEFAULTS.timeoutSeconds * 1000,
      signal: opts.signal,
      responseType: opts.responseType,
      maxResponseBytes: opts.maxResponseBytes,
      throwHttpErrors: !(opts.accept ?? []).some((s) => s >= 400),
    });
    if (res.status >= 400 && !(opts.accept ?? []).includes(res.status)) {
      const client4xx = res.status < 500 && res.status !== 408 && res.status !== 429;
      throw new StepError(client4xx ? 'HTTP_CLIENT_ERROR' : 'HTTP_STATUS', `${method} ${url.split('?')[0]} responded ${res.status}: ${apiErrorMessage(res.body)}`, {
        retryable: !client4xx,
        details: { status: res.status, code: apiErrorCode(res.body) },
      });
    }
    return res as HttpResponse<T>;
  }

  /** Every item of a cursor-paginated list (`?limit=&cursor=` → `{items, next_cursor}`), as the sandbox and most JSON APIs page. */
  async list(path: string, query: Record<string, string>, opts: CallOptions & { maxItems?: number } = {}): Promise<FetchPaginatedResult> {
    const pacer = this.pacer;
    const client: Pick<HttpClient, 'request'> = pacer
      ? { request: async (method, url, o) => (await pacer.wait(opts.signal), this.client.request(method, url, o)) }
      : this.client;
    return fetchPaginated(
      client,
      {
        url: this.url(path),
        query,
        auth: this.options.auth,
        credentialsHosts: [this.credentialsHost],
        timeoutMs: this.options.timeoutMs ?? CONNECTOR_DEFAULTS.timeoutSeconds * 1000,
        retry: this.retry,
        pagination: {
          type: 'cursor',
          cursor_param: 'cursor',
          cursor_path: 'next_cursor',
          size_param: 'limit',
          items_path: 'items',
          page_size: this.options.pageSize ?? CONNECTOR_DEFAULTS.pageSize,
          max_items: opts.maxItems ?? this.options.maxItems ?? CONNECTOR_DEFAULTS.maxItems,
          max_pages: 10_000,
        },
      },
      { signal: opts.signal, heartbeat: opts.heartbeat },
    );
  }
}

/** `error.code` of a JSON error body (`{ "error": { "code", "message" } }`), if any. */
export function apiErrorCode(body: unknown): string | null {
  const e = (body as { error?: { code?: unknown } } | null)?.error;
  return typeof e?.code === 'string' ? e.code : null;
}

function apiErrorMessage(body: unknown): string {
  const e = (body as { error?: { message?: unknown } } | null)?.error;
  if (typeof e?.message === 'string') return e.message.slice(0, 300);
  return typeof body === 'string' ? body.slice(0, 200) : 'error';
}
