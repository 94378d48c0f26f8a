/**
 * `npm test`: unit tests, then integration tests against a real PostgreSQL and
 * a real Temporal dev server. Both are started here unless TEST_DATABASE_URL /
 * TEST_TEMPORAL_ADDRESS point at running ones, on their own ports and data
 * directory (.data/test), so a running `npm start` is never touched.
 *
 *   npm test                      everything
 *   npm test -- --unit            unit tests only (no servers)
 *   npm test -- --integration     integration tests only
 *   npm test -- interpreter       only test files whose path contains "interpreter"
 *   npm test -- chaos             the chaos suite (test/chaos: outages, kills,
 *                                 overlapping runs); never part of the default run
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { startEmbeddedPostgres, ensureDatabase } from './lib/embedded-postgres';
import { startTemporalDevServer } from './lib/temporal-server';
import { freePort } from './lib/ports';
import { prefixer } from './lib/supervisor';

const distDir = path.resolve(__dirname, '..');
const root = path.resolve(distDir, '..');
// Separate data per build directory, so parallel checkouts never share a database.
const testDataDir = path.join(root, '.data', path.basename(distDir) === 'dist' ? 'test' : `test-${path.basename(distDir)}`);
const say = prefixer('test', 5);

function findTests(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of fs.readdirSync(dir).sort()) {
    const p = path.join(dir, name);
    if (fs.statSync(p).isDirectory()) out.push(...findTests(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

function runNodeTests(files: string[], env: NodeJS.ProcessEnv, concurrency: number): Promise<number> {
  if (files.length === 0) return Promise.resolve(0);
  const args = ['--enable-source-maps', '--test', '--test-reporter=spec', `--test-concurrency=${concurrency}`, '--test-timeout=600000', ...files];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { env, stdio: 'inherit' });
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const only = argv.includes('--unit') ? 'unit' : argv.includes('--integration') ? 'integration' : 'all';
  const filters = argv.filter((a) => !a.startsWith('--'));
  const match = (f: string) => filters.length === 0 || filters.some((x) => f.includes(x));
  const unit = only === 'integration' ? [] : findTests(path.join(distDir, 'test/unit')).filter(match);
  // The chaos suite runs only when asked for by name (it is long and stops servers).
  const chaos = filters.some((x) => x.includes('chaos')) ? findTests(path.join(distDir, 'test/chaos')).filter(match) : [];
  const integration = only === 'unit' ? [] : [...findTests(path.join(distDir, 'test/integration')).filter(match), ...chaos];
  const started = Date.now();
  const baseEnv: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'test', LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' };

  let failed = 0;
  if (unit.length > 0) {
    say(`unit: ${unit.length} files`);
    failed += await runNodeTests(unit, baseEnv, 2) === 0 ? 0 : 1;
  }
  if (integration.length === 0) return failed;

  const cleanups: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };
  process.on('SIGINT', () => void stop().then(() => process.exit(130)));
  try {
    let databaseUrl = process.env.TEST_DATABASE_URL;
    if (databaseUrl) {
      await ensureDatabase(databaseUrl);
    } else {
      const pg = await startEmbeddedPostgres({
        dataDir: path.join(testDataDir, 'postgres'),
        port: Number(process.env.TEST_DATABASE_PORT ?? (await freePort())),
        database: 'merchflow_test',
        password: 'merchflow',
        log: (l) => (/\b(FATAL|PANIC)\b/.test(l) ? say(`postgres: ${l}`) : undefined),
      });
      cleanups.push(() => pg.stop());
      databaseUrl = pg.url;
    }
    let temporalAddress = process.env.TEST_TEMPORAL_ADDRESS;
    if (!temporalAddress) {
      const temporal = await startTemporalDevServer({
        port: await freePort(),
        uiPort: null,
        dbFile: null,
        // Only errors that are not the usual noise of workers and servers being shut down at the end of a run.
        log: (l) => (/level=ERROR/.test(l) && !/graceful_stop|connection refused|context canceled|task queue closed/.test(l) ? say(`temporal: ${l}`) : undefined),
      });
      cleanups.push(() => temporal.stop());
      temporalAddress = temporal.address;
    }
    say(`integration: ${integration.length} files against ${temporalAddress} and ${databaseUrl.replace(/:[^:@/]+@/, ':***@')} (${((Date.now() - started) / 1000).toFixed(1)} s to start)`);
    // Integration tests run with payload encryption on, as production does (a fresh key per run unless PAYLOAD_KEYS is set).
    const payloadKeys = process.env.PAYLOAD_KEYS ?? `test-${Date.now().toString(36)}:${randomBytes(32).toString('base64')}`;
    const env = { ...baseEnv, DATABASE_URL: databaseUrl, TEMPORAL_ADDRESS: temporalAddress, SANDBOX_ENABLED: 'false', PAYLOAD_ENCRYPTION: 'true', PAYLOAD_KEYS: payloadKeys };
    // Migrate once before the files run in parallel.
    const migrate = await new Promise<number>((resolve) => {
      const child = spawn(process.execPath, [path.join(distDir, 'src/database/migrate.js'), 'up'], { env, stdio: 'inherit' });
      child.once('exit', (code) => resolve(code ?? 1));
    });
    if (migrate !== 0) return 1;
    failed += (await runNodeTests(integration, env, Number(process.env.TEST_CONCURRENCY ?? 2))) === 0 ? 0 : 1;
  } finally {
    await stop();
  }
  say(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return failed;
}

main().then(
  (failed) => process.exit(failed === 0 ? 0 : 1),
  (err) => {
    console.error(`test: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
