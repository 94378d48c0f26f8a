import fs from 'node:fs';
import { Context } from '@temporalio/activity';
import path from 'node:path';
import { DefaultLogger, NativeConnection, Runtime, Worker, type LogLevel as TemporalLogLevel, type WorkerOptions } from '@temporalio/worker';
import type { DataSource } from 'typeorm';
import type { AppConfig } from '@src/config/config';
import type { Logger } from '@src/logging/logger';
import { FanOutService } from '@engine/activities/fan-out/fan-out.service';
import { ProjectionService } from '@engine/activities/projection/projection.service';
import { PayloadStore } from '@engine/activities/runtime/payload-store';
import { buildConditionActivity, buildStepActivities } from '@engine/activities/runtime/step-runner';
import type { StepExecutor } from '@engine/activities/runtime/executor';
import { builtinExecutors } from '@engine/activities/registry';
import { createSecretResolver, createSecretScrubber } from '@engine/activities/runtime/secret-store';
import { databasePort } from '@engine/activities/runtime/outage';
import { addLogRedactor } from '@src/logging/logger';
import { merchflowDataConverter } from '@engine/codec/data-converter';
import type { WorkerMetrics } from '@engine/observability/worker-metrics';
import type { RunProjectionEvent } from '@engine/shared/contracts';
import { ItemLedgerStore } from '@engine/activities/runtime/item-ledger';
import { DefinitionStore } from '@engine/activities/runtime/definition-store';
import { buildAiReviewActivities } from '@engine/activities/ai_process/review';
import { activeTracing } from '@src/tracing/tracing';

export interface MerchflowWorkerOptions {
  config: AppConfig;
  dataSource: DataSource;
  connection: NativeConnection;
  logger: Logger;
  taskQueue?: string;
  /** Executors beyond the built-in ones (tests register their own). */
  executors?: StepExecutor[];
  maxConcurrentActivities?: number;
  /** Prometheus metrics of the runs and steps this worker executes (served by worker-http.ts). */
  metrics?: WorkerMetrics;
}

/**
 * The prebuilt workflow bundle, when there is one; else the worker bundles the sources at start.
 * `traced`: the bundle with the OpenTelemetry workflow interceptors, built beside the plain one
 * (`workflow-bundle-otel.js`, scripts/bundle-workflows.ts); a worker without tracing never loads them.
 */
export function workflowBundlePath(config: AppConfig, traced = false): string | null {
  // Built next to this file: <dist>/temporal/worker.js -> <dist>/workflow-bundle.js.
  const plain = config.worker.bundlePath ?? path.join(__dirname, '..', 'workflow-bundle.js');
  const candidate = traced ? tracedBundlePath(plain) : plain;
  return fs.existsSync(candidate) ? candidate : null;
}

/** `.../workflow-bundle.js` -> `.../workflow-bundle-otel.js`. */
export function tracedBundlePath(plain: string): string {
  return plain.replace(/(\.js)?$/, '-otel.js');
}

/** The workflow interceptors module of @temporalio/interceptors-opentelemetry (bundled into the traced bundle). */
export const OTEL_WORKFLOW_INTERCEPTORS = '@temporalio/interceptors-opentelemetry/lib/workflow-interceptors';

/**
 * With tracing on (src/tracing/tracing.ts), the SDK's OpenTelemetry interceptors: each activity runs in a
 * span whose parent is the workflow's (carried in the activity's headers), with the trace ids on its log
 * lines; workflow spans, made inside the workflow sandbox, leave it through the `exporter` sink into the
 * process's span processor (not during replay).
 */
async function tracingOptions(bundled: boolean): Promise<Pick<WorkerOptions, 'interceptors' | 'sinks'>> {
  const tracing = activeTracing();
  if (!tracing) return {};
  const otel = await import('@temporalio/interceptors-opentelemetry/lib/worker');
  return {
    interceptors: {
      activity: [(ctx) => ({ inbound: new otel.OpenTelemetryActivityInboundInterceptor(ctx), outbound: new otel.OpenTelemetryActivityOutboundInterceptor(ctx) })],
      // A prebuilt bundle has them built in; bundling at start adds them.
      ...(bundled ? {} : { workflowModules: [require.resolve(OTEL_WORKFLOW_INTERCEPTORS)] }),
    },
    sinks: { exporter: otel.makeWorkflowExporter(tracing.spanProcessor, tracing.resource) },
  };
}

/** The worker's activities: projection bookkeeping, condition evaluation and one activity per step type. */
export async function createActivities(opts: Pick<MerchflowWorkerOptions, 'config' | 'dataSource' | 'logger' | 'executors' | 'metrics'>) {
  const projection = new ProjectionService(opts.dataSource);
  const payloads = new PayloadStore(opts.dataSource, { thresholdBytes: opts.config.payloadThresholdBytes, cacheBytes: opts.config.payloads.cacheBytes, handoffBytes: opts.config.payloads.handoffBytes, compression: opts.config.payloads.compression, pageItems: opts.config.payloads.pageItems }, opts.metrics);
  const secrets = createSecretResolver(opts.config, opts.dataSource);
  // Worker-wide: every known secret value is scrubbed from every step and every log line of the process.
  const scrubber = createSecretScrubber(opts.config, opts.dataSource, opts.logger);
  addLogRedactor((line) => scrubber.scrubText(line));
  const executors = [...(await builtinExecutors({ config: opts.config, dataSource: opts.dataSource, secrets, logger: opts.logger })), ...(opts.executors ?? [])];
  const ledger = opts.config.itemLedger.enabled ? new ItemLedgerStore(opts.dataSource) : undefined;
  const fanOut = new FanOutService(opts.dataSource);
  return {
    listFanOutTargets: fanOut.listFanOutTargets.bind(fanOut),
    fanOutChildOutcome: fanOut.fanOutChildOutcome.bind(fanOut),
    projectRun: opts.metrics ? countingRuns(projection, opts.dataSource, opts.metrics) : projection.projectRun.bind(projection),
    projectSteps: projection.projectSteps.bind(projection),
    evaluateCondition: buildConditionActivity(payloads),
    // The review of an ai_process step's low-confidence answers: listed for the operator, then merged back.
    ...buildAiReviewActivities({ dataSource: opts.dataSource, payloads, ledger, clean: (v) => scrubber.scrub(v) }),
    ...buildStepActivities(executors, {
      projection,
      payloads,
      logger: opts.logger,
      secrets,
      scrubber,
      metrics: opts.metrics,
      ledger,
      definitions: new DefinitionStore(opts.dataSource),
      outageBudgetMs: opts.config.outage.budgetSeconds * 1000,
      databasePorts: [databasePort(opts.config.databaseUrl)].filter((p): p is number => p !== null),
    }),
  };
}

/**
 * projectRun that also counts runs started and finished by workflow code. Counted on the activity's first
 * attempt only, so a retried bookkeeping call does not count a run twice.
 */
function countingRuns(projection: ProjectionService, dataSource: DataSource, metrics: WorkerMetrics) {
  const codes = new Map<number, string>();
  const codeOf = async (workflowId: number): Promise<string> => {
    const known = codes.get(workflowId);
    if (known) return known;
    const rows: Array<{ code: string }> = await dataSource.query('SELECT code FROM workflows WHERE id = $1', [workflowId]);
    const code = rows[0]?.code ?? 'unknown';
    if (codes.size < 10_000) codes.set(workflowId, code);
    return code;
  };
  return async function projectRun(e: RunProjectionEvent): Promise<void> {
    await projection.projectRun(e);
    if (Context.current().info.attempt !== 1) return;
    const code = await codeOf(e.workflow_id).catch(() => 'unknown');
    if (e.kind === 'started') metrics.runStarted(code);
    else metrics.runFinished(code, e.status);
  };
}

/**
 * The worker's activities as the workflow sees them, from the one place they
 * are built: the interpreter proxies `Pick<Activities, ...>` of this type, so
 * renaming or retyping an activity fails to compile instead of failing a run.
 * Step activities are named by step type (the string index).
 */
export type Activities = Awaited<ReturnType<typeof createActivities>>;

/** Creates (but does not run) a worker for the interpreter and the step executors. */
export async function createMerchflowWorker(opts: MerchflowWorkerOptions): Promise<Worker> {
  const { config } = opts;
  const traced = activeTracing() !== null;
  const bundle = workflowBundlePath(config, traced);
  return Worker.create({
    ...(await tracingOptions(bundle !== null)),
    connection: opts.connection,
    namespace: config.temporal.namespace,
    taskQueue: opts.taskQueue ?? config.temporal.taskQueue,
    activities: await createActivities(opts),
    // Payloads are encrypted here, outside the workflow sandbox: workflow code and its replays are unchanged.
    dataConverter: merchflowDataConverter(config),
    ...(bundle ? { workflowBundle: { codePath: bundle } } : { workflowsPath: require.resolve('./workflows') }),
    maxConcurrentActivityTaskExecutions: opts.maxConcurrentActivities ?? config.worker.maxConcurrentActivities,
    maxConcurrentLocalActivityExecutions: 50,
    maxConcurrentWorkflowTaskExecutions: config.worker.maxConcurrentWorkflowTasks,
    maxCachedWorkflows: config.worker.maxCachedWorkflows,
    shutdownGraceTime: `${config.worker.shutdownGraceSeconds} seconds`,
    // Heartbeats carry cancellation to a running step: send them often enough that a cancel lands in seconds.
    maxHeartbeatThrottleInterval: '2 seconds',
    defaultHeartbeatThrottleInterval: '2 seconds',
  });
}

/** How often a worker deletes the payloads and item ledgers of runs past their retention. */
const RETENTION_SWEEP_MS = 15 * 60 * 1000;

/**
 * Deletes, every RETENTION_SWEEP_MS (and once at start), the payloads of runs
 * that ended more than `payloads.retentionDays` ago, in batches. Several
 * workers sweeping at once only share the work. Returns a stop function.
 */
export function startPayloadRetention(config: AppConfig, dataSource: DataSource, logger: Logger): () => void {
  if (config.payloads.retentionDays <= 0 && config.itemLedger.retentionDays <= 0) return () => undefined;
  const store = new PayloadStore(dataSource, { thresholdBytes: config.payloadThresholdBytes, cacheBytes: 0 });
  const ledger = new ItemLedgerStore(dataSource);
  let stopped = false;
  const sweep = async () => {
    let deleted = 0;
    if (config.payloads.retentionDays > 0) {
      for (let n = 1000; n === 1000 && !stopped; ) deleted += n = await store.deleteExpired(config.payloads.retentionDays, 1000);
      if (deleted > 0) logger.info('deleted expired payloads', { deleted, retention_days: config.payloads.retentionDays });
    }
    if (config.itemLedger.retentionDays > 0) {
      let rows = 0;
      for (let n = 10_000; n === 10_000 && !stopped; ) rows += n = await ledger.deleteExpired(config.itemLedger.retentionDays, 10_000);
      if (rows > 0) logger.info('deleted expired item ledger rows', { deleted: rows, retention_days: config.itemLedger.retentionDays });
    }
  };
  const run = () => void sweep().catch((err) => logger.warn('payload retention sweep failed', { error: err }));
  const timer = setInterval(run, RETENTION_SWEEP_MS);
  timer.unref();
  run();
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}

let runtimeInstalled = false;

export interface TemporalRuntimeOptions {
  /**
   * host:port where the SDK core serves its Prometheus metrics (task slots, schedule-to-start latency,
   * sticky cache, polls); the worker's /metrics forwards them (worker-http.ts). None: no SDK metrics.
   */
  sdkMetricsAddress?: string;
}

/** Routes the Temporal SDK's own log lines through our logger (once per process), and exports its metrics. */
export function installTemporalRuntime(logger: Logger, level: TemporalLogLevel = 'WARN', opts: TemporalRuntimeOptions = {}): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({
    logger: new DefaultLogger(level, (entry) => {
      const lvl = entry.level === 'ERROR' ? 'error' : entry.level === 'WARN' ? 'warn' : entry.level === 'INFO' ? 'info' : 'debug';
      const meta = entry.meta ? { ...entry.meta } : {};
      logger.log(lvl, entry.message, { component: 'temporal', ...meta });
    }),
    ...(opts.sdkMetricsAddress
      ? {
          telemetryOptions: {
            metrics: {
              // Prometheus conventions: counters end in _total, durations in seconds with the unit in the name.
              prometheus: { bindAddress: opts.sdkMetricsAddress, countersTotalSuffix: true, unitSuffix: true, useSecondsForDurations: true },
            },
          },
        }
      : {}),
  });
}
