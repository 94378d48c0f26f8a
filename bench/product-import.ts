/**
 * The product import template end to end on a large catalogue: the sandbox
 * supplier (100,000 products by default, 10 % invalid unless told otherwise),
 * the real worker, an embedded PostgreSQL and a Temporal dev server of its
 * own. Prints wall time, items per second, the run's history size
 * (protobuf-encoded bytes) and event count, and the time of each step; then
 * imports the same catalogue again (everything unchanged), `--repeat` times in
 * all (default 2). The RSS of this process (worker + sandbox) is sampled every
 * 100 ms: its peak during each import and after each is printed, to show it
 * flat over repeated imports.
 *
 *   npm run bench -- product-import [products] [invalid_rate] [--repeat N] [--ledger-ab] [--worker-process [--worker-heap-mb N]]
 *
 * Each import runs side by side with a direct script of the bench's own doing
 * the same work (bench/support/direct-import.ts: same pages, validation rules,
 * mapping and batched `INSERT … ON CONFLICT`, into a supplier row of its own so
 * both write the same rows), alternating which goes first: per-phase times of
 * both (fetch / validate / transform / store), the wall ratio, and the peak
 * RSS of this process during each. `--no-direct` leaves the baseline out.
 *
 * With `--ledger-ab`, after the first import the same (unchanged) import runs
 * N more times on each of two workers side by side, one with the per-item
 * ledger (ITEM_LEDGER) and one without, interleaved so both share the
 * machine's noise; prints the median wall time and each step's median time on
 * each, and the ratios (ledger / no ledger). `--payload-ab` does the same with
 * the payload store as it is (handoff, `PAYLOAD_COMPRESSION=auto`) against
 * one that reads every input back and stores text (`PAYLOAD_HANDOFF_BYTES=0`,
 * `PAYLOAD_COMPRESSION=postgres`).
 *
 * With `--feed csv|jsonl|xml`, each round imports the same catalogue twice,
 * side by side: from the sandbox's JSON supplier API (the baseline) and from
 * the sandbox's streamed feed file through a `feed` supplier (platform
 * `feed`, JSONata field mapping); prints the wall time and the peak RSS of
 * each and the ratios (feed / API).
 *
 * Not part of `npm test`. Data lives in .data/bench-<build dir> and is removed at the end.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { merchflowDataConverter } from '@engine/codec/data-converter';
import { temporal } from '@temporalio/proto';
import { loadConfig } from '@src/config/config';
import { createDataSource } from '@src/database/data-source';
import { Logger } from '@src/logging/logger';
import { WorkflowsService } from '@src/workflows/workflows.service';
import { ExecutionsService } from '@src/executions/executions.service';
import { startSandbox } from '@src/sandbox';
import { seedSandboxCommerce } from '@src/commerce/seed';
import { createMerchflowWorker, installTemporalRuntime } from '@engine/worker';
import { stepTypeRegistry } from '@engine/activities/registry';
import { startEmbeddedPostgres } from '../scripts/lib/embedded-postgres';
import { startTemporalDevServer } from '../scripts/lib/temporal-server';
import { freePort } from '../scripts/lib/ports';
import { loadAverage, rssBytes, sampleRss } from './support/proc';
import { startWorkerProcess } from './support/worker-process';
import { directImport, type DirectImportResult } from './support/direct-import';

const positional = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--') && all[i - 1] !== '--repeat' && all[i - 1] !== '--worker-heap-mb');
const LEDGER_AB = process.argv.includes('--ledger-ab');
const PAYLOAD_AB = process.argv.includes('--payload-ab');
const PRODUCTS = Number(positional[0] ?? 100_000);
const INVALID_RATE = Number(positional[1] ?? 0.1);
const DIRECT = !process.argv.includes('--no-direct');
/** The worker in a process of its own (`dist/temporal/worker-main.js`), its RSS sampled apart from the sandbox's and the bench's. */
const WORKER_PROCESS = process.argv.includes('--worker-process');
/** With --worker-process: the worker's V8 heap limit (`--max-old-space-size`), as a container's memory limit would set it. */
const WORKER_HEAP_MB = process.argv.includes('--worker-heap-mb') ? Number(process.argv[process.argv.indexOf('--worker-heap-mb') + 1]) : null;
const REPEAT = process.argv.includes('--repeat') ? Number(process.argv[process.argv.indexOf('--repeat') + 1]) : 2;
const FEED = process.argv.includes('--feed') ? process.argv[process.argv.indexOf('--feed') + 1] : null;
if (FEED !== null && !['csv', 'jsonl', 'xml'].includes(FEED)) throw new Error('--feed takes csv, jsonl or xml');

/** The feed supplier's settings and field mapping per format (CSV and XML values are strings: cast them). */
const FEED_CONNECTIONS: Record<string, { settings: Record<string, unknown>; mapping: Record<string, string> }> = {
  csv: {
    settings: { format: 'csv', products_path: '/catalogue.csv', page_size: 1000 },
    mapping: {
      external_id: 'external_id',
      sku: "sku != '' ? sku",
      name: 'name',
      description: 'description',
      brand: 'brand',
      category: 'category',
      cost_price: "cost != '' ? $number(cost)",
      currency: 'currency',
      weight_kg: '$number(weight_kg)',
      barcode: 'barcode',
      images: "image != '' ? [image] : []",
      stock_quantity: '$number(stock)',
    },
  },
  jsonl: { settings: { format: 'jsonl', products_path: '/catalogue.jsonl', page_size: 1000 }, mapping: {} },
  xml: {
    settings: { format: 'xml', products_path: '/catalogue.xml', item_path: 'products/product', page_size: 1000 },
    mapping: {
      external_id: '`@id`',
      sku: 'sku',
      name: 'name',
      description: 'description',
      brand: 'brand',
      category: 'category',
      cost_price: '$number(cost.`#text`)',
      currency: 'cost.`@currency`',
      weight_kg: '$number(weight_kg)',
      barcode: 'barcode',
      images: '[images.image]',
      stock_quantity: '$number(stock)',
    },
  },
};

const distDir = path.resolve(__dirname, '..');
const dataDir = path.join(distDir, '..', '.data', `bench-${path.basename(distDir)}`);
const say = (line: string) => console.log(`bench | ${line}`);
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

async function main(): Promise<void> {
  fs.rmSync(dataDir, { recursive: true, force: true });
  // Undone in reverse order of creation.
  const cleanups: Array<() => Promise<unknown>> = [];
  try {
    say(`starting PostgreSQL, Temporal and the sandbox (${PRODUCTS.toLocaleString('en')} products, ${INVALID_RATE * 100} % invalid)`);
    const [pg, tmp, sandbox] = await Promise.all([
      startEmbeddedPostgres({ dataDir: path.join(dataDir, 'postgres'), port: await freePort(), database: 'merchflow_bench', password: 'merchflow' }),
      startTemporalDevServer({ port: await freePort(), uiPort: null, dbFile: null }),
      startSandbox({ products: PRODUCTS, invalidRate: INVALID_RATE, initialOrders: 0, seed: 42 }),
    ]);
    cleanups.push(() => pg.stop(), () => tmp.stop(), () => sandbox.close());

    const config = loadConfig({
      ...process.env,
      NODE_ENV: 'test',
      DATABASE_URL: pg.url,
      TEMPORAL_ADDRESS: tmp.address,
      HTTP_ALLOW_HOSTS: `127.0.0.1:${sandbox.port}`,
      LOG_LEVEL: 'warn',
    });
    const dataSource = await createDataSource(config, { poolSize: 10 }).initialize();
    cleanups.push(() => dataSource.destroy());
    await dataSource.runMigrations({ transaction: 'each' });

    installTemporalRuntime(new Logger({ level: 'error', format: 'pretty' }), 'ERROR');
    const logger = new Logger({ level: 'warn', format: 'pretty' });
    const taskQueue = `bench-${randomUUID()}`;
    let workerPid: number | null = null;
    if (WORKER_PROCESS) {
      const child = await startWorkerProcess({
        // `info`: the worker says when it polls (its output is read and dropped).
        env: { ...process.env, NODE_ENV: 'test', DATABASE_URL: pg.url, TEMPORAL_ADDRESS: tmp.address, HTTP_ALLOW_HOSTS: `127.0.0.1:${sandbox.port}`, LOG_LEVEL: 'info' },
        taskQueue,
        dist: distDir,
        heapMb: WORKER_HEAP_MB,
      });
      workerPid = child.pid!;
      cleanups.push(async () => {
        child.kill('SIGTERM');
        await new Promise((resolve) => child.once('exit', resolve));
      });
    } else {
      const workerConnection = await NativeConnection.connect({ address: config.temporal.address });
      const worker = await createMerchflowWorker({ config, dataSource, connection: workerConnection, logger, taskQueue });
      const running = worker.run();
      cleanups.push(async () => {
        worker.shutdown();
        await running;
        await workerConnection.close();
      });
    }

    const connection = await Connection.connect({ address: config.temporal.address });
    cleanups.push(() => connection.close());
    const client = new Client({ connection, namespace: config.temporal.namespace, dataConverter: merchflowDataConverter(config) });
    const registry = stepTypeRegistry();
    const workflows = new WorkflowsService(dataSource, registry);
    const executions = new ExecutionsService(dataSource, async () => client, workflows, registry, taskQueue);
    const seeded = await seedSandboxCommerce(dataSource, { sandboxUrl: sandbox.url, workflows, aiEnabled: false });
    const workflowId = seeded.workflows.find((w) => w.template === 'product_import')!.id;

    const rssAfter: number[] = [];
    const peaks: number[] = [];
    say(`${loadAverage()}`);
    if (FEED) {
      const feed = FEED_CONNECTIONS[FEED];
      const [row] = await dataSource.query(
        `INSERT INTO suppliers (code, name, api_base_url, platform, settings, field_mapping) VALUES ($1, $2, $3, 'feed', $4, $5) RETURNING id`,
        [`bench_feed_${FEED}`, `Bench ${FEED} feed`, sandbox.urls.feed, JSON.stringify(feed.settings), JSON.stringify(feed.mapping)],
      );
      const once = async (supplierId: number) => {
        const rss = sampleRss(process.pid);
        const started = Date.now();
        const run = await executions.start(workflowId, { input_data: { supplier_id: supplierId }, trigger_type: 'api' });
        const result = (await client.workflow.getHandle(run.execution_id).result()) as { status: string };
        const wall = (Date.now() - started) / 1000;
        const peak = rss.stop();
        if (result.status !== 'completed') throw new Error(`run ${run.execution_id} ended ${result.status}`);
        const [stats] = await dataSource.query(`SELECT products_total, last_import_invalid FROM suppliers WHERE id = $1`, [supplierId]);
        const steps = await executions.steps(run.execution_id);
        const fetchStep = steps.find((s) => s.step_key === 'fetch_products');
        return { wall, peak, products: Number(stats.products_total), invalid: Number(stats.last_import_invalid), fetch: (fetchStep?.duration_ms ?? 0) / 1000 };
      };
      const api: Array<Awaited<ReturnType<typeof once>>> = [];
      const fromFeed: Array<Awaited<ReturnType<typeof once>>> = [];
      for (let round = 1; round <= REPEAT; round++) {
        // Alternate which goes first, so neither always runs on a warmer machine (or a bigger heap).
        if (round % 2) {
          fromFeed.push(await once(row.id));
          api.push(await once(seeded.supplier_id));
        } else {
          api.push(await once(seeded.supplier_id));
          fromFeed.push(await once(row.id));
        }
        const a = api.at(-1)!;
        const f = fromFeed.at(-1)!;
        say(`round ${round}: ${FEED} feed ${f.wall.toFixed(1)} s (fetch ${f.fetch.toFixed(1)} s), peak RSS ${mb(f.peak)}, ${f.products} products, ${f.invalid} invalid`);
        say(`         API baseline ${a.wall.toFixed(1)} s (fetch ${a.fetch.toFixed(1)} s), peak RSS ${mb(a.peak)}, ${a.products} products, ${a.invalid} invalid`);
      }
      const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
      const [fw, aw, ff, af, fp, ap] = [median(fromFeed.map((r) => r.wall)), median(api.map((r) => r.wall)), median(fromFeed.map((r) => r.fetch)), median(api.map((r) => r.fetch)), median(fromFeed.map((r) => r.peak)), median(api.map((r) => r.peak))];
      say('');
      say(`median of ${REPEAT} import(s) of ${PRODUCTS.toLocaleString('en')} products, ${FEED} feed vs the sandbox JSON API:`);
      say(`  whole run   feed ${fw.toFixed(1)} s   API ${aw.toFixed(1)} s   ratio ${(fw / aw).toFixed(3)}`);
      say(`  fetch step  feed ${ff.toFixed(1)} s   API ${af.toFixed(1)} s   ratio ${af > 0 ? (ff / af).toFixed(3) : '—'}`);
      say(`  peak RSS    feed ${mb(fp)}   API ${mb(ap)}   ratio ${(fp / ap).toFixed(3)}`);
      say(`${loadAverage()}`);
      return;
    }
    if (LEDGER_AB || PAYLOAD_AB) {
      // A second worker without the ledger (or with the payload store of before), on its own task queue, and a service that starts runs there.
      const plainQueue = `${taskQueue}-${LEDGER_AB ? 'noledger' : 'readback'}`;
      const plainConnection = await NativeConnection.connect({ address: config.temporal.address });
      const plainConfig = LEDGER_AB
        ? { ...config, itemLedger: { ...config.itemLedger, enabled: false } }
        : { ...config, payloads: { ...config.payloads, handoffBytes: 0, compression: 'postgres' as const } };
      const [A, B] = LEDGER_AB ? ['ledger', 'no ledger'] : ['handoff', 'readback'];
      const plainWorker = await createMerchflowWorker({ config: plainConfig, dataSource, connection: plainConnection, logger, taskQueue: plainQueue });
      const plainRunning = plainWorker.run();
      cleanups.push(async () => {
        plainWorker.shutdown();
        await plainRunning;
        await plainConnection.close();
      });
      const plain = new ExecutionsService(dataSource, async () => client, workflows, registry, plainQueue);
      const once = async (svc: ExecutionsService) => {
        const started = Date.now();
        const run = await svc.start(workflowId, { input_data: { supplier_id: seeded.supplier_id }, trigger_type: 'api' });
        const result = (await client.workflow.getHandle(run.execution_id).result()) as { status: string };
        if (result.status !== 'completed') throw new Error(`run ${run.execution_id} ended ${result.status}`);
        const wall = (Date.now() - started) / 1000;
        const steps = Object.fromEntries((await svc.steps(run.execution_id)).map((st) => [st.step_key, (st.duration_ms ?? 0) / 1000]));
        const rows = await dataSource.query(`SELECT COALESCE(sum(item_count), 0)::int AS n FROM item_outcome_batches WHERE execution_id = $1`, [run.execution_id]);
        return { wall, steps, ledgerRows: rows[0].n as number };
      };
      say('warm-up: one import on each worker');
      await once(executions);
      await once(plain);
      const on: Array<Awaited<ReturnType<typeof once>>> = [];
      const off: Array<Awaited<ReturnType<typeof once>>> = [];
      for (let round = 1; round <= REPEAT; round++) {
        // Alternate which goes first, so neither always runs on a warmer machine.
        if (round % 2) {
          off.push(await once(plain));
          on.push(await once(executions));
        } else {
          on.push(await once(executions));
          off.push(await once(plain));
        }
        say(`round ${round}: ${A} ${on.at(-1)!.wall.toFixed(2)} s (${on.at(-1)!.ledgerRows.toLocaleString('en')} ledger rows), ${B} ${off.at(-1)!.wall.toFixed(2)} s (${off.at(-1)!.ledgerRows} ledger rows)`);
      }
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
      say('');
      say(`median of ${REPEAT} unchanged imports of ${PRODUCTS.toLocaleString('en')} products, side by side:`);
      say(`  ${'whole run'.padEnd(28)} ${A} ${median(on.map((r) => r.wall)).toFixed(2).padStart(7)} s  ${B} ${median(off.map((r) => r.wall)).toFixed(2).padStart(7)} s  ratio ${(median(on.map((r) => r.wall)) / median(off.map((r) => r.wall))).toFixed(3)}`);
      for (const key of Object.keys(on[0].steps)) {
        const a = median(on.map((r) => r.steps[key] ?? 0));
        const b = median(off.map((r) => r.steps[key] ?? 0));
        say(`  ${key.padEnd(28)} ${A} ${a.toFixed(2).padStart(7)} s  ${B} ${b.toFixed(2).padStart(7)} s  ratio ${b > 0 ? (a / b).toFixed(3) : '—'}`);
      }
      say(`${loadAverage()}`);
      return;
    }
    // The direct baseline writes into a supplier of its own (same sandbox, same settings): the same inserts, then the same unchanged rows.
    const [direct] = (await dataSource.query(
      `INSERT INTO suppliers (code, name, api_base_url, settings) SELECT 'sandbox_direct', 'Sandbox Supplier (direct baseline)', api_base_url, settings FROM suppliers WHERE id = $1
       RETURNING id, api_base_url, (settings->>'page_size')::int AS page_size`,
      [seeded.supplier_id],
    )) as Array<{ id: number; api_base_url: string; page_size: number | null }>;
    const runDirect = async (round: number) => {
      const rss = sampleRss(process.pid);
      const r = await directImport({ dataSource, baseUrl: direct.api_base_url, supplierId: direct.id, pageSize: direct.page_size ?? 500, executionId: `direct-${round}` });
      return { ...r, peak: rss.stop() };
    };
    const ratios: number[] = [];
    // What the process still holds after each import once garbage is collected (run.ts starts benches with --expose-gc).
    const retainedAfter: NodeJS.MemoryUsage[] = [];
    const afterGc = (): NodeJS.MemoryUsage | null => {
      const gc = (globalThis as { gc?: () => void }).gc;
      if (!gc) return null;
      gc();
      gc();
      return process.memoryUsage();
    };
    // What the process holds before any import (sandbox, Temporal runtime and workflow bundle, pools): the imports' share is above it.
    const idle = afterGc();
    say(`before the imports: RSS ${mb(rssBytes(process.pid))}${idle ? `, JS heap ${mb(idle.heapUsed)} after a GC` : ''}${workerPid ? `; worker process RSS ${mb(rssBytes(workerPid))}${WORKER_HEAP_MB ? `, heap limit ${WORKER_HEAP_MB} MiB` : ''}` : ''}; ITEM_PAGE_SIZE ${config.payloads.pageItems}`);
    const workerPeaks: number[] = [];
    for (let round = 1; round <= REPEAT; round++) {
      const label = round === 1 ? 'first import' : `import ${round} (unchanged)`;
      // Alternate which side goes first, so neither always runs on a warmer machine.
      let baseline: (DirectImportResult & { peak: number }) | null = DIRECT && round % 2 === 0 ? await runDirect(round) : null;
      const rss = sampleRss(process.pid);
      const workerRss = workerPid ? sampleRss(workerPid) : null;
      const started = Date.now();
      const run = await executions.start(workflowId, { input_data: { supplier_id: seeded.supplier_id }, trigger_type: 'api' });
      const handle = client.workflow.getHandle(run.execution_id);
      const result = (await handle.result()) as { status: string; output: { message?: string } };
      const wall = (Date.now() - started) / 1000;
      const history = await handle.fetchHistory();
      const bytes = temporal.api.history.v1.History.encode(history).finish().length;
      const steps = await executions.steps(run.execution_id);
      const [stats] = await dataSource.query(
        `SELECT products_total, last_import_imported, last_import_updated, last_import_unchanged, last_import_invalid FROM suppliers WHERE id = $1`,
        [seeded.supplier_id],
      );
      const payloads = await dataSource.query(
        `SELECT count(*)::int AS n, COALESCE(sum(size_bytes), 0)::bigint AS bytes, COALESCE(sum(pg_column_size(body)), 0)::bigint AS text_stored,
                COALESCE(sum(octet_length(data)), 0)::bigint AS gzip_stored FROM payloads WHERE execution_id = $1`,
        [run.execution_id],
      );
      say('');
      say(`${label}: ${result.status} in ${wall.toFixed(1)} s, ${Math.round(PRODUCTS / wall).toLocaleString('en')} items/s`);
      say(`  history       ${bytes.toLocaleString('en')} bytes (protobuf), ${history.events?.length ?? 0} events`);
      say(`  payloads      ${payloads[0].n} claim-checked outputs, ${mb(Number(payloads[0].bytes))} of JSON, stored as ${mb(Number(payloads[0].text_stored))} of text (compressed by PostgreSQL) and ${mb(Number(payloads[0].gzip_stored))} compressed by the worker`);
      say(
        `  supplier      ${stats.products_total} products: ${stats.last_import_imported} new, ${stats.last_import_updated} updated, ${stats.last_import_unchanged} unchanged, ${stats.last_import_invalid} invalid`,
      );
      for (const s of steps) say(`  ${s.step_key.padEnd(28)} ${String(s.status).padEnd(10)} ${((s.duration_ms ?? 0) / 1000).toFixed(2).padStart(7)} s`);
      peaks.push(rss.stop());
      rssAfter.push(rssBytes(process.pid));
      say(`  RSS           peak ${mb(peaks.at(-1)!)} during the import, ${mb(rssAfter.at(-1)!)} after it${workerPid ? ' (this process: bench and sandbox)' : ''}`);
      if (workerRss && workerPid) {
        workerPeaks.push(workerRss.stop());
        say(`  worker        peak RSS ${mb(workerPeaks.at(-1)!)} during the import, ${mb(rssBytes(workerPid))} after it (its own process)`);
      }
      const retained = afterGc();
      if (retained) {
        retainedAfter.push(retained);
        say(`  after a GC    RSS ${mb(retained.rss)}, JS heap ${mb(retained.heapUsed)}, external ${mb(retained.external)} (array buffers ${mb(retained.arrayBuffers)})`);
      }
      if (DIRECT) {
        baseline ??= await runDirect(round);
        const step = (key: string) => (steps.find((st) => st.step_key === key)?.duration_ms ?? 0);
        const [out] = await dataSource.query(`SELECT output_summary FROM workflow_step_executions WHERE execution_id = $1 AND step_key = 'validate_products'`, [run.execution_id]);
        const mfInvalid = (out?.output_summary as { invalid_count?: number } | undefined)?.invalid_count;
        ratios.push(wall / baseline.wall);
        say(`  direct script ${baseline.wall.toFixed(1)} s (${baseline.fetched} fetched, ${baseline.valid} valid, ${baseline.invalid} invalid${mfInvalid !== undefined ? `; merchflow: ${mfInvalid} invalid` : ''}), peak RSS ${mb(baseline.peak)}; wall ratio ${(wall / baseline.wall).toFixed(2)}x`);
        say(`  ${'phase (ms)'.padEnd(12)} ${'merchflow'.padStart(10)} ${'direct'.padStart(10)}`);
        for (const [phase, key] of [['fetch', 'fetch_products'], ['validate', 'validate_products'], ['transform', 'transform_products'], ['store', 'store_products']] as const) {
          say(`  ${phase.padEnd(12)} ${step(key).toFixed(0).padStart(10)} ${baseline.phases[phase].toFixed(0).padStart(10)}`);
        }
        say(`  stored        direct: ${JSON.stringify({ inserted: baseline.stored.inserted, updated: baseline.stored.updated, unchanged: baseline.stored.unchanged })}`);
      }
    }
    if (ratios.length > 0) say(`wall ratio merchflow / direct script per import: ${ratios.map((r) => `${r.toFixed(2)}x`).join(', ')}`);
    say('');
    say(`RSS after each import: ${rssAfter.map(mb).join(' -> ')}`);
    say(`peak RSS during each import: ${peaks.map(mb).join(' -> ')}`);
    if (workerPeaks.length > 0) say(`worker process: peak RSS during each import: ${workerPeaks.map(mb).join(' -> ')}`);
    if (rssAfter.length > 2) {
      const later = rssAfter.slice(1);
      const spread = (Math.max(...later) - Math.min(...later)) / Math.min(...later);
      say(`RSS after imports 2..${REPEAT} varies by ${(spread * 100).toFixed(1)} % (flat: within 10 %)`);
    }
    if (retainedAfter.length > 0) {
      say(`after a GC, each import: RSS ${retainedAfter.map((m) => mb(m.rss)).join(' -> ')}; JS heap ${retainedAfter.map((m) => mb(m.heapUsed)).join(' -> ')}`);
      if (retainedAfter.length > 2) {
        const later = retainedAfter.slice(1).map((m) => m.heapUsed);
        say(`JS heap after a GC, imports 2..${REPEAT}, varies by ${(((Math.max(...later) - Math.min(...later)) / Math.min(...later)) * 100).toFixed(1)} %`);
      }
    }
    say(`${loadAverage()}`);
    say('');
    say(`peak RSS of this process (worker + sandbox): ${mb(process.resourceUsage().maxRSS * 1024)}`);
  } finally {
    for (const c of cleanups.reverse()) await c().catch((e) => say(`cleanup: ${(e as Error).message}`));
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
