/**
 * Load bench of `POST /workflows/{id}/execute/` against a running API, from a
 * separate process (not part of `npm test`):
 *
 *   node dist/bench/execute-load.js --url http://127.0.0.1:3000/orchestration/api \
 *     --key "$MERCHFLOW_API_KEY" --workflow 1 [--clients 50] [--requests 2000 | --duration 30] [--input '{"n":1}']
 *
 * N concurrent clients (keep-alive) each loop POSTing the execute endpoint;
 * prints requests/s, p50/p90/p99/max latency and the count per status. Use an
 * operator key; each request starts a real run, so point it at a workflow
 * whose steps are cheap (or one the worker is not polling for).
 *
 * With `--baseline-temporal HOST:PORT` it then runs the same load as plain
 * Temporal `workflow.start` calls (no API, no database, a task queue nobody
 * polls) and prints the API's figures as ratios of that baseline.
 */
import { performance } from 'node:perf_hooks';
import { Client, Connection } from '@temporalio/client';

interface Options {
  url: string;
  key: string;
  workflow: number;
  clients: number;
  requests: number | null;
  durationSeconds: number | null;
  input: Record<string, unknown>;
  warmup: number;
  baselineTemporal: string | null;
}

function usage(message?: string): never {
  if (message) console.error(`execute-load: ${message}`);
  console.error(
    'usage: node dist/bench/execute-load.js --url URL --key KEY --workflow ID [--clients 50] [--requests N | --duration SECONDS] [--input JSON] [--warmup N]',
  );
  process.exit(2);
}

function parse(argv: string[]): Options {
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    if (i === -1) return undefined;
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) usage(`--${name} needs a value`);
    return v;
  };
  const int = (name: string, fallback: number | null): number | null => {
    const v = get(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) usage(`--${name} must be a positive integer`);
    return n;
  };
  const known = new Set(['url', 'key', 'workflow', 'clients', 'requests', 'duration', 'input', 'warmup', 'baseline-temporal']);
  for (const a of argv) if (a.startsWith('--') && !known.has(a.slice(2))) usage(`unknown option ${a}`);
  const url = get('url') ?? process.env.MERCHFLOW_API_URL ?? 'http://127.0.0.1:3000/orchestration/api';
  const key = get('key') ?? process.env.MERCHFLOW_API_KEY;
  if (!key) usage('--key (or MERCHFLOW_API_KEY) is required: an operator API key');
  const workflow = int('workflow', null);
  if (workflow === null) usage('--workflow ID is required');
  let input: Record<string, unknown> = {};
  const rawInput = get('input');
  if (rawInput !== undefined) {
    try {
      input = JSON.parse(rawInput) as Record<string, unknown>;
    } catch {
      usage('--input must be JSON');
    }
  }
  const durationSeconds = int('duration', null);
  const requests = int('requests', durationSeconds === null ? 2000 : null);
  return {
    url: url.replace(/\/+$/, ''),
    key,
    workflow,
    clients: int('clients', 50)!,
    requests,
    durationSeconds,
    input,
    warmup: int('warmup', 20)!,
    baselineTemporal: get('baseline-temporal') ?? null,
  };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  const endpoint = `${o.url}/workflows/${o.workflow}/execute/`;
  const body = JSON.stringify({ input_data: o.input });
  const headers = { authorization: `Bearer ${o.key}`, 'content-type': 'application/json' };
  const once = async (): Promise<{ status: number; ms: number }> => {
    const t0 = performance.now();
    try {
      const res = await fetch(endpoint, { method: 'POST', headers, body });
      await res.arrayBuffer();
      return { status: res.status, ms: performance.now() - t0 };
    } catch {
      return { status: 0, ms: performance.now() - t0 };
    }
  };

  // A first request checks the setup (key, workflow) before the clients start.
  const probe = await once();
  if (probe.status !== 202) {
    console.error(`execute-load: the first request answered ${probe.status || 'no connection'}; check --url, --key (operator) and --workflow`);
    process.exit(1);
  }
  for (let i = 0; i < o.warmup; i++) await once();

  const api = await load(o, once);
  report(`POST ${endpoint}`, o, api, 202);
  if (api.ok !== api.latencies.length) process.exitCode = 1;

  if (o.baselineTemporal) {
    // The same number of runs started straight through the Temporal client: what the API adds on top.
    const client = new Client({ connection: await Connection.connect({ address: o.baselineTemporal }) });
    const stamp = Date.now().toString(36);
    let n = 0;
    const start = async (): Promise<{ status: number; ms: number }> => {
      const t0 = performance.now();
      try {
        await client.workflow.start('executeLoadBaseline', { taskQueue: `execute-load-baseline-${stamp}`, workflowId: `baseline-${stamp}-${n++}`, args: [o.input] });
        return { status: 202, ms: performance.now() - t0 };
      } catch {
        return { status: 0, ms: performance.now() - t0 };
      }
    };
    const base = await load(o, start);
    report(`baseline: Temporal workflow.start at ${o.baselineTemporal}`, o, base, 202);
    // Nobody polls the baseline's task queue: end its runs so they do not pile up on the server.
    const ids = Array.from({ length: n }, (_, i) => `baseline-${stamp}-${i}`);
    await Promise.all(
      Array.from({ length: o.clients }, async (_, c) => {
        for (let i = c; i < ids.length; i += o.clients) {
          await client.workflow.getHandle(ids[i]).terminate('execute-load baseline done').catch(() => undefined);
        }
      }),
    );
    const p = (r: LoadResult, q: number) => percentile(r.latencies, q);
    console.log(
      `ratio API / baseline: throughput ${(api.latencies.length / api.elapsed / (base.latencies.length / base.elapsed)).toFixed(2)}x, ` +
        `p50 ${(p(api, 50) / p(base, 50)).toFixed(2)}x, p99 ${(p(api, 99) / p(base, 99)).toFixed(2)}x`,
    );
    await client.connection.close();
  }
}

interface LoadResult {
  latencies: number[];
  statuses: Map<number, number>;
  elapsed: number;
  ok: number;
}

/** N clients each looping `once` until the request count or the duration is reached. */
async function load(o: Options, once: () => Promise<{ status: number; ms: number }>): Promise<LoadResult> {
  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  let issued = 0;
  const deadline = o.durationSeconds ? performance.now() + o.durationSeconds * 1000 : Infinity;
  const more = () => (o.requests !== null ? issued < o.requests : performance.now() < deadline);
  const started = performance.now();
  await Promise.all(
    Array.from({ length: o.clients }, async () => {
      while (more()) {
        issued++;
        const r = await once();
        latencies.push(r.ms);
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { latencies, statuses, elapsed, ok: statuses.get(202) ?? 0 };
}

function report(title: string, o: Options, r: LoadResult, okStatus: number): void {
  const fmt = (ms: number) => `${ms.toFixed(1)} ms`;
  console.log(title);
  console.log(`  clients ${o.clients}, requests ${r.latencies.length} in ${r.elapsed.toFixed(2)} s`);
  console.log(`  throughput ${(r.latencies.length / r.elapsed).toFixed(1)} requests/s (${((r.statuses.get(okStatus) ?? 0) / r.elapsed).toFixed(1)} runs started/s)`);
  console.log(`  latency p50 ${fmt(percentile(r.latencies, 50))}  p90 ${fmt(percentile(r.latencies, 90))}  p99 ${fmt(percentile(r.latencies, 99))}  max ${fmt(r.latencies.at(-1) ?? NaN)}`);
  console.log(`  statuses ${[...r.statuses].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s || 'error'}: ${n}`).join(', ')}`);
}

main().catch((err) => {
  console.error(`execute-load: ${(err as Error).message}`);
  process.exit(1);
});
