/**
 * Items per second of data_validate → data_transform → database_query upsert
 * over N generated products, each step a real activity in a real run
 * (embedded Postgres, Temporal dev server, in-process worker), timed from the
 * projection. Side by side, the baseline: the same rows written by one plain
 * `INSERT ... SELECT FROM unnest(...) ON CONFLICT DO UPDATE` through
 * node-postgres, with no engine around it.
 *
 *   npm run bench -- executors-pipeline [items=100000]
 */
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { merchflowDataConverter } from '@engine/codec/data-converter';
import { Client as PgClient } from 'pg';
import { loadConfig } from '@src/config/config';
import { createDataSource } from '@src/database/data-source';
import { Logger } from '@src/logging/logger';
import { WorkflowsService } from '@src/workflows/workflows.service';
import { ExecutionsService } from '@src/executions/executions.service';
import { stepTypeRegistry } from '@engine/activities/registry';
import { createMerchflowWorker, installTemporalRuntime } from '@engine/worker';
import { startEmbeddedPostgres } from '../scripts/lib/embedded-postgres';
import { startTemporalDevServer } from '../scripts/lib/temporal-server';
import { freePort } from '../scripts/lib/ports';

const N = Number(process.argv[2] ?? 100_000);
const root = path.resolve(__dirname, '..', '..');

async function main(): Promise<void> {
  const pg = await startEmbeddedPostgres({ dataDir: path.join(root, '.data', 'bench', 'postgres'), port: await freePort(), database: 'merchflow_bench', password: 'bench' });
  const temporal = await startTemporalDevServer({ port: await freePort(), uiPort: null, dbFile: null });
  const config = loadConfig({ ...process.env, DATABASE_URL: pg.url, TEMPORAL_ADDRESS: temporal.address, TEMPORAL_TASK_QUEUE: 'bench', LOG_LEVEL: 'error' });
  const logger = new Logger({ level: 'error', format: 'json' });
  installTemporalRuntime(logger, 'ERROR');
  const ds = await createDataSource(config).initialize();
  try {
    await ds.runMigrations();
    await ds.query(`DELETE FROM source_data WHERE source_type IN ('bench_product', 'bench_baseline')`);
    const workflows = new WorkflowsService(ds, stepTypeRegistry());
    const client = new Client({ connection: await Connection.connect({ address: temporal.address }), dataConverter: merchflowDataConverter(config) });
    const executions = new ExecutionsService(ds, async () => client, workflows, stepTypeRegistry(), 'bench');
    const worker = await createMerchflowWorker({ config, dataSource: ds, connection: await NativeConnection.connect({ address: temporal.address }), logger, taskQueue: 'bench' });
    const running = worker.run();

    const { workflow } = await workflows.create({
      code: `pipeline_${Date.now()}`,
      name: 'Executors pipeline bench',
      steps: [
        {
          key: 'generate',
          name: 'Generate products',
          step_type: 'data_transform',
          timeout_seconds: 600,
          config: {
            transform_type: 'jsonata',
            timeout_ms: 300000,
            expression: `$map([1..${N}], function($i) { { "sku": $i % 50 = 0 ? "" : "SKU-" & $string($i), "name": "  Product " & $string($i) & " ", "cost_price": ($i % 500) / 10, "brand": "Brand " & $string($i % 20), "qty": $i % 13 } })`,
          },
        },
        {
          key: 'validate',
          name: 'Validate',
          step_type: 'data_validate',
          timeout_seconds: 600,
          config: { validation_rules: [{ type: 'required', field: 'sku' }, { type: 'min_value', field: 'cost_price', min_value: 0.01 }, { type: 'max_length', field: 'name', max_length: 200 }], max_invalid_ratio: 0.2 },
        },
        {
          key: 'transform',
          name: 'Transform',
          step_type: 'data_transform',
          timeout_seconds: 600,
          config: { transform_type: 'map', input: '$steps.validate.valid', mapping_rules: { sku: 'sku', title: 'name', price: { path: 'cost_price', type: 'number' }, brand: 'brand', stock: 'qty' } },
        },
        {
          key: 'store',
          name: 'Upsert source data',
          step_type: 'database_query',
          timeout_seconds: 600,
          config: { query_type: 'upsert', model: 'SourceData', record_mapping: { source_type: 'bench_product', external_id: '$sku', raw_data: '$' } },
        },
      ],
    });
    const started = Date.now();
    const run = await executions.start(workflow.id, { input_data: {} });
    await client.workflow.getHandle(run.execution_id).result();
    const wall = (Date.now() - started) / 1000;
    const steps: Array<{ step_key: string; duration_ms: number; output_summary: Record<string, unknown> }> = await ds.query(
      `SELECT step_key, duration_ms, output_summary FROM workflow_step_executions WHERE execution_id = $1 ORDER BY started_at`,
      [run.execution_id],
    );
    const by = Object.fromEntries(steps.map((s) => [s.step_key, s]));
    const stored = Number((await ds.query(`SELECT count(*) FROM source_data WHERE source_type = 'bench_product'`))[0].count);
    const rate = (items: number, ms: number) => `${Math.round(items / (ms / 1000)).toLocaleString('en')} items/s`;
    console.log(`executors pipeline over ${N.toLocaleString('en')} products (run wall time ${wall.toFixed(1)} s)`);
    for (const key of ['validate', 'transform', 'store']) console.log(`  ${key.padEnd(10)} ${String(by[key].duration_ms).padStart(6)} ms  ${rate(N, by[key].duration_ms)}`);
    const pipelineMs = by.validate.duration_ms + by.transform.duration_ms + by.store.duration_ms;
    console.log(`  together   ${String(pipelineMs).padStart(6)} ms  ${rate(N, pipelineMs)} (${stored.toLocaleString('en')} rows stored)`);

    // Baseline: the same rows written straight through node-postgres.
    const rows: Array<{ sku: string; raw: string }> = [];
    for (let i = 1; i <= N; i++) {
      if (i % 50 === 0 || (i % 500) / 10 < 0.01) continue;
      rows.push({ sku: `SKU-${i}`, raw: JSON.stringify({ sku: `SKU-${i}`, title: `  Product ${i} `, price: (i % 500) / 10, brand: `Brand ${i % 20}`, stock: i % 13 }) });
    }
    const pgc = new PgClient({ connectionString: pg.url });
    await pgc.connect();
    const t0 = Date.now();
    for (let i = 0; i < rows.length; i += 1000) {
      const chunk = rows.slice(i, i + 1000);
      await pgc.query(
        `INSERT INTO source_data (source_type, external_id, raw_data, content_hash)
         SELECT 'bench_baseline', s, r::jsonb, md5(r) || md5(s) FROM unnest($1::text[], $2::text[]) AS t(s, r)
         ON CONFLICT (source_type, supplier_id, marketplace_id, external_id) DO UPDATE SET raw_data = EXCLUDED.raw_data`,
        [chunk.map((r) => r.sku), chunk.map((r) => r.raw)],
      );
    }
    const baseMs = Date.now() - t0;
    await pgc.end();
    console.log(`baseline: plain batched INSERT ... ON CONFLICT of the same ${rows.length.toLocaleString('en')} rows: ${baseMs} ms (${rate(rows.length, baseMs)})`);
    console.log(`ratio database_query upsert / baseline: ${(by.store.duration_ms / baseMs).toFixed(2)}x the time`);

    worker.shutdown();
    await running;
    await client.connection.close();
  } finally {
    await ds.destroy();
    await temporal.stop();
    await pg.stop();
  }
}

main().catch((err) => {
  console.error(`executors-pipeline: ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(1);
});
