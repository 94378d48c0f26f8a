/**
 * One I/O-bound workload run by 1, 2 and 3 worker processes on one Temporal
 * dev server and one PostgreSQL: `--runs` runs at once (default 30), each one
 * api_call step sending `--items` GET requests (default 200, `concurrency` 8)
 * to a peer of this bench that answers after `--latency` ms (default 50).
 * Prints requests/s for each worker count with its ratio to one worker, and
 * the CPU each worker process used (share of one core).
 *
 *   npm run bench -- scale-out [--runs 30] [--items 200] [--latency 50] [--workers 1,2,3]
 *
 * The workers are real `dist/temporal/worker-main.js` processes with the
 * environment's settings (e.g. WORKER_MAX_CONCURRENT_ACTIVITIES, HTTP_MAX_SOCKETS_PER_HOST).
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
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
import { cpuMsOfTrees, loadAverage } from './support/proc';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : process.argv[i + 1];
}
const RUNS = Number(arg('runs', '30'));
const ITEMS = Number(arg('items', '200'));
const LATENCY_MS = Number(arg('latency', '50'));
const WORKER_COUNTS = arg('workers', '1,2,3').split(',').map(Number);

const dist = path.resolve(__dirname, '..');
const dataDir = path.join(dist, '..', '.data', `bench-scale-out-${process.pid}`);
const say = (line: string) => console.log(`scale-out | ${line}`);

async function main(): Promise<void> {
  fs.rmSync(dataDir, { recursive: true, force: true });
  const cleanups: Array<() => Promise<unknown>> = [];
  try {
    let requests = 0;
    const peer = http.createServer((req, res) => {
      requests++;
      setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(`{"ok":true,"path":"${req.url}"}`), LATENCY_MS);
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

    say(`${RUNS} runs x ${ITEMS} requests, peer latency ${LATENCY_MS} ms, workers ${WORKER_COUNTS.join(', ')}; ${loadAverage()}`);
    const rates: number[] = [];
    for (const count of WORKER_COUNTS) {
      const taskQueue = `scale-out-${randomUUID()}`;
      const workers = await Promise.all(Array.from({ length: count }, () => startWorker(env, taskQueue)));
      const executions = new ExecutionsService(ds, async () => client, workflows, registry, taskQueue, { startTimeoutMs: 120_000 });
      // One warm-up run (connections, bundle, caches), then the measured runs.
      await client.workflow.getHandle((await executions.start(workflow.id, { input_data: { items: items.slice(0, 20) } })).execution_id).result();
      const cpu0 = workers.map((w) => cpuMsOfTrees([w.pid!]));
      const r0 = requests;
      const t0 = performance.now();
      const runs = await Promise.all(Array.from({ length: RUNS }, () => executions.start(workflow.id, { input_data: { items } })));
      const results = await Promise.all(runs.map((r) => client.workflow.getHandle(r.execution_id).result() as Promise<{ status: string }>));
      const secs = (performance.now() - t0) / 1000;
      const cpu = workers.map((w, i) => (cpuMsOfTrees([w.pid!]) - cpu0[i]) / 1000 / secs);
      const rate = (requests - r0) / secs;
      rates.push(rate);
      const failed = results.filter((r) => r.status !== 'completed').length;
      say(
        `${count} worker${count > 1 ? 's' : ' '}: ${rate.toFixed(0)} requests/s (${(rate / rates[0]).toFixed(2)}x one worker), ${secs.toFixed(1)} s; ` +
          `CPU per worker process ${cpu.map((c) => `${(c * 100).toFixed(0)} %`).join(', ')} of a core${failed ? `; ${failed} runs not completed` : ''}`,
      );
      await Promise.all(workers.map((w) => stopChild(w, 30_000)));
    }
    say(`done; ${loadAverage()}`);
  } finally {
    for (const c of cleanups.reverse()) await c().catch((e) => say(`cleanup: ${(e as Error).message}`));
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/** A worker process on the task queue; resolves once it polls. */
async function startWorker(env: NodeJS.ProcessEnv, taskQueue: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [path.join(dist, 'temporal/worker-main.js'), '--task-queue', taskQueue], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const onData = (b: Buffer) => {
      out += b.toString('utf8');
      if (out.includes('worker polling')) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}: ${out.slice(-2000)}`)));
  });
  child.stdout!.resume();
  child.stderr!.resume();
  return child;
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`scale-out: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
