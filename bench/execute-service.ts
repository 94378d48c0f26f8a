/**
 * The execute path without HTTP: `ExecutionsService.start` (what
 * `POST /workflows/{id}/execute/` calls: the workflow row, the cached version
 * and its validation, the input schema, the run's INSERT, the Temporal start
 * with the definition) against plain `workflow.start` calls with a small input,
 * on one Temporal dev server (SQLite file, the pragmas `npm start` uses) and
 * one PostgreSQL of its own, N callers at once, interleaved rounds; and
 * "same start": merchflow's Temporal start (definition, search attributes,
 * memo, metadata) without the service and PostgreSQL around it. Nobody
 * polls either task queue: this measures starting runs, not running them.
 * For the whole API under load, see `execute-load` (needs a running API).
 *
 *   npm run bench -- execute-service [--clients 50] [--requests 1000] [--rounds 2]
 */
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { merchflowDataConverter } from '@engine/codec/data-converter';
import { loadConfig } from '@src/config/config';
import { createDataSource } from '@src/database/data-source';
import { WorkflowsService } from '@src/workflows/workflows.service';
import { ExecutionsService, searchAttributes } from '@src/executions/executions.service';
import { runMetadata } from '@src/executions/run-metadata';
import { workflowTypeName } from '@engine/shared/contracts';
import { stepTypeRegistry } from '@engine/activities/registry';
import { startEmbeddedPostgres } from '../scripts/lib/embedded-postgres';
import { startTemporalDevServer } from '../scripts/lib/temporal-server';
import { freePort } from '../scripts/lib/ports';
import { loadAverage } from './support/proc';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : process.argv[i + 1];
}
const CLIENTS = Number(arg('clients', '50'));
const REQUESTS = Number(arg('requests', '1000'));
const ROUNDS = Number(arg('rounds', '2'));
const root = path.resolve(__dirname, '..', '..');
const dataDir = path.join(root, '.data', `bench-execute-service-${process.pid}`);
const say = (line: string) => console.log(`execute-service | ${line}`);

/** Starts REQUESTS calls of `once`, CLIENTS at a time; returns the latencies (sorted) and the elapsed seconds. */
async function load(once: () => Promise<unknown>): Promise<{ latencies: number[]; seconds: number }> {
  const latencies: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (next < REQUESTS) {
        next++;
        const t = performance.now();
        await once();
        latencies.push(performance.now() - t);
      }
    }),
  );
  return { latencies: latencies.sort((a, b) => a - b), seconds: (performance.now() - t0) / 1000 };
}

const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

async function main(): Promise<void> {
  fs.rmSync(dataDir, { recursive: true, force: true });
  const cleanups: Array<() => Promise<unknown>> = [];
  try {
    const [pg, tmp] = await Promise.all([
      startEmbeddedPostgres({ dataDir: path.join(dataDir, 'postgres'), port: await freePort(), database: 'merchflow_bench', password: 'bench' }),
      startTemporalDevServer({ port: await freePort(), uiPort: null, dbFile: path.join(dataDir, 'temporal.db') }),
    ]);
    cleanups.push(() => pg.stop(), () => tmp.stop());
    const config = loadConfig({ ...process.env, NODE_ENV: 'test', DATABASE_URL: pg.url, TEMPORAL_ADDRESS: tmp.address, LOG_LEVEL: 'error' });
    const ds = await createDataSource(config, { poolSize: 20 }).initialize();
    cleanups.push(() => ds.destroy());
    await ds.runMigrations();
    const connection = await Connection.connect({ address: tmp.address });
    cleanups.push(() => connection.close());
    const client = new Client({ connection, namespace: config.temporal.namespace, dataConverter: merchflowDataConverter(config) });
    const registry = stepTypeRegistry([{ type: 'bench_noop', validateConfig: () => [] }]);
    const workflows = new WorkflowsService(ds, registry);
    const unpolled = `execute-service-${randomUUID()}`;
    const executions = new ExecutionsService(ds, async () => client, workflows, registry, unpolled, { startTimeoutMs: 120_000 });
    const { workflow } = await workflows.create({
      code: `bench_execute_${Date.now()}`,
      name: 'Ten no-op steps',
      steps: Array.from({ length: 10 }, (_, i) => ({ key: `step_${i + 1}`, name: `Step ${i + 1}`, step_type: 'bench_noop', timeout_seconds: 60, config: {} })),
    });
    const { definition } = await workflows.definition(workflow.id);
    const sides: Record<string, () => Promise<unknown>> = {
      merchflow: () => executions.start(workflow.id, { input_data: { n: 1 } }),
      baseline: () => client.workflow.start('definitionWorkflow', { taskQueue: unpolled, workflowId: `baseline-${randomUUID()}`, args: [{ n: 1 }] }),
      // The same Temporal start as merchflow's (the definition in the input, search attributes, memo, Web UI
      // metadata), without PostgreSQL: tells the cost of what is started from the cost of the service around it.
      'same start': () => {
        const id = `same-${randomUUID()}`;
        return client.workflow.start(workflowTypeName(definition.workflow_type), {
          workflowId: id,
          taskQueue: unpolled,
          args: [{ execution_id: id, definition, input: { n: 1 }, trigger_type: 'api', triggered_by: null }],
          typedSearchAttributes: searchAttributes(definition, 'api'),
          memo: { workflow_id: workflow.id, workflow_name: workflow.name, version: definition.version, restarted_from: null },
          ...runMetadata({ definition, executionId: id, trigger: 'api', input: { n: 1 }, publicUrl: 'http://127.0.0.1:3000', scheduleId: null }),
        });
      },
    };
    // Warm-up: connections open, the version cached and validated.
    for (const once of Object.values(sides)) await Promise.all(Array.from({ length: 20 }, once));
    say(`${CLIENTS} callers, ${REQUESTS} starts a round, ${ROUNDS} interleaved rounds; ${loadAverage()}`);
    const results: Record<string, Array<{ latencies: number[]; seconds: number }>> = { merchflow: [], baseline: [], 'same start': [] };
    for (let round = 0; round < ROUNDS; round++) {
      for (const name of round % 2 ? ['baseline', 'same start', 'merchflow'] : ['merchflow', 'same start', 'baseline']) {
        const r = await load(sides[name]);
        results[name].push(r);
        say(`round ${round + 1} ${name.padEnd(9)} ${(REQUESTS / r.seconds).toFixed(0)} starts/s, p50 ${pct(r.latencies, 50).toFixed(0)} ms, p99 ${pct(r.latencies, 99).toFixed(0)} ms`);
      }
    }
    const rate = (n: string) => results[n].reduce((a, r) => a + REQUESTS / r.seconds, 0) / ROUNDS;
    const p = (n: string, q: number) => results[n].reduce((a, r) => a + pct(r.latencies, q), 0) / ROUNDS;
    say('');
    say(`merchflow ${rate('merchflow').toFixed(0)} starts/s (p50 ${p('merchflow', 50).toFixed(0)} ms, p99 ${p('merchflow', 99).toFixed(0)} ms); baseline ${rate('baseline').toFixed(0)} starts/s (p50 ${p('baseline', 50).toFixed(0)} ms, p99 ${p('baseline', 99).toFixed(0)} ms)`);
    say(`same start without the service: ${rate('same start').toFixed(0)} starts/s (p50 ${p('same start', 50).toFixed(0)} ms, p99 ${p('same start', 99).toFixed(0)} ms), ratio to baseline ${(rate('same start') / rate('baseline')).toFixed(2)}x`);
    say(`ratio merchflow / baseline: throughput ${(rate('merchflow') / rate('baseline')).toFixed(2)}x, p50 ${(p('merchflow', 50) / p('baseline', 50)).toFixed(2)}x, p99 ${(p('merchflow', 99) / p('baseline', 99)).toFixed(2)}x`);
    say(`done; ${loadAverage()}`);
  } finally {
    for (const c of cleanups.reverse()) await c().catch((e) => say(`cleanup: ${(e as Error).message}`));
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`execute-service: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
