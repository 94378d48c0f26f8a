/**
 * Load bench of `POST /workflows/{id}/execute/` (not part of `npm test`), N
 * concurrent keep-alive clients each looping the execute endpoint; prints
 * requests/s, p50/p90/p99/max latency and the count per status, beside plain
 * Temporal `workflow.start` calls to the same server (a small input, no API,
 * no database, a task queue nobody polls), as ratios, with the load average.
 *
 * Self-contained (no --url): starts what it needs under .data/ on free ports
 * (embedded PostgreSQL, a Temporal dev server on a SQLite file with the
 * pragmas `npm start` uses, the API process `dist/src/main.js` as `npm start`
 * runs it, payload encryption on), creates an operator key and a workflow of
 * ten steps through the API, and points the API at a task queue nobody polls
 * (this measures starting runs, not running them). Interleaved rounds, API and
 * baseline alternating which goes first; also the API process's CPU per
 * request and the PostgreSQL commits per request. Removes everything at the end.
 *
 *   npm run bench -- execute-load [--clients 50] [--requests 1000] [--rounds 2] [--api-cpu-prof DIR] [--pin]
 *
 * --pin puts the Temporal server on the last core and the rest on the others (Linux taskset), as when Temporal
 * runs on machines of its own; without it every process shares every core, and on two cores the API's CPU is
 * taken from the Temporal server both sides wait on.
 *
 * Against a running API (each request starts a real run: point it at a
 * workflow whose steps are cheap, or one no worker polls for):
 *
 *   npm run bench -- execute-load --url http://127.0.0.1:3000/orchestration/api \
 *     --key "$MERCHFLOW_API_KEY" --workflow 1 [--clients 50] [--requests 2000 | --duration 30] [--input '{"n":1}'] \
 *     [--baseline-temporal HOST:PORT]
 */
import fs from 'node:fs';
import os from 'node:os';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '@src/config/config';
import { createDataSource } from '@src/database/data-source';
import { ApiKeysService } from '@src/auth/api-keys.service';
import { generatePayloadKey } from '@engine/codec/encryption-codec';
import { merchflowDataConverter } from '@engine/codec/data-converter';
import { workflowTypeName } from '@engine/shared/contracts';
import { stepTypeRegistry } from '@engine/activities/registry';
import { WorkflowsService } from '@src/workflows/workflows.service';
import { searchAttributes } from '@src/executions/executions.service';
import { runMetadata } from '@src/executions/run-metadata';
import { startEmbeddedPostgres } from '../scripts/lib/embedded-postgres';
import { startTemporalDevServer } from '../scripts/lib/temporal-server';
import { freePort, waitFor } from '../scripts/lib/ports';
import { startNodeProcess, stopAll } from '../scripts/lib/supervisor';
import { childrenOf, cpuMsOfTrees, loadAverage, processTree } from './support/proc';
import { chainOfFilterSteps } from './support/chain-steps';

interface Options {
  url: string | null;
  key: string | null;
  workflow: number | null;
  clients: number;
  requests: number | null;
  durationSeconds: number | null;
  input: Record<string, unknown>;
  warmup: number;
  rounds: number;
  baselineTemporal: string | null;
  /** Self-contained mode: write a CPU profile of the API process into this directory (node --cpu-prof). */
  apiCpuProf: string | null;
  /**
   * Self-contained mode: the Temporal server on the last core, everything else (API, PostgreSQL, this process) on
   * the others (taskset), as when Temporal runs on machines of its own: the API's CPU no longer takes from it.
   */
  pin: boolean;
}

function usage(message?: string): never {
  if (message) console.error(`execute-load: ${message}`);
  console.error(
    'usage: npm run bench -- execute-load [--clients 50] [--requests N | --duration SECONDS] [--rounds 2] [--input JSON] [--warmup N] [--api-cpu-prof DIR] [--pin]\n' +
      '       npm run bench -- execute-load --url URL --key KEY --workflow ID [--baseline-temporal HOST:PORT] [same options]',
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
  const known = new Set(['url', 'key', 'workflow', 'clients', 'requests', 'duration', 'input', 'warmup', 'rounds', 'baseline-temporal', 'api-cpu-prof']);
  const flags = new Set(['pin']);
  for (const a of argv) if (a.startsWith('--') && !known.has(a.slice(2)) && !flags.has(a.slice(2))) usage(`unknown option ${a}`);
  const url = get('url') ?? process.env.MERCHFLOW_API_URL ?? null;
  const key = get('key') ?? process.env.MERCHFLOW_API_KEY ?? null;
  const workflow = int('workflow', null);
  if (url !== null && (!key || workflow === null)) usage('with --url, --key (or MERCHFLOW_API_KEY, an operator key) and --workflow ID are required');
  let input: Record<string, unknown> = { n: 1 };
  const rawInput = get('input');
  if (rawInput !== undefined) {
    try {
      input = JSON.parse(rawInput) as Record<string, unknown>;
    } catch {
      usage('--input must be JSON');
    }
  }
  const durationSeconds = int('duration', null);
  const requests = int('requests', durationSeconds === null ? (url === null ? 1000 : 2000) : null);
  return {
    url: url === null ? null : url.replace(/\/+$/, ''),
    key,
    workflow,
    clients: int('clients', 50)!,
    requests,
    durationSeconds,
    input,
    warmup: int('warmup', 50)!,
    rounds: int('rounds', url === null ? 2 : 1)!,
    baselineTemporal: get('baseline-temporal') ?? null,
    apiCpuProf: get('api-cpu-prof') ?? null,
    pin: argv.includes('--pin'),
  };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

type Once = () => Promise<{ status: number; ms: number }>;

/** One POST of the execute endpoint, timed. */
function executeOnce(url: string, key: string, workflow: number, input: Record<string, unknown>): Once {
  const endpoint = `${url}/workflows/${workflow}/execute/`;
  const body = JSON.stringify({ input_data: input });
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  return async () => {
    const t0 = performance.now();
    try {
      const res = await fetch(endpoint, { method: 'POST', headers, body });
      await res.arrayBuffer();
      return { status: res.status, ms: performance.now() - t0 };
    } catch {
      return { status: 0, ms: performance.now() - t0 };
    }
  };
}

/** One plain `workflow.start` with the same input on a task queue nobody polls, timed; `ids` collects the started ids. */
function baselineOnce(client: Client, input: Record<string, unknown>, ids: string[]): Once {
  const stamp = Date.now().toString(36);
  let n = 0;
  return async () => {
    const t0 = performance.now();
    const workflowId = `baseline-${stamp}-${n++}`;
    try {
      await client.workflow.start('executeLoadBaseline', { taskQueue: `execute-load-baseline-${stamp}`, workflowId, args: [input] });
      ids.push(workflowId);
      return { status: 202, ms: performance.now() - t0 };
    } catch {
      return { status: 0, ms: performance.now() - t0 };
    }
  };
}

/** What the self-contained mode started: the API's URL, key, workflow and pid, the Temporal address, and how to stop it all. */
interface Stack {
  url: string;
  key: string;
  workflow: number;
  temporal: string;
  apiPid: number;
  /** The Temporal dev server and PostgreSQL's postmaster (its backends are its children). */
  temporalPid: number;
  pgPids: number[];
  /** The Temporal start the API makes for this workflow (definition, search attributes, memo, metadata, encrypted), from the bench's own client. */
  sameStart(connection: Connection): Once;
  commits(): Promise<number>;
  stop(): Promise<void>;
}

async function startStack(o: Options): Promise<Stack> {
  const root = path.resolve(__dirname, '..', '..');
  const dataDir = path.join(root, '.data', `bench-execute-load-${process.pid}`);
  fs.rmSync(dataDir, { recursive: true, force: true });
  const cleanups: Array<() => Promise<unknown>> = [() => Promise.resolve(fs.rmSync(dataDir, { recursive: true, force: true }))];
  const stop = async () => {
    for (const c of cleanups.reverse()) await c().catch((e) => say(`cleanup: ${(e as Error).message}`));
  };
  try {
    const [pg, tmp] = await Promise.all([
      startEmbeddedPostgres({ dataDir: path.join(dataDir, 'postgres'), port: await freePort(), database: 'merchflow_bench', password: 'bench' }),
      startTemporalDevServer({ port: await freePort(), uiPort: null, dbFile: path.join(dataDir, 'temporal.db') }),
    ]);
    cleanups.push(() => pg.stop(), () => tmp.stop());
    const port = await freePort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      NODE_ENV: 'development',
      MERCHFLOW_DATA_DIR: dataDir,
      DATABASE_URL: pg.url,
      TEMPORAL_ADDRESS: tmp.address,
      // Nobody polls it: the bench measures starting runs.
      TEMPORAL_TASK_QUEUE: `execute-load-${process.pid}`,
      PORT: String(port),
      LOG_LEVEL: 'warn',
      // The start's timeout is the default (TEMPORAL_START_TIMEOUT_MS, 10 s) unless the environment says otherwise.
      // Encrypted payloads, as `npm start` and production run.
      PAYLOAD_KEYS: `bench:${generatePayloadKey()}`,
      MERCHFLOW_PUBLIC_URL: `http://127.0.0.1:${port}`,
    };
    const config = loadConfig(env);
    const ds = await createDataSource(config, { poolSize: 2 }).initialize();
    cleanups.push(() => ds.destroy());
    await ds.runMigrations();
    const keys = new ApiKeysService(ds);
    const { key } = await keys.create({ name: 'execute-load', role: 'operator' });
    const { key: adminKey } = await keys.create({ name: 'execute-load-admin', role: 'admin' });
    // The API of the build this bench belongs to (dist, or BUILD_OUT's directory).
    const api = startNodeProcess('api', 2, path.join(__dirname, '..', 'src', 'main.js'), [], env, o.apiCpuProf ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(o.apiCpuProf)}`] : []);
    cleanups.push(() => stopAll([api], 10_000));
    const url = `http://127.0.0.1:${port}${config.http.basePath}`;
    await waitFor('the API', async () => {
      try {
        return (await fetch(`${url}/health/`)).status === 200;
      } catch {
        return false;
      }
    }, 90_000, 300);
    const res = await fetch(`${url}/workflows/`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        code: `execute_load_${Date.now()}`,
        name: 'Ten transform steps',
        steps: chainOfFilterSteps(10),
      }),
    });
    const created = (await res.json()) as { id?: number; workflow?: { id: number } };
    const workflow = created.id ?? created.workflow?.id;
    if (res.status !== 201 || typeof workflow !== 'number') throw new Error(`creating the workflow answered ${res.status}: ${JSON.stringify(created).slice(0, 500)}`);
    const commits = async () => {
      const rows: Array<{ n: string }> = await ds.query(`SELECT xact_commit AS n FROM pg_stat_database WHERE datname = current_database()`);
      return Number(rows[0].n);
    };
    const { workflow: row, definition } = await new WorkflowsService(ds, stepTypeRegistry([])).definition(workflow);
    const sameStart = (connection: Connection): Once => {
      const client = new Client({ connection, namespace: config.temporal.namespace, dataConverter: merchflowDataConverter(config) });
      return async () => {
        const t0 = performance.now();
        const id = `${row.code}-same-${randomUUID()}`;
        try {
          await client.workflow.start(workflowTypeName(definition.workflow_type), {
            workflowId: id,
            taskQueue: config.temporal.taskQueue,
            args: [{ execution_id: id, definition, input: { n: 1 }, trigger_type: 'api', triggered_by: null }],
            typedSearchAttributes: searchAttributes(definition, 'api'),
            memo: { workflow_id: row.id, workflow_name: row.name, version: definition.version, restarted_from: null },
            ...runMetadata({ definition, executionId: id, trigger: 'api', input: { n: 1 }, publicUrl: `http://127.0.0.1:${port}`, scheduleId: null }),
          });
          return { status: 202, ms: performance.now() - t0 };
        } catch {
          return { status: 0, ms: performance.now() - t0 };
        }
      };
    };
    const pgPids = childrenOf(process.pid, [tmp.process.pid!, api.child.pid!]);
    if (o.pin) {
      const cores = os.cpus().length;
      if (cores < 2) throw new Error('--pin needs two cores or more');
      const rest = `0-${cores - 2}`;
      // -a: every thread of the process; PostgreSQL's backends are processes of their own (the pool's, open by now).
      const pin = (list: string, pids: number[]) => {
        for (const pid of pids) {
          const r = spawnSync('taskset', ['-a', '-p', '-c', list, String(pid)], { stdio: 'ignore' });
          if (r.status !== 0) throw new Error(`taskset could not pin process ${pid} to cores ${list}`);
        }
      };
      pin(String(cores - 1), processTree(tmp.process.pid!));
      pin(rest, [...processTree(api.child.pid!), ...pgPids.flatMap((p) => processTree(p)), process.pid]);
      say(`pinned: Temporal on core ${cores - 1}; API, PostgreSQL and the bench on cores ${rest}`);
    }
    return { url, key, workflow, temporal: tmp.address, apiPid: api.child.pid!, temporalPid: tmp.process.pid!, pgPids, sameStart, commits, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

const say = (line: string) => console.log(`execute-load | ${line}`);

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  const stack = o.url === null ? await startStack(o) : null;
  try {
    const url = stack?.url ?? o.url!;
    const key = stack?.key ?? o.key!;
    const workflow = stack?.workflow ?? o.workflow!;
    const temporal = stack?.temporal ?? o.baselineTemporal;
    const api = executeOnce(url, key, workflow, o.input);

    // A first request checks the setup (key, workflow) before the clients start.
    const probe = await api();
    if (probe.status !== 202) throw new Error(`the first request answered ${probe.status || 'no connection'}; check --url, --key (operator) and --workflow`);
    const connection = temporal ? await Connection.connect({ address: temporal }) : null;
    const client = connection ? new Client({ connection }) : null;
    const baselineIds: string[] = [];
    const side = (name: string, once: Once): Side => ({ name, once, results: [], cpuMs: 0, commits: 0, cpu: { api: 0, temporal: 0, pg: 0, bench: 0 } });
    const sides: Side[] = [
      side(`POST ${url}/workflows/${workflow}/execute/`, api),
      ...(client ? [side(`baseline: Temporal workflow.start at ${temporal}`, baselineOnce(client, o.input, baselineIds))] : []),
      // The API's own Temporal start without the API: tells what the start costs from what the API adds around it.
      ...(stack && connection ? [side('same start: the API\'s Temporal start from the bench, without the API', stack.sameStart(connection))] : []),
    ];
    // Warm-up: connections open, caches filled, the JIT warm on both sides.
    for (const s of sides) await Promise.all(Array.from({ length: o.warmup }, s.once));
    say(`${o.clients} clients, ${o.requests ?? `${o.durationSeconds} s of`} requests a round, ${o.rounds} round(s); ${loadAverage()}`);
    for (let round = 0; round < o.rounds; round++) {
      for (const s of round % 2 ? [...sides].reverse() : sides) {
        const cpu0 = stack ? cpuByProcess(stack) : null;
        const commits0 = stack ? await stack.commits() : 0;
        const r = await load(o, s.once);
        if (stack) {
          const cpu1 = cpuByProcess(stack);
          for (const k of Object.keys(s.cpu) as Array<keyof CpuByProcess>) s.cpu[k] += cpu1[k] - cpu0![k];
          s.cpuMs += cpu1.api - cpu0!.api;
          s.commits += (await stack.commits()) - commits0;
        }
        s.results.push(r);
        report(`round ${round + 1}: ${s.name}`, o, r);
        if (s === sides[0] && r.ok !== r.latencies.length) process.exitCode = 1;
      }
    }
    const rate = (rs: LoadResult[]) => rs.reduce((a, r) => a + r.ok / r.elapsed, 0) / rs.length; // runs started (202) a second
    const p = (rs: LoadResult[], q: number) => rs.reduce((a, r) => a + percentile(r.latencies, q), 0) / rs.length;
    const count = (rs: LoadResult[]) => rs.reduce((a, r) => a + r.latencies.length, 0);
    const [mf, base, same] = sides;
    say('');
    say(`API: ${rate(mf.results).toFixed(1)} runs started/s, p50 ${p(mf.results, 50).toFixed(1)} ms, p99 ${p(mf.results, 99).toFixed(1)} ms (mean of ${o.rounds} round(s))`);
    if (stack) {
      const n = count(mf.results);
      say(`API process CPU ${(mf.cpuMs / n).toFixed(2)} ms a request; PostgreSQL commits ${(mf.commits / n).toFixed(2)} a request (baseline rounds: ${(base ? base.commits / count(base.results) : 0).toFixed(2)})`);
    }
    if (base) {
      say(`baseline: ${rate(base.results).toFixed(1)} starts/s, p50 ${p(base.results, 50).toFixed(1)} ms, p99 ${p(base.results, 99).toFixed(1)} ms`);
      say(
        `ratio API / baseline: throughput ${(rate(mf.results) / rate(base.results)).toFixed(2)}x, ` +
          `p50 ${(p(mf.results, 50) / p(base.results, 50)).toFixed(2)}x, p99 ${(p(mf.results, 99) / p(base.results, 99)).toFixed(2)}x`,
      );
    }
    if (base && same) {
      say(`same start: ${rate(same.results).toFixed(1)} starts/s, p50 ${p(same.results, 50).toFixed(1)} ms, p99 ${p(same.results, 99).toFixed(1)} ms`);
      say(`ratio same start / baseline: throughput ${(rate(same.results) / rate(base.results)).toFixed(2)}x; API / same start: ${(rate(mf.results) / rate(same.results)).toFixed(2)}x`);
    }
    if (stack) {
      // Where the machine's CPU went for each side: on a machine this small every process takes from the others.
      for (const s of sides) {
        const n = count(s.results);
        const secs = s.results.reduce((a, r) => a + r.elapsed, 0);
        const all = s.cpu.api + s.cpu.temporal + s.cpu.pg + s.cpu.bench;
        say(
          `CPU a request, ${s.name.split(':')[0]}: API ${(s.cpu.api / n).toFixed(2)} ms, Temporal ${(s.cpu.temporal / n).toFixed(2)} ms, ` +
            `PostgreSQL ${(s.cpu.pg / n).toFixed(2)} ms, bench ${(s.cpu.bench / n).toFixed(2)} ms; all ${(all / n).toFixed(2)} ms ` +
            `(${((all / (secs * 1000 * os.cpus().length)) * 100).toFixed(0)} % of ${os.cpus().length} cores)`,
        );
      }
    }
    say(`done; ${loadAverage()}`);
    if (client && !stack) {
      // Nobody polls the baseline's task queue: end its runs so they do not pile up on a server that stays.
      await Promise.all(
        Array.from({ length: o.clients }, async (_, c) => {
          for (let i = c; i < baselineIds.length; i += o.clients) {
            await client.workflow.getHandle(baselineIds[i]).terminate('execute-load baseline done').catch(() => undefined);
          }
        }),
      );
    }
    await connection?.close();
  } finally {
    await stack?.stop();
  }
}

interface CpuByProcess {
  api: number;
  temporal: number;
  pg: number;
  bench: number;
}

interface Side {
  name: string;
  once: Once;
  results: LoadResult[];
  cpuMs: number;
  commits: number;
  /** CPU ms spent during this side's rounds, by process. */
  cpu: CpuByProcess;
}

/** CPU ms spent so far by the API, the Temporal server, PostgreSQL and this process. */
function cpuByProcess(stack: Stack): CpuByProcess {
  const self = process.cpuUsage();
  return {
    api: cpuMsOfTrees([stack.apiPid]),
    temporal: cpuMsOfTrees([stack.temporalPid]),
    pg: cpuMsOfTrees(stack.pgPids),
    bench: (self.user + self.system) / 1000,
  };
}

interface LoadResult {
  latencies: number[];
  statuses: Map<number, number>;
  elapsed: number;
  ok: number;
}

/** N clients each looping `once` until the request count or the duration is reached. */
async function load(o: Options, once: Once): Promise<LoadResult> {
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

function report(title: string, o: Options, r: LoadResult): void {
  const fmt = (ms: number) => `${ms.toFixed(1)} ms`;
  say(title);
  say(`  clients ${o.clients}, requests ${r.latencies.length} in ${r.elapsed.toFixed(2)} s: ${(r.latencies.length / r.elapsed).toFixed(1)} requests/s (${(r.ok / r.elapsed).toFixed(1)} runs started/s)`);
  say(`  latency p50 ${fmt(percentile(r.latencies, 50))}  p90 ${fmt(percentile(r.latencies, 90))}  p99 ${fmt(percentile(r.latencies, 99))}  max ${fmt(r.latencies.at(-1) ?? NaN)}`);
  say(`  statuses ${[...r.statuses].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s || 'error'}: ${n}`).join(', ')}`);
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (err) => {
    console.error(`execute-load: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
