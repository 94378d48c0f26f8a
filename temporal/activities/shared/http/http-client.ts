/**
 * The outbound HTTP client every step executor uses (`node:http`/`node:https`).
 *
 * SSRF: each hop's host is normalised with the WHATWG URL parser, resolved
 * once, and refused when any address is loopback, private, link-local,
 * metadata, reserved, ... unless the host is allow-listed. The socket then
 * connects through a `lookup` pinned to exactly those checked addresses, so a
 * second DNS answer cannot swap in another address (DNS rebinding); Host and
 * SNI stay the original name. The connected peer address is checked again.
 *
 * Errors are `StepError`s with a string `code` and `retryable`.
 */
import { untilAborted } from '@engine/activities/shared/abort';
import http from 'node:http';
import https from 'node:https';
import dns from 'node:dns';
import net from 'node:net';
import zlib from 'node:zlib';
import { PassThrough, Transform, type Readable } from 'node:stream';
import { StepError, errorCode, isRetryable } from '@engine/activities/shared/errors';
import { redactString } from '@engine/activities/shared/secrets';
import { classifyAddress, normalizeHost, type AddressClassification } from '@engine/activities/shared/http/address';
import { effectivePort, hostMatches, parseHostList, type HostPattern } from '@engine/activities/shared/http/host-list';
import { DEFAULT_RETRY_POLICY, backoffDelay, parseRetryAfter, type RetryPolicy } from '@engine/activities/shared/http/retry';
import type { AuthProvider } from '@engine/activities/shared/http/auth';
import { ErrorCodes } from '@engine/shared/contracts';

/** One resolved address. */
export interface LookupAddress {
  address: string;
  family?: number;
}

/** Resolves a host name to all its addresses. Injectable so tests can stub DNS answers. */
export type HostLookup = (hostname: string) => Promise<readonly LookupAddress[]>;

/** Minimal logger shape; Temporal's activity logger fits. Never receives header values or bodies. */
export interface HttpLogger {
  warn(message: string, meta?: Record<string, unknown>): void;
}

export interface HttpClientOptions {
  /**
   * Hosts that may resolve to non-public addresses (`HTTP_ALLOW_HOSTS`):
   * `host`, `host:port`, `[v6]:port`, `*.domain`, or a comma/space separated string.
   */
  allowHosts?: string | readonly string[];
  /** DNS resolution; default `dns.promises.lookup(host, { all: true })`. */
  lookup?: HostLookup;
  /** Per-attempt timeout covering DNS, connect, and the whole response body. Default 30 s. */
  timeoutMs?: number;
  /** Default 5. */
  maxRedirects?: number;
  /** Limit on the (decompressed) response body. Default 50 MiB. */
  maxResponseBytes?: number;
  retry?: Partial<RetryPolicy>;
  /** Sent with every request (not credentials: use `auth` or request headers for those). */
  headers?: Record<string, string>;
  logger?: HttpLogger;
  /**
   * Sockets open at once to one host (default DEFAULT_MAX_SOCKETS_PER_HOST).
   * Workers size it to their work (config `worker.httpMaxSocketsPerHost`).
   */
  maxSocketsPerHost?: number;
}

/** Sockets per host of a client created without `maxSocketsPerHost`. */
export const DEFAULT_MAX_SOCKETS_PER_HOST = 256;

/** A request body: objects and arrays become JSON; strings, bytes and forms are sent as they are. */
export type HttpBody = string | Buffer | Uint8Array | ArrayBuffer | URLSearchParams | Record<string, unknown> | readonly unknown[] | number | boolean | null;

export interface HttpRequestOptions {
  headers?: Record<string, string | undefined>;
  body?: HttpBody;
  /** Appended to the URL's query string; undefined and null values are skipped. */
  query?: Record<string, string | number | boolean | null | undefined>;
  timeoutMs?: number;
  maxRedirects?: number;
  /** Return 3xx responses instead of following them. */
  followRedirects?: boolean;
  maxResponseBytes?: number;
  signal?: AbortSignal;
  /**
   * Hosts (allow-list syntax) the credentials are configured for. Without it
   * credentials go only to the origin of the first URL. Either way they are
   * stripped from any hop outside, and never sent from https down to http.
   */
  credentialsHosts?: readonly string[];
  /** More header names to treat as credentials, besides Authorization, Proxy-Authorization, X-API-Key and Cookie. */
  credentialHeaders?: readonly string[];
  auth?: AuthProvider;
  /** Sent as `Idempotency-Key`; also makes POST/PATCH safe to retry. */
  idempotencyKey?: string;
  retry?: Partial<RetryPolicy>;
  /**
   * `auto` (default) parses JSON content types and decodes the rest as text.
   * `stream`: a 2xx body comes back as a `Readable` of (decompressed) bytes,
   * not read into memory; the caller must consume or destroy it. `timeoutMs`
   * then covers DNS, connect and the response head, and afterwards every gap
   * between two chunks; `maxResponseBytes` applies only when given. Other
   * statuses are read and handled (retries, errors) as usual.
   */
  responseType?: 'auto' | 'text' | 'buffer' | 'stream';
  /** Throw for status >= 400 (default true); false returns the response. */
  throwHttpErrors?: boolean;
  /** Further values to scrub from error messages (resolved secrets used in the URL or body). */
  secrets?: readonly string[];
  /**
   * Admission of each attempt (retries included), e.g. a connection's shared
   * rate budget: `enter` resolves once the attempt may be sent, with a release
   * called when its exchange ends; `penalise` hears a 429/503's Retry-After.
   */
  gate?: RequestGate;
}

/** What {@link HttpRequestOptions.gate} implements (see src/commerce/connectors/rate-budget.ts). */
export interface RequestGate {
  /** Waits until one attempt may go (rejecting when `signal` aborts); the attempt calls the returned release when done. `holdMs` bounds how long it may take. */
  enter(signal: AbortSignal | undefined, holdMs: number): Promise<() => void>;
  /** The remote answered 429 (or 503) with `Retry-After`: hold everyone back for `retryAfterMs`. */
  penalise(retryAfterMs: number): Promise<void>;
}

export interface HttpResponse<T = unknown> {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Parsed JSON for JSON content types, else text (or a Buffer with `responseType: 'buffer'`). */
  body: T;
  /** The final URL after redirects. */
  url: string;
  /** Attempts made, including retries. */
  attempts: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_REDIRECTS = 5;
const DEFAULT_MAX_RESPONSE_BYTES = 50 * 1024 * 1024;
/** Error and redirect bodies are only needed for an excerpt. */
const ERROR_BODY_BYTES = 64 * 1024;
const EXCERPT_CHARS = 200;
const DEFAULT_CREDENTIAL_HEADERS = ['authorization', 'proxy-authorization', 'x-api-key', 'cookie'];
/** Set by the client itself; a caller-supplied Host could route an allow-listed name elsewhere. */
const CONTROLLED_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'te', 'trailer']);
const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Distinct `credentialsHosts` lists a client keeps parsed (cleared when full). */
const CREDENTIAL_PATTERN_CACHE_SIZE = 256;
const TLS_ERROR = /^(CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|ERR_TLS_|ERR_SSL_|HOSTNAME_MISMATCH)/;

const defaultLookup: HostLookup = (hostname) => dns.promises.lookup(hostname, { all: true });

function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status !== 501 && status !== 505);
}

interface ResolvedTarget {
  hostname: string;
  ip: string | null;
  port: number;
  addresses: { address: string; family: 4 | 6 }[];
  allowListed: boolean;
}

interface RawResponse {
  status: number;
  statusText: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** Set instead of reading `body` for a 2xx answer to a `responseType: 'stream'` request. */
  stream?: Readable;
}

interface ExchangeContext {
  timeoutMs: number;
  maxBytes: number;
  signal?: AbortSignal;
  secrets: Set<string>;
  /** Which responses need only an excerpt of their body. */
  excerptOnly: (status: number) => boolean;
  /** Set once a connection exists, i.e. once the request may have reached the server. */
  state: { sent: boolean };
  /** Hand a 2xx body over as a stream instead of reading it. */
  stream?: boolean;
  /** Limit of a streamed body, when the caller set one. */
  streamMaxBytes?: number;
}

/**
 * SSRF-safe HTTP client with retries, redirects, size limits and credential
 * scoping. Create one per worker (it pools connections) and call `close()` on
 * shutdown.
 *
 * @example
 * const client = new HttpClient({ allowHosts: config.httpAllowHosts });
 * const res = await client.request('POST', 'https://api.example.com/orders', {
 *   body: { sku: 'A1' }, auth: bearerAuth(token), idempotencyKey: `${workflowId}:${stepKey}`,
 * });
 */
export class HttpClient {
  private readonly allow: HostPattern[];
  private readonly lookup: HostLookup;
  private readonly timeoutMs: number;
  private readonly maxRedirects: number;
  private readonly maxResponseBytes: number;
  private readonly retryPolicy: RetryPolicy;
  private readonly defaultHeaders: Record<string, string>;
  private readonly logger?: HttpLogger;
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;
  /** Parsed `credentialsHosts` lists: a per-item step passes the same list with each of its requests. */
  private readonly credentialPatterns = new Map<string, HostPattern[]>();

  constructor(options: HttpClientOptions = {}) {
    this.allow = parseHostList(options.allowHosts);
    this.lookup = options.lookup ?? defaultLookup;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxRedirects = options.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
    this.maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.retryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.defaultHeaders = {
      'user-agent': 'merchflow/0.1',
      accept: 'application/json, text/plain;q=0.9, */*;q=0.8',
      'accept-encoding': 'gzip, deflate, br',
      ...lowerKeys(options.headers ?? {}),
    };
    this.logger = options.logger;
    // Per host; idle keep-alive sockets are kept up to the same number, so a busy step does not reconnect each request.
    const maxSockets = options.maxSocketsPerHost ?? DEFAULT_MAX_SOCKETS_PER_HOST;
    this.httpAgent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
    this.httpsAgent = new https.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  }

  /** Sockets this client opens at most to one host. */
  get maxSocketsPerHost(): number {
    return this.httpAgent.maxSockets;
  }

  /** Closes pooled connections. */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  get<T = unknown>(url: string | URL, options?: HttpRequestOptions): Promise<HttpResponse<T>> {
    return this.request<T>('GET', url, options);
  }

  post<T = unknown>(url: string | URL, body?: HttpBody, options?: HttpRequestOptions): Promise<HttpResponse<T>> {
    return this.request<T>('POST', url, { ...options, body });
  }

  put<T = unknown>(url: string | URL, body?: HttpBody, options?: HttpRequestOptions): Promise<HttpResponse<T>> {
    return this.request<T>('PUT', url, { ...options, body });
  }

  patch<T = unknown>(url: string | URL, body?: HttpBody, options?: HttpRequestOptions): Promise<HttpResponse<T>> {
    return this.request<T>('PATCH', url, { ...options, body });
  }

  delete<T = unknown>(url: string | URL, options?: HttpRequestOptions): Promise<HttpResponse<T>> {
    return this.request<T>('DELETE', url, options);
  }

  /**
   * Whether `url`'s host may be called, resolving it like a real request
   * would (without connecting). Throws `SSRF_BLOCKED`, `INVALID_URL`,
   * `UNSUPPORTED_SCHEME` or `DNS_LOOKUP_FAILED`; useful for validating
   * configuration early.
   */
  async checkUrl(url: string | URL): Promise<{ hostname: string; port: number; addresses: string[]; allowListed: boolean }> {
    const target = await this.resolveTarget(parseRequestUrl(url));
    return { hostname: target.hostname, port: target.port, addresses: target.addresses.map((a) => a.address), allowListed: target.allowListed };
  }

  /**
   * Sends a request, following redirects and retrying transient failures.
   * Resolves with the final response; rejects with a `StepError`.
   */
  async request<T = unknown>(method: string, url: string | URL, options: HttpRequestOptions = {}): Promise<HttpResponse<T>> {
    let verb = method.toUpperCase();
    if (!/^[A-Z]+$/.test(verb)) throw new StepError(ErrorCodes.INVALID_REQUEST, `invalid HTTP method ${JSON.stringify(method)}`);
    const start = parseRequestUrl(url, options.query);
    const policy: RetryPolicy = { ...this.retryPolicy, ...options.retry };
    const maxRedirects = options.maxRedirects ?? this.maxRedirects;
    const followRedirects = options.followRedirects ?? true;
    const throwHttpErrors = options.throwHttpErrors ?? true;
    const credentialNames = new Set([
      ...DEFAULT_CREDENTIAL_HEADERS,
      ...(options.credentialHeaders ?? []).map((h) => h.toLowerCase()),
      ...(options.auth?.headerNames ?? []).map((h) => h.toLowerCase()),
    ]);
    const credentialPatterns = options.credentialsHosts ? this.credentialPatternsOf(options.credentialsHosts) : undefined;

    const plain: Record<string, string> = {};
    const credentials: Record<string, string> = {};
    for (const [name, value] of Object.entries(lowerKeys(options.headers ?? {}))) {
      if (value === undefined || CONTROLLED_HEADERS.has(name)) continue;
      (credentialNames.has(name) ? credentials : plain)[name] = String(value);
    }
    if (options.idempotencyKey !== undefined) plain['idempotency-key'] = options.idempotencyKey;
    const hasIdempotencyKey = plain['idempotency-key'] !== undefined;
    const secrets = new Set<string>([...Object.values(credentials), ...(options.secrets ?? [])]);

    let body: Buffer | undefined;
    {
      const encoded = encodeBody(options.body);
      body = encoded?.bytes;
      if (encoded && plain['content-type'] === undefined) plain['content-type'] = encoded.contentType;
    }

    let current = start;
    let retries = 0;
    let redirects = 0;
    let attempts = 0;
    let reauthenticated = false;
    const responseType = options.responseType ?? 'auto';

    for (;;) {
      throwIfAborted(options.signal);
      const sendCredentials = credentialsAllowed(start, current, credentialPatterns);
      const headers: Record<string, string> = { ...this.defaultHeaders, ...plain };
      let authHeaders: Record<string, string> = {};
      if (sendCredentials) {
        Object.assign(headers, credentials);
        if (options.auth) {
          authHeaders = lowerKeys(await options.auth.headers({ client: this, signal: options.signal }));
          Object.assign(headers, authHeaders);
        }
      }
      for (const s of options.auth?.secrets() ?? []) secrets.add(s);
      if (body) headers['content-length'] = String(body.length);

      attempts++;
      const state = { sent: false };
      const mayRepeat = IDEMPOTENT_METHODS.has(verb) || hasIdempotencyKey || policy.retryNonIdempotent;
      let raw: RawResponse;
      const attemptTimeoutMs = options.timeoutMs ?? this.timeoutMs;
      const release = options.gate ? await options.gate.enter(options.signal, attemptTimeoutMs) : undefined;
      try {
        raw = await this.exchange(current, verb, headers, body, {
          timeoutMs: attemptTimeoutMs,
          maxBytes: options.maxResponseBytes ?? this.maxResponseBytes,
          signal: options.signal,
          secrets,
          state,
          stream: responseType === 'stream',
          streamMaxBytes: options.maxResponseBytes,
          excerptOnly: (status) =>
            status >= 400 ? throwHttpErrors : status >= 300 && followRedirects && REDIRECT_STATUSES.has(status),
        });
      } catch (err) {
        release?.();
        // A request that never reached a server is safe to repeat whatever its method.
        if (isRetryable(err) && retries + 1 < policy.attempts && (mayRepeat || !state.sent)) {
          const delay = backoffDelay(policy, retries);
          this.logRetry(verb, current, attempts, delay, errorCode(err) ?? 'error', secrets);
          await sleep(delay, options.signal);
          retries++;
          continue;
        }
        throw err;
      }
      release?.();

      const location = raw.headers.location;
      if (followRedirects && REDIRECT_STATUSES.has(raw.status) && typeof location === 'string') {
        if (++redirects > maxRedirects) {
          throw new StepError(ErrorCodes.TOO_MANY_REDIRECTS, `${verb} ${safeUrl(start, secrets)}: more than ${maxRedirects} redirects`, {
            details: { url: safeUrl(start, secrets), maxRedirects },
          });
        }
        const next = parseRedirectUrl(location, current, secrets);
        if ((raw.status === 307 || raw.status === 308) && body !== undefined && next.origin !== current.origin) {
          // 307/308 ask to repeat the request, body included: never hand a body to another origin.
          throw new StepError(ErrorCodes.REDIRECT_REFUSED, `${verb} ${safeUrl(current, secrets)}: refusing to re-send the body to ${safeUrl(next, secrets)} (${raw.status})`, {
            details: { status: raw.status },
          });
        }
        current = next;
        if (raw.status === 303 ? verb !== 'HEAD' : (raw.status === 301 || raw.status === 302) && verb === 'POST') {
          // Browsers' (and RFC 9110's) behaviour: the follow-up is a GET without the body.
          verb = 'GET';
          body = undefined;
          delete plain['content-type'];
        }
        continue;
      }

      if (raw.status === 401 && sendCredentials && options.auth?.onUnauthorized && !reauthenticated) {
        reauthenticated = true;
        if (await options.auth.onUnauthorized({ client: this, signal: options.signal }, authHeaders)) continue;
      }

      if (isRetryableStatus(raw.status)) {
        const retryAfterMs = parseRetryAfter(raw.headers['retry-after']);
        // The remote's own limit: everyone sharing the gate backs off, not just this request.
        if (options.gate && retryAfterMs !== undefined && (raw.status === 429 || raw.status === 503)) await options.gate.penalise(retryAfterMs);
        // 429 means the server refused the request, so even a POST is safe to repeat.
        const canRepeat = retries + 1 < policy.attempts && (mayRepeat || raw.status === 429);
        if (canRepeat && (retryAfterMs === undefined || retryAfterMs <= policy.maxRetryAfterMs)) {
          const delay = Math.max(backoffDelay(policy, retries), retryAfterMs ?? 0);
          this.logRetry(verb, current, attempts, delay, `status ${raw.status}`, secrets);
          await sleep(delay, options.signal);
          retries++;
          continue;
        }
        if (throwHttpErrors) throw statusError(verb, current, raw, attempts, secrets, retryAfterMs);
      }
      if (raw.status >= 400 && throwHttpErrors) throw statusError(verb, current, raw, attempts, secrets);

      if (raw.stream) {
        return {
          status: raw.status,
          headers: raw.headers,
          body: watchStream(raw.stream, options.timeoutMs ?? this.timeoutMs, options.signal, verb, current, secrets) as T,
          url: current.href,
          attempts,
        };
      }
      return {
        status: raw.status,
        headers: raw.headers,
        body: decodeBody(raw, responseType, verb, current, secrets) as T,
        url: current.href,
        attempts,
      };
    }
  }

  private logRetry(method: string, url: URL, attempt: number, delayMs: number, reason: string, secrets: Set<string>): void {
    this.logger?.warn('retrying HTTP request', { method, url: safeUrl(url, secrets), attempt, delayMs, reason });
  }

  private credentialPatternsOf(hosts: readonly string[]): HostPattern[] {
    const key = hosts.join('\n');
    let patterns = this.credentialPatterns.get(key);
    if (!patterns) {
      patterns = parseHostList(hosts);
      if (this.credentialPatterns.size >= CREDENTIAL_PATTERN_CACHE_SIZE) this.credentialPatterns.clear();
      this.credentialPatterns.set(key, patterns);
    }
    return patterns;
  }

  /**
   * The target of a hop whose host is an IP literal (nothing to resolve), or
   * null for a host name. Applies the SSRF policy like {@link resolveTarget}.
   */
  private literalTarget(url: URL): ResolvedTarget | null {
    const { hostname, ip } = normalizeHost(url.hostname);
    if (!ip) return null;
    return this.checkedTarget(hostname, ip, effectivePort(url), [{ address: ip, family: net.isIP(ip) as 4 | 6 }]);
  }

  /** Resolves the hop's host and applies the SSRF policy to every address. */
  private async resolveTarget(url: URL): Promise<ResolvedTarget> {
    const literal = this.literalTarget(url);
    if (literal) return literal;
    const { hostname } = normalizeHost(url.hostname);
    const port = effectivePort(url);
    let answer: readonly LookupAddress[];
    try {
      answer = await this.lookup(hostname);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException)?.code ?? 'error';
      throw new StepError(ErrorCodes.DNS_LOOKUP_FAILED, `could not resolve ${hostname}: ${code}`, {
        retryable: true,
        details: { host: hostname, reason: code },
      });
    }
    const addresses: ResolvedTarget['addresses'] = answer.map((a) => {
      const family = net.isIP(a.address.split('%')[0]);
      if (!family) {
        throw new StepError(ErrorCodes.SSRF_BLOCKED, `refusing ${hostname}: resolver returned a non-address ${JSON.stringify(a.address)}`, {
          details: { host: hostname },
        });
      }
      return { address: a.address, family: family as 4 | 6 };
    });
    if (addresses.length === 0) {
      throw new StepError(ErrorCodes.DNS_LOOKUP_FAILED, `could not resolve ${hostname}: no addresses`, { retryable: true, details: { host: hostname } });
    }
    return this.checkedTarget(hostname, null, port, addresses);
  }

  /** A hop's target once its addresses are known: refused when any is not public, unless the host is allow-listed. */
  private checkedTarget(hostname: string, ip: string | null, port: number, addresses: ResolvedTarget['addresses']): ResolvedTarget {
    const allowListed = hostMatches(this.allow, hostname, port);
    if (!allowListed) {
      for (const a of addresses) {
        const c = classifyAddress(a.address);
        if (c.blocked) throw ssrfBlocked(hostname, port, c);
      }
    }
    return { hostname, ip, port, addresses, allowListed };
  }

  /** One HTTP exchange (no redirects, no retries) under a per-attempt timeout. */
  private async exchange(url: URL, method: string, headers: Record<string, string>, body: Buffer | undefined, ctx: ExchangeContext): Promise<RawResponse> {
    const attempt = new AbortController();
    const timer = setTimeout(() => {
      attempt.abort(
        new StepError(ErrorCodes.HTTP_TIMEOUT, `${method} ${safeUrl(url, ctx.secrets)} timed out after ${ctx.timeoutMs} ms`, {
          retryable: true,
          details: { url: safeUrl(url, ctx.secrets), timeoutMs: ctx.timeoutMs },
        }),
      );
    }, ctx.timeoutMs);
    const onAbort = () => attempt.abort(abortedError(method, url, ctx.secrets));
    if (ctx.signal?.aborted) onAbort();
    else ctx.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      // An IP literal needs no lookup: no promise to race against the abort.
      if (attempt.signal.aborted) throw attempt.signal.reason;
      const target = this.literalTarget(url) ?? (await untilAborted(this.resolveTarget(url), attempt.signal));
      return await this.send(url, target, method, headers, body, attempt.signal, ctx);
    } finally {
      clearTimeout(timer);
      ctx.signal?.removeEventListener('abort', onAbort);
    }
  }

  private send(
    url: URL,
    target: ResolvedTarget,
    method: string,
    headers: Record<string, string>,
    body: Buffer | undefined,
    signal: AbortSignal,
    ctx: ExchangeContext,
  ): Promise<RawResponse> {
    return new Promise<RawResponse>((resolve, reject) => {
      const isHttps = url.protocol === 'https:';
      let settled = false;
      const finish = (err: unknown, value?: RawResponse) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        if (err) {
          req?.destroy();
          reject(signal.aborted ? signal.reason : toStepError(err, method, url, ctx.secrets));
        } else resolve(value!);
      };
      const onAbort = () => {
        req?.destroy();
        finish(signal.reason);
      };

      let req: http.ClientRequest | undefined;
      const options: https.RequestOptions = {
        method,
        hostname: target.hostname,
        port: target.port,
        path: `${url.pathname}${url.search}`,
        headers,
        agent: isHttps ? this.httpsAgent : this.httpAgent,
        // IP literals are connected to directly; names only ever reach the addresses checked above.
        ...(target.ip ? {} : { lookup: pinnedLookup(target.addresses) }),
        ...(isHttps && !target.ip ? { servername: target.hostname } : {}),
      };
      try {
        req = (isHttps ? https : http).request(options);
      } catch (err) {
        finish(new StepError(ErrorCodes.INVALID_REQUEST, `invalid request: ${(err as Error).message}`, { cause: err as Error }));
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });

      req.on('socket', (socket: net.Socket) => {
        // Belt and braces: judge the peer the socket actually reached.
        const verifyPeer = () => {
          ctx.state.sent = true;
          if (target.allowListed) return;
          const remote = socket.remoteAddress;
          const c = remote ? classifyAddress(remote) : undefined;
          if (!c || c.blocked) finish(ssrfBlocked(target.hostname, target.port, c));
        };
        if (socket.connecting) socket.once('connect', verifyPeer);
        else verifyPeer();
      });
      req.on('error', (err) => finish(err));
      req.on('response', (res) => {
        const status = res.statusCode ?? 0;
        if (ctx.stream && status >= 200 && status < 300 && method !== 'HEAD') {
          let stream: Readable;
          try {
            stream = decompress(res, method, url, ctx.secrets);
          } catch (err) {
            finish(err);
            return;
          }
          if (ctx.streamMaxBytes !== undefined) stream = limitBytes(stream, ctx.streamMaxBytes, method, url, ctx.secrets);
          finish(undefined, { status, statusText: res.statusMessage ?? '', headers: res.headers, body: Buffer.alloc(0), stream });
          return;
        }
        const excerpt = ctx.excerptOnly(status);
        readBody(res, excerpt ? Math.min(ERROR_BODY_BYTES, ctx.maxBytes) : ctx.maxBytes, excerpt, method, url, ctx.secrets).then(
          (bytes) => finish(undefined, { status, statusText: res.statusMessage ?? '', headers: res.headers, body: bytes }),
          (err) => finish(err),
        );
      });
      req.end(body);
    });
  }
}

/** A `lookup` for `net.connect` that only ever answers with the pre-checked addresses. */
function pinnedLookup(addresses: readonly { address: string; family: 4 | 6 }[]): net.LookupFunction {
  return (_hostname, options, callback) => {
    const family = typeof options === 'number' ? options : options?.family;
    const wanted = family === 4 || family === 6 || family === 'IPv4' || family === 'IPv6' ? (family === 'IPv4' ? 4 : family === 'IPv6' ? 6 : family) : 0;
    const list = wanted ? addresses.filter((a) => a.family === wanted) : addresses;
    if (list.length === 0) {
      const err = Object.assign(new Error('no pinned address for the requested family'), { code: 'ENOTFOUND' });
      callback(err, '', 0);
      return;
    }
    if (typeof options === 'object' && options?.all) callback(null, list.map((a) => ({ address: a.address, family: a.family })));
    else callback(null, list[0].address, list[0].family);
  };
}

async function readBody(
  res: http.IncomingMessage,
  limit: number,
  truncate: boolean,
  method: string,
  url: URL,
  secrets: Set<string>,
): Promise<Buffer> {
  const tooLarge = (size: number | string) =>
    new StepError(ErrorCodes.RESPONSE_TOO_LARGE, `${method} ${safeUrl(url, secrets)}: response body exceeds ${limit} bytes`, {
      details: { url: safeUrl(url, secrets), limit, size },
    });
  const declared = Number(res.headers['content-length']);
  if (!truncate && Number.isFinite(declared) && declared > limit) {
    res.destroy();
    throw tooLarge(declared);
  }
  if (method === 'HEAD') {
    res.resume();
    return Buffer.alloc(0);
  }
  const stream = decompress(res, method, url, secrets);
  // Listeners rather than `for await`: an async iterator costs a few promises per chunk, on every response.
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (err: unknown, bytes?: Buffer) => {
      if (settled) return;
      settled = true;
      stream.off('data', onData);
      if (err) reject(err);
      else resolve(bytes!);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        if (truncate) chunks.push(chunk.subarray(0, chunk.length - (size - limit)));
        settle(truncate ? undefined : tooLarge(`>${limit}`), truncate ? Buffer.concat(chunks) : undefined);
        stream.destroy();
        res.destroy();
        return;
      }
      chunks.push(chunk);
    };
    stream.on('data', onData);
    stream.once('end', () => settle(undefined, Buffer.concat(chunks)));
    stream.once('error', (err) => settle(err));
    // Closed without its end (the socket went away): as the async iterator reported it.
    stream.once('close', () => settle(Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' })));
  });
}

/** Limits apply to the decompressed size, so a small gzip bomb is caught too. */
function decompress(res: http.IncomingMessage, method: string, url: URL, secrets: Set<string>): Readable {
  const encoding = String(res.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  let decoder: zlib.Gunzip | zlib.Inflate | zlib.BrotliDecompress;
  switch (encoding) {
    case '':
    case 'identity':
      return res;
    case 'gzip':
    case 'x-gzip':
      decoder = zlib.createGunzip();
      break;
    case 'deflate':
      decoder = zlib.createInflate();
      break;
    case 'br':
      decoder = zlib.createBrotliDecompress();
      break;
    default:
      res.destroy();
      throw new StepError(ErrorCodes.INVALID_RESPONSE, `${method} ${safeUrl(url, secrets)}: unsupported content-encoding ${JSON.stringify(encoding.slice(0, 40))}`);
  }
  res.on('error', (err) => decoder.destroy(err));
  return res.pipe(decoder);
}

/**
 * A streamed body as handed to the caller: fails with `HTTP_TIMEOUT` when no
 * chunk arrives for `idleMs`, and with `HTTP_ABORTED` when `signal` aborts.
 */
function watchStream(source: Readable, idleMs: number, signal: AbortSignal | undefined, method: string, url: URL, secrets: Set<string>): Readable {
  const out = new PassThrough();
  let timer: NodeJS.Timeout | undefined;
  const stop = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    signal?.removeEventListener('abort', onAbort);
  };
  const fail = (err: Error) => {
    stop();
    source.destroy();
    out.destroy(err);
  };
  const arm = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(
      () => fail(new StepError(ErrorCodes.HTTP_TIMEOUT, `${method} ${safeUrl(url, secrets)}: no data for ${idleMs} ms`, { retryable: true, details: { url: safeUrl(url, secrets), timeoutMs: idleMs } })),
      idleMs,
    );
  };
  const onAbort = () => fail(abortedError(method, url, secrets));
  if (signal?.aborted) {
    onAbort();
    return out;
  }
  signal?.addEventListener('abort', onAbort, { once: true });
  arm();
  source.on('data', arm);
  source.once('end', stop);
  source.once('error', (err) => fail(err instanceof StepError ? err : toStepError(err, method, url, secrets)));
  out.once('close', () => {
    stop();
    if (!source.readableEnded) source.destroy();
  });
  source.pipe(out);
  return out;
}

/** Fails a streamed body with `RESPONSE_TOO_LARGE` past `limit` (decompressed) bytes. */
function limitBytes(source: Readable, limit: number, method: string, url: URL, secrets: Set<string>): Readable {
  let size = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      size += chunk.length;
      if (size > limit) done(new StepError(ErrorCodes.RESPONSE_TOO_LARGE, `${method} ${safeUrl(url, secrets)}: response body exceeds ${limit} bytes`, { details: { url: safeUrl(url, secrets), limit } }));
      else done(null, chunk);
    },
  });
  source.once('error', (err) => counter.destroy(err));
  return source.pipe(counter);
}

function decodeBody(raw: RawResponse, responseType: 'auto' | 'text' | 'buffer' | 'stream', method: string, url: URL, secrets: Set<string>): unknown {
  if (responseType === 'buffer') return raw.body;
  const contentType = String(raw.headers['content-type'] ?? '').toLowerCase();
  const text = decodeText(raw.body, contentType);
  if (responseType === 'text') return text;
  // A non-2xx answer to a stream request (throwHttpErrors: false) is decoded like `auto`.
  const isJson = /^(application|text)\/([\w.+-]+\+)?json\b/.test(contentType);
  if (!isJson) return text;
  if (text.trim() === '') return null;
  try {
    return JSON.parse(text);
  } catch {
    // An error page with a JSON content type is common; only a success body must be valid.
    if (raw.status >= 300) return text;
    throw new StepError(ErrorCodes.INVALID_RESPONSE, `${method} ${safeUrl(url, secrets)}: response is not valid JSON: ${excerptOf(text, secrets)}`, {
      details: { url: safeUrl(url, secrets), status: raw.status },
    });
  }
}

function decodeText(bytes: Buffer, contentType: string): string {
  const charset = /charset="?([\w.:-]+)"?/.exec(contentType)?.[1];
  if (charset && !/^utf-?8$/i.test(charset)) {
    try {
      return new TextDecoder(charset).decode(bytes);
    } catch {
      // Unknown charset label: fall back to UTF-8 rather than fail the step.
    }
  }
  return bytes.toString('utf8');
}

function encodeBody(body: HttpBody | undefined): { bytes: Buffer; contentType: string } | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return { bytes: Buffer.from(body, 'utf8'), contentType: 'text/plain; charset=utf-8' };
  if (Buffer.isBuffer(body) || body instanceof Uint8Array) return { bytes: Buffer.from(body), contentType: 'application/octet-stream' };
  if (body instanceof ArrayBuffer) return { bytes: Buffer.from(body), contentType: 'application/octet-stream' };
  if (body instanceof URLSearchParams) {
    return { bytes: Buffer.from(body.toString(), 'utf8'), contentType: 'application/x-www-form-urlencoded' };
  }
  let json: string;
  try {
    json = JSON.stringify(body);
  } catch (err) {
    throw new StepError(ErrorCodes.INVALID_REQUEST, `request body is not serialisable as JSON: ${(err as Error).message}`);
  }
  return { bytes: Buffer.from(json, 'utf8'), contentType: 'application/json' };
}

function parseRequestUrl(input: string | URL, query?: HttpRequestOptions['query']): URL {
  let url: URL;
  try {
    url = new URL(String(input));
  } catch {
    throw new StepError(ErrorCodes.INVALID_URL, `invalid URL ${JSON.stringify(String(input).slice(0, 200))}`);
  }
  checkScheme(url);
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v !== undefined && v !== null) url.searchParams.append(k, String(v));
  }
  url.hash = '';
  return url;
}

function parseRedirectUrl(location: string, base: URL, secrets: Set<string>): URL {
  let next: URL;
  try {
    next = new URL(location, base);
  } catch {
    throw new StepError(ErrorCodes.INVALID_URL, `redirect from ${safeUrl(base, secrets)} to an invalid URL`);
  }
  checkScheme(next);
  next.hash = '';
  return next;
}

function checkScheme(url: URL): void {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new StepError(ErrorCodes.UNSUPPORTED_SCHEME, `only http and https URLs are allowed, not ${url.protocol.replace(/:$/, '')}`, {
      details: { scheme: url.protocol },
    });
  }
  if (url.username || url.password) {
    // Userinfo would end up in logs and history; credentials belong in `auth`.
    throw new StepError(ErrorCodes.INVALID_URL, 'URLs with embedded credentials are not allowed; use basicAuth');
  }
}

/** Credentials go to the configured hosts, or else only to the first URL's origin; never downgraded to http. */
function credentialsAllowed(start: URL, hop: URL, patterns: HostPattern[] | undefined): boolean {
  if (!patterns) return hop.origin === start.origin;
  if (start.protocol === 'https:' && hop.protocol !== 'https:') return false;
  return hostMatches(patterns, normalizeHost(hop.hostname).hostname, effectivePort(hop));
}

function ssrfBlocked(host: string, port: number, c: AddressClassification | undefined): StepError {
  const address = c?.address ?? 'unknown';
  const why = c ? c.category.replace('_', '-') : 'unknown';
  return new StepError(
    ErrorCodes.SSRF_BLOCKED,
    `refusing to connect to ${host}: address ${address} is ${why} and ${host}:${port} is not in HTTP_ALLOW_HOSTS`,
    { details: { host, port, address, category: why } },
  );
}

function statusError(method: string, url: URL, raw: RawResponse, attempts: number, secrets: Set<string>, retryAfterMs?: number): StepError {
  const client = raw.status >= 400 && raw.status < 500 && raw.status !== 408 && raw.status !== 429;
  const excerpt = excerptOf(decodeText(raw.body, String(raw.headers['content-type'] ?? '')), secrets);
  const where = safeUrl(url, secrets);
  return new StepError(
    client ? 'HTTP_CLIENT_ERROR' : 'HTTP_STATUS',
    `${method} ${where} responded ${raw.status}${raw.statusText ? ` ${raw.statusText}` : ''}${excerpt ? `: ${excerpt}` : ''}`,
    {
      retryable: !client && isRetryableStatus(raw.status),
      details: { status: raw.status, method, url: where, excerpt, attempts, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) },
      nextRetryDelayMs: retryAfterMs,
    },
  );
}

function toStepError(err: unknown, method: string, url: URL, secrets: Set<string>): StepError {
  if (err instanceof StepError) return err;
  const e = err as NodeJS.ErrnoException;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const where = safeUrl(url, secrets);
  const message = redactString(String(e?.message ?? err), secrets);
  if (code && TLS_ERROR.test(code)) {
    return new StepError(ErrorCodes.HTTP_CONNECTION_ERROR, `${method} ${where}: TLS failure: ${message}`, {
      details: { url: where, reason: code, tls: true },
    });
  }
  if (code?.startsWith('ERR_INVALID') || code === 'ERR_HTTP_INVALID_HEADER_VALUE' || code === 'ERR_UNESCAPED_CHARACTERS') {
    return new StepError(ErrorCodes.INVALID_REQUEST, `${method} ${where}: ${message}`, { details: { url: where, reason: code } });
  }
  return new StepError(ErrorCodes.HTTP_CONNECTION_ERROR, `${method} ${where} failed: ${message}`, {
    retryable: true,
    details: { url: where, reason: code ?? 'error' },
  });
}

function abortedError(method: string, url: URL, secrets: Set<string>): StepError {
  return new StepError(ErrorCodes.HTTP_ABORTED, `${method} ${safeUrl(url, secrets)} was cancelled`, { details: { url: safeUrl(url, secrets) } });
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new StepError(ErrorCodes.HTTP_ABORTED, 'request was cancelled');
}

/** Origin and path only: query strings often carry tokens that are not known secrets. */
function safeUrl(url: URL, secrets: Set<string>): string {
  return redactString(`${url.origin}${url.pathname}${url.search ? '?…' : ''}`, secrets);
}

function excerptOf(text: string, secrets: Set<string>): string {
  // Redact before cutting, so a secret straddling the cut cannot leak a prefix.
  const flat = redactString(text, secrets).replace(/\s+/g, ' ').trim();
  return flat.length > EXCERPT_CHARS ? `${flat.slice(0, EXCERPT_CHARS)}…` : flat;
}

function lowerKeys<V>(headers: Record<string, V>): Record<string, V> {
  const out: Record<string, V> = {};
  for (const [k, v] of Object.entries(headers)) out[k.toLowerCase()] = v;
  return out;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new StepError(ErrorCodes.HTTP_ABORTED, 'request was cancelled'));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(new StepError(ErrorCodes.HTTP_ABORTED, 'request was cancelled while waiting to retry'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
