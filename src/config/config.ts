import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';

/**
 * The one typed configuration of Merchflow, read from the environment and
 * validated at boot. The API, the worker, the CLI and the migration runner all
 * call `loadConfig()`; nothing else reads `process.env` for settings.
 */
export interface AppConfig {
  env: 'development' | 'production' | 'test';
  rootDir: string;
  dataDir: string;
  databaseUrl: string;
  /** True when DATABASE_URL was not set and the embedded Postgres address is used. */
  databaseEmbedded: boolean;
  temporal: {
    address: string;
    namespace: string;
    taskQueue: string;
    uiUrl: string;
    embedded: boolean;
  };
  /** `openApiPublic`: serve /docs and /docs-json without an API key (OPENAPI_PUBLIC, default false). */
  http: { host: string; port: number; basePath: string; openApiPublic: boolean; /** MERCHFLOW_PUBLIC_URL: where operators reach the API and admin UI (links in the Temporal Web UI). */ publicUrl: string };
  worker: {
    maxConcurrentActivities: number;
    maxConcurrentWorkflowTasks: number;
    maxCachedWorkflows: number;
    shutdownGraceSeconds: number;
    bundlePath: string | null;
    /** WORKER_HEALTH_FILE: a file the worker touches while it runs, for a liveness check (temporal/worker-health.ts); null for none. */
    healthFile: string | null;
    /**
     * Sockets each outbound HTTP client may open to one host (HTTP_MAX_SOCKETS_PER_HOST). Default: enough that no
     * request of this worker ever waits for one, WORKER_MAX_CONCURRENT_ACTIVITIES x the largest per-step concurrency
     * of api_call (50); a remote's budget is kept by the steps' own `concurrency` and rate limits, not by this cap.
     */
    httpMaxSocketsPerHost: number;
    /** WORKER_METRICS_PORT: the worker's /metrics, /healthz and /readyz (temporal/observability/worker-http.ts); null for none. */
    metricsPort: number | null;
    /** WORKER_METRICS_HOST: the address that server binds (default as HOST). */
    metricsHost: string;
    /** WORKER_SDK_METRICS_ADDRESS: loopback host:port of the Temporal SDK core's exporter (default: a free port). */
    sdkMetricsAddress: string | null;
  };
  /** METRICS_TOKEN: when set, /metrics of the API and the worker need `Authorization: Bearer <token>`. */
  metrics: { token: string | null };
  /** The worker's pool of JSONata threads (see docs/definitions.md, Expressions). */
  expressions: {
    /** Threads evaluating expressions at once (EXPRESSION_POOL_THREADS). */
    threads: number;
    /** Heap limit of each thread in MB (EXPRESSION_POOL_MEMORY_MB); an expression that needs more fails with EXPRESSION_LIMIT. */
    memoryMb: number;
  };
  log: { level: LogLevel; format: 'json' | 'pretty' };
  payloadThresholdBytes: number;
  /**
   * The payload store: `cacheBytes` (PAYLOAD_CACHE_BYTES, default 64 MiB of JSON) bounds the worker's cache of
   * recent payloads (least recently used first out); `handoffBytes` (PAYLOAD_HANDOFF_BYTES, default 256 MiB of JSON)
   * bounds the outputs too large for it kept for the run's next step on this worker; `compression`
   * (PAYLOAD_COMPRESSION, default auto) says who compresses stored outputs; `retentionDays` (PAYLOAD_RETENTION_DAYS, default 30, 0 = keep
   * forever) is how long the payloads of a finished run are kept.
   */
  payloads: { cacheBytes: number; handoffBytes: number; compression: 'auto' | 'postgres' | 'worker' | 'worker-gzip'; retentionDays: number; pageItems: number };
  /**
   * The per-item ledger (docs/recovery.md): `enabled` (ITEM_LEDGER, default true) records each item's outcome of
   * item-wise steps; `retentionDays` (ITEM_LEDGER_RETENTION_DAYS, default 30, 0 = keep) is how long a finished
   * run's ledger is kept.
   */
  itemLedger: { enabled: boolean; retentionDays: number };
  /** `database_query` steps may run read-only raw SQL (DATABASE_QUERY_RAW_SQL). */
  databaseQueryRawSql: boolean;
  /** Host names (or host:port) that outbound HTTP may reach even when they resolve to private addresses. */
  httpAllowHosts: string[];
  openai: { apiKey: string | null; baseUrl: string | null; model: string };
  smtp: { url: string | null; from: string };
  /** `scrubMinLength`: secret values this long or longer are scrubbed from every step's output, errors and logs (SECRET_SCRUB_MIN_LENGTH, default 8). */
  security: {
    masterKey: string | null;
    /** Where the master key came from: the variable, or the development key file `npm start` keeps. */
    masterKeySource: 'MERCHFLOW_MASTER_KEY' | 'development key file' | null;
    adminApiKey: string | null;
    scrubMinLength: number;
  };
  sandbox: { enabled: boolean; port: number; products: number };
  /**
   * PostgreSQL or Temporal being unreachable is an infrastructure fault, not a
   * step failure: the worker waits it out for up to `budgetSeconds` without
   * spending the step's retries (OUTAGE_BUDGET_SECONDS, default 600). The API
   * answers 503 with `Retry-After: retryAfterSeconds` meanwhile, and gives up
   * on Temporal calls after `temporalCallTimeoutMs` (TEMPORAL_CALL_TIMEOUT_MS:
   * connecting, health), on a run's start after `temporalStartTimeoutMs`
   * (TEMPORAL_START_TIMEOUT_MS).
   */
  outage: { budgetSeconds: number; retryAfterSeconds: number; temporalCallTimeoutMs: number; temporalStartTimeoutMs: number };
  /** `minIntervalSeconds`: the shortest time a schedule may leave between two runs (SCHEDULE_MIN_INTERVAL_SECONDS, default 60). */
  schedules: { minIntervalSeconds: number };
  /** Encryption of Temporal payloads (workflow inputs, step outputs, results) by the client and worker codec. */
  payloadEncryption: {
    /** PAYLOAD_ENCRYPTION: new payloads are encrypted (on by default in production, and wherever keys are configured). */
    enabled: boolean;
    /** PAYLOAD_KEY_ID: the key new payloads are encrypted with. */
    activeKeyId: string | null;
    /** Every key id -> 32-byte key that may decode a payload (PAYLOAD_KEYS, PAYLOAD_KEYS_FILE, or the development key file). */
    keys: ReadonlyMap<string, Buffer>;
    /** Where the keys came from (for messages; never the keys themselves). */
    source: 'PAYLOAD_KEYS' | 'PAYLOAD_KEYS_FILE' | 'development key file' | null;
  };
  /**
   * Temporal payloads of at least this many bytes are compressed before they are encrypted
   * (TEMPORAL_PAYLOAD_COMPRESS_BYTES, default 256; 0: off). See temporal/codec/compression-codec.ts.
   */
  payloadCompressMinBytes: number;
  /** Origins (the Temporal Web UI's) allowed to call the codec endpoints from a browser (CODEC_CORS_ORIGINS). */
  codecCorsOrigins: string[];
  /** OpenTelemetry tracing (src/tracing/tracing.ts), off unless the standard OTEL_* variables turn it on. */
  tracing: TracingConfig;
}

/** Where spans go: the OTLP exporter (http/protobuf) and/or the console. */
export type TraceExporterName = 'otlp' | 'console';

/** The OTEL_TRACES_SAMPLER values of the OpenTelemetry specification. */
export const TRACE_SAMPLERS = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'] as const;
export type TraceSamplerName = (typeof TRACE_SAMPLERS)[number];

export interface TracingConfig {
  /** On when OTEL_TRACES_EXPORTER names an exporter (or, unset, an OTLP endpoint is set) and OTEL_SDK_DISABLED is not true. */
  enabled: boolean;
  exporters: TraceExporterName[];
  /** OTEL_SERVICE_NAME; null: each process names itself (`merchflow-api`, `merchflow-worker`). */
  serviceName: string | null;
  /** OTEL_RESOURCE_ATTRIBUTES, decoded. */
  resourceAttributes: Record<string, string>;
  /** The OTLP traces URL: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as is, or OTEL_EXPORTER_OTLP_ENDPOINT + `/v1/traces`. */
  otlpUrl: string;
  /** OTEL_EXPORTER_OTLP_HEADERS with OTEL_EXPORTER_OTLP_TRACES_HEADERS over them (credentials of the collector). */
  otlpHeaders: Record<string, string>;
  sampler: TraceSamplerName;
  /** OTEL_TRACES_SAMPLER_ARG: the ratio of the `traceidratio` samplers (default 1). */
  samplerRatio: number;
}

/** The largest `concurrency` an api_call step may have (per-item requests in flight at once); see its schema. */
export const MAX_STEP_HTTP_CONCURRENCY = 50;

/** The development payload key file `npm start` creates in the data directory (used only when NODE_ENV=development). */
export const DEV_PAYLOAD_KEYS_FILE = 'dev-payload-keys';
/** The development master key `npm start` keeps in the data directory when MERCHFLOW_MASTER_KEY is unset. */
export const DEV_MASTER_KEY_FILE = 'dev-master-key';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** A configuration problem; the message names the variable. */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

export const EMBEDDED_DATABASE_PORT = 5488;
export const EMBEDDED_DATABASE_URL = `postgres://postgres:merchflow@127.0.0.1:${EMBEDDED_DATABASE_PORT}/merchflow`;

type Env = Record<string, string | undefined>;

/** How a variable appears in docs/configuration.md (generated from this schema, checked by a unit test). */
export interface EnvVarDoc {
  description: string;
  /** The default as the table shows it (when it depends on something, say on what). */
  default?: string;
  /** Never echo the value in an error (keys, passwords). */
  secret?: boolean;
}

/** Unset and blank are the same; values are trimmed. */
const blankToUndefined = (v: unknown): unknown => (typeof v === 'string' ? (v.trim() === '' ? undefined : v.trim()) : v);

function envVar<T extends z.ZodType>(schema: T, doc: EnvVarDoc) {
  return z.preprocess(blankToUndefined, schema).meta({ ...doc });
}

const integer = (min: number, max: number) => {
  const error = `expected an integer from ${min} to ${max}`;
  return z.coerce.number({ error }).int({ error }).min(min, { error }).max(max, { error });
};
const bool = () =>
  z.stringbool({ truthy: ['1', 'true', 'yes', 'on'], falsy: ['0', 'false', 'no', 'off'], case: 'insensitive', error: 'expected true or false' });
const oneOf = <const T extends readonly [string, ...string[]]>(values: T) => z.enum(values, { error: `expected one of ${values.join(', ')}` });
const url = (protocols: string[]) =>
  z.string().refine(
    (raw) => {
      try {
        return protocols.includes(new URL(raw).protocol);
      } catch {
        return false;
      }
    },
    { error: `expected a ${protocols.join(' or ')} URL` },
  );
const hostPort = () => z.string().regex(/^[A-Za-z0-9.\-[\]:]+:\d{1,5}$/, { error: 'expected host:port' });
const text = () => z.string();

/**
 * Every environment variable Merchflow reads, with its coercion, default and
 * documentation. `loadConfig()` parses the environment with it and builds the
 * typed `AppConfig`; docs/configuration.md is generated from it
 * (`configurationTable()`), and a unit test fails when the two differ.
 */
export const ENV_SCHEMA = z.object({
  NODE_ENV: envVar(oneOf(['development', 'production', 'test']).default('development'), {
    default: 'development',
    description: '`development`, `production` or `test`. Production requires DATABASE_URL and TEMPORAL_ADDRESS and turns payload encryption on.',
  }),
  MERCHFLOW_DATA_DIR: envVar(text().default('.data'), { default: '.data', description: 'Data directory of `npm start`/`npm test` (embedded PostgreSQL, development payload key), relative to the checkout.' }),
  DATABASE_URL: envVar(url(['postgres:', 'postgresql:']).optional(), {
    default: 'embedded PostgreSQL on 127.0.0.1:5488',
    description: 'PostgreSQL connection URL (`postgres://user:password@host:5432/db`). Required in production.',
  }),
  TEMPORAL_ADDRESS: envVar(hostPort().optional(), { default: '127.0.0.1:7233 (embedded dev server)', description: 'Temporal frontend `host:port`. Required in production.' }),
  TEMPORAL_NAMESPACE: envVar(text().default('default'), { default: 'default', description: 'Temporal namespace of every workflow and schedule.' }),
  TEMPORAL_TASK_QUEUE: envVar(text().default('merchflow'), { default: 'merchflow', description: 'Task queue the worker polls and the API starts runs on.' }),
  TEMPORAL_UI_URL: envVar(url(['http:', 'https:']).default('http://127.0.0.1:8233'), { default: 'http://127.0.0.1:8233', description: 'Temporal Web UI, linked from the API and the admin UI.' }),
  HOST: envVar(text().optional(), { default: '0.0.0.0 in production, else 127.0.0.1', description: 'Address the API listens on.' }),
  PORT: envVar(integer(0, 65535).default(3000), { default: '3000', description: 'Port the API listens on.' }),
  OPENAPI_PUBLIC: envVar(bool().default(false), { default: 'false', description: 'Serve /docs and /docs-json without an API key.' }),
  WORKER_MAX_CONCURRENT_ACTIVITIES: envVar(integer(1, 10000).default(20), { default: '20', description: 'Steps (activities) one worker runs at once (`--max-workers` overrides it).' }),
  WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: envVar(integer(1, 10000).default(40), { default: '40', description: 'Workflow tasks one worker runs at once.' }),
  WORKER_MAX_CACHED_WORKFLOWS: envVar(integer(0, 100000).default(500), { default: '500', description: 'Workflows kept in the worker’s sticky cache.' }),
  WORKER_SHUTDOWN_GRACE_SECONDS: envVar(integer(0, 3600).default(30), { default: '30', description: 'How long a stopping worker lets running activities finish.' }),
  WORKER_WORKFLOW_BUNDLE: envVar(text().optional(), { default: 'dist/workflow-bundle.js when built', description: 'Prebuilt workflow bundle the worker loads, relative to the checkout.' }),
  WORKER_HEALTH_FILE: envVar(text().optional(), { default: 'none', description: 'A file the worker touches every 5 s while it runs; `node dist/temporal/worker-health.js` exits 0 while it is under 30 s old (the compose health check).' }),
  EXPRESSION_POOL_THREADS: envVar(integer(1, 64).default(() => Math.min(4, Math.max(2, os.availableParallelism() - 1))), {
    default: 'cores - 1, from 2 to 4',
    description: 'Threads evaluating JSONata expressions at once (docs/definitions.md, Expressions).',
  }),
  EXPRESSION_POOL_MEMORY_MB: envVar(integer(16, 16384).default(256), { default: '256', description: 'Heap limit of each expression thread in MB; an expression that needs more fails with EXPRESSION_LIMIT.' }),
  LOG_LEVEL: envVar(oneOf(['debug', 'info', 'warn', 'error']).default('info'), { default: 'info', description: '`debug`, `info`, `warn` or `error`.' }),
  LOG_FORMAT: envVar(oneOf(['json', 'pretty']).optional(), { default: 'json in production, else pretty', description: '`json` (one pino JSON object a line) or `pretty` (readable lines).' }),
  PAYLOAD_THRESHOLD_BYTES: envVar(integer(1024, 64 * 1024 * 1024).default(256 * 1024), { default: '262144', description: 'Step outputs larger than this are stored in PostgreSQL and passed by reference (claim check).' }),
  PAYLOAD_CACHE_BYTES: envVar(integer(0, 16 * 1024 * 1024 * 1024).default(64 * 1024 * 1024), { default: '67108864 (64 MiB)', description: 'The worker\'s cache of recently used payloads, bounded by bytes of JSON (least recently used out first); `0` turns it off.' }),
  PAYLOAD_HANDOFF_BYTES: envVar(integer(0, 16 * 1024 * 1024 * 1024).default(256 * 1024 * 1024), { default: '268435456 (256 MiB)', description: 'Outputs too large for the payload cache are kept by the worker that wrote them, up to this many bytes of JSON, until the run\'s next output or 30 s, so the next step on that worker does not read and parse them again; `0` turns it off.' }),
  PAYLOAD_COMPRESSION: envVar(oneOf(['auto', 'postgres', 'worker', 'worker-gzip']).default('auto'), { default: 'auto', description: 'Who compresses stored outputs: `postgres` (JSON text, TOAST compression), `worker` (brotli quality 1 in the worker\'s thread pool), `worker-gzip` (gzip level 1, what `worker` wrote before: for a rollout alongside workers of earlier builds, which read gzip only), `auto`: `postgres` where the server has lz4, else `worker` (pglz is several times slower). Every kind of row is read.' }),
  ITEM_PAGE_SIZE: envVar(integer(100, 1_000_000).default(5_000), { default: '5000', description: 'Item-wise steps (fetch, validate, transform map/filter, import_products) work on lists longer than this page by page: each page is stored as it fills and read back one at a time, so a worker\'s memory is bounded by the page, not the catalogue.' }),
  PAYLOAD_RETENTION_DAYS: envVar(integer(0, 36_500).default(30), { default: '30', description: 'Payloads of runs that ended longer ago are deleted by the worker (every 15 min); `0` keeps them; deleting a run deletes its payloads.' }),
  ITEM_LEDGER: envVar(bool().default(true), { default: 'true', description: 'Item-wise steps record each item\'s outcome (ok, invalid, failed, skipped, with its reason) in the per-item ledger (docs/recovery.md); `false` records none.' }),
  ITEM_LEDGER_RETENTION_DAYS: envVar(integer(0, 36_500).default(30), { default: '30', description: 'The item ledger of runs that ended longer ago is deleted by the worker (every 15 min); `0` keeps it; deleting a run deletes its ledger.' }),
  HTTP_MAX_SOCKETS_PER_HOST: envVar(integer(1, 100_000).optional(), { default: 'WORKER_MAX_CONCURRENT_ACTIVITIES × 50', description: 'Sockets the worker\'s outbound HTTP clients open to one host; by default no request waits for one (a remote\'s budget is kept by the steps\' `concurrency` and rate limits).' }),
  WORKER_METRICS_PORT: envVar(integer(0, 65535).optional(), { default: 'none (`npm start`: 9464)', description: 'Port of the worker\'s `/metrics`, `/healthz` and `/readyz` (docs/observability.md); unset serves none.' }),
  WORKER_METRICS_HOST: envVar(text().optional(), { default: 'as `HOST`', description: 'Address the worker\'s metrics and health server binds.' }),
  WORKER_SDK_METRICS_ADDRESS: envVar(hostPort().optional(), { default: 'a free 127.0.0.1 port', description: 'Loopback `host:port` of the Temporal SDK core\'s Prometheus exporter, which the worker\'s `/metrics` forwards.' }),
  METRICS_TOKEN: envVar(text().optional(), { default: 'none (open)', description: 'When set, `/metrics` of the API and the workers need `Authorization: Bearer <token>`.', secret: true }),
  MERCHFLOW_PUBLIC_URL: envVar(url(['http:', 'https:']).optional(), { default: '`http://127.0.0.1:<PORT>`', description: 'Where operators reach the API and admin UI: the admin link each run carries in the Temporal Web UI.' }),
  DATABASE_QUERY_RAW_SQL: envVar(bool().default(false), { default: 'false', description: '`database_query` steps may run read-only raw SQL (a single SELECT, in a read-only transaction with a timeout).' }),
  HTTP_ALLOW_HOSTS: envVar(text().default(''), { default: 'none', description: 'Comma-separated host names (or host:port) outbound HTTP may reach even when they resolve to private addresses.' }),
  OPENAI_API_KEY: envVar(text().optional(), { default: 'none', description: 'Key of the OpenAI-compatible API used by `ai_*` steps.', secret: true }),
  OPENAI_BASE_URL: envVar(url(['http:', 'https:']).optional(), { default: 'the OpenAI API', description: 'Base URL of an OpenAI-compatible API.' }),
  OPENAI_MODEL: envVar(text().default('gpt-4o-mini'), { default: 'gpt-4o-mini', description: 'Model of `ai_*` steps that name none.' }),
  SMTP_URL: envVar(url(['smtp:', 'smtps:']).optional(), { default: 'none (e-mail notifications are logged)', description: 'SMTP server of `notification` steps (`smtp://user:password@host:587`).' }),
  SMTP_FROM: envVar(text().default('merchflow@localhost'), { default: 'merchflow@localhost', description: 'Sender address of notification e-mails.' }),
  MERCHFLOW_MASTER_KEY: envVar(text().min(16, { error: 'must be at least 16 characters (32 random bytes, base64, recommended)' }).optional(), {
    default: 'development: `.data/dev-master-key`, kept by `npm start`; required in production',
    description: 'Key (at least 16 characters; 32 random bytes in base64 recommended) encrypting the stored secrets (`/secrets/`, `merchflow secrets set`; AES-256-GCM), read before `MERCHFLOW_SECRET_<NAME>` variables; rotate with `merchflow secrets rotate-master-key`; see docs/security.md.',
    secret: true,
  }),
  MERCHFLOW_ADMIN_API_KEY: envVar(text().optional(), { default: 'none', description: 'Seeds an admin API key at API start.', secret: true }),
  SECRET_SCRUB_MIN_LENGTH: envVar(integer(4, 1024).default(8), { default: '8', description: 'Secret values this long or longer are scrubbed from every step’s output, errors and logs.' }),
  SANDBOX_ENABLED: envVar(bool().default(true), { default: 'true', description: '`npm start` runs the sandbox marketplace/supplier APIs.' }),
  SMTP_CATCHER_PORT: envVar(integer(1, 65535).default(2525), { default: '2525', description: 'Port of the local SMTP catcher `npm start` runs when `SMTP_URL` is unset (caught mail at `/mailbox/`).' }),
  SANDBOX_PORT: envVar(integer(0, 65535).default(4010), { default: '4010', description: 'Port of the sandbox APIs.' }),
  SANDBOX_PRODUCTS: envVar(integer(0, 10_000_000).default(1000), { default: '1000', description: 'Products in the sandbox supplier catalogue.' }),
  OUTAGE_BUDGET_SECONDS: envVar(integer(0, 7 * 24 * 3600).default(600), { default: '600', description: 'How long steps and bookkeeping wait out a PostgreSQL/Temporal outage without spending retries (docs/reliability.md).' }),
  OUTAGE_RETRY_AFTER_SECONDS: envVar(integer(1, 3600).default(5), { default: '5', description: '`Retry-After` of the API’s 503 answers during an outage.' }),
  TEMPORAL_CALL_TIMEOUT_MS: envVar(integer(100, 60_000).default(1500), { default: '1500', description: 'The API gives up connecting to Temporal, or on its health check, after this long.' }),
  TEMPORAL_START_TIMEOUT_MS: envVar(integer(100, 120_000).default(10_000), {
    default: '10000',
    description: 'How long a run’s start waits for Temporal before `POST /execute/` answers 503 (a start that timed out but reached Temporal answers 202; docs/api.md).',
  }),
  SCHEDULE_MIN_INTERVAL_SECONDS: envVar(integer(1, 31 * 86_400).default(60), { default: '60', description: 'Shortest time a schedule may leave between two runs.' }),
  PAYLOAD_ENCRYPTION: envVar(bool().optional(), { default: 'on in production and wherever keys are configured', description: 'Encrypt Temporal payloads (inputs, step outputs, results).' }),
  PAYLOAD_KEYS: envVar(text().optional(), { default: 'none', description: 'Payload keys `key-id:base64-32-byte-key`, separated by commas, spaces or new lines.', secret: true }),
  PAYLOAD_KEYS_FILE: envVar(text().optional(), { default: 'none', description: 'File holding the payload keys in the PAYLOAD_KEYS format (not both).' }),
  TEMPORAL_PAYLOAD_COMPRESS_BYTES: envVar(integer(0, 64 * 1024 * 1024).default(256), { default: '256', description: 'Temporal payloads (a run\'s start input with its definition, its result, the Web UI\'s run details) of at least this many bytes are stored compressed (raw DEFLATE, before encryption) when that saves space; `0` turns it off. The Web UI and `temporal` CLI show them through the codec endpoint.' }),
  PAYLOAD_KEY_ID: envVar(text().optional(), { default: 'the only key', description: 'Key id new payloads are encrypted with; required when several keys are configured.' }),
  CODEC_CORS_ORIGINS: envVar(text().optional(), {
    default: 'the Temporal Web UI’s origins',
    description: 'Comma-separated origins allowed to call the codec endpoints from a browser.',
  }),
  OTEL_SDK_DISABLED: envVar(bool().default(false), { default: 'false', description: 'OpenTelemetry: `true` turns tracing off whatever the other `OTEL_*` variables say (docs/observability.md, Tracing).' }),
  OTEL_TRACES_EXPORTER: envVar(text().optional(), {
    default: 'none (`otlp` when an OTLP endpoint is set)',
    description: 'OpenTelemetry: where the API and the workers send spans, comma-separated: `otlp` (OTLP over HTTP, protobuf), `console`, or `none`. Unset and without an OTLP endpoint, tracing is off and nothing of it is loaded.',
  }),
  OTEL_SERVICE_NAME: envVar(text().optional(), { default: '`merchflow-api` / `merchflow-worker`', description: 'OpenTelemetry: the `service.name` of the spans this process exports.' }),
  OTEL_RESOURCE_ATTRIBUTES: envVar(text().optional(), { default: 'none', description: 'OpenTelemetry: extra resource attributes, `key=value` pairs separated by commas (values percent-encoded).' }),
  OTEL_EXPORTER_OTLP_ENDPOINT: envVar(url(['http:', 'https:']).optional(), { default: 'http://localhost:4318', description: 'OpenTelemetry: base URL of the OTLP/HTTP collector; spans go to `<endpoint>/v1/traces`. Setting it turns tracing on (exporter `otlp`).' }),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: envVar(url(['http:', 'https:']).optional(), { default: 'OTEL_EXPORTER_OTLP_ENDPOINT + `/v1/traces`', description: 'OpenTelemetry: the full URL spans are posted to (used as is). Setting it turns tracing on (exporter `otlp`).' }),
  OTEL_EXPORTER_OTLP_HEADERS: envVar(text().optional(), { default: 'none', description: 'OpenTelemetry: headers of every OTLP request (`key=value` pairs separated by commas), e.g. the collector\'s credentials.', secret: true }),
  OTEL_EXPORTER_OTLP_TRACES_HEADERS: envVar(text().optional(), { default: 'none', description: 'OpenTelemetry: headers of the OTLP trace requests, over OTEL_EXPORTER_OTLP_HEADERS.', secret: true }),
  OTEL_EXPORTER_OTLP_PROTOCOL: envVar(oneOf(['http/protobuf']).optional(), { default: 'http/protobuf', description: 'OpenTelemetry: the OTLP transport; `http/protobuf` is the one supported (grpc and http/json are not).' }),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: envVar(oneOf(['http/protobuf']).optional(), { default: 'as OTEL_EXPORTER_OTLP_PROTOCOL', description: 'OpenTelemetry: the OTLP transport of traces; `http/protobuf` only.' }),
  OTEL_TRACES_SAMPLER: envVar(oneOf(TRACE_SAMPLERS).default('parentbased_always_on'), {
    default: 'parentbased_always_on',
    description: `OpenTelemetry: which traces are recorded: ${TRACE_SAMPLERS.map((s) => `\`${s}\``).join(', ')}.`,
  }),
  OTEL_TRACES_SAMPLER_ARG: envVar(z.coerce.number({ error: 'expected a number from 0 to 1' }).min(0, { error: 'expected a number from 0 to 1' }).max(1, { error: 'expected a number from 0 to 1' }).optional(), {
    default: '1',
    description: 'OpenTelemetry: the share of traces the `traceidratio` samplers keep, from 0 to 1.',
  }),
});

export type EnvVars = z.output<typeof ENV_SCHEMA>;
export type EnvVarName = keyof typeof ENV_SCHEMA.shape;

/** The documentation of one variable (from the schema's metadata). */
export function envVarDoc(name: EnvVarName): EnvVarDoc {
  return ENV_SCHEMA.shape[name].meta() as unknown as EnvVarDoc;
}

/** The configuration table of docs/configuration.md, generated from `ENV_SCHEMA`. */
export function configurationTable(): string {
  const rows = (Object.keys(ENV_SCHEMA.shape) as EnvVarName[]).map((name) => {
    const doc = envVarDoc(name);
    return `| \`${name}\` | ${doc.default ?? ''} | ${doc.description.replace(/\|/g, '\\|')} |`;
  });
  return ['| Variable | Default | Meaning |', '| --- | --- | --- |', ...rows].join('\n');
}

/**
 * Parses each variable on its own so every bad one is reported at once (a bad
 * variable takes its default meanwhile, so the cross-variable rules still run).
 */
function parseEnv(env: Env, errors: ConfigError[]): EnvVars {
  const out: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(ENV_SCHEMA.shape) as Array<[EnvVarName, z.ZodType]>) {
    const res = schema.safeParse(env[name]);
    if (res.success) {
      out[name] = res.data;
      continue;
    }
    const raw = String(blankToUndefined(env[name]));
    const shown = envVarDoc(name).secret ? '' : `, got "${name.endsWith('_URL') ? redactUrl(raw) : raw}"`;
    errors.push(new ConfigError(name, `${res.error.issues[0]?.message ?? 'invalid'}${shown}`));
    out[name] = schema.safeParse(undefined).data;
  }
  return out as EnvVars;
}

/** Hides the password of a URL so configuration errors never print credentials. */
export function redactUrl(raw: string): string {
  try {
    const u = new URL(raw);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return raw.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
  }
}

/**
 * Reads and validates the configuration. Throws an `AggregateConfigError`
 * listing every bad variable at once, so an operator fixes them in one go.
 */
export function loadConfig(env: Env = process.env): AppConfig {
  const errors: ConfigError[] = [];
  const e = parseEnv(env, errors);
  const rootDir = path.resolve(__dirname, '..', '..', '..');
  const nodeEnv = e.NODE_ENV;
  const dataDir = path.resolve(rootDir, e.MERCHFLOW_DATA_DIR);
  const config: AppConfig = {
    env: nodeEnv,
    rootDir,
    dataDir,
    databaseUrl: e.DATABASE_URL ?? EMBEDDED_DATABASE_URL,
    databaseEmbedded: e.DATABASE_URL === undefined,
    temporal: {
      address: e.TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      uiUrl: e.TEMPORAL_UI_URL,
      embedded: blankToUndefined(env.TEMPORAL_ADDRESS) === undefined,
    },
    http: {
      host: e.HOST ?? (nodeEnv === 'production' ? '0.0.0.0' : '127.0.0.1'),
      port: e.PORT,
      basePath: '/orchestration/api',
      openApiPublic: e.OPENAPI_PUBLIC,
      publicUrl: '',
    },
    worker: {
      maxConcurrentActivities: e.WORKER_MAX_CONCURRENT_ACTIVITIES,
      maxConcurrentWorkflowTasks: e.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS,
      maxCachedWorkflows: e.WORKER_MAX_CACHED_WORKFLOWS,
      shutdownGraceSeconds: e.WORKER_SHUTDOWN_GRACE_SECONDS,
      bundlePath: e.WORKER_WORKFLOW_BUNDLE ? path.resolve(rootDir, e.WORKER_WORKFLOW_BUNDLE) : null,
      healthFile: e.WORKER_HEALTH_FILE ? path.resolve(e.WORKER_HEALTH_FILE) : null,
      httpMaxSocketsPerHost: e.HTTP_MAX_SOCKETS_PER_HOST ?? e.WORKER_MAX_CONCURRENT_ACTIVITIES * MAX_STEP_HTTP_CONCURRENCY,
      metricsPort: e.WORKER_METRICS_PORT ?? null,
      metricsHost: e.WORKER_METRICS_HOST ?? e.HOST ?? (nodeEnv === 'production' ? '0.0.0.0' : '127.0.0.1'),
      sdkMetricsAddress: e.WORKER_SDK_METRICS_ADDRESS ?? null,
    },
    metrics: { token: e.METRICS_TOKEN ?? null },
    expressions: { threads: e.EXPRESSION_POOL_THREADS, memoryMb: e.EXPRESSION_POOL_MEMORY_MB },
    log: { level: e.LOG_LEVEL, format: e.LOG_FORMAT ?? (nodeEnv === 'production' ? 'json' : 'pretty') },
    payloadThresholdBytes: e.PAYLOAD_THRESHOLD_BYTES,
    payloads: { cacheBytes: e.PAYLOAD_CACHE_BYTES, handoffBytes: e.PAYLOAD_HANDOFF_BYTES, compression: e.PAYLOAD_COMPRESSION, retentionDays: e.PAYLOAD_RETENTION_DAYS, pageItems: e.ITEM_PAGE_SIZE },
    itemLedger: { enabled: e.ITEM_LEDGER, retentionDays: e.ITEM_LEDGER_RETENTION_DAYS },
    databaseQueryRawSql: e.DATABASE_QUERY_RAW_SQL,
    httpAllowHosts: e.HTTP_ALLOW_HOSTS.split(',')
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean),
    openai: { apiKey: e.OPENAI_API_KEY ?? null, baseUrl: e.OPENAI_BASE_URL ?? null, model: e.OPENAI_MODEL },
    smtp: { url: e.SMTP_URL ?? null, from: e.SMTP_FROM },
    security: { masterKey: e.MERCHFLOW_MASTER_KEY ?? null, masterKeySource: null, adminApiKey: e.MERCHFLOW_ADMIN_API_KEY ?? null, scrubMinLength: e.SECRET_SCRUB_MIN_LENGTH },
    sandbox: { enabled: e.SANDBOX_ENABLED, port: e.SANDBOX_PORT, products: e.SANDBOX_PRODUCTS },
    outage: { budgetSeconds: e.OUTAGE_BUDGET_SECONDS, retryAfterSeconds: e.OUTAGE_RETRY_AFTER_SECONDS, temporalCallTimeoutMs: e.TEMPORAL_CALL_TIMEOUT_MS, temporalStartTimeoutMs: e.TEMPORAL_START_TIMEOUT_MS },
    schedules: { minIntervalSeconds: e.SCHEDULE_MIN_INTERVAL_SECONDS },
    payloadEncryption: readPayloadEncryption(e, errors, dataDir),
    payloadCompressMinBytes: e.TEMPORAL_PAYLOAD_COMPRESS_BYTES,
    codecCorsOrigins: [],
    tracing: readTracing(e, errors),
  };
  config.http.publicUrl = (e.MERCHFLOW_PUBLIC_URL ?? `http://127.0.0.1:${config.http.port}`).replace(/\/+$/, '');
  config.codecCorsOrigins = readOrigins(e.CODEC_CORS_ORIGINS, errors, ['http://127.0.0.1:8233', 'http://localhost:8233', new URL(config.temporal.uiUrl).origin]);
  if (config.security.masterKey !== null) {
    config.security.masterKeySource = 'MERCHFLOW_MASTER_KEY';
  } else if (nodeEnv === 'development' && fs.existsSync(path.join(dataDir, DEV_MASTER_KEY_FILE))) {
    const key = fs.readFileSync(path.join(dataDir, DEV_MASTER_KEY_FILE), 'utf8').trim();
    if (key) {
      config.security.masterKey = key;
      config.security.masterKeySource = 'development key file';
    }
  } else if (nodeEnv === 'production') {
    errors.push(new ConfigError('MERCHFLOW_MASTER_KEY', 'is required when NODE_ENV=production (32 random bytes, base64: `openssl rand -base64 32`): it encrypts the stored secrets'));
  }
  if (nodeEnv === 'production' && config.databaseEmbedded && !errors.some((x) => x.variable === 'DATABASE_URL')) {
    errors.push(new ConfigError('DATABASE_URL', 'is required when NODE_ENV=production'));
  }
  if (nodeEnv === 'production' && config.temporal.embedded) {
    errors.push(new ConfigError('TEMPORAL_ADDRESS', 'is required when NODE_ENV=production'));
  }
  if (errors.length > 0) throw new AggregateConfigError(errors);
  return config;
}

const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Parses a key list: entries `id:base64key` separated by commas, spaces or
 * new lines (lines starting with # are comments). Messages name the variable
 * and the key id, never the key.
 */
export function parsePayloadKeys(raw: string, variable: string, errors: ConfigError[]): Map<string, Buffer> {
  const keys = new Map<string, Buffer>();
  const entries = raw
    .split('\n')
    .filter((l) => !l.trim().startsWith('#'))
    .join(',')
    .split(/[\s,]+/)
    .filter(Boolean);
  entries.forEach((entry, i) => {
    const sep = entry.indexOf(':');
    const id = sep > 0 ? entry.slice(0, sep) : '';
    const b64 = sep > 0 ? entry.slice(sep + 1) : '';
    if (!KEY_ID.test(id)) {
      errors.push(new ConfigError(variable, `entry ${i + 1}: expected "key-id:base64-key" with a key id of letters, digits, ".", "_" or "-" (at most 64)`));
      return;
    }
    const key = /^[A-Za-z0-9+/_-]+={0,2}$/.test(b64) ? Buffer.from(b64, 'base64') : Buffer.alloc(0);
    if (key.length !== 32) {
      errors.push(new ConfigError(variable, `key "${id}": expected 32 random bytes in base64 (e.g. \`openssl rand -base64 32\`), got ${key.length} bytes`));
      return;
    }
    if (keys.has(id)) errors.push(new ConfigError(variable, `key "${id}" is listed twice`));
    keys.set(id, key);
  });
  return keys;
}

function readPayloadEncryption(e: EnvVars, errors: ConfigError[], dataDir: string): AppConfig['payloadEncryption'] {
  const nodeEnv = e.NODE_ENV;
  const inline = e.PAYLOAD_KEYS ?? null;
  const file = e.PAYLOAD_KEYS_FILE ?? null;
  const devFile = path.join(dataDir, DEV_PAYLOAD_KEYS_FILE);
  let keys = new Map<string, Buffer>();
  let source: AppConfig['payloadEncryption']['source'] = null;
  if (inline !== null && file !== null) {
    errors.push(new ConfigError('PAYLOAD_KEYS_FILE', 'set either PAYLOAD_KEYS or PAYLOAD_KEYS_FILE, not both'));
  } else if (inline !== null) {
    keys = parsePayloadKeys(inline, 'PAYLOAD_KEYS', errors);
    source = 'PAYLOAD_KEYS';
  } else if (file !== null) {
    try {
      keys = parsePayloadKeys(fs.readFileSync(file, 'utf8'), 'PAYLOAD_KEYS_FILE', errors);
      source = 'PAYLOAD_KEYS_FILE';
    } catch (err) {
      errors.push(new ConfigError('PAYLOAD_KEYS_FILE', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`));
    }
  } else if (nodeEnv === 'development' && fs.existsSync(devFile)) {
    keys = parsePayloadKeys(fs.readFileSync(devFile, 'utf8'), `${DEV_PAYLOAD_KEYS_FILE} (${devFile})`, errors);
    source = 'development key file';
  }
  const enabled = e.PAYLOAD_ENCRYPTION ?? (nodeEnv === 'production' || keys.size > 0);
  let activeKeyId = e.PAYLOAD_KEY_ID ?? null;
  if (activeKeyId !== null && !keys.has(activeKeyId)) {
    errors.push(new ConfigError('PAYLOAD_KEY_ID', `"${activeKeyId}" is not one of the configured key ids (${[...keys.keys()].join(', ') || 'none'})`));
    activeKeyId = null;
  } else if (activeKeyId === null && keys.size === 1) {
    activeKeyId = [...keys.keys()][0];
  }
  if (enabled && keys.size === 0 && !errors.some((x) => x.variable.startsWith('PAYLOAD_KEYS'))) {
    errors.push(
      new ConfigError(
        'PAYLOAD_KEYS',
        `is required when PAYLOAD_ENCRYPTION is on${nodeEnv === 'production' ? ' (the default when NODE_ENV=production)' : ''}: set "key-id:base64-32-byte-key" (or PAYLOAD_KEYS_FILE), or PAYLOAD_ENCRYPTION=false`,
      ),
    );
  } else if (enabled && keys.size > 1 && activeKeyId === null && !errors.some((x) => x.variable === 'PAYLOAD_KEY_ID')) {
    errors.push(new ConfigError('PAYLOAD_KEY_ID', 'is required when several payload keys are configured: name the one new payloads are encrypted with'));
  }
  return { enabled, activeKeyId, keys, source };
}

/**
 * Tracing from the OpenTelemetry specification's variables. Unlike the spec's default (`otlp`), an unset
 * OTEL_TRACES_EXPORTER means off unless an OTLP endpoint is given: nothing is exported anywhere by surprise.
 */
function readTracing(e: EnvVars, errors: ConfigError[]): TracingConfig {
  const names = (e.OTEL_TRACES_EXPORTER ?? '').split(',').map((n) => n.trim().toLowerCase()).filter(Boolean);
  const exporters: TraceExporterName[] = [];
  for (const name of names) {
    if (name === 'otlp' || name === 'console') {
      if (!exporters.includes(name)) exporters.push(name);
    } else if (name !== 'none') {
      errors.push(new ConfigError('OTEL_TRACES_EXPORTER', `expected otlp, console or none (comma-separated), got "${name}"`));
    }
  }
  const endpointSet = e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT !== undefined || e.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined;
  if (names.length === 0 && endpointSet) exporters.push('otlp');
  const base = (e.OTEL_EXPORTER_OTLP_ENDPOINT ?? 'http://localhost:4318').replace(/\/+$/, '');
  return {
    enabled: !e.OTEL_SDK_DISABLED && exporters.length > 0,
    exporters,
    serviceName: e.OTEL_SERVICE_NAME ?? null,
    resourceAttributes: parseKeyValues(e.OTEL_RESOURCE_ATTRIBUTES, 'OTEL_RESOURCE_ATTRIBUTES', errors, false),
    otlpUrl: e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? `${base}/v1/traces`,
    otlpHeaders: {
      ...parseKeyValues(e.OTEL_EXPORTER_OTLP_HEADERS, 'OTEL_EXPORTER_OTLP_HEADERS', errors, true),
      ...parseKeyValues(e.OTEL_EXPORTER_OTLP_TRACES_HEADERS, 'OTEL_EXPORTER_OTLP_TRACES_HEADERS', errors, true),
    },
    sampler: e.OTEL_TRACES_SAMPLER,
    samplerRatio: e.OTEL_TRACES_SAMPLER_ARG ?? 1,
  };
}

/** `key=value,key2=value2` (the W3C Baggage-like list the OTEL_* variables use; values percent-decoded). */
function parseKeyValues(raw: string | undefined, variable: string, errors: ConfigError[], secret: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  if (raw === undefined) return out;
  raw.split(',').forEach((pair, i) => {
    if (pair.trim() === '') return;
    const eq = pair.indexOf('=');
    const key = eq > 0 ? pair.slice(0, eq).trim() : '';
    let value: string | null = null;
    try {
      value = eq > 0 ? decodeURIComponent(pair.slice(eq + 1).trim()) : null;
    } catch {
      value = null;
    }
    if (!key || value === null) {
      errors.push(new ConfigError(variable, `entry ${i + 1}: expected key=value${secret ? '' : `, got "${pair.trim()}"`}`));
      return;
    }
    out[key] = value;
  });
  return out;
}

function readOrigins(raw: string | undefined, errors: ConfigError[], fallback: string[]): string[] {
  if (raw === undefined) return [...new Set(fallback)];
  const origins: string[] = [];
  for (const o of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
    try {
      const u = new URL(o);
      if (!['http:', 'https:'].includes(u.protocol) || u.origin !== o.replace(/\/+$/, '')) throw new Error();
      origins.push(u.origin);
    } catch {
      errors.push(new ConfigError('CODEC_CORS_ORIGINS', `expected comma-separated origins like https://temporal.example.com (scheme, host and port only), got "${o}"`));
    }
  }
  return origins;
}

export class AggregateConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(readonly errors: ConfigError[]) {
    super(`invalid configuration: ${errors.map((e) => e.message).join('; ')}`);
    this.name = 'AggregateConfigError';
  }
}

let cached: AppConfig | null = null;

/** The process-wide configuration, loaded once. */
export function appConfig(): AppConfig {
  cached ??= loadConfig();
  return cached;
}
