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
 */
import { performance } from 'node:perf_hooks';

interface Options {
  url: string;
  key: string;
  workflow: number;
  clients: number;
  requests: number | null;
  durationSeconds: number | null;
  input: Record<string, unknown>;
  warmup: number;
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
  const known = new Set(['url', 'key', 'workflow', 'clients', 'requests', 'duration', 'input', 'warmup']);
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
  return { url: url.replace(/\/+$/, ''), key, workflow, clients: int('clients', 50)!, requests, durationSeconds, input, warmup: int('warmup', 20)! };
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
  const ok = statuses.get(202) ?? 0;
  const fmt = (ms: number) => `${ms.toFixed(1)} ms`;
  console.log(`POST ${endpoint}`);
  console.log(`clients ${o.clients}, requests ${latencies.length} in ${elapsed.toFixed(2)} s`);
  console.log(`throughput ${(latencies.length / elapsed).toFixed(1)} requests/s (${(ok / elapsed).toFixed(1)} runs started/s)`);
  console.log(`latency p50 ${fmt(percentile(latencies, 50))}  p90 ${fmt(percentile(latencies, 90))}  p99 ${fmt(percentile(latencies, 99))}  max ${fmt(latencies.at(-1) ?? NaN)}`);
  console.log(`statuses ${[...statuses].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s || 'error'}: ${n}`).join(', ')}`);
  if (ok !== latencies.length) process.exitCode = 1;
}

main().catch((err) => {
  console.error(`execute-load: ${(err as Error).message}`);
  process.exit(1);
});
