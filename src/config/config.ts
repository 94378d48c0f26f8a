import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

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
  /** `database_query` steps may run read-only raw SQL (DATABASE_QUERY_RAW_SQL). */
  databaseQueryRawSql: boolean;
  /** Host names (or host:port) that outbound HTTP may reach even when they resolve to private addresses. */
  httpAllowHosts: string[];
  openai: { apiKey: string | null; baseUrl: string | null; model: string };
  smtp: { url: string | null; from: string };
  /** `scrubMinLength`: secret values this long or longer are scrubbed from every step's output, errors and logs (SECRET_SCRUB_MIN_LENGTH, default 8). */
  security: { masterKey: string | null; adminApiKey: string | null; scrubMinLength: number };
  sandbox: { enabled: boolean; port: number; products: number };
  /**
   * PostgreSQL or Temporal being unreachable is an infrastructure fault, not a
   * step failure: the worker waits it out for up to `budgetSeconds` without
   * spending the step's retries (OUTAGE_BUDGET_SECONDS, default 600). The API
   * answers 503 with `Retry-After: retryAfterSeconds` meanwhile, and gives up
   * on Temporal calls after `temporalCallTimeoutMs` (TEMPORAL_CALL_TIMEOUT_MS).
   */
  outage: { budgetSeconds: number; retryAfterSeconds: number; temporalCallTimeoutMs: number };
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
  /** Origins (the Temporal Web UI's) allowed to call the codec endpoints from a browser (CODEC_CORS_ORIGINS). */
  codecCorsOrigins: string[];
}

/** The development payload key file `npm start` creates in the data directory (used only when NODE_ENV=development). */
export const DEV_PAYLOAD_KEYS_FILE = 'dev-payload-keys';

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

class Reader {
  readonly errors: ConfigError[] = [];
  constructor(private readonly env: Env) {}

  str(name: string, fallback: string): string {
    const v = this.env[name];
    return v === undefined || v.trim() === '' ? fallback : v.trim();
  }

  optional(name: string): string | null {
    const v = this.env[name];
    return v === undefined || v.trim() === '' ? null : v.trim();
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const raw = this.optional(name);
    if (raw === null) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      this.errors.push(new ConfigError(name, `expected an integer from ${min} to ${max}, got "${raw}"`));
      return fallback;
    }
    return n;
  }

  bool(name: string, fallback: boolean): boolean {
    const raw = this.optional(name);
    if (raw === null) return fallback;
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    this.errors.push(new ConfigError(name, `expected true or false, got "${raw}"`));
    return fallback;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const raw = this.optional(name);
    if (raw === null) return fallback;
    if (!(allowed as readonly string[]).includes(raw)) {
      this.errors.push(new ConfigError(name, `expected one of ${allowed.join(', ')}, got "${raw}"`));
      return fallback;
    }
    return raw as T;
  }

  url(name: string, fallback: string | null, protocols: string[]): string | null {
    const raw = this.optional(name);
    if (raw === null) return fallback;
    try {
      const u = new URL(raw);
      if (!protocols.includes(u.protocol)) throw new Error();
      return raw;
    } catch {
      this.errors.push(new ConfigError(name, `expected a ${protocols.join(' or ')} URL, got "${redactUrl(raw)}"`));
      return fallback;
    }
  }

  hostPort(name: string, fallback: string): string {
    const raw = this.str(name, fallback);
    if (!/^[A-Za-z0-9.\-[\]:]+:\d{1,5}$/.test(raw)) {
      this.errors.push(new ConfigError(name, `expected host:port, got "${raw}"`));
      return fallback;
    }
    return raw;
  }
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
  const r = new Reader(env);
  const rootDir = path.resolve(__dirname, '..', '..', '..');
  const nodeEnv = r.oneOf('NODE_ENV', ['development', 'production', 'test'] as const, 'development');
  const dataDir = path.resolve(rootDir, r.str('MERCHFLOW_DATA_DIR', '.data'));
  const healthFile = r.optional('WORKER_HEALTH_FILE');
  const databaseUrlRaw = r.url('DATABASE_URL', null, ['postgres:', 'postgresql:']);
  const temporalAddressSet = r.optional('TEMPORAL_ADDRESS') !== null;
  const bundle = r.optional('WORKER_WORKFLOW_BUNDLE');
  const config: AppConfig = {
    env: nodeEnv,
    rootDir,
    dataDir,
    databaseUrl: databaseUrlRaw ?? EMBEDDED_DATABASE_URL,
    databaseEmbedded: databaseUrlRaw === null,
    temporal: {
      address: r.hostPort('TEMPORAL_ADDRESS', '127.0.0.1:7233'),
      namespace: r.str('TEMPORAL_NAMESPACE', 'default'),
      taskQueue: r.str('TEMPORAL_TASK_QUEUE', 'merchflow'),
      uiUrl: r.url('TEMPORAL_UI_URL', 'http://127.0.0.1:8233', ['http:', 'https:']) as string,
      embedded: !temporalAddressSet,
    },
    http: {
      host: r.str('HOST', nodeEnv === 'production' ? '0.0.0.0' : '127.0.0.1'),
      port: r.int('PORT', 3000, 0, 65535),
      basePath: '/orchestration/api',
      openApiPublic: r.bool('OPENAPI_PUBLIC', false),
      publicUrl: '',
    },
    worker: {
      maxConcurrentActivities: r.int('WORKER_MAX_CONCURRENT_ACTIVITIES', 20, 1, 10000),
      maxConcurrentWorkflowTasks: r.int('WORKER_MAX_CONCURRENT_WORKFLOW_TASKS', 40, 1, 10000),
      maxCachedWorkflows: r.int('WORKER_MAX_CACHED_WORKFLOWS', 500, 0, 100000),
      shutdownGraceSeconds: r.int('WORKER_SHUTDOWN_GRACE_SECONDS', 30, 0, 3600),
      bundlePath: bundle ? path.resolve(rootDir, bundle) : null,
      healthFile: healthFile ? path.resolve(healthFile) : null,
      metricsPort: r.optional('WORKER_METRICS_PORT') === null ? null : r.int('WORKER_METRICS_PORT', 0, 0, 65535),
      metricsHost: r.str('WORKER_METRICS_HOST', r.str('HOST', nodeEnv === 'production' ? '0.0.0.0' : '127.0.0.1')),
      sdkMetricsAddress: r.optional('WORKER_SDK_METRICS_ADDRESS') === null ? null : r.hostPort('WORKER_SDK_METRICS_ADDRESS', '127.0.0.1:9465'),
    },
    metrics: { token: r.optional('METRICS_TOKEN') },
    expressions: {
      // Two threads even on one or two cores: a runaway expression holds one thread for its budget, the other keeps serving.
      threads: r.int('EXPRESSION_POOL_THREADS', Math.min(4, Math.max(2, os.availableParallelism() - 1)), 1, 64),
      memoryMb: r.int('EXPRESSION_POOL_MEMORY_MB', 256, 16, 16384),
    },
    log: {
      level: r.oneOf('LOG_LEVEL', ['debug', 'info', 'warn', 'error'] as const, 'info'),
      format: r.oneOf('LOG_FORMAT', ['json', 'pretty'] as const, nodeEnv === 'production' ? 'json' : 'pretty'),
    },
    payloadThresholdBytes: r.int('PAYLOAD_THRESHOLD_BYTES', 256 * 1024, 1024, 64 * 1024 * 1024),
    databaseQueryRawSql: r.bool('DATABASE_QUERY_RAW_SQL', false),
    httpAllowHosts: r
      .str('HTTP_ALLOW_HOSTS', '')
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean),
    openai: {
      apiKey: r.optional('OPENAI_API_KEY'),
      baseUrl: r.url('OPENAI_BASE_URL', null, ['http:', 'https:']),
      model: r.str('OPENAI_MODEL', 'gpt-4o-mini'),
    },
    smtp: {
      url: r.url('SMTP_URL', null, ['smtp:', 'smtps:']),
      from: r.str('SMTP_FROM', 'merchflow@localhost'),
    },
    security: {
      masterKey: r.optional('MERCHFLOW_MASTER_KEY'),
      adminApiKey: r.optional('MERCHFLOW_ADMIN_API_KEY'),
      scrubMinLength: r.int('SECRET_SCRUB_MIN_LENGTH', 8, 4, 1024),
    },
    sandbox: {
      enabled: r.bool('SANDBOX_ENABLED', true),
      port: r.int('SANDBOX_PORT', 4010, 0, 65535),
      products: r.int('SANDBOX_PRODUCTS', 1000, 0, 10_000_000),
    },
    outage: {
      budgetSeconds: r.int('OUTAGE_BUDGET_SECONDS', 600, 0, 7 * 24 * 3600),
      retryAfterSeconds: r.int('OUTAGE_RETRY_AFTER_SECONDS', 5, 1, 3600),
      temporalCallTimeoutMs: r.int('TEMPORAL_CALL_TIMEOUT_MS', 1500, 100, 60_000),
    },
    schedules: {
      minIntervalSeconds: r.int('SCHEDULE_MIN_INTERVAL_SECONDS', 60, 1, 31 * 86_400),
    },
    payloadEncryption: { enabled: false, activeKeyId: null, keys: new Map(), source: null },
    codecCorsOrigins: [],
  };
  config.payloadEncryption = readPayloadEncryption(r, nodeEnv, dataDir);
  config.http.publicUrl = (r.url('MERCHFLOW_PUBLIC_URL', null, ['http:', 'https:']) ?? `http://127.0.0.1:${config.http.port}`).replace(/\/+$/, '');
  config.codecCorsOrigins = readOrigins(r, 'CODEC_CORS_ORIGINS', ['http://127.0.0.1:8233', 'http://localhost:8233', new URL(config.temporal.uiUrl).origin]);
  if (config.security.masterKey !== null && config.security.masterKey.length < 16) {
    r.errors.push(new ConfigError('MERCHFLOW_MASTER_KEY', 'must be at least 16 characters (32 random bytes, base64, recommended)'));
  }
  if (nodeEnv === 'production' && config.databaseEmbedded) {
    r.errors.push(new ConfigError('DATABASE_URL', 'is required when NODE_ENV=production'));
  }
  if (nodeEnv === 'production' && !temporalAddressSet) {
    r.errors.push(new ConfigError('TEMPORAL_ADDRESS', 'is required when NODE_ENV=production'));
  }
  if (r.errors.length > 0) throw new AggregateConfigError(r.errors);
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

function readPayloadEncryption(r: Reader, nodeEnv: AppConfig['env'], dataDir: string): AppConfig['payloadEncryption'] {
  const inline = r.optional('PAYLOAD_KEYS');
  const file = r.optional('PAYLOAD_KEYS_FILE');
  const devFile = path.join(dataDir, DEV_PAYLOAD_KEYS_FILE);
  let keys = new Map<string, Buffer>();
  let source: AppConfig['payloadEncryption']['source'] = null;
  if (inline !== null && file !== null) {
    r.errors.push(new ConfigError('PAYLOAD_KEYS_FILE', 'set either PAYLOAD_KEYS or PAYLOAD_KEYS_FILE, not both'));
  } else if (inline !== null) {
    keys = parsePayloadKeys(inline, 'PAYLOAD_KEYS', r.errors);
    source = 'PAYLOAD_KEYS';
  } else if (file !== null) {
    try {
      keys = parsePayloadKeys(fs.readFileSync(file, 'utf8'), 'PAYLOAD_KEYS_FILE', r.errors);
      source = 'PAYLOAD_KEYS_FILE';
    } catch (err) {
      r.errors.push(new ConfigError('PAYLOAD_KEYS_FILE', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`));
    }
  } else if (nodeEnv === 'development' && fs.existsSync(devFile)) {
    keys = parsePayloadKeys(fs.readFileSync(devFile, 'utf8'), `${DEV_PAYLOAD_KEYS_FILE} (${devFile})`, r.errors);
    source = 'development key file';
  }
  const enabled = r.bool('PAYLOAD_ENCRYPTION', nodeEnv === 'production' || keys.size > 0);
  let activeKeyId = r.optional('PAYLOAD_KEY_ID');
  if (activeKeyId !== null && !keys.has(activeKeyId)) {
    r.errors.push(new ConfigError('PAYLOAD_KEY_ID', `"${activeKeyId}" is not one of the configured key ids (${[...keys.keys()].join(', ') || 'none'})`));
    activeKeyId = null;
  } else if (activeKeyId === null && keys.size === 1) {
    activeKeyId = [...keys.keys()][0];
  }
  if (enabled && keys.size === 0 && !r.errors.some((e) => e.variable.startsWith('PAYLOAD_KEYS'))) {
    r.errors.push(
      new ConfigError(
        'PAYLOAD_KEYS',
        `is required when PAYLOAD_ENCRYPTION is on${nodeEnv === 'production' ? ' (the default when NODE_ENV=production)' : ''}: set "key-id:base64-32-byte-key" (or PAYLOAD_KEYS_FILE), or PAYLOAD_ENCRYPTION=false`,
      ),
    );
  } else if (enabled && keys.size > 1 && activeKeyId === null && !r.errors.some((e) => e.variable === 'PAYLOAD_KEY_ID')) {
    r.errors.push(new ConfigError('PAYLOAD_KEY_ID', 'is required when several payload keys are configured: name the one new payloads are encrypted with'));
  }
  return { enabled, activeKeyId, keys, source };
}

function readOrigins(r: Reader, name: string, fallback: string[]): string[] {
  const raw = r.optional(name);
  if (raw === null) return [...new Set(fallback)];
  const origins: string[] = [];
  for (const o of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
    try {
      const u = new URL(o);
      if (!['http:', 'https:'].includes(u.protocol) || u.origin !== o.replace(/\/+$/, '')) throw new Error();
      origins.push(u.origin);
    } catch {
      r.errors.push(new ConfigError(name, `expected comma-separated origins like https://temporal.example.com (scheme, host and port only), got "${o}"`));
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
