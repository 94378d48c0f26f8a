/**
 * What the chaos tests share: a PostgreSQL and a Temporal dev server of their
 * own (so they can be stopped, killed and restarted without touching the
 * servers other tests use), migrated, with a sandbox, a worker (the harness's,
 * in this process) and the API on loopback ports; and a reserve-heavy
 * workflow whose runs the tests interrupt.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../../scripts/lib/embedded-postgres';
import { startTemporalDevServer, type TemporalDevServer } from '../../scripts/lib/temporal-server';
import { freePort } from '../../scripts/lib/ports';
import { loadConfig, type AppConfig } from '@src/config/config';
import { createApp } from '@src/main';
import { Logger } from '@src/logging/logger';
import { ApiKeysService } from '@src/auth/api-keys.service';
import { startSandbox, type Sandbox } from '@src/sandbox';
import { seedSandboxCommerce } from '@src/commerce/seed';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DataSource } from 'typeorm';
import type { StepExecutor } from '@engine/activities/runtime/executor';
import { workflowTypeName, type InterpreterInput } from '@engine/shared/contracts';
import { startHarness, eventually, type Harness } from '@test/support/harness';
import { testExecutors } from '@test/support/executors';

/**
 * `chaos_db_work`: records that it started, then queries the database every
 * 250 ms until `until` (epoch ms), so an outage meets it mid-step. Run again
 * after an outage, it finishes at once when `until` has passed.
 */
export function chaosExecutors(ds: () => DataSource): StepExecutor[] {
  return [
    ...testExecutors(ds),
    {
      type: 'chaos_db_work',
      validateConfig: () => [],
      async execute(raw, ctx) {
        const config = ctx.resolve(raw) as { until?: unknown };
        await ds().query(`INSERT INTO test_events (execution_id, step_key, kind, attempt) VALUES ($1, $2, 'started', $3)`, [ctx.execution_id, ctx.step_key, ctx.attempt]);
        let queries = 0;
        while (Date.now() < Number(config.until ?? 0)) {
          await ds().query('SELECT 1');
          queries++;
          await sleep(250, undefined, { signal: ctx.signal });
          ctx.heartbeat();
        }
        return { queries };
      },
    },
  ];
}

const root = path.resolve(__dirname, '..', '..', '..');
const migrateScript = path.resolve(__dirname, '..', '..', 'src', 'database', 'migrate.js');

export interface ChaosStack {
  h: Harness;
  sandbox: Sandbox;
  app: INestApplication;
  config: AppConfig;
  /** Base URL of the API. */
  api: string;
  adminKey: string;
  databaseUrl: string;
  temporalAddress: string;
  stopPostgres(): Promise<void>;
  startPostgres(): Promise<void>;
  killTemporal(): Promise<void>;
  startTemporal(): Promise<void>;
  close(): Promise<void>;
}

/** Starts everything on free loopback ports with data under .data/chaos-<id> (removed by close()). */
export async function startChaosStack(): Promise<ChaosStack> {
  const dataDir = path.join(root, '.data', `chaos-${randomUUID().slice(0, 8)}`);
  const pgPort = await freePort();
  const temporalPort = await freePort();
  const quiet = () => undefined;
  const pgOptions = { dataDir: path.join(dataDir, 'postgres'), port: pgPort, database: 'merchflow_chaos', password: 'merchflow', log: quiet };
  let pg: EmbeddedPostgresHandle | null = await startEmbeddedPostgres(pgOptions);
  const temporalOptions = { port: temporalPort, uiPort: null, dbFile: path.join(dataDir, 'temporal.db'), log: quiet };
  let temporal: TemporalDevServer | null = await startTemporalDevServer(temporalOptions);
  const databaseUrl = pg.url;
  const temporalAddress = temporal.address;

  const sandbox = await startSandbox({ products: 50, seed: 7, initialOrders: 0 });
  const env: Record<string, string> = {
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: temporalAddress,
    HTTP_ALLOW_HOSTS: `127.0.0.1:${sandbox.port}`,
    SANDBOX_ENABLED: 'false',
    NODE_ENV: 'test',
  };
  await migrate(env);
  let h: Harness | null = null;
  h = await startHarness({ executors: chaosExecutors(() => h!.dataSource), env });
  const harness = h;
  const config = loadConfig({ ...process.env, ...env, TEMPORAL_TASK_QUEUE: harness.taskQueue });
  const logger = new Logger({ level: 'error', format: 'json', sink: () => undefined });
  const app = await createApp(config, { stepTypes: chaosExecutors(() => harness.dataSource), logger });
  await app.listen(0, '127.0.0.1');
  const port = (app.getHttpServer().address() as { port: number }).port;
  const adminKey = (await new ApiKeysService(harness.dataSource).create({ name: `chaos-${port}`, role: 'admin' })).key;

  return {
    h: harness,
    sandbox,
    app,
    config,
    api: `http://127.0.0.1:${port}${config.http.basePath}`,
    adminKey,
    databaseUrl,
    temporalAddress,
    async stopPostgres() {
      await pg?.stop();
      pg = null;
    },
    async startPostgres() {
      pg ??= await startEmbeddedPostgres(pgOptions);
    },
    async killTemporal() {
      const t = temporal;
      temporal = null;
      if (!t || t.process.exitCode !== null) return;
      const exited = new Promise((r) => t.process.once('exit', r));
      t.process.kill('SIGKILL');
      await exited;
    },
    async startTemporal() {
      temporal ??= await startTemporalDevServer(temporalOptions);
    },
    async close() {
      await app.close().catch(() => undefined);
      await harness.close().catch(() => undefined);
      await sandbox.close().catch(() => undefined);
      await temporal?.stop().catch(() => undefined);
      await pg?.stop().catch(() => undefined);
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function migrate(env: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [migrateScript, 'up'], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`migrations failed with code ${code}`))));
  });
}

/** Inventory for the reserve-heavy runs: one supplier and marketplace, `skus` rows of `quantity` each. */
export interface Stock {
  tag: string;
  supplierId: number;
  marketplaceId: number;
  inventory: Array<{ id: number; sku: string }>;
  workflowId: number;
}

/**
 * A workflow that calls the sandbox (api_call), works against the database
 * until `$input.work_until` (chaos_db_work), reserves stock for the run's orders
 * (database_query reserve_inventory) and records a side effect. With its
 * compensation, a failed run would give its stock back.
 */
export async function createReserveWorkflow(s: ChaosStack, skus = 10, quantity = 10_000): Promise<Stock> {
  const { h } = s;
  const tag = `c${randomUUID().replace(/-/g, '').slice(0, 10)}`;
  const seeded = await seedSandboxCommerce(h.dataSource, {
    sandboxUrl: s.sandbox.url,
    workflows: h.workflows,
    aiEnabled: false,
    supplierCode: `${tag}_supplier`,
    marketplaceCode: `${tag}_market`,
    workflowCodePrefix: `${tag}_`,
  });
  const inventory: Array<{ id: string; sku: string }> = await h.dataSource.query(
    `INSERT INTO inventory (supplier_id, sku, quantity) SELECT $1, $2 || '-' || g, $3 FROM generate_series(1, $4) g RETURNING id, sku`,
    [seeded.supplier_id, tag, quantity, skus],
  );
  const workflowId = await h.createWorkflow({
    code: `${tag}_reserve`,
    config: { marketplace_id: seeded.marketplace_id, supplier_url: s.sandbox.urls.supplier },
    max_retries: 3,
    retry_delay_seconds: 1,
    steps: [
      { key: 'fetch_product', name: 'Fetch a product from the supplier', step_type: 'api_call', config: { url: '${config.supplier_url}/products/SUP-000001', method: 'GET' } },
      { key: 'work', name: 'Work against the database', step_type: 'chaos_db_work', config: { until: '$input.work_until' }, depends_on_steps: ['fetch_product'] },
      {
        key: 'reserve',
        name: 'Reserve inventory',
        step_type: 'database_query',
        config: { query_type: 'operation', operation: 'reserve_inventory', params: { marketplace_id: '$config.marketplace_id', orders: '$input.orders' } },
        depends_on_steps: ['work'],
      },
      { key: 'confirm', name: 'Record a side effect', step_type: 'test_side_effect', config: {}, depends_on_steps: ['reserve'] },
      {
        key: 'release',
        name: 'Release the reservations',
        step_type: 'database_query',
        role: 'compensation',
        compensates: 'reserve',
        config: { query_type: 'operation', operation: 'release_reservations', params: { keys: '$.reservation_keys' } },
      },
    ],
  } as never);
  return {
    tag,
    supplierId: seeded.supplier_id,
    marketplaceId: seeded.marketplace_id,
    inventory: inventory.map((r) => ({ id: Number(r.id), sku: r.sku })),
    workflowId,
  };
}

/** Input of run `n`: `orders` orders of two lines each over the stock, and until when its middle step works. */
export function runInput(stock: Stock, n: number, workUntil: number, orders = 3): Record<string, unknown> {
  return {
    work_until: workUntil,
    orders: Array.from({ length: orders }, (_, j) => {
      const lines = [0, 1].map((k) => {
        const inv = stock.inventory[(n + j + k) % stock.inventory.length];
        return { line_id: `L${k}`, sku: inv.sku, inventory_id: inv.id, quantity: 1 + ((n + j + k) % 3) };
      });
      return { id: `${stock.tag}-o${n}-${j}`, allocation: { ok: true, lines } };
    }),
  };
}

/** Units the inputs ask for, in total. */
export function unitsWanted(inputs: Array<Record<string, unknown>>): number {
  let total = 0;
  for (const input of inputs) {
    for (const o of input.orders as Array<{ allocation: { lines: Array<{ quantity: number }> } }>) for (const l of o.allocation.lines) total += l.quantity;
  }
  return total;
}

/** The stock books: units held on the inventory rows, and by active reservations, for this stock. */
export async function stockBooks(s: ChaosStack, stock: Stock): Promise<{ reserved: number; held: number; activeReservations: number }> {
  const [inv] = await s.h.dataSource.query(`SELECT coalesce(sum(reserved), 0)::int AS n FROM inventory WHERE supplier_id = $1`, [stock.supplierId]);
  const [res] = await s.h.dataSource.query(
    `SELECT coalesce(sum(quantity), 0)::int AS units, count(*)::int AS n FROM reservations WHERE marketplace_id = $1 AND status = 'active'`,
    [stock.marketplaceId],
  );
  return { reserved: inv.n, held: res.units, activeReservations: res.n };
}

/**
 * For every step of a run: the attempt its row shows, and the attempt
 * Temporal ran last (from the history). Honest rows show the same number.
 */
export async function attemptsOf(s: ChaosStack, executionId: string): Promise<Array<{ step: string; row: number; temporal: number }>> {
  const history = await s.h.client.workflow.getHandle(executionId).fetchHistory();
  const scheduled = new Map<string, string>();
  const ran = new Map<string, number>();
  for (const ev of history.events ?? []) {
    const sched = ev.activityTaskScheduledEventAttributes;
    if (sched?.activityId) scheduled.set(String(ev.eventId), sched.activityId);
    const started = ev.activityTaskStartedEventAttributes;
    if (started) {
      const key = scheduled.get(String(started.scheduledEventId));
      if (key) ran.set(key, Math.max(ran.get(key) ?? 0, started.attempt ?? 1));
    }
  }
  const rows = await s.h.executions.steps(executionId);
  return rows.filter((r) => ran.has(r.step_key)).map((r) => ({ step: r.step_key, row: r.attempt, temporal: ran.get(r.step_key)! }));
}

/** Calls the API; resolves with the status, the Retry-After header, the body and how long it took. */
export async function call(s: ChaosStack, method: string, route: string, body?: unknown): Promise<{ status: number; retryAfter: string | null; body: any; ms: number }> {
  const started = Date.now();
  const res = await fetch(`${s.api}${route}`, {
    method,
    headers: { authorization: `Bearer ${s.adminKey}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = text;
  }
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: parsed, ms: Date.now() - started };
}

/** Waits until the given runs have all started their `step` (test_events rows written by test_sleep). */
export async function untilAllStarted(s: ChaosStack, ids: string[], step: string, timeoutMs = 120_000): Promise<void> {
  await eventually(
    async () => {
      const [r] = await s.h.dataSource.query(
        `SELECT count(DISTINCT execution_id)::int AS n FROM test_events WHERE step_key = $1 AND kind = 'started' AND execution_id = ANY($2)`,
        [step, ids],
      );
      return r.n === ids.length;
    },
    timeoutMs,
    `all runs in their ${step} step`,
  );
}

/**
 * Starts a run straight through Temporal, as a Temporal Schedule does (no API,
 * no row written first): it can start while PostgreSQL is down, and its
 * bookkeeping then has to wait for the database.
 */
export async function startDirect(s: ChaosStack, stock: Stock, input: Record<string, unknown>, definition: InterpreterInput['definition']): Promise<string> {
  const id = `${stock.tag}-direct-${randomUUID()}`;
  const args: InterpreterInput = { definition, input, trigger_type: 'schedule', triggered_by: 'chaos', outage_budget_seconds: s.config.outage.budgetSeconds };
  await s.h.client.workflow.start(workflowTypeName(definition.workflow_type), { workflowId: id, taskQueue: s.h.taskQueue, args: [args] });
  return id;
}

/** How many times a step waited for a dependency instead of failing (from the worker's log). */
export function outageWaits(s: ChaosStack): number {
  return s.h.logLines.filter((l) => l.includes('dependency unavailable, waiting without spending a retry')).length;
}

/** Keeps a dependency down this long: the outage itself, not a wait for a condition. */
export function outage(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export { eventually };

export interface OutageScenario {
  /** Runs started through the API service before the outage, each working against the database when it begins. */
  runs: number;
  /** Runs started straight through Temporal during the outage (like scheduled runs). */
  direct: number;
  outageMs: number;
  /** Takes the dependency down and brings it back. */
  down(): Promise<void>;
  up(): Promise<void>;
  /** Checks made while the dependency is down. */
  duringOutage?(): Promise<void>;
  what: string;
}

export interface OutageOutcome {
  ids: string[];
  inputs: Array<Record<string, unknown>>;
  results: Array<{ status: string; error?: unknown }>;
  /** From the dependency coming back to every run finished. */
  recoveredMs: number;
}

/**
 * Starts `runs` reserve-heavy runs, waits until each one's database-bound
 * step is working, takes the dependency down for `outageMs` (starting
 * `direct` more runs meanwhile), brings it back and waits for every run.
 */
export async function runThroughOutage(s: ChaosStack, stock: Stock, o: OutageScenario): Promise<OutageOutcome> {
  const { definition } = await s.h.workflows.definition(stock.workflowId);
  const t0 = Date.now();
  // Each run's work outlasts the moment the outage begins, and ends before the dependency is back.
  const inputs = Array.from({ length: o.runs }, (_, n) => runInput(stock, n, t0 + 20_000 + n * 200));
  const runs = await Promise.all(inputs.map((input) => s.h.start(stock.workflowId, input)));
  const ids = runs.map((r) => r.execution_id);
  await untilAllStarted(s, ids, 'work');
  await o.down();
  const downAt = Date.now();
  console.log(`# chaos: ${o.what} down with ${o.runs} runs in flight (${((downAt - t0) / 1000).toFixed(1)} s after they started)`);
  for (let n = 0; n < o.direct; n++) {
    const input = runInput(stock, o.runs + n, 0);
    inputs.push(input);
    ids.push(await startDirect(s, stock, input, definition));
  }
  await o.duringOutage?.();
  await outage(o.outageMs - (Date.now() - downAt));
  await o.up();
  const upAt = Date.now();
  console.log(`# chaos: ${o.what} back after ${((upAt - downAt) / 1000).toFixed(1)} s`);
  const results = await Promise.all(ids.map((id) => s.h.wait(id)));
  const recoveredMs = Date.now() - upAt;
  console.log(`# chaos: all ${ids.length} runs finished ${(recoveredMs / 1000).toFixed(1)} s after ${o.what} came back (time to recover)`);
  return { ids, inputs, results, recoveredMs };
}

/** Every run completed, its row says so, stock books balance, and each step row shows the attempt Temporal ran. */
export async function assertOutageRidden(s: ChaosStack, stock: Stock, out: OutageOutcome, opts: { noAttemptSpent: boolean }): Promise<void> {
  assert.deepEqual(
    out.results.map((r) => r.status),
    Array(out.ids.length).fill('completed'),
    out.results.map((r) => String((r.error as Error | undefined)?.message ?? '')).join('\n'),
  );
  // The projection caught up: the bookkeeping waited the outage out instead of giving up.
  await eventually(
    async () => {
      const rows: Array<{ status: string; completed_steps: number }> = await s.h.dataSource.query(
        `SELECT status, completed_steps FROM workflow_executions WHERE execution_id = ANY($1)`,
        [out.ids],
      );
      return rows.length === out.ids.length && rows.every((r) => r.status === 'completed' && r.completed_steps === 4);
    },
    60_000,
    'a completed execution row per run',
  );
  // No stock leaked: inventory holds exactly what active reservations hold, which is what the runs asked for.
  const books = await stockBooks(s, stock);
  assert.equal(books.reserved, books.held, 'inventory.reserved matches the active reservations');
  assert.equal(books.held, unitsWanted(out.inputs), 'each order line reserved exactly once');
  assert.equal(books.activeReservations, out.ids.length * 3 * 2);
  const attempts = (await Promise.all(out.ids.map((id) => attemptsOf(s, id)))).flat();
  assert.equal(attempts.length, out.ids.length * 4, 'four activity steps per run');
  assert.deepEqual(
    attempts.filter((a) => a.row !== a.temporal),
    [],
    'step rows show the attempt Temporal ran',
  );
  const spent = attempts.filter((a) => a.temporal > 1);
  console.log(`# chaos: ${spent.length} of ${attempts.length} steps needed more than one attempt`);
  if (opts.noAttemptSpent) assert.deepEqual(spent, [], 'no attempt was spent on the outage');
}
