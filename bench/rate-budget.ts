/**
 * What a shared rate budget costs per request (src/commerce/connectors/rate-budget.ts):
 * acquisitions per second from an embedded PostgreSQL of its own, against
 * the floor of any statement (`SELECT 1` on the same pool), side by side:
 *
 *   npm run bench -- rate-budget [--seconds 3] [--callers 8]
 *
 * Rows: `SELECT 1` (the baseline: one round trip); a token from a bucket
 * whose rate never makes anyone wait (one INSERT .. ON CONFLICT DO UPDATE
 * on one contended row); a token plus a concurrency lease and its release
 * (`max_concurrent` 50: three statements); and, for scale, one GET to the
 * loopback sandbox (the cheapest remote request there is). Each with one
 * caller and with `--callers` concurrent ones. Not part of `npm test`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '@src/config/config';
import { createDataSource } from '@src/database/data-source';
import { connectionKey, PgRateBudgets } from '@src/commerce/connectors/rate-budget';
import { startSandbox } from '@src/sandbox';
import { startEmbeddedPostgres } from '../scripts/lib/embedded-postgres';
import { freePort } from '../scripts/lib/ports';
import { loadAverage } from './support/proc';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i === -1) return fallback;
  const n = Number(process.argv[i + 1]);
  if (!(n > 0)) throw new Error(`--${name} must be a positive number`);
  return n;
}

const SECONDS = arg('seconds', 3);
const CALLERS = arg('callers', 8);

/** Operations per second of `op` run back to back by `callers` concurrent loops for SECONDS. */
async function rate(callers: number, op: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 50; i++) await op(); // warm-up
  let count = 0;
  const until = performance.now() + SECONDS * 1000;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (performance.now() < until) {
        await op();
        count++;
      }
    }),
  );
  return count / ((performance.now() - start) / 1000);
}

async function main(): Promise<void> {
  const dataDir = path.resolve('.data', `bench-rate-budget-${process.pid}`);
  fs.rmSync(dataDir, { recursive: true, force: true });
  const pg = await startEmbeddedPostgres({ dataDir, port: await freePort(), database: 'merchflow_bench', password: 'bench' });
  const sandbox = await startSandbox({ products: 10 });
  try {
    const config = loadConfig({ ...process.env, NODE_ENV: 'test', DATABASE_URL: pg.url, LOG_LEVEL: 'warn' });
    const ds = await createDataSource(config, { poolSize: CALLERS + 2 }).initialize();
    try {
      await ds.runMigrations({ transaction: 'each' });
      const insert = async (budget: Record<string, number>) =>
        ((await ds.query(`INSERT INTO suppliers (code, name, api_base_url, rate_budget) VALUES ($1, $1, $2, $3) RETURNING id`, [`bench-${Object.keys(budget).join('-')}`, sandbox.urls.supplier, JSON.stringify(budget)])) as Array<{ id: number }>)[0].id;
      const tokenOnly = connectionKey('supplier', await insert({ requests_per_second: 1e9, burst: 1e9 }));
      const withLease = connectionKey('supplier', await insert({ requests_per_second: 1e9, burst: 1e9, max_concurrent: 50 }));
      const budgets = new PgRateBudgets(ds);
      const rows: Array<[string, () => Promise<unknown>]> = [
        ['SELECT 1 (baseline)', () => ds.query('SELECT 1')],
        ['acquire: token', async () => (await budgets.acquire(tokenOnly))()],
        ['acquire: token + lease + release', async () => (await budgets.acquire(withLease))()],
        ['GET to the loopback sandbox', () => fetch(`${sandbox.urls.supplier}/products?limit=1`).then((r) => r.arrayBuffer())],
      ];
      console.log(`rate-budget bench: ${SECONDS} s per row, load average ${loadAverage()}`);
      console.log(`${'operation'.padEnd(36)} ${'1 caller /s'.padStart(12)} ${'x baseline'.padStart(10)} ${`${CALLERS} callers /s`.padStart(14)} ${'x baseline'.padStart(10)}`);
      let base1 = 0;
      let baseN = 0;
      for (const [name, op] of rows) {
        const one = await rate(1, op);
        const many = await rate(CALLERS, op);
        if (!base1) [base1, baseN] = [one, many];
        console.log(`${name.padEnd(36)} ${one.toFixed(0).padStart(12)} ${(base1 / one).toFixed(2).padStart(10)} ${many.toFixed(0).padStart(14)} ${(baseN / many).toFixed(2).padStart(10)}`);
      }
      console.log('x baseline: how many SELECT 1 round trips one operation costs (higher is dearer).');
    } finally {
      await ds.destroy();
    }
  } finally {
    await sandbox.close();
    await pg.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
