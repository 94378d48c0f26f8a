/**
 * One I/O-bound workload run by 1, 2 and 3 worker processes on one Temporal
 * dev server and one PostgreSQL: `--runs` runs at once (default 30), each one
 * api_call step sending `--items` GET requests (default 200, `concurrency` 8)
 * to a peer of this bench that answers after `--latency` ms (default 50).
 * Prints requests/s for each worker count with its ratio to one worker, the
 * CPU each worker process used (share of one core) and per request, and how
 * many requests were in flight at the peer (sampled every 20 ms) against what
 * the activity slots allow, with this process's own CPU and event-loop delay
 * (the peer shares it: it must not be the limit).
 *
 *   npm run bench -- scale-out [--runs 30] [--items 200] [--latency 50] [--workers 1,2,3]
 *     [--baseline-dist dist-before [--rounds N]] [--timeline] [--worker-log FILE] [--cpu-prof [--cpu-prof-dir DIR]]
 *
 * `--baseline-dist`: workers of another build (`BUILD_OUT=dist-before node
 * scripts/build.js` on the commit to compare with) measured alternately with
 * this build's, N rounds each per worker count, with the medians' ratios.
 * `--timeline`: requests in flight per 250 ms. `--worker-log FILE`: the workers' log lines. `--cpu-prof`: V8 CPU profiles
 * of the worker processes (node `--cpu-prof`, default `.data/scale-out-profiles`).
 *
 * The workers are real `dist/temporal/worker-main.js` processes with the
 * environment's settings (e.g. WORKER_MAX_CONCURRENT_ACTIVITIES, HTTP_MAX_SOCKETS_PER_HOST).
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { startWorkerProcess } from './support/worker-process';
import { performance } from 'node:perf_hooks';
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { merchflowDataConverter } from '@engine/codec/data-converter';
import { loadConfig } from '@src/config/config';
import { createDataSource } from '@src/database/data-source';
import { WorkflowsService } from '@src/workflows/workflows.service';
import { ExecutionsService } from '@src/executions/executions.service';
import { stepTypeRegistry } from '@engine/activities/registry';
import { startEmbeddedPostgres } from '../scripts/lib/embedded-postgres';
import { startTemporalDevServer, stopChild } from '../scripts/lib/temporal-server';
import { freePort } from '../scripts/lib/ports';
import { cpuMsOfTrees, loadAverage, schedMs } from './support/proc';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : process.argv[i + 1];
}
const RUNS = Number(arg('runs', '30'));
const ITEMS = Number(arg('items', '200'));
const LATENCY_MS = Number(arg('latency', '50'));
const WORKER_COUNTS = arg('workers', '1,2,3').split(',').map(Number);
/** Print the peer's requests in flight over time (sampled every 20 ms) for each worker count. */
const TIMELINE = process.argv.includes('--timeline');
/** Write a V8 CPU profile of each worker process into this directory (`--cpu-prof`). */
/** Another build's directory (e.g. `dist-before`, built with `BUILD_OUT=dist-before node scripts/build.js`): its workers are measured too, alternating with this build's. */
const BASELINE_DIST = process.argv.includes('--baseline-dist') ? path.resolve(arg('baseline-dist', 'dist-before')) : null;
const ROUNDS = Number(arg('rounds', '1'));
/** Append the workers' output (their log lines) to this file. */
const WORKER_LOG = process.argv.includes('--worker-log') ? path.resolve(arg('worker-log', 'scale-out-workers.log')) : null;
const CPU_PROF_DIR = process.argv.includes('--cpu-prof') ? arg('cpu-prof-dir', path.resolve('.data', 'scale-out-profiles')) : null;

const dist = path.resolve(__dirname, '..');
const dataDir = path.join(dist, '..', '.data', `bench-scale-out-${process.pid}`);
const say = (line: string) => console.log(`scale-out | ${line}`);

interface Measured {
  rate: number;
  secs: number;
  /** Share of one core each worker process used. */
  cpu: number[];
  /** Share of the wall time each worker process's main thread (its event loop) spent runnable but waiting for a CPU. */
  waitedForCpu: number[];
  /** CPU of all worker processes per request sent. */
  cpuMsPerRequest: number;
  failed: number;
  inflight: { median: number; p90: number; max: number; mean: number };
  possible: number;
  benchCpu: number;
  lag: { mean: number; max: number };
  /** Mean requests in flight per 250 ms. */
  timeline: number[];
}

async function main(): Promise<void> {
  fs.rmSync(dataDir, { recursive: true, force: true });
  const cleanups: Array<() => Promise<unknown>> = [];
  try {
    let requests = 0;
    let inflight = 0;
    const peer = http.createServer((req, res) => {
      requests++;
      inflight++;
      setTimeout(() => {
        inflight--;
        res.writeHead(200, { 'content-type': 'application/json' }).end(`{"ok":true,"path":"${req.url}"}`);
      }, LATENCY_MS);
    });
    peer.keepAliveTimeout = 60_000;
    await new Promise<void>((r) => peer.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => peer.close(r)));
    const peerPort = (peer.address() as { port: number }).port;

    const [pg, tmp] = await Promise.all([
      startEmbeddedPostgres({ dataDir: path.join(dataDir, 'postgres'), port: await freePort(), database: 'merchflow_bench', password: 'bench' }),
      startTemporalDevServer({ port: await freePort(), uiPort: null, dbFile: path.join(dataDir, 'temporal.db') }),
    ]);
    cleanups.push(() => pg.stop(), () => tmp.stop());
    const env = { ...process.env, NODE_ENV: 'test', DATABASE_URL: pg.url, TEMPORAL_ADDRESS: tmp.address, HTTP_ALLOW_HOSTS: `127.0.0.1:${peerPort}`, LOG_LEVEL: 'info' };
    const config = loadConfig(env);
    const ds = await createDataSource(config).initialize();
    cleanups.push(() => ds.destroy());
    await ds.runMigrations();
    const connection = await Connection.connect({ address: tmp.address });
    cleanups.push(() => connection.close());
    const client = new Client({ connection, namespace: config.temporal.namespace, dataConverter: merchflowDataConverter(config) });
    const registry = stepTypeRegistry();
    const workflows = new WorkflowsService(ds, registry);
    const { workflow } = await workflows.create({
      code: `scale_out_${Date.now()}`,
      name: 'I/O-bound api_call',
      steps: [
        {
          key: 'call',
          name: 'One GET per item',
          step_type: 'api_call',
          timeout_seconds: 600,
          config: { url: `http://127.0.0.1:${peerPort}/items/$id`, method: 'GET', input: '$input.items', concurrency: 8, response_path: 'ok' },
        },
      ],
    });
    const items = Array.from({ length: ITEMS }, (_, i) => ({ id: i + 1 }));

    say(
      `${RUNS} runs x ${ITEMS} requests, peer latency ${LATENCY_MS} ms, workers ${WORKER_COUNTS.join(', ')}` +
        `${BASELINE_DIST ? `, this build vs ${BASELINE_DIST} (${ROUNDS} round${ROUNDS > 1 ? 's' : ''} each, alternating)` : ''}; ${loadAverage()}`,
    );
    /** One measurement: `count` worker processes of the build in `workerDist` on a task queue of their own. */
    const measure = async (count: number, workerDist: string): Promise<Measured> => {
      const taskQueue = `scale-out-${randomUUID()}`;
      const workers = await Promise.all(Array.from({ length: count }, () => startWorker(env, taskQueue, workerDist)));
      try {
        const executions = new ExecutionsService(ds, async () => client, workflows, registry, taskQueue, { startTimeoutMs: 120_000 });
        // One warm-up run (connections, bundle, caches), then the measured runs.
        await client.workflow.getHandle((await executions.start(workflow.id, { input_data: { items: items.slice(0, 20) } })).execution_id).result();
        const cpu0 = workers.map((w) => cpuMsOfTrees([w.pid!]));
        const sched0 = workers.map((w) => schedMs(w.pid!));
        const self0 = process.cpuUsage();
        const r0 = requests;
        const t0 = performance.now();
        // The peer and this process's own load: requests in flight and this event loop's delay, every 20 ms.
        const samples: number[] = [];
        let lagMax = 0;
        let lagSum = 0;
        let expected = performance.now() + 20;
        const sampler = setInterval(() => {
          const now = performance.now();
          const lag = Math.max(0, now - expected);
          lagMax = Math.max(lagMax, lag);
          lagSum += lag;
          expected = now + 20;
          samples.push(inflight);
        }, 20);
        const runs = await Promise.all(Array.from({ length: RUNS }, () => executions.start(workflow.id, { input_data: { items } })));
        const results = await Promise.all(runs.map((r) => client.workflow.getHandle(r.execution_id).result() as Promise<{ status: string }>));
        const secs = (performance.now() - t0) / 1000;
        clearInterval(sampler);
        const cpuMs = workers.map((w, i) => cpuMsOfTrees([w.pid!]) - cpu0[i]);
        const waitMs = workers.map((w, i) => schedMs(w.pid!).mainWaitMs - sched0[i].mainWaitMs);
        const self = process.cpuUsage(self0);
        const sent = requests - r0;
        const sorted = [...samples].sort((a, b) => a - b);
        const pct = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor((q / 100) * sorted.length))] ?? 0;
        const timeline: number[] = [];
        for (let i = 0; i < samples.length; i += 250 / 20) {
          const slice = samples.slice(i, i + 250 / 20);
          timeline.push(Math.round(slice.reduce((a, b) => a + b, 0) / slice.length));
        }
        return {
          rate: sent / secs,
          secs,
          cpu: cpuMs.map((c) => c / 1000 / secs),
          waitedForCpu: waitMs.map((c) => c / 1000 / secs),
          cpuMsPerRequest: cpuMs.reduce((a, b) => a + b, 0) / sent,
          failed: results.filter((r) => r.status !== 'completed').length,
          inflight: { median: pct(50), p90: pct(90), max: pct(100), mean: samples.reduce((a, b) => a + b, 0) / Math.max(1, samples.length) },
          possible: Math.min(RUNS, count * config.worker.maxConcurrentActivities) * 8,
          benchCpu: (self.user + self.system) / 1000 / 1000 / secs,
          lag: { mean: lagSum / Math.max(1, samples.length), max: lagMax },
          timeline,
        };
      } finally {
        await Promise.all(workers.map((w) => stopChild(w, 30_000)));
      }
    };
    const show = (label: string, count: number, m: Measured, one: number) => {
      say(
        `${label}${count} worker${count > 1 ? 's' : ' '}: ${m.rate.toFixed(0)} requests/s (${(m.rate / one).toFixed(2)}x one worker), ${m.secs.toFixed(1)} s; ` +
          `CPU per worker process ${m.cpu.map((c) => `${(c * 100).toFixed(0)} %`).join(', ')} of a core, ${m.cpuMsPerRequest.toFixed(2)} ms per request, ` +
          `event loop waiting for a CPU ${m.waitedForCpu.map((c) => `${(c * 100).toFixed(0)} %`).join(', ')} of the time` +
          `${m.failed ? `; ${m.failed} runs not completed` : ''}`,
      );
      say(
        `  requests in flight at the peer (of ${m.possible} the activity slots allow): median ${m.inflight.median}, p90 ${m.inflight.p90}, ` +
          `max ${m.inflight.max}, mean ${m.inflight.mean.toFixed(0)}; bench process (peer, client) ${(m.benchCpu * 100).toFixed(0)} % of a core, ` +
          `its event-loop delay mean ${m.lag.mean.toFixed(1)} ms, max ${m.lag.max.toFixed(0)} ms`,
      );
      if (TIMELINE) say(`  in flight per 250 ms: ${m.timeline.join(' ')}`);
    };
    const median = (xs: number[]) => {
      const sorted = [...xs].sort((a, b) => a - b);
      const mid = Math.floor(sorted.length / 2);
      return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    };
    const mine: Record<number, Measured[]> = {};
    const base: Record<number, Measured[]> = {};
    for (const count of WORKER_COUNTS) {
      mine[count] = [];
      base[count] = [];
      for (let round = 0; round < (BASELINE_DIST ? ROUNDS : 1); round++) {
        // Alternate which build goes first, so neither always meets the machine's load first.
        const order = BASELINE_DIST ? (round % 2 === 0 ? ['base', 'mine'] : ['mine', 'base']) : ['mine'];
        for (const which of order) {
          const m = await measure(count, which === 'base' ? BASELINE_DIST! : dist);
          (which === 'base' ? base : mine)[count].push(m);
          const one = (which === 'base' ? base : mine)[WORKER_COUNTS[0]][0]?.rate ?? m.rate;
          show(BASELINE_DIST ? (which === 'base' ? 'baseline   ' : 'this build ') : '', count, m, one);
        }
      }
    }
    if (BASELINE_DIST) {
      say('medians, this build vs baseline:');
      const one = { mine: median(mine[WORKER_COUNTS[0]].map((m) => m.rate)), base: median(base[WORKER_COUNTS[0]].map((m) => m.rate)) };
      for (const count of WORKER_COUNTS) {
        const r = { mine: median(mine[count].map((m) => m.rate)), base: median(base[count].map((m) => m.rate)) };
        const c = { mine: median(mine[count].map((m) => m.cpuMsPerRequest)), base: median(base[count].map((m) => m.cpuMsPerRequest)) };
        say(
          `  ${count} worker${count > 1 ? 's' : ' '}: ${r.mine.toFixed(0)} vs ${r.base.toFixed(0)} requests/s, ${(r.mine / r.base).toFixed(2)}x ` +
            `(to one worker: ${(r.mine / one.mine).toFixed(2)}x vs ${(r.base / one.base).toFixed(2)}x); ` +
            `worker CPU per request ${c.mine.toFixed(2)} vs ${c.base.toFixed(2)} ms, ${(c.mine / c.base).toFixed(2)}x`,
        );
      }
    }
    say(`done; ${loadAverage()}`);
  } finally {
    for (const c of cleanups.reverse()) await c().catch((e) => say(`cleanup: ${(e as Error).message}`));
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/** A worker process on the task queue; resolves once it polls. */
function startWorker(env: NodeJS.ProcessEnv, taskQueue: string, workerDist: string): Promise<ChildProcess> {
  return startWorkerProcess({ env, taskQueue, dist: workerDist, cpuProfDir: CPU_PROF_DIR, logFile: WORKER_LOG });
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`scale-out: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
