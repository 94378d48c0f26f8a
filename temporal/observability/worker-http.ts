/**
 * The worker's HTTP endpoints, for Prometheus and orchestrators
 * (WORKER_METRICS_PORT; see docs/observability.md):
 *
 *   GET /metrics   the Temporal SDK core's metrics (forwarded from its own exporter on a loopback port)
 *                  followed by Merchflow's (runs, steps, items, retries, payload store) and process metrics
 *   GET /healthz   200 while the worker polls and both Temporal and PostgreSQL answer; 503 naming what failed
 *   GET /readyz    200 once the worker polls and until it starts shutting down; 503 otherwise
 */
import http from 'node:http';
import net from 'node:net';
import { freeLoopbackPort, withTimeout } from '@src/common/async';
import { collectDefaultMetrics, type Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import type { NativeConnection, State as WorkerState } from '@temporalio/worker';

/** Re-exported for the worker's start (a free port for the SDK core's exporter). */
export { freeLoopbackPort };

/** How long each dependency may take to answer a health check. */
export const HEALTH_CHECK_TIMEOUT_MS = 2_000;

export interface WorkerHttpDeps {
  registry: Registry;
  /** Where the SDK core serves its Prometheus text (host:port), if it does. */
  sdkMetricsAddress?: string;
  workerState: () => WorkerState | 'CREATING';
  connection: () => NativeConnection | null;
  dataSource: DataSource;
  /** Optional bearer token for /metrics (METRICS_TOKEN), as for the API. */
  metricsToken?: string | null;
}

export interface CheckResult {
  ok: boolean;
  checks: Record<string, { ok: boolean; error?: string }>;
}

/** Health: polling, Temporal answering its health service, PostgreSQL answering SELECT 1. */
export async function checkHealth(deps: WorkerHttpDeps, timeoutMs = HEALTH_CHECK_TIMEOUT_MS): Promise<CheckResult> {
  const checks: CheckResult['checks'] = {};
  const state = deps.workerState();
  checks.polling = state === 'RUNNING' ? { ok: true } : { ok: false, error: `worker state is ${state}` };
  const run = async (name: string, fn: () => Promise<unknown>) => {
    try {
      await withTimeout(fn(), timeoutMs, name);
      checks[name] = { ok: true };
    } catch (err) {
      checks[name] = { ok: false, error: (err as Error).message.split('\n')[0].slice(0, 200) };
    }
  };
  await Promise.all([
    run('temporal', async () => {
      const conn = deps.connection();
      if (!conn) throw new Error('not connected');
      const res = await conn.healthService.check({});
      // 1 = SERVING in grpc.health.v1.
      if (res.status !== 1) throw new Error(`health status ${String(res.status)}`);
    }),
    run('postgres', () => deps.dataSource.query('SELECT 1')),
  ]);
  return { ok: Object.values(checks).every((c) => c.ok), checks };
}

/** Readiness: the worker polls its task queue and is not shutting down. */
export function checkReady(deps: Pick<WorkerHttpDeps, 'workerState'>): CheckResult {
  const state = deps.workerState();
  const ok = state === 'RUNNING';
  return { ok, checks: { polling: ok ? { ok } : { ok, error: `worker state is ${state}` } } };
}

async function sdkMetricsText(address: string | undefined): Promise<string> {
  if (!address) return '';
  try {
    const res = await fetch(`http://${address}/metrics`, { signal: AbortSignal.timeout(HEALTH_CHECK_TIMEOUT_MS) });
    if (!res.ok) return `# SDK metrics unavailable: HTTP ${res.status}\n`;
    const text = await res.text();
    return text.endsWith('\n') ? text : `${text}\n`;
  } catch (err) {
    return `# SDK metrics unavailable: ${(err as Error).message}\n`;
  }
}

const defaultMetricsOn = new WeakSet<Registry>();

/** Starts the server on host:port (0: any free port); resolves once it listens. */
export async function startWorkerHttp(deps: WorkerHttpDeps, host: string, port: number): Promise<{ port: number; close(): Promise<void> }> {
  if (!defaultMetricsOn.has(deps.registry)) {
    collectDefaultMetrics({ register: deps.registry });
    defaultMetricsOn.add(deps.registry);
  }
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    const json = (r: CheckResult) => send(r.ok ? 200 : 503, 'application/json', JSON.stringify({ status: r.ok ? 'ok' : 'failing', ...r }));
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain', 'method not allowed\n');
    if (url === '/metrics') {
      if (deps.metricsToken && req.headers.authorization !== `Bearer ${deps.metricsToken}`) {
        res.setHeader('www-authenticate', 'Bearer');
        return send(401, 'text/plain', 'metrics need Authorization: Bearer <METRICS_TOKEN>\n');
      }
      void Promise.all([sdkMetricsText(deps.sdkMetricsAddress), deps.registry.metrics()]).then(
        ([sdk, ours]) => send(200, deps.registry.contentType, sdk + ours),
        (err: Error) => send(500, 'text/plain', `metrics failed: ${err.message}\n`),
      );
      return;
    }
    if (url === '/healthz') {
      void checkHealth(deps).then(json, (err: Error) => json({ ok: false, checks: { health: { ok: false, error: err.message } } }));
      return;
    }
    if (url === '/readyz') return json(checkReady(deps));
    send(404, 'text/plain', 'not found: /metrics, /healthz, /readyz\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
