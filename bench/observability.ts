/**
 * What metrics and tracing cost a worker: the same ten-step workflow run in
 * three worker processes side by side, on one Temporal dev server and one
 * PostgreSQL, each the production entry point (dist/temporal/worker-main.js)
 * on a task queue of its own:
 *
 *   off               neither (the baseline)
 *   metrics           WORKER_METRICS_PORT set: Merchflow's series and the SDK core's Prometheus exporter
 *   metrics+tracing   and OTEL_TRACES_EXPORTER=otlp to an OTLP/HTTP stub on loopback in this process
 *                     (spans encoded and posted as to a collector; the stub counts and drops them)
 *
 * Rounds are interleaved (off, metrics, metrics+tracing, off, ...) so the three
 * share the machine's noise. Prints, with the ratio to `off`: the median latency
 * of one run at a time, the median throughput of N runs started at once, and
 * the worker process's CPU per run; then the spans the stub received. No
 * assertion: a measurement, not a test.
 *
 *   npm run bench -- observability [--runs 100] [--latency-runs 15] [--rounds 3]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import readline from 'node:readline';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { randomUUID } from 'node:crypto';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { merchflowDataConverter } from '@engine/codec/data-converter';
import { stepTypeRegistry } from '@engine/activities/registry';
import { loadConfig } from '@src/config/config';
import type { RunResult } from '@engine/shared/contracts';
import { createDataSource } from '@src/database/data-source';
import { WorkflowsService } from '@src/workflows/workflows.service';
import { ExecutionsService } from '@src/executions/executions.service';
import { startEmbeddedPostgres } from '../scripts/lib/embedded-postgres';
import { startTemporalDevServer } from '../scripts/lib/temporal-server';
import { freePort } from '../scripts/lib/ports';
import { cpuMsOfTrees, loadAverage } from './support/proc';
import { chainOfFilterSteps } from './support/chain-steps';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : process.argv[i + 1];
}
const RUNS = Number(arg('runs', '100'));
const LATENCY_RUNS = Number(arg('latency-runs', '15'));
const ROUNDS = Number(arg('rounds', '3'));
const STEPS = 10;
const STARTERS = 20;

const dist = path.resolve(__dirname, '..');
const root = path.resolve(dist, '..');
const dataDir = path.join(root, '.data', `bench-observability-${process.pid}`);
const say = (line: string) => console.log(`observability | ${line}`);

interface Side {
  name: 'off' | 'metrics' | 'metrics+tracing';
  env: Record<string, string>;
  taskQueue: string;
  child?: ChildProcess;
  executions?: ExecutionsService;
}

/** An OTLP/HTTP endpoint that counts what it is sent and answers as a collector does. */
async function startOtlpStub(): Promise<{ url: string; requests: () => number; bytes: () => number; close(): Promise<void> }> {
  let requests = 0;
  let bytes = 0;
  const server = http.createServer((req, res) => {
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('end', () => {
      requests++;
      res.writeHead(200, { 'content-type': 'application/x-protobuf' });
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/v1/traces`, requests: () => requests, bytes: () => bytes, close: () => new Promise((r) => server.close(() => r())) };
}

/** Starts the production worker entry point and resolves once it polls. */
function startWorker(side: Side, env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, [path.join(dist, 'temporal/worker-main.js'), '--task-queue', side.taskQueue], {
    env: { ...process.env, ...env, ...side.env, LOG_FORMAT: 'json', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  return new Promise((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).on('line', (l) => {
      lines.push(l);
      if (l.includes('worker polling')) resolve(child);
    });
    readline.createInterface({ input: child.stderr! }).on('line', (l) => lines.push(l));
    child.once('exit', (code) => reject(new Error(`worker ${side.name} exited with ${code}: ${lines.slice(-20).join('\n')}`)));
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main(): Promise<void> {
  fs.rmSync(dataDir, { recursive: true, force: true });
  const cleanups: Array<() => Promise<unknown>> = [];
  try {
    const [pg, tmp] = await Promise.all([
      startEmbeddedPostgres({ dataDir: path.join(dataDir, 'postgres'), port: await freePort(), database: 'merchflow_bench', password: 'bench' }),
      startTemporalDevServer({ port: await freePort(), uiPort: null, dbFile: path.join(dataDir, 'temporal.db') }),
    ]);
    cleanups.push(() => pg.stop(), () => tmp.stop());
    const env = { NODE_ENV: 'test', DATABASE_URL: pg.url, TEMPORAL_ADDRESS: tmp.address, PAYLOAD_ENCRYPTION: 'false' };
    const config = loadConfig({ ...process.env, ...env, LOG_LEVEL: 'error' });
    const ds = await createDataSource(config, { poolSize: 10 }).initialize();
    cleanups.push(() => ds.destroy());
    await ds.runMigrations();
    const otlp = await startOtlpStub();
    cleanups.push(() => otlp.close());

    const sides: Side[] = [
      { name: 'off', env: {}, taskQueue: `bench-off-${randomUUID()}` },
      { name: 'metrics', env: { WORKER_METRICS_PORT: '0', WORKER_METRICS_HOST: '127.0.0.1' }, taskQueue: `bench-metrics-${randomUUID()}` },
      {
        name: 'metrics+tracing',
        env: { WORKER_METRICS_PORT: '0', WORKER_METRICS_HOST: '127.0.0.1', OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: otlp.url },
        taskQueue: `bench-tracing-${randomUUID()}`,
      },
    ];
    for (const s of sides) {
      s.child = await startWorker(s, env);
      const child = s.child;
      cleanups.push(async () => {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      });
    }

    const connection = await Connection.connect({ address: tmp.address });
    cleanups.push(() => connection.close());
    const client = new Client({ connection, namespace: config.temporal.namespace, dataConverter: merchflowDataConverter(config) });
    const registry = stepTypeRegistry([]);
    const workflows = new WorkflowsService(ds, registry);
    const { workflow } = await workflows.create({
      code: `bench_observability_${Date.now()}`,
      name: 'Ten small steps',
      steps: chainOfFilterSteps(STEPS),
    });
    for (const s of sides) s.executions = new ExecutionsService(ds, async () => client, workflows, registry, s.taskQueue, { startTimeoutMs: 120_000 });
    const input = { items: [{ sku: 'A', qty: 1 }, { sku: 'B', qty: 0 }] };
    const start = async (s: Side): Promise<WorkflowHandle> => client.workflow.getHandle((await s.executions!.start(workflow.id, { input_data: input })).execution_id);

    // Warm up: bundles loaded, connections open, caches filled; and check each side completes a run.
    for (const s of sides) {
      const results = (await Promise.all(Array.from({ length: 5 }, async () => (await start(s)).result()))) as RunResult[];
      const bad = results.find((r) => r.status !== 'completed' || Object.values(r.steps).some((step) => step.status !== 'completed'));
      if (bad) throw new Error(`warm-up run on ${s.name} did not complete every step: ${JSON.stringify(bad).slice(0, 500)}`);
    }
    say(`${STEPS} data_transform steps a run; workers: ${sides.map((s) => `${s.name} pid ${s.child!.pid}`).join(', ')}; ${loadAverage()}`);

    // 1. Latency, one run at a time, interleaved.
    const latency: Record<string, number[]> = {};
    for (const s of sides) latency[s.name] = [];
    for (let i = 0; i < LATENCY_RUNS; i++) {
      for (const s of sides) {
        const t0 = performance.now();
        await (await start(s)).result();
        latency[s.name].push(performance.now() - t0);
      }
    }

    // 2. Throughput and worker CPU per run, RUNS at once, interleaved rounds.
    const rate: Record<string, number[]> = {};
    const cpu: Record<string, number[]> = {};
    for (const s of sides) [rate[s.name], cpu[s.name]] = [[], []];
    for (let round = 0; round < ROUNDS; round++) {
      for (const s of sides) {
        const cpu0 = cpuMsOfTrees([s.child!.pid!]);
        const t0 = performance.now();
        const handles: WorkflowHandle[] = [];
        await Promise.all(
          Array.from({ length: STARTERS }, async () => {
            while (handles.length < RUNS) {
              const slot = handles.length;
              handles.length++;
              handles[slot] = await start(s);
            }
          }),
        );
        await Promise.all(handles.map((h) => h.result()));
        rate[s.name].push(RUNS / ((performance.now() - t0) / 1000));
        cpu[s.name].push((cpuMsOfTrees([s.child!.pid!]) - cpu0) / RUNS);
      }
    }

    const base = sides[0].name;
    const row = (label: string, values: Record<string, number[]>, unit: string, digits: number) => {
      say(`${label}:`);
      for (const s of sides) {
        const m = median(values[s.name]);
        const ratio = m / median(values[base]);
        say(`  ${s.name.padEnd(16)} ${m.toFixed(digits).padStart(8)} ${unit}  ${s.name === base ? '(baseline)' : `ratio ${ratio.toFixed(3)}x`}  [${values[s.name].map((v) => v.toFixed(digits)).join(', ')}]`);
      }
    };
    say('');
    row(`latency of one run at a time (median of ${LATENCY_RUNS})`, latency, 'ms', 0);
    say('');
    row(`throughput, ${RUNS} runs started at once (median of ${ROUNDS} rounds)`, rate, 'runs/s', 1);
    say('');
    row(`worker process CPU per run (median of ${ROUNDS} rounds)`, cpu, 'ms', 1);
    say('');
    // The batch processor exports every 5 s: wait for the last batch before counting.
    await new Promise((r) => setTimeout(r, 6000));
    say(`OTLP stub: ${otlp.requests()} export requests, ${(otlp.bytes() / 1024).toFixed(0)} KiB of spans`);
    say(`done; ${loadAverage()}`);
  } finally {
    for (const c of cleanups.reverse()) await c().catch((e) => say(`cleanup: ${(e as Error).message}`));
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`observability: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
