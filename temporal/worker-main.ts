/**
 * The worker process: `npm run worker -- [--max-workers N] [--task-queue Q]`
 * (also `merchflow worker`). Polls until SIGINT/SIGTERM, then stops polling and
 * lets in-flight activities finish within WORKER_SHUTDOWN_GRACE_SECONDS.
 */
import { keepHealthFile } from '@engine/worker-health';
import { NativeConnection } from '@temporalio/worker';
import { appConfig, redactUrl } from '@src/config/config';
import { createDataSource } from '@src/database/data-source';
import { rootLogger } from '@src/logging/logger';
import { connectOrExplain, describeStartupError } from '@src/common/startup-errors';
import { createMerchflowWorker, installTemporalRuntime, startPayloadRetention } from '@engine/worker';
import { ensureSearchAttributes } from '@engine/setup/search-attributes';
import { closeExpressionPools } from '@engine/activities/shared/expressions';
import { WorkerMetrics } from '@engine/observability/worker-metrics';
import { freeLoopbackPort, startWorkerHttp } from '@engine/observability/worker-http';
import type { Worker } from '@temporalio/worker';
import { startTracing } from '@src/tracing/tracing';
import { parseOptions, type OptionSpec } from '@src/cli/options';

/** The worker's options, shared by `npm run worker --` and `merchflow worker`. */
export const WORKER_OPTIONS: Record<string, OptionSpec> = { 'max-workers': { kind: 'int', min: 1, max: 10000 }, 'task-queue': { kind: 'string' } };

export interface WorkerArgs {
  maxWorkers?: number;
  taskQueue?: string;
}

/** `--max-workers N` (1-10000) and `--task-queue Q`; anything else is a usage error naming it. */
export function parseWorkerArgs(argv: string[]): WorkerArgs {
  const { options } = parseOptions(argv, WORKER_OPTIONS, { maxPositionals: 0 });
  return { maxWorkers: options['max-workers'] as number | undefined, taskQueue: options['task-queue'] as string | undefined };
}

export async function runWorker(args: WorkerArgs): Promise<void> {
  const config = appConfig();
  const logger = rootLogger({ level: config.log.level, format: config.log.format }).child({ component: 'worker' });
  // With a metrics port, the SDK core exports its metrics on a loopback port that /metrics forwards.
  const metricsOn = config.worker.metricsPort !== null;
  const sdkMetricsAddress = metricsOn ? (config.worker.sdkMetricsAddress ?? `127.0.0.1:${await freeLoopbackPort()}`) : undefined;
  installTemporalRuntime(logger, 'WARN', { sdkMetricsAddress });
  const metrics = metricsOn ? new WorkerMetrics() : undefined;
  // Before the first query: PostgreSQL and outbound HTTP spans are children of the step's activity span.
  const tracing = await startTracing(config, {
    defaultServiceName: 'merchflow-worker',
    onDiagnostic: (level, message) => logger.log(level, message, { component: 'tracing' }),
  });
  if (tracing) logger.info('tracing', { service: tracing.serviceName, exporters: config.tracing.exporters });
  const dataSource = await connectOrExplain(`database ${redactUrl(config.databaseUrl)}`, 'DATABASE_URL', () => createDataSource(config).initialize());
  let connection: NativeConnection;
  try {
    connection = await connectOrExplain(`Temporal server ${config.temporal.address}`, 'TEMPORAL_ADDRESS', () =>
      NativeConnection.connect({ address: config.temporal.address }),
    );
  } catch (err) {
    await dataSource.destroy().catch(() => undefined);
    throw err;
  }
  let worker: Worker | null = null;
  const http = metricsOn
    ? await startWorkerHttp(
        {
          registry: metrics!.registry,
          sdkMetricsAddress,
          workerState: () => worker?.getState() ?? 'CREATING',
          connection: () => connection,
          dataSource,
          metricsToken: config.metrics.token,
        },
        config.worker.metricsHost,
        config.worker.metricsPort!,
      ).catch(async (err: Error) => {
        await connection.close().catch(() => undefined);
        await dataSource.destroy().catch(() => undefined);
        throw new Error(`cannot serve worker metrics on ${config.worker.metricsHost}:${config.worker.metricsPort} (WORKER_METRICS_PORT): ${err.message}`);
      })
    : null;
  if (http) logger.info('worker metrics', { url: `http://${config.worker.metricsHost}:${http.port}/metrics`, health: `/healthz`, ready: `/readyz` });
  try {
    const added = await ensureSearchAttributes(config.temporal.address, config.temporal.namespace);
    if (added.length > 0) logger.info('registered search attributes', { names: added });
    const w = await createMerchflowWorker({
      config,
      dataSource,
      connection,
      logger,
      taskQueue: args.taskQueue,
      maxConcurrentActivities: args.maxWorkers,
      metrics,
    });
    worker = w;
    logger.info('worker polling', {
      task_queue: args.taskQueue ?? config.temporal.taskQueue,
      namespace: config.temporal.namespace,
      max_concurrent_activities: args.maxWorkers ?? config.worker.maxConcurrentActivities,
    });
    // Liveness for orchestrators: a fresh file while the worker runs (see worker-health.ts).
    const stopHealth = config.worker.healthFile ? keepHealthFile(config.worker.healthFile, () => w.getState() === 'RUNNING') : null;
    const stopRetention = startPayloadRetention(config, dataSource, logger);
    try {
      await w.run();
    } finally {
      stopHealth?.();
      stopRetention();
    }
    logger.info('worker stopped');
    // After run(): steps still finishing during the shutdown grace time may need the pool.
    const pools = await closeExpressionPools();
    logger.info('expression pool stopped', { pools });
  } finally {
    await http?.close().catch(() => undefined);
    await closeExpressionPools().catch(() => undefined);
    await connection.close().catch(() => undefined);
    await dataSource.destroy().catch(() => undefined);
    // The last spans: those of the steps that finished during the shutdown grace time.
    await tracing?.shutdown().catch(() => undefined);
  }
}

if (require.main === module) {
  let args: WorkerArgs;
  try {
    args = parseWorkerArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`worker: ${(err as Error).message}`);
    process.exit(2);
  }
  runWorker(args).catch((err) => {
    console.error(`worker: ${describeStartupError(err)}`);
    process.exit(1);
  });
}
