import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { adminRoutes, REQUEST_LOG_SIZE, type AdminControls, type RequestLogEntry } from './apis/admin';
import { carrierRoutes } from './apis/carrier';
import { marketplaceRoutes } from './apis/marketplace';
import { LeakyBucket, SHOPIFY_API_VERSION, ShopifyError, shopifyRoutes } from './apis/shopify';
import { supplierRoutes } from './apis/supplier';
import { genericRoutes } from './apis/generic';
import { feedRoutes } from './apis/feed';
import { WooError, woocommerceRoutes } from './apis/woocommerce';
import { Catalogue } from './catalogue';
import { HttpError, errorReply, readJsonBody, sendReply, type Reply, type Router } from './http';
import { FaultInjector, TokenBucket, type FaultConfig, type RateLimit } from './limits';
import { API_NAMES, SandboxState, type ApiName, type CarrierFailure } from './state';

/** Options of {@link startSandbox}. */
export interface SandboxOptions {
  /** TCP port; 0 (the default) picks a free one. */
  port?: number;
  /** Loopback address to listen on (default `127.0.0.1`); the sandbox never listens on other interfaces. */
  host?: '127.0.0.1' | '::1';
  /** Catalogue size (default 1,000). */
  products?: number;
  /** Seed of the catalogue and the seeded orders (default 42). */
  seed?: number;
  /** Fraction of invalid products (default 0); see {@link Catalogue}. */
  invalidRate?: number;
  /** New orders present at start and after a reset (default 25). */
  initialOrders?: number;
  /** Fixed delay before each API request is handled (default 0). */
  latencyMs?: number;
  /** Token bucket applied to each API separately (default: none). */
  rateLimit?: RateLimit;
  /** Injected 5xx answers and hangs (default: none). */
  faults?: FaultConfig;
  /** When set, API and admin requests need `Authorization: Bearer <key>`, `X-API-Key: <key>` or Basic auth with the key as the password. */
  apiKey?: string;
  /** Start with the carrier refusing every label (default false). */
  carrierFailure?: boolean;
  /** The Shopify-shaped API's access token (`X-Shopify-Access-Token`), always required (default `shpat_sandbox`). */
  shopifyAccessToken?: string;
  /** The Shopify-shaped API's leaky bucket (default 40 requests, leaking 2/s, as Shopify's standard plan). */
  shopifyBucket?: { size: number; leakPerSecond: number };
  /** The WooCommerce-shaped API's consumer key and secret, always required (default `ck_sandbox` / `cs_sandbox`). */
  woocommerceKey?: string;
  woocommerceSecret?: string;
}

/** Platform-shaped views of the marketplace state (counted as marketplace requests). */
export type ShapeName = 'shopify' | 'woocommerce';
export const SHAPE_NAMES: readonly ShapeName[] = ['shopify', 'woocommerce'];

/** A running sandbox. */
export interface Sandbox extends AdminControls {
  /** Base URL, e.g. `http://127.0.0.1:4010`. */
  readonly url: string;
  readonly port: number;
  /** Base URL of each API, of each platform-shaped marketplace API and of the admin API. */
  readonly urls: Record<ApiName | ShapeName | 'admin', string>;
  readonly catalogue: Catalogue;
  /** Stops listening, drops open connections (including hung requests) and resolves when closed. */
  close(): Promise<void>;
}

/** Where each API is mounted. */
export const API_PREFIXES: Record<ApiName | ShapeName | 'admin', string> = {
  supplier: '/supplier/v1',
  marketplace: '/marketplace/v1',
  carrier: '/carrier/v1',
  generic: '/generic/v1',
  feed: '/feed/v1',
  shopify: `/shopify/admin/api/${SHOPIFY_API_VERSION}`,
  woocommerce: '/woocommerce/wp-json/wc/v3',
  admin: '/_admin',
};

const DEFAULT_CARRIER_FAILURE: CarrierFailure = {
  status: 422,
  code: 'label_rejected',
  message: 'the carrier cannot ship to this address (permanent failure)',
};

/**
 * Starts the sandbox: supplier, marketplace and carrier APIs plus an admin
 * API on one loopback HTTP server. Resolves once it listens.
 *
 * @example
 * const sandbox = await startSandbox({ products: 500, seed: 7 });
 * const page = await fetch(`${sandbox.urls.supplier}/products?page=1`).then((r) => r.json());
 * await sandbox.close();
 */
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const host = options.host ?? '127.0.0.1';
  if (host !== '127.0.0.1' && host !== '::1') throw new RangeError(`the sandbox listens on loopback only, not ${String(host)}`);
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const catalogue = new Catalogue({ size: options.products, seed: options.seed, invalidRate: options.invalidRate, imageBaseUrl: `${url}${API_PREFIXES.supplier}/images` });
  const state = new SandboxState(catalogue, { initialOrders: options.initialOrders, baseUrl: url });

  let latencyMs = 0;
  let rateLimit: RateLimit | null = null;
  let buckets = new Map<ApiName | ShapeName, TokenBucket>();
  const shopifyToken = options.shopifyAccessToken ?? 'shpat_sandbox';
  const wooKey = options.woocommerceKey ?? 'ck_sandbox';
  const wooSecret = options.woocommerceSecret ?? 'cs_sandbox';
  let shopifyBucket = new LeakyBucket(options.shopifyBucket?.size ?? 40, options.shopifyBucket?.leakPerSecond ?? 2);
  const faults = new FaultInjector();
  const timers = new Set<NodeJS.Timeout>();
  // A ring of the last REQUEST_LOG_SIZE API requests, in arrival order.
  let requestLog: RequestLogEntry[] = [];
  let requestLogStart = 0;
  const logRequest = (entry: RequestLogEntry): void => {
    if (requestLog.length < REQUEST_LOG_SIZE) requestLog.push(entry);
    else {
      requestLog[requestLogStart] = entry;
      requestLogStart = (requestLogStart + 1) % REQUEST_LOG_SIZE;
    }
  };

  const controls: AdminControls = {
    state,
    settings: () => ({
      latency_ms: latencyMs,
      rate_limit: rateLimit && { requests_per_second: rateLimit.requestsPerSecond, burst: rateLimit.burst },
      faults: { error_rate: faults.current.errorRate, timeout_rate: faults.current.timeoutRate, seed: faults.current.seed, hang_ms: faults.current.hangMs },
      carrier_failure: state.carrierFailure,
      auth_required: options.apiKey !== undefined,
    }),
    setFaults: (config) => faults.configure(config),
    setLatency: (ms) => {
      if (!(Number.isInteger(ms) && ms >= 0)) throw new RangeError(`latency must be a non-negative integer of milliseconds, got ${ms}`);
      latencyMs = ms;
    },
    setRateLimit: (limit) => {
      // Validate by building the buckets before switching to them.
      buckets = new Map(limit ? [...API_NAMES, ...SHAPE_NAMES].map((api) => [api, new TokenBucket(limit)]) : []);
      rateLimit = limit;
    },
    setCarrierFailure: (failure) => {
      const custom = failure === true ? {} : failure || undefined;
      state.carrierFailure = custom === undefined ? null : {
        status: custom.status ?? DEFAULT_CARRIER_FAILURE.status,
        code: custom.code ?? DEFAULT_CARRIER_FAILURE.code,
        message: custom.message ?? DEFAULT_CARRIER_FAILURE.message,
        ...(custom.order_ids ? { order_ids: custom.order_ids } : {}),
      };
    },
    requests: (since = 0, api) => {
      const ordered = requestLogStart === 0 ? requestLog : [...requestLog.slice(requestLogStart), ...requestLog.slice(0, requestLogStart)];
      return ordered.filter((e) => e.at >= since && (api === undefined || e.api === api)).map((e) => ({ ...e }));
    },
    reset: () => {
      requestLog = [];
      requestLogStart = 0;
      state.reset();
      shopifyBucket = new LeakyBucket(shopifyBucket.size, shopifyBucket.leakPerSecond);
      applyStartupSettings();
    },
  };
  const applyStartupSettings = (): void => {
    controls.setLatency(options.latencyMs ?? 0);
    controls.setRateLimit(options.rateLimit ?? null);
    controls.setFaults(options.faults ?? {});
    controls.setCarrierFailure(options.carrierFailure ?? false);
  };
  try {
    applyStartupSettings();
  } catch (err) {
    server.close();
    throw err;
  }

  const apis: Array<{ name: ApiName | ShapeName | 'admin'; prefix: string; router: Router }> = [
    { name: 'supplier', prefix: API_PREFIXES.supplier, router: supplierRoutes(state) },
    { name: 'marketplace', prefix: API_PREFIXES.marketplace, router: marketplaceRoutes(state) },
    { name: 'carrier', prefix: API_PREFIXES.carrier, router: carrierRoutes(state) },
    { name: 'generic', prefix: API_PREFIXES.generic, router: genericRoutes(state) },
    { name: 'feed', prefix: API_PREFIXES.feed, router: feedRoutes(state) },
    { name: 'shopify', prefix: API_PREFIXES.shopify, router: shopifyRoutes(state) },
    { name: 'woocommerce', prefix: API_PREFIXES.woocommerce, router: woocommerceRoutes(state) },
    { name: 'admin', prefix: API_PREFIXES.admin, router: adminRoutes(controls) },
  ];

  /**
   * Waits `ms`, unless the client goes away first or `close()` runs: then the
   * timer is dropped and the request is never handled, so nothing is left pending.
   */
  const delay = (ms: number, res: ServerResponse): Promise<void> =>
    new Promise((resolve) => {
      const cancel = (): void => {
        clearTimeout(timer);
        timers.delete(timer);
      };
      const timer = setTimeout(() => {
        res.off('close', cancel);
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
      res.once('close', cancel);
    });

  const authorized = (req: IncomingMessage): boolean => {
    if (options.apiKey === undefined) return true;
    const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    // Basic: any user name, the key as the password.
    const basic = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const password = basic ? Buffer.from(basic, 'base64').toString('utf8').split(':').slice(1).join(':') : undefined;
    return bearer === options.apiKey || password === options.apiKey || req.headers['x-api-key'] === options.apiKey;
  };

  /**
   * What every API request passes before its handler: auth, the API's rate
   * limit, latency, then faults. Returns the reply that replaces the handler's,
   * if any. Faults are decided before the handler runs, so a faulted request
   * never changes state and retrying it is safe.
   */
  const wooAuthorized = (req: IncomingMessage): boolean => {
    const basic = /^Basic\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (basic) return Buffer.from(basic, 'base64').toString('utf8') === `${wooKey}:${wooSecret}`;
    const q = new URL(req.url ?? '/', url).searchParams;
    return q.get('consumer_key') === wooKey && q.get('consumer_secret') === wooSecret;
  };

  const admit = async (api: ApiName | ShapeName | 'admin', req: IncomingMessage, res: ServerResponse): Promise<Reply | undefined> => {
    if (api !== 'admin') {
      state.counters.requests_served++;
      const counted = api === 'shopify' || api === 'woocommerce' ? 'marketplace' : api;
      state.counters.requests_by_api[counted]++;
      const entry: RequestLogEntry = { at: Date.now(), api: counted, method: req.method ?? 'GET', path: new URL(req.url ?? '/', url).pathname, status: null };
      logRequest(entry);
      res.once('finish', () => (entry.status = res.statusCode));
    }
    if (api === 'shopify') {
      if (req.headers['x-shopify-access-token'] !== shopifyToken) {
        state.counters.unauthorized++;
        throw new ShopifyError(401, '[API] Invalid API key or access token (unrecognized login or wrong password)');
      }
      const verdict = shopifyBucket.take();
      if (!verdict.ok) {
        state.counters.rate_limited++;
        throw new ShopifyError(429, 'Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service.', {
          'Retry-After': verdict.retryAfterSeconds.toFixed(1),
          'X-Shopify-Shop-Api-Call-Limit': `${shopifyBucket.size}/${shopifyBucket.size}`,
        });
      }
      res.setHeader('X-Shopify-Shop-Api-Call-Limit', `${verdict.used}/${shopifyBucket.size}`);
    } else if (api === 'woocommerce') {
      if (!wooAuthorized(req)) {
        state.counters.unauthorized++;
        throw new WooError(401, 'woocommerce_rest_cannot_view', 'Sorry, you cannot list resources.');
      }
    } else if (!authorized(req)) {
      state.counters.unauthorized++;
      throw new HttpError(401, 'unauthorized', 'missing or invalid API key: send Authorization: Bearer <key> or X-API-Key', {
        headers: { 'WWW-Authenticate': 'Bearer realm="sandbox"' },
      });
    }
    if (api === 'admin') return undefined;
    const verdict = buckets.get(api)?.take();
    if (verdict && !verdict.ok) {
      state.counters.rate_limited++;
      throw new HttpError(429, 'rate_limited', `${api} API rate limit exceeded; retry after ${verdict.retryAfterSeconds} s`, {
        headers: { 'Retry-After': String(verdict.retryAfterSeconds) },
      });
    }
    if (latencyMs > 0) await delay(latencyMs, res);
    const fault = faults.decide();
    if (fault.kind === 'none') return undefined;
    state.counters.faults_injected++;
    if (fault.kind === 'error') {
      const message = `injected ${fault.status} (sandbox fault injection)`;
      if (api === 'shopify') throw new ShopifyError(fault.status, message);
      if (api === 'woocommerce') throw new WooError(fault.status, 'injected_fault', message);
      throw new HttpError(fault.status, 'injected_fault', message);
    }
    state.counters.timeouts_injected++;
    await delay(fault.ms, res);
    return { status: 504, body: { error: { code: 'injected_timeout', message: `held for ${fault.ms} ms (sandbox fault injection)` } } };
  };

  /** Computes the reply to a request. A request whose client left during a delay never settles, so nothing is sent. */
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<Reply> => {
    const requestUrl = new URL(req.url ?? '/', url);
    const path = requestUrl.pathname;
    if (path === '/health' || path === '/') return { body: { status: 'ok', apis: urlsOf(url) } };
    const api = apis.find((a) => path === a.prefix || path.startsWith(a.prefix + '/'));
    if (!api) throw new HttpError(404, 'not_found', `no API at ${path}; APIs are under ${Object.values(API_PREFIXES).join(', ')}`);
    const subPath = path.slice(api.prefix.length) || '/';
    const method = req.method ?? 'GET';
    let route: ReturnType<Router['resolve']> | undefined;
    let routeError: unknown;
    try {
      route = api.router.resolve(method, subPath);
    } catch (err) {
      routeError = err;
    }
    // Unknown routes are answered after auth, limits and faults, like any other answer of the API.
    if (!route?.open) {
      const replacement = await admit(api.name, req, res);
      if (replacement) return replacement;
    }
    if (!route) throw routeError;
    let body: Promise<unknown> | undefined;
    return route.handler({
      method,
      path: subPath,
      params: route.params,
      query: requestUrl.searchParams,
      headers: req.headers,
      url: requestUrl,
      json: () => (body ??= readJsonBody(req)),
    });
  };

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res)
      .then((reply) => {
        if (!res.destroyed) sendReply(res, reply);
      })
      .catch((err: unknown) => {
        if (!res.destroyed && !res.headersSent) sendReply(res, errorReply(err));
      });
  });

  return {
    ...controls,
    url,
    port,
    urls: urlsOf(url),
    catalogue,
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        server.close((err) => (err ? reject(err) : resolve()));
        // Keep-alive sockets and hung requests would otherwise hold close() open.
        server.closeAllConnections();
      }),
  };
}

function urlsOf(base: string): Record<ApiName | ShapeName | 'admin', string> {
  return {
    supplier: base + API_PREFIXES.supplier,
    marketplace: base + API_PREFIXES.marketplace,
    carrier: base + API_PREFIXES.carrier,
    generic: base + API_PREFIXES.generic,
    feed: base + API_PREFIXES.feed,
    shopify: base + API_PREFIXES.shopify,
    woocommerce: base + API_PREFIXES.woocommerce,
    admin: base + API_PREFIXES.admin,
  };
}

