/**
 * `npm start`: brings up the whole system on its embedded defaults and runs
 * until Ctrl-C, then shuts every part down cleanly.
 *
 *   PostgreSQL  DATABASE_URL, else embedded Postgres (data in .data/postgres)
 *   Temporal    TEMPORAL_ADDRESS, else `temporal server start-dev` (SQLite in .data/temporal, Web UI :8233)
 *   then migrations, the API (:3000) and the worker, each line prefixed with its part's name.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig, redactUrl, DEV_PAYLOAD_KEYS_FILE, DEV_MASTER_KEY_FILE, EMBEDDED_DATABASE_PORT, type AppConfig } from '@src/config/config';
import { generatePayloadKey } from '@engine/codec/encryption-codec';
import { describeStartupError } from '@src/common/startup-errors';
import { runMigrations } from '@src/database/migrate';
import { createDataSource } from '@src/database/data-source';
import { seedSandboxCommerce } from '@src/commerce/seed';
import { mailboxStore, startSmtpCatcher } from '@src/channels/smtp-catcher';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from './lib/embedded-postgres';
import { startTemporalDevServer, type TemporalDevServer } from './lib/temporal-server';
import { assertPortFree, portAnswers, waitFor } from './lib/ports';
import { prefixer, startNodeProcess, stopAll, type Supervised } from './lib/supervisor';
import { generateKey } from '@src/auth/api-keys.service';

const say = prefixer('start', 5);
/** The build this script belongs to (dist, or BUILD_OUT's directory). */
const distDir = path.resolve(__dirname, '..');

/** Keeps a server's log to the lines an operator needs; nothing at all while shutting down. */
function quiet(out: (line: string) => void, keep: RegExp, muted: () => boolean = () => false): (line: string) => void {
  return (line) => {
    if (!muted() && keep.test(line)) out(line);
  };
}

async function main(): Promise<void> {
  const started = Date.now();
  let config: AppConfig = loadConfig();
  const env: NodeJS.ProcessEnv = { ...process.env };
  const cleanups: Array<() => Promise<void>> = [];
  const parts: Supervised[] = [];
  let stopping = false;

  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say('stopping...');
    await stopAll(parts, (config.worker.shutdownGraceSeconds + 5) * 1000);
    for (const c of cleanups.reverse()) await c().catch((e) => say(`cleanup failed: ${(e as Error).message}`));
    say('stopped');
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));

  try {
    fs.mkdirSync(config.dataDir, { recursive: true });
    await assertPortFree(config.http.port, 'the API', 'PORT');
    config = ensureDevPayloadKey(config);
    config = ensureDevMasterKey(config);
    const codecEndpoint = `http://127.0.0.1:${config.http.port}${config.http.basePath}/codec`;

    if (config.databaseEmbedded) {
      say(`starting embedded PostgreSQL on 127.0.0.1:${EMBEDDED_DATABASE_PORT} (data in ${path.relative(config.rootDir, config.dataDir)}/postgres)`);
      const pg: EmbeddedPostgresHandle = await startEmbeddedPostgres({
        dataDir: path.join(config.dataDir, 'postgres'),
        port: EMBEDDED_DATABASE_PORT,
        database: 'merchflow',
        password: 'merchflow',
        log: quiet(prefixer('postgres', 0), /\b(ERROR|FATAL|PANIC|WARNING)\b/),
      });
      cleanups.push(() => pg.stop());
      env.DATABASE_URL = pg.url;
    } else {
      say(`using the database at ${redactUrl(config.databaseUrl)}`);
    }

    if (config.temporal.embedded) {
      const [, portText] = config.temporal.address.split(':');
      say(`starting the Temporal dev server on ${config.temporal.address} (history in ${path.relative(config.rootDir, config.dataDir)}/temporal)`);
      const temporal: TemporalDevServer = await startTemporalDevServer({
        port: Number(portText),
        uiPort: 8233,
        dbFile: path.join(config.dataDir, 'temporal', 'temporal.db'),
        namespace: config.temporal.namespace,
        uiCodecEndpoint: codecEndpoint,
        log: quiet(prefixer('temporal', 1), /level=ERROR|Temporal (CLI|Server|UI|Persistence)/, () => stopping),
      });
      cleanups.push(() => temporal.stop());
      env.TEMPORAL_ADDRESS = temporal.address;
      env.TEMPORAL_UI_URL = temporal.uiUrl ?? undefined;
    } else {
      say(`using the Temporal server at ${config.temporal.address}`);
    }

    if (config.sandbox.enabled) {
      // The sandbox supplier, marketplace and carrier, so every predefined workflow runs with no outside service.
      await assertPortFree(config.sandbox.port, 'the sandbox', 'SANDBOX_PORT, or SANDBOX_ENABLED=false');
      const sandbox = startNodeProcess('sandbox', 4, path.join(distDir, 'src/sandbox/main.js'), [], {
        ...env,
        SANDBOX_PORT: String(config.sandbox.port),
        SANDBOX_PRODUCTS: String(config.sandbox.products),
      });
      parts.push(sandbox);
      const hostPort = `127.0.0.1:${config.sandbox.port}`;
      await waitFor('the sandbox', () => portAnswers(config.sandbox.port), 15_000, 100);
      env.HTTP_ALLOW_HOSTS = [...config.httpAllowHosts, hostPort].join(',');
      env.MERCHFLOW_SANDBOX_URL = `http://${hostPort}`;
    }

    Object.assign(process.env, { DATABASE_URL: env.DATABASE_URL, TEMPORAL_ADDRESS: env.TEMPORAL_ADDRESS, HTTP_ALLOW_HOSTS: env.HTTP_ALLOW_HOSTS });
    config = loadConfig(process.env);
    const applied = await runMigrations('up');
    say(applied.length ? `migrations applied: ${applied.join(', ')}` : 'schema up to date');

    if (env.MERCHFLOW_SANDBOX_URL) {
      // A supplier and a marketplace on the sandbox, and the four predefined workflows, so every one runs out of the box.
      const ds = await createDataSource(config, { poolSize: 2 }).initialize();
      try {
        const seeded = await seedSandboxCommerce(ds, { sandboxUrl: env.MERCHFLOW_SANDBOX_URL, aiEnabled: Boolean(config.openai.apiKey) });
        say(`sandbox shop: supplier ${seeded.supplier_id}, marketplace ${seeded.marketplace_id}; ${seeded.workflows.map((w) => `${w.code} (${w.status})`).join(', ')}`);
      } finally {
        await ds.destroy();
      }
    }

    // Without SMTP_URL, a local SMTP catcher: email channels and steps work out of the box, messages land in /mailbox/.
    let catcherUrl: string | null = null;
    if (!config.smtp.url && config.env === 'development') {
      const catcherPort = Number(process.env.SMTP_CATCHER_PORT ?? 2525);
      await assertPortFree(catcherPort, 'the local SMTP catcher', 'SMTP_CATCHER_PORT, or set SMTP_URL');
      const mailDs = await createDataSource(config, { poolSize: 2 }).initialize();
      const catcher = await startSmtpCatcher({ port: catcherPort, store: mailboxStore(mailDs) });
      cleanups.push(async () => {
        await catcher.close();
        await mailDs.destroy();
      });
      catcherUrl = catcher.url;
      env.SMTP_URL = catcher.url;
    }

    // Without MERCHFLOW_ADMIN_API_KEY, a development admin key kept in the data directory (mode 600).
    let devKey: string | null = null;
    if (!config.security.adminApiKey) {
      const file = path.join(config.dataDir, 'dev-admin-api-key');
      devKey = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim() : generateKey().key;
      fs.writeFileSync(file, devKey + '\n', { mode: 0o600 });
      env.MERCHFLOW_ADMIN_API_KEY = devKey;
    }

    parts.push(startNodeProcess('api', 2, path.join(distDir, 'src/main.js'), [], env));
    // The worker's /metrics, /healthz and /readyz: on 9464 (Prometheus' conventional exporter port) unless set.
    const workerMetricsPort = config.worker.metricsPort ?? 9464;
    if (config.worker.metricsPort === null) await assertPortFree(workerMetricsPort, "the worker's metrics", 'WORKER_METRICS_PORT');
    parts.push(startNodeProcess('worker', 3, path.join(distDir, 'temporal/worker-main.js'), [], { ...env, WORKER_METRICS_PORT: String(workerMetricsPort) }));
    for (const p of parts) {
      void p.exited.then((code) => {
        if (!stopping) {
          say(`${p.name} exited with code ${code}; stopping everything`);
          void shutdown(1);
        }
      });
    }

    const base = `http://127.0.0.1:${config.http.port}${config.http.basePath}`;
    await waitFor('the API', async () => {
      try {
        return (await fetch(`${base}/health/`)).status === 200;
      } catch {
        return false;
      }
    }, 90_000, 300);

    const lines = [
      '',
      `Merchflow is up in ${((Date.now() - started) / 1000).toFixed(1)} s`,
      `  API             ${base}/`,
      `  Health          ${base}/health/`,
      `  Metrics         http://127.0.0.1:${config.http.port}/metrics (API), http://127.0.0.1:${workerMetricsPort}/metrics (worker; /healthz, /readyz)`,
      `  OpenAPI docs    ${base}/docs${config.http.openApiPublic ? '' : '  (sign in with any user name and an API key as the password)'}`,
      `  Admin UI        http://127.0.0.1:${config.http.port}/orchestration/admin/`,
      ...(devKey ? [`  Admin API key   ${devKey}  (development key, kept in ${path.relative(config.rootDir, config.dataDir)}/dev-admin-api-key)`] : []),
      `  Temporal Web UI ${config.temporal.uiUrl}`,
      config.payloadEncryption.enabled
        ? `  Payloads        encrypted with key "${config.payloadEncryption.activeKeyId}" (${config.payloadEncryption.source}); codec endpoint ${codecEndpoint} (see docs/security.md to read them in the Web UI)`
        : '  Payloads        not encrypted (PAYLOAD_ENCRYPTION=false or no key)',
      config.security.masterKey === null
        ? '  Secrets         no master key: the secret store is off (set MERCHFLOW_MASTER_KEY)'
        : `  Secrets         encrypted with the master key from ${config.security.masterKeySource === 'development key file' ? `${path.relative(config.rootDir, config.dataDir)}/${DEV_MASTER_KEY_FILE} (development key)` : 'MERCHFLOW_MASTER_KEY'}; store one with: npm run -s cli -- secrets set NAME`,
      `  Temporal        ${config.temporal.address} (namespace ${config.temporal.namespace}, task queue ${config.temporal.taskQueue})`,
      `  Database        ${redactUrl(config.databaseUrl)}`,
      ...(catcherUrl ? [`  Email           local SMTP catcher ${catcherUrl}: messages at ${base}/mailbox/ and in the admin UI (Mailbox)`] : []),
      ...(env.MERCHFLOW_SANDBOX_URL ? [`  Sandbox         ${env.MERCHFLOW_SANDBOX_URL} (supplier, marketplace and carrier APIs)`] : []),
      'Press Ctrl-C to stop.',
      '',
    ];
    lines.forEach((l) => say(l));
  } catch (err) {
    say(`error: ${describeStartupError(err, { database: redactUrl(config.databaseUrl), temporal: config.temporal.address, port: config.http.port })}`);
    await shutdown(1);
  }
}

/**
 * In development, without PAYLOAD_KEYS / PAYLOAD_KEYS_FILE, a payload key kept
 * in the data directory (mode 600), so `npm start` runs with encryption on like
 * production. The API, the worker and the CLI read the same file (loadConfig).
 */
function ensureDevPayloadKey(config: AppConfig): AppConfig {
  if (config.env !== 'development' || config.payloadEncryption.source !== null || process.env.PAYLOAD_ENCRYPTION?.match(/^(0|false|no|off)$/i)) return config;
  const file = path.join(config.dataDir, DEV_PAYLOAD_KEYS_FILE);
  if (!fs.existsSync(file)) {
    const id = `dev-${new Date().toISOString().slice(0, 10)}`;
    fs.writeFileSync(file, `# Development payload key of npm start (never use it in production). Format: key-id:base64-key\n${id}:${generatePayloadKey()}\n`, { mode: 0o600 });
    say(`generated a development payload key in ${path.relative(config.rootDir, file)}`);
  }
  return loadConfig(process.env);
}

/**
 * In development, without MERCHFLOW_MASTER_KEY, a master key for the secret
 * store kept in the data directory (mode 600), so secrets can be stored out of
 * the box. Every process reads the same file (loadConfig); production refuses
 * to start without the variable.
 */
function ensureDevMasterKey(config: AppConfig): AppConfig {
  if (config.env !== 'development' || config.security.masterKey !== null) return config;
  const file = path.join(config.dataDir, DEV_MASTER_KEY_FILE);
  if (!fs.existsSync(file)) {
    fs.writeFileSync(file, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    say(`generated a development master key for secrets in ${path.relative(config.rootDir, file)}`);
  }
  return loadConfig(process.env);
}

main().catch((err) => {
  console.error(`start: ${describeStartupError(err)}`);
  process.exit(1);
});
