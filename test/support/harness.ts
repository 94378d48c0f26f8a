import { randomUUID } from 'node:crypto';
import { Test, type TestingModule } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import type { DataSource } from 'typeorm';
import { loadConfig, type AppConfig } from '@src/config/config';
import { createDataSource } from '@src/database/data-source';
import { Logger } from '@src/logging/logger';
import { clientCodecs, decodeHistoryPayloads, merchflowDataConverter } from '@engine/codec/data-converter';
import { WorkflowsService, type CreateWorkflowInput } from '@src/workflows/workflows.service';
import { ExecutionsService } from '@src/executions/executions.service';
import { createMerchflowWorker, installTemporalRuntime } from '@engine/worker';
import { ConfigModule } from '@src/config/config.module';
import { CoreModule } from '@src/core/core.module';
import { ExecutionsModule } from '@src/executions/executions.module';
import type { StepExecutor } from '@engine/activities/runtime/executor';
import type { WorkflowExecution } from '@src/executions/execution.entity';

/**
 * Everything an integration test needs against the real Postgres and Temporal
 * started by `npm test`: a data source, a Temporal client, the services, and a
 * worker on a task queue of its own.
 */
export interface Harness {
  config: AppConfig;
  dataSource: DataSource;
  client: Client;
  taskQueue: string;
  workflows: WorkflowsService;
  executions: ExecutionsService;
  logLines: string[];
  /** Starts the worker (done by default); tests of worker crashes manage their own. */
  startWorker(): Promise<void>;
  stopWorker(): Promise<void>;
  /** Stores a definition under a random code and returns its id. */
  createWorkflow(def: Omit<CreateWorkflowInput, 'code' | 'name'> & { code?: string; name?: string }): Promise<number>;
  /** Starts a run on this harness's task queue. */
  start(workflowId: number, input?: unknown, extra?: { idempotency_key?: string }): Promise<WorkflowExecution>;
  /** Waits for the run's Temporal result; resolves to 'completed', 'failed' or 'cancelled' with the error. */
  wait(executionId: string): Promise<{ status: string; result?: unknown; error?: unknown }>;
  /** The run's Temporal history with every payload decrypted (fetchHistory() returns them as stored: encrypted). */
  history(executionId: string): ReturnType<WorkflowHandle['fetchHistory']>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  executors?: StepExecutor[];
  startWorker?: boolean;
  env?: Record<string, string>;
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const config = loadConfig({ ...process.env, ...(opts.env ?? {}) });
  const logLines: string[] = [];
  const logger = new Logger({ level: 'debug', format: 'json', sink: (l) => logLines.push(l) });
  installTemporalRuntime(new Logger({ level: 'error', format: 'pretty' }), 'ERROR');
  const dataSource = await createDataSource(config, { poolSize: 10 }).initialize();
  await ensureTestTables(dataSource);
  const connection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({ connection, namespace: config.temporal.namespace, dataConverter: merchflowDataConverter(config) });
  const taskQueue = `test-${randomUUID()}`;
  const executors = opts.executors ?? [];
  // The services as the API builds them: the same modules, over this harness's data source, client and task queue.
  const moduleRef: TestingModule = await Test.createTestingModule({
    imports: [
      ConfigModule.forRoot(config),
      CoreModule.forRoot({ config, logger, stepTypes: executors, temporalClient: async () => client, taskQueue, executionLimits: { startTimeoutMs: 10_000 } }),
      TypeOrmModule.forRootAsync({ useFactory: () => ({}), dataSourceFactory: async () => dataSource }),
      ExecutionsModule,
    ],
  }).compile();
  const workflows = moduleRef.get(WorkflowsService);
  const executions = moduleRef.get(ExecutionsService);

  let workerConnection: NativeConnection | null = null;
  let worker: Worker | null = null;
  let running: Promise<void> | null = null;

  const harness: Harness = {
    config,
    dataSource,
    client,
    taskQueue,
    workflows,
    executions,
    logLines,
    async startWorker() {
      workerConnection ??= await NativeConnection.connect({ address: config.temporal.address });
      worker = await createMerchflowWorker({ config, dataSource, connection: workerConnection, logger, taskQueue, executors });
      running = worker.run();
    },
    async stopWorker() {
      if (worker && running) {
        worker.shutdown();
        await running;
      }
      worker = null;
      running = null;
    },
    async createWorkflow(def) {
      const code = def.code ?? `t-${randomUUID().slice(0, 12)}`;
      const { workflow } = await workflows.create({ ...def, code, name: def.name ?? code });
      return workflow.id;
    },
    start(workflowId, input = {}, extra = {}) {
      return executions.start(workflowId, { input_data: input, trigger_type: 'api', ...extra });
    },
    async wait(executionId) {
      try {
        const result = await client.workflow.getHandle(executionId).result();
        return { status: 'completed', result };
      } catch (error) {
        const e = error as { cause?: { name?: string } };
        return { status: e.cause?.name === 'CancelledFailure' ? 'cancelled' : 'failed', error };
      }
    },
    async history(executionId) {
      return decodeHistoryPayloads(await client.workflow.getHandle(executionId).fetchHistory(), clientCodecs(client));
    },
    async close() {
      await harness.stopWorker();
      await workerConnection?.close();
      await connection.close();
      await moduleRef.close();
      if (dataSource.isInitialized) await dataSource.destroy();
    },
  };
  if (opts.startWorker !== false) await harness.startWorker();
  return harness;
}

/** Tables the test executors write their side effects to (not part of the product schema). */
async function ensureTestTables(ds: DataSource): Promise<void> {
  const qr = ds.createQueryRunner();
  await qr.connect();
  try {
    await qr.query('SELECT pg_advisory_lock(727274)');
    await qr.query(`CREATE TABLE IF NOT EXISTS test_events (
      id bigserial PRIMARY KEY, execution_id text NOT NULL, step_key text NOT NULL, kind text NOT NULL,
      attempt integer, at timestamptz NOT NULL DEFAULT clock_timestamp(), data jsonb)`);
    await qr.query(`CREATE TABLE IF NOT EXISTS test_side_effects (
      idempotency_key text PRIMARY KEY, execution_id text NOT NULL, step_key text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT clock_timestamp())`);
  } finally {
    await qr.query('SELECT pg_advisory_unlock(727274)').catch(() => undefined);
    await qr.release();
  }
}

/** Polls until `check` returns a truthy value (never a fixed sleep). */
export async function eventually<T>(check: () => Promise<T | null | undefined | false>, timeoutMs = 30_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as T;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
