/**
 * The worker's activity side alone: runs of ten no-op steps called by
 * reference, as the interpreter schedules them, through the step activity that
 * `createActivities` builds (definition store, input hydration, executor,
 * secret scrub, output offload, projection write, logger), with no Temporal
 * server (`MockActivityEnvironment`) on an embedded PostgreSQL, N runs in
 * flight at once. Side by side with a baseline of the same calls to an
 * activity that does nothing, in interleaved rounds: CPU of this process per
 * run, PostgreSQL's CPU per run and round trips (pg queries) per run.
 *
 *   npm run bench -- step-activities [--runs 200] [--rounds 5] [--concurrency 50] [--level error|info] [--baseline-dist DIR]
 *
 * `--baseline-dist DIR`: the step activities of another build as well
 * (`BUILD_OUT=dist-before node scripts/build.js` on the commit to compare),
 * interleaved with this build's, with the ratio of their medians. `--level`:
 * the workers' log level (lines go nowhere; `info` shows what per-step lines
 * cost).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { DataSource } from 'typeorm';
import { loadConfig } from '@src/config/config';
import { createDataSource } from '@src/database/data-source';
import { WorkflowsService } from '@src/workflows/workflows.service';
import { stepTypeRegistry } from '@engine/activities/registry';
import type { StepExecutor } from '@engine/activities/runtime/executor';
import { startEmbeddedPostgres } from '../scripts/lib/embedded-postgres';
import { freePort } from '../scripts/lib/ports';
import { childrenOf, cpuMsOfTrees, loadAverage } from './support/proc';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : process.argv[i + 1];
}
const RUNS = Number(arg('runs', '200'));
const ROUNDS = Number(arg('rounds', '5'));
const CONCURRENCY = Number(arg('concurrency', '50'));
const LEVEL = arg('level', 'error');
const BASELINE_DIST = process.argv.includes('--baseline-dist') ? path.resolve(arg('baseline-dist', 'dist-before')) : null;
const STEPS = 10;
const THIS_DIST = path.resolve(__dirname, '..');
const dataDir = path.join(THIS_DIST, '..', '.data', `bench-step-activities-${process.pid}`);
const say = (line: string) => console.log(`step-activities | ${line}`);

const noopExecutor: StepExecutor = {
  type: 'bench_noop',
  validateConfig: () => [],
  execute: async (_config, ctx) => ({ ok: true, step: ctx.step_key }),
};

type StepActivity = (call: unknown) => Promise<{ output: unknown }>;

/** The `bench_noop` activity of the build in `dist` (its own modules, its own data source: entities are per build). */
async function stepActivityOf(dist: string, config: ReturnType<typeof loadConfig>, own: DataSource): Promise<StepActivity> {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const logging = require(path.join(dist, 'src/logging/logger.js')) as typeof import('@src/logging/logger');
  const worker = require(path.join(dist, 'temporal/worker.js')) as typeof import('@engine/worker');
  const data = require(path.join(dist, 'src/database/data-source.js')) as typeof import('@src/database/data-source');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const ds = dist === THIS_DIST ? own : await data.createDataSource(config, { poolSize: 20 }).initialize();
  const logger = new logging.Logger({ level: LEVEL as 'error', format: 'json', sink: () => undefined });
  const activities = await worker.createActivities({ config, dataSource: ds, logger, executors: [noopExecutor] });
  return (activities as unknown as Record<string, StepActivity>).bench_noop;
}

async function main(): Promise<void> {
  fs.rmSync(dataDir, { recursive: true, force: true });
  const pg = await startEmbeddedPostgres({ dataDir: path.join(dataDir, 'postgres'), port: await freePort(), database: 'merchflow_bench', password: 'bench' });
  try {
    const config = loadConfig({ ...process.env, NODE_ENV: 'test', DATABASE_URL: pg.url, LOG_LEVEL: LEVEL });
    const ds = await createDataSource(config, { poolSize: 20 }).initialize();
    await ds.runMigrations();
    const workflows = new WorkflowsService(ds, stepTypeRegistry([noopExecutor]));
    const { workflow } = await workflows.create({
      code: `bench_step_activities_${Date.now()}`,
      name: 'Ten no-op steps',
      steps: Array.from({ length: STEPS }, (_, i) => ({ key: `step_${i + 1}`, name: `Step ${i + 1}`, step_type: 'bench_noop', timeout_seconds: 60, config: {} })),
    });
    const [{ id: versionId }]: Array<{ id: number }> = await ds.query('SELECT id FROM workflow_versions WHERE workflow_id = $1 ORDER BY version DESC LIMIT 1', [workflow.id]);

    const sides: Array<{ name: string; activity: StepActivity }> = [
      { name: 'this build', activity: await stepActivityOf(THIS_DIST, config, ds) },
      ...(BASELINE_DIST ? [{ name: `${path.basename(BASELINE_DIST)}`, activity: await stepActivityOf(BASELINE_DIST, config, ds) }] : []),
      { name: 'bare activity', activity: async (call: unknown) => ({ output: { ok: true, step: (call as { step_ref: { step_key: string } }).step_ref.step_key } }) },
    ];
    // Round trips: every node-postgres query of the process.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pgClient = (require('pg') as { Client: { prototype: { query: (...a: unknown[]) => unknown } } }).Client.prototype;
    let queries = 0;
    const query = pgClient.query;
    pgClient.query = function (this: unknown, ...a: unknown[]) {
      queries++;
      return query.apply(this, a);
    };
    const pgPids = childrenOf(process.pid);
    let seq = 0;
    const round = async (activity: StepActivity) => {
      const ids = Array.from({ length: RUNS }, () => `bench-sa-${process.pid}-${seq++}`);
      // The runs' rows, as the API inserts them (the step rows reference them): not measured.
      await ds.query(
        `INSERT INTO workflow_executions (execution_id, workflow_id, workflow_version_id, version, status, trigger_type, input_data, total_steps, started_at)
         SELECT x, $2, $3, 1, 'running', 'manual', '{}', ${STEPS}, now() FROM unnest($1::text[]) x`,
        [ids, workflow.id, versionId],
      );
      (globalThis as { gc?: () => void }).gc?.();
      const q0 = queries;
      const pg0 = cpuMsOfTrees(pgPids);
      const c0 = process.cpuUsage();
      const t0 = Date.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < ids.length) {
            const id = ids[next++];
            let input: unknown = { n: 1 };
            for (let s = 1; s <= STEPS; s++) {
              const env = new MockActivityEnvironment({ workflowExecution: { workflowId: id, runId: 'bench' }, attempt: 1, activityType: 'bench_noop' });
              const result = (await env.run(activity, { step_ref: { version_id: versionId, step_key: `step_${s}` }, input })) as { output: unknown };
              input = result.output;
            }
          }
        }),
      );
      const c = process.cpuUsage(c0);
      return { cpu: (c.user + c.system) / 1000 / RUNS, pg: (cpuMsOfTrees(pgPids) - pg0) / RUNS, queries: (queries - q0) / RUNS, wall: Date.now() - t0 };
    };
    for (const s of sides) await round(s.activity); // warm-up: definition loaded, statements prepared, code optimised
    say(`${RUNS} runs of ${STEPS} steps, ${CONCURRENCY} at once, log level ${LEVEL}; ${loadAverage()}`);
    const results = new Map(sides.map((s) => [s.name, [] as Array<Awaited<ReturnType<typeof round>>>]));
    for (let r = 0; r < ROUNDS; r++) {
      for (const s of r % 2 === 0 ? sides : [...sides].reverse()) results.get(s.name)!.push(await round(s.activity));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const of = (name: string, k: 'cpu' | 'pg' | 'queries' | 'wall') => median(results.get(name)!.map((x) => x[k]));
    for (const s of sides) {
      say(
        `  ${s.name.padEnd(14)} CPU per run ${of(s.name, 'cpu').toFixed(2)} ms (rounds ${results
          .get(s.name)!
          .map((x) => x.cpu.toFixed(2))
          .join(', ')}), PostgreSQL ${of(s.name, 'pg').toFixed(2)} ms, ${of(s.name, 'queries')} queries a run, ${of(s.name, 'wall')} ms a round`,
      );
    }
    const bare = of('bare activity', 'cpu');
    say(`  step runner's own CPU per run (this build minus the bare activity): ${(of('this build', 'cpu') - bare).toFixed(2)} ms`);
    if (BASELINE_DIST) {
      const b = path.basename(BASELINE_DIST);
      say(`  this build vs ${b}: CPU ${(of('this build', 'cpu') / of(b, 'cpu')).toFixed(3)}x, PostgreSQL ${(of('this build', 'pg') / of(b, 'pg')).toFixed(3)}x; without the bare activity's share ${((of('this build', 'cpu') - bare) / (of(b, 'cpu') - bare)).toFixed(3)}x`);
    }
    say(`done; ${loadAverage()} (${os.cpus().length} cores)`);
    await ds.destroy();
  } finally {
    await pg.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
