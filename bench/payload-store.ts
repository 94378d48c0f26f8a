/**
 * Cost of storing and loading one large step output through the payload store
 * (temporal/activities/runtime/payload-store.ts), by who compresses it:
 * `postgres` (JSON text, TOAST compression: lz4 where the server has it, else
 * pglz) vs `worker` (brotli quality 1 in the worker's thread pool, bytes
 * stored as they are) vs `worker-gzip` (gzip level 1, what `worker` did
 * before), on an embedded PostgreSQL of its own, interleaved rounds.
 * Also the handoff: a load of an output this store just wrote (no SELECT, no
 * parse) vs a load from PostgreSQL.
 *
 *   npm run bench -- payload-store [products] [rounds]
 *
 * The output is `{ items }` of the sandbox catalogue's products (100,000 by
 * default, about 58 MB of JSON): the import's `fetch_products` output.
 * Prints median milliseconds of `offload` (stringify, compress, INSERT) and of
 * `load` (SELECT, decompress, parse), their ratios to postgres, the
 * bytes PostgreSQL keeps, and whether the server has lz4.
 *
 * Not part of `npm test`. Data lives in .data/bench-payload-store and is removed at the end.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Catalogue } from '@src/sandbox/catalogue';
import { loadConfig } from '@src/config/config';
import { createDataSource } from '@src/database/data-source';
import { PayloadStore, type PayloadCompression } from '@engine/activities/runtime/payload-store';
import type { PayloadRef } from '@engine/dsl/types';
import { startEmbeddedPostgres } from '../scripts/lib/embedded-postgres';
import { freePort } from '../scripts/lib/ports';
import { loadAverage } from './support/proc';

const PRODUCTS = Number(process.argv[2] ?? 100_000);
const ROUNDS = Number(process.argv[3] ?? 5);
const dataDir = path.resolve(__dirname, '..', '..', '.data', 'bench-payload-store');
const say = (s: string) => console.log(`bench | ${s}`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  fs.rmSync(dataDir, { recursive: true, force: true });
  const pg = await startEmbeddedPostgres({ dataDir: path.join(dataDir, 'postgres'), port: await freePort(), database: 'merchflow_bench', password: 'merchflow' });
  try {
    const config = loadConfig({ ...process.env, NODE_ENV: 'test', DATABASE_URL: pg.url, LOG_LEVEL: 'warn' });
    const dataSource = await createDataSource(config, { poolSize: 4 }).initialize();
    try {
      await dataSource.runMigrations({ transaction: 'each' });
      const [{ lz4 }] = await dataSource.query(`SELECT attcompression::text = 'l' AS lz4 FROM pg_attribute WHERE attrelid = 'payloads'::regclass AND attname = 'body'`);
      const catalogue = new Catalogue({ size: PRODUCTS, invalidRate: 0.1 });
      const items = Array.from({ length: PRODUCTS }, (_, i) => catalogue.product(i));
      const value = { items };
      say(`${PRODUCTS.toLocaleString('en')} products, ${(JSON.stringify(value).length / 1e6).toFixed(1)} MB of JSON; the server ${lz4 ? 'has' : 'has no'} lz4 (TOAST uses ${lz4 ? 'lz4' : 'pglz'})`);
      say(loadAverage());
      const modes: PayloadCompression[] = ['postgres', 'worker', 'worker-gzip'];
      const stores = Object.fromEntries(modes.map((m) => [m, new PayloadStore(dataSource, { thresholdBytes: 1024, cacheBytes: 0, handoffBytes: 0, compression: m })])) as Record<PayloadCompression, PayloadStore>;
      const handoff = new PayloadStore(dataSource, { thresholdBytes: 1024, cacheBytes: 0, compression: 'worker' });
      const times: Record<string, number[]> = {};
      const time = async <T>(label: string, fn: () => Promise<T>): Promise<T> => {
        const t0 = performance.now();
        const out = await fn();
        (times[label] ??= []).push(performance.now() - t0);
        return out;
      };
      const stored: Record<string, number> = {};
      // The bench's payloads belong to no run: its own database, so the run key is not checked.
      await dataSource.query(`ALTER TABLE payloads DROP CONSTRAINT IF EXISTS "FK_payloads_execution"`);
      for (let round = 0; round <= ROUNDS; round++) {
        // Alternate which goes first; round 0 is a warm-up, not counted.
        const order = round % 2 === 0 ? modes : [...modes].reverse();
        for (const mode of order) {
          const exec = `bench-${mode}-${round}`;
          const label = (what: string) => (round === 0 ? `warm-up ${what}` : what);
          const ref = (await time(label(`${mode} offload`), () => stores[mode].offload(exec, 'fetch_products', value))) as PayloadRef;
          const loaded = (await time(label(`${mode} load`), () => stores[mode].load(ref))) as { items: unknown[] };
          if (loaded.items.length !== PRODUCTS) throw new Error(`${mode}: loaded ${loaded.items.length} items`);
          const [row] = await dataSource.query(`SELECT COALESCE(pg_column_size(body), 0) + COALESCE(octet_length(data), 0) AS bytes FROM payloads WHERE id = $1`, [ref.$payload.id]);
          stored[mode] = Number(row.bytes);
        }
        const exec = `bench-handoff-${round}`;
        const ref = (await handoff.offload(exec, 'fetch_products', value)) as PayloadRef;
        await time(round === 0 ? 'warm-up handoff load' : 'handoff load', () => handoff.load(ref));
      }
      const row = (label: string, what: string) => {
        const x = median(times[`postgres ${what}`]);
        const cells = modes.slice(1).map((m) => {
          const y = median(times[`${m} ${what}`]);
          return `${y.toFixed(0).padStart(7)} ms (${(y / x).toFixed(2)})`;
        });
        say(`${label.padEnd(38)} ${x.toFixed(0).padStart(7)} ms  ${cells.join('  ')}`);
      };
      say('');
      say(`median of ${ROUNDS} interleaved rounds         postgres   worker (ratio)     worker-gzip (ratio)`);
      row('offload (stringify, compress, INSERT)', 'offload');
      row('load (SELECT, decompress, parse)', 'load');
      say(`${'stored bytes'.padEnd(38)} ${modes.map((m) => `${(stored[m] / 1e6).toFixed(1).padStart(7)} MB`).join('  ')}`);
      say(`${'load of a handed-off output'.padEnd(34)} ${median(times['handoff load']).toFixed(1)} ms (vs ${median(times['worker load']).toFixed(0)} ms from PostgreSQL)`);
      say(loadAverage());
    } finally {
      await dataSource.destroy();
    }
  } finally {
    await pg.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
