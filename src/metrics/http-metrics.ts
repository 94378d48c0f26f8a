/**
 * The API's Prometheus metrics at GET /metrics (outside /orchestration/api, where
 * Prometheus looks by default): process metrics (prom-client defaults) and
 * HTTP requests by method, route template and status. Open by default, like
 * most exporters (it holds counts, never request data); with METRICS_TOKEN set it
 * needs `Authorization: Bearer <METRICS_TOKEN>` (Prometheus: `authorization: { credentials: ... }`).
 */
import type { NextFunction, Request, Response } from 'express';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const METRICS_PATH = '/metrics';

/** Seconds buckets for API requests. */
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class ApiMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'merchflow_http_requests_total',
    help: 'HTTP requests answered by the API, by method, route template and status code',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  readonly duration = new Histogram({
    name: 'merchflow_http_request_duration_seconds',
    help: 'Time to answer an API request, by method, route template and status code',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: HTTP_BUCKETS,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}

let shared: ApiMetrics | null = null;

/** One set of API metrics per process (an app built twice in a test process shares them). */
export function apiMetrics(): ApiMetrics {
  return (shared ??= new ApiMetrics());
}

const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']);

/**
 * The route label: the matched route's template (`/orchestration/api/executions/:id`), the
 * admin UI's static files as one value, anything unmatched as `unmatched`, so the number of
 * series stays bounded whatever paths clients send.
 */
export function routeLabel(req: Request, adminPath: string): string {
  const route = (req as Request & { route?: { path?: unknown } }).route;
  if (route && typeof route.path === 'string') return `${req.baseUrl ?? ''}${route.path}`;
  const url = req.originalUrl ?? req.url ?? '';
  if (url.startsWith(adminPath)) return adminPath;
  if (url === METRICS_PATH) return METRICS_PATH;
  return 'unmatched';
}

/** Counts and times every request once its response is sent. */
export function httpMetricsMiddleware(metrics: ApiMetrics, adminPath: string) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const end = metrics.duration.startTimer();
    res.once('finish', () => {
      const labels = { method: METHODS.has(req.method) ? req.method : 'OTHER', route: routeLabel(req, adminPath), status: String(res.statusCode) };
      metrics.requests.inc(labels);
      end(labels);
    });
    next();
  };
}

/** GET /metrics, with the optional bearer token. */
export function metricsHandler(metrics: ApiMetrics, token: string | null) {
  return (req: Request, res: Response): void => {
    if (token && req.headers.authorization !== `Bearer ${token}`) {
      res.setHeader('WWW-Authenticate', 'Bearer');
      res.status(401).type('text/plain').send('metrics need Authorization: Bearer <METRICS_TOKEN>\n');
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.status(200).type(metrics.registry.contentType).setHeader('Cache-Control', 'no-store').send(text),
      (err: Error) => res.status(500).type('text/plain').send(`metrics failed: ${err.message}\n`),
    );
  };
}
