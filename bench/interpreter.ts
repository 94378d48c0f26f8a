/**
 * The interpreter against a hand-written Temporal workflow of this bench's own
 * (bench/support/interpreter-baseline-workflow.ts): ten no-op activities in
 * sequence vs a ten-step definition whose steps do nothing, on one Temporal dev
 * server, one PostgreSQL, two workers in this process with the same settings.
 * Rounds are interleaved (Merchflow, baseline, Merchflow, ...). Prints, each
 * with its ratio to the baseline: latency of one run at a time, throughput of
 * N runs started at once, history bytes and events of one run, and CPU per run
 * of this process (worker + client), of PostgreSQL and of the Temporal server,
 * and PostgreSQL commits per run.
 *
 *   npm run bench -- interpreter [--runs 200] [--latency-runs 10] [--rounds 2] [--store file|memory] [--history-out DIR]
 *
 * `--store file` (default) runs the dev server on a SQLite file with the
 * pragmas `npm start` uses; `memory` on its in-memory store.
 */
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { randomUUID } from 'node:crypto';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { merchflowDataConverter } from '@engine/codec/data-converter';
import { loadConfig } from '@src/config/config';
import { createDataSource } from '@src/database/data-source';
import { Logger } from '@src/logging/logger';
import { WorkflowsService } from '@src/workflows/workflows.service';
import { ExecutionsService } from '@src/executions/executions.service';
import { stepTypeRegistry } from '@engine/activities/registry';
import type { StepExecutor } from '@engine/activities/runtime/executor';
import { createMerchflowWorker, installTemporalRuntime } from '@engine/worker';
import { startEmbeddedPostgres } from '../scripts/lib/embedded-postgres';
import { startTemporalDevServer } from '../scripts/lib/temporal-server';
import { freePort } from '../scripts/lib/ports';
import { childrenOf, cpuMsOfTrees, loadAverage } from './support/proc';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : process.argv[i + 1];
}
const RUNS = Number(arg('runs', '200'));
const LATENCY_RUNS = Number(arg('latency-runs', '10'));
const ROUNDS = Number(arg('rounds', '2'));
const STORE = arg('store', 'file');
/** Writes the history of one run of each side (protobuf `History`, `<side>.history.pb`) into this directory. */
const HISTORY_OUT = arg('history-out', '');
const STEPS = 10;
/** Clients starting the runs of a throughput round at once. */
const STARTERS = 20;

const root = path.resolve(__dirname, '..', '..');
const dataDir = path.join(root, '.data', `bench-interpreter-${process.pid}`);
const say = (line: string) => console.log(`interpreter | ${line}`);

/** The definition's steps: an executor that does nothing, like the baseline's activity. */
const noopExecutor: StepExecutor = {
  type: 'bench_noop',
  validateConfig: () => [],
  execute: async (_config, ctx) => ({ ok: true, step: ctx.step_key }),
};

interface Side {
  name: string;
  start(): Promise<WorkflowHandle>;
}

async function main(): Promise<void> {
  fs.rmSync(dataDir, { recursive: true, force: true });
  const cleanups: Array<() => Promise<unknown>> = [];
  try {
    const pgDir = path.join(dataDir, 'postgres');
    const [pg, tmp] = await Promise.all([
      startEmbeddedPostgres({ dataDir: pgDir, port: await freePort(), database: 'merchflow_bench', password: 'bench' }),
      startTemporalDevServer({ port: await freePort(), uiPort: null, dbFile: STORE === 'file' ? path.join(dataDir, 'temporal.db') : null }),
    ]);
    cleanups.push(() => pg.stop(), () => tmp.stop());
    const config = loadConfig({ ...process.env, NODE_ENV: 'test', DATABASE_URL: pg.url, TEMPORAL_ADDRESS: tmp.address, LOG_LEVEL: 'error' });
    const logger = new Logger({ level: 'error', format: 'json' });
    installTemporalRuntime(logger, 'ERROR');
    const ds = await createDataSource(config, { poolSize: 20 }).initialize();
    cleanups.push(() => ds.destroy());
    await ds.runMigrations();

    const dataConverter = merchflowDataConverter(config);
    const connection = await Connection.connect({ address: tmp.address });
    cleanups.push(() => connection.close());
    const client = new Client({ connection, namespace: config.temporal.namespace, dataConverter });
    const registry = stepTypeRegistry([noopExecutor]);
    const workflows = new WorkflowsService(ds, registry);
    const mfQueue = `bench-mf-${randomUUID()}`;
    const baseQueue = `bench-base-${randomUUID()}`;
    // A loaded machine may take Temporal longer than the API's 10 s to start a run: the bench waits.
    const executions = new ExecutionsService(ds, async () => client, workflows, registry, mfQueue, { startTimeoutMs: 120_000 });

    // Both workers with the same slots and cache.
    const settings = {
      maxConcurrentActivityTaskExecutions: config.worker.maxConcurrentActivities,
      maxConcurrentWorkflowTaskExecutions: config.worker.maxConcurrentWorkflowTasks,
      maxCachedWorkflows: config.worker.maxCachedWorkflows,
    };
    const mfConn = await NativeConnection.connect({ address: tmp.address });
    const mfWorker = await createMerchflowWorker({ config, dataSource: ds, connection: mfConn, logger, taskQueue: mfQueue, executors: [noopExecutor] });
    const baseConn = await NativeConnection.connect({ address: tmp.address });
    const baseWorker = await Worker.create({
      connection: baseConn,
      namespace: config.temporal.namespace,
      taskQueue: baseQueue,
      workflowsPath: require.resolve('./support/interpreter-baseline-workflow'),
      activities: { noop: async (req: { step: number }) => ({ ok: true, step: req.step }) },
      dataConverter,
      ...settings,
    });
    const runningWorkers = [mfWorker.run(), baseWorker.run()];
    cleanups.push(async () => {
      mfWorker.shutdown();
      baseWorker.shutdown();
      await Promise.all(runningWorkers);
      await mfConn.close();
      await baseConn.close();
    });

    const { workflow } = await workflows.create({
      code: `bench_ten_steps_${Date.now()}`,
      name: 'Ten no-op steps',
      steps: Array.from({ length: STEPS }, (_, i) => ({
        key: `step_${i + 1}`,
        name: `Step ${i + 1}`,
        step_type: 'bench_noop',
        timeout_seconds: 60,
        config: {},
      })),
    });
    const mf: Side = {
      name: 'merchflow',
      start: async () => client.workflow.getHandle((await executions.start(workflow.id, { input_data: { n: 1 } })).execution_id),
    };
    const base: Side = {
      name: 'baseline',
      start: () =>
        client.workflow.start('tenActivitiesWorkflow', { taskQueue: baseQueue, workflowId: `baseline-${randomUUID()}`, args: [{ steps: STEPS, data: { n: 1 } }] }),
    };
    const sides = [mf, base];

    // Warm both workers up (bundles loaded, connections open, caches filled).
    for (const s of sides) await Promise.all(Array.from({ length: 5 }, async () => (await s.start()).result()));

    say(`${STEPS} steps a run; dev server store: ${STORE}; ${loadAverage()}`);
    // 1. Latency, one run at a time, interleaved.
    const latency: Record<string, number[]> = { merchflow: [], baseline: [] };
    const commitsBefore = await commits(ds);
    for (let i = 0; i < LATENCY_RUNS; i++) {
      for (const s of sides) {
        const t0 = performance.now();
        await (await s.start()).result();
        latency[s.name].push(performance.now() - t0);
      }
    }
    // PostgreSQL publishes a backend's counters when it goes idle (at most 10 s later).
    await new Promise((r) => setTimeout(r, 11_000));
    const commitsPerRun = (Number(await commits(ds)) - Number(commitsBefore)) / LATENCY_RUNS;
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    say('');
    say(`latency, one run at a time (median of ${LATENCY_RUNS}):`);
    say(`  merchflow ${med(latency.merchflow).toFixed(0)} ms, baseline ${med(latency.baseline).toFixed(0)} ms, ratio ${(med(latency.merchflow) / med(latency.baseline)).toFixed(2)}x`);

    // 2. Throughput and CPU, N runs at once, interleaved rounds.
    // PostgreSQL: every child process of this one but the Temporal server (embedded-postgres spawns it).
    const pgPids = childrenOf(process.pid, [tmp.process.pid!]);
    const rate: Record<string, number[]> = { merchflow: [], baseline: [] };
    const cpu: Record<string, { self: number; pg: number; temporal: number }[]> = { merchflow: [], baseline: [] };
    for (let round = 0; round < ROUNDS; round++) {
      for (const s of sides) {
        const c0 = process.cpuUsage();
        const pg0 = cpuMsOfTrees(pgPids);
        const t0cpu = cpuMsOfTrees([tmp.process.pid!]);
        const t0 = performance.now();
        // Started by STARTERS clients at a time (as an API would take them), all runs then in flight together.
        const handles: WorkflowHandle[] = [];
        await Promise.all(
          Array.from({ length: STARTERS }, async () => {
            while (handles.length < RUNS) {
              const slot = handles.length;
              handles.length++;
              handles[slot] = await s.start();
            }
          }),
        );
        await Promise.all(handles.map((h) => h.result()));
        const secs = (performance.now() - t0) / 1000;
        const c = process.cpuUsage(c0);
        rate[s.name].push(RUNS / secs);
        cpu[s.name].push({ self: (c.user + c.system) / 1000 / RUNS, pg: (cpuMsOfTrees(pgPids) - pg0) / RUNS, temporal: (cpuMsOfTrees([tmp.process.pid!]) - t0cpu) / RUNS });
      }
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    say('');
    say(`throughput, ${RUNS} runs started at once (mean of ${ROUNDS} interleaved rounds):`);
    say(`  merchflow ${mean(rate.merchflow).toFixed(1)} runs/s (${rate.merchflow.map((r) => r.toFixed(1)).join(', ')}), baseline ${mean(rate.baseline).toFixed(1)} runs/s (${rate.baseline.map((r) => r.toFixed(1)).join(', ')}), ratio ${(mean(rate.merchflow) / mean(rate.baseline)).toFixed(2)}x`);
    const cpuOf = (name: string, k: 'self' | 'pg' | 'temporal') => mean(cpu[name].map((c) => c[k]));
    say('');
    say('CPU per run (during the throughput rounds):');
    for (const [k, label] of [['self', 'worker + client (this process)'], ['pg', 'PostgreSQL'], ['temporal', 'Temporal dev server']] as const) {
      const a = cpuOf('merchflow', k);
      const b = cpuOf('baseline', k);
      say(`  ${label.padEnd(32)} merchflow ${a.toFixed(1)} ms, baseline ${b.toFixed(1)} ms${b > 0.5 ? `, ratio ${(a / b).toFixed(2)}x` : ''}`);
    }
    const total = (n: string) => cpuOf(n, 'self') + cpuOf(n, 'pg') + cpuOf(n, 'temporal');
    say(`  ${'all together'.padEnd(32)} merchflow ${total('merchflow').toFixed(1)} ms, baseline ${total('baseline').toFixed(1)} ms, ratio ${(total('merchflow') / total('baseline')).toFixed(2)}x`);
    say(`  PostgreSQL commits per merchflow run: ${commitsPerRun.toFixed(1)}`);

    // 3. History of one run each.
    say('');
    say('history of one run:');
    const hist: Record<string, { bytes: number; events: number; byType: Map<string, { n: number; bytes: number }> }> = {};
    for (const s of sides) {
      const h = await s.start();
      await h.result();
      const history = await h.fetchHistory();
      // Where the bytes are: encoded size of each event, by event type.
      const byType = new Map<string, { n: number; bytes: number }>();
      for (const e of history.events ?? []) {
        const type = (temporal.api.enums.v1.EventType[e.eventType ?? 0] ?? String(e.eventType)).replace(/^EVENT_TYPE_/, '').toLowerCase();
        const t = byType.get(type) ?? { n: 0, bytes: 0 };
        t.n++;
        t.bytes += temporal.api.history.v1.HistoryEvent.encode(e).finish().length;
        byType.set(type, t);
      }
      if (HISTORY_OUT) {
        fs.mkdirSync(HISTORY_OUT, { recursive: true });
        fs.writeFileSync(path.join(HISTORY_OUT, `${s.name}.history.pb`), temporal.api.history.v1.History.encode(history).finish());
      }
      hist[s.name] = { bytes: temporal.api.history.v1.History.encode(history).finish().length, events: history.events?.length ?? 0, byType };
    }
    const types = [...new Set([...hist.merchflow.byType.keys(), ...hist.baseline.byType.keys()])].sort((a, b) => (hist.merchflow.byType.get(b)?.bytes ?? 0) - (hist.merchflow.byType.get(a)?.bytes ?? 0));
    for (const type of types) {
      const [m, b] = [hist.merchflow.byType.get(type), hist.baseline.byType.get(type)];
      say(`  ${type.padEnd(34)} merchflow ${String(m?.n ?? 0).padStart(3)} events ${String(m?.bytes ?? 0).padStart(6)} B   baseline ${String(b?.n ?? 0).padStart(3)} events ${String(b?.bytes ?? 0).padStart(6)} B`);
    }
    say(
      `  merchflow ${hist.merchflow.events} events, ${(hist.merchflow.bytes / 1024).toFixed(1)} KB; baseline ${hist.baseline.events} events, ${(hist.baseline.bytes / 1024).toFixed(1)} KB; ratio ${(hist.merchflow.bytes / hist.baseline.bytes).toFixed(2)}x bytes`,
    );
    say('');
    say(`done; ${loadAverage()}`);
  } finally {
    for (const c of cleanups.reverse()) await c().catch((e) => say(`cleanup: ${(e as Error).message}`));
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

async function commits(ds: { query(sql: string): Promise<Array<{ n: string }>> }): Promise<string> {
  const rows = await ds.query(`SELECT xact_commit::text AS n FROM pg_stat_database WHERE datname = current_database()`);
  return rows[0].n;
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`interpreter: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
