import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { loadConfig } from '@src/config/config';
import { createDataSource } from '@src/database/data-source';
import { MIGRATIONS } from '../../../migrations';

/** Runs every migration up and down on a database of its own. */
describe('migrations', () => {
  const name = `mig_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  const base = new URL(process.env.DATABASE_URL!);
  const admin = new URL(base.toString());
  admin.pathname = '/postgres';
  const url = new URL(base.toString());
  url.pathname = `/${name}`;

  before(async () => {
    const c = new Client({ connectionString: admin.toString() });
    await c.connect();
    await c.query(`CREATE DATABASE ${name}`);
    await c.end();
  });
  after(async () => {
    const c = new Client({ connectionString: admin.toString() });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await c.end();
  });

  const tables = async (ds: ReturnType<typeof createDataSource>) =>
    (await ds.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`)).map((r: { tablename: string }) => r.tablename);

  it('applies every migration, then reverts every one', async () => {
    const ds = await createDataSource(loadConfig({ ...process.env, DATABASE_URL: url.toString() }), { poolSize: 2 }).initialize();
    try {
      const applied = await ds.runMigrations({ transaction: 'each' });
      assert.equal(applied.length, MIGRATIONS.length);
      const up = await tables(ds);
      for (const t of ['workflows', 'workflow_versions', 'workflow_steps', 'workflow_executions', 'workflow_step_executions', 'workflow_schedules', 'payloads', 'secrets', 'source_data']) {
        assert.ok(up.includes(t), `table ${t} exists`);
      }
      assert.equal(await ds.showMigrations(), false, 'nothing pending');
      // A second run is a no-op.
      assert.equal((await ds.runMigrations()).length, 0);
      for (let i = 0; i < MIGRATIONS.length; i++) await ds.undoLastMigration({ transaction: 'each' });
      assert.deepEqual(await tables(ds), ['migrations']);
      // And up again from scratch.
      assert.equal((await ds.runMigrations()).length, MIGRATIONS.length);
    } finally {
      await ds.destroy();
    }
  });

  it('enforces the schema: unique codes among live workflows, valid statuses, one row per step of a run', async () => {
    const ds = await createDataSource(loadConfig({ ...process.env, DATABASE_URL: url.toString() }), { poolSize: 2 }).initialize();
    try {
      await ds.query(`INSERT INTO workflows (code, name, workflow_type) VALUES ('dup', 'a', 'custom')`);
      await assert.rejects(ds.query(`INSERT INTO workflows (code, name, workflow_type) VALUES ('dup', 'b', 'custom')`), /UQ_workflows_code/);
      await ds.query(`UPDATE workflows SET deleted_at = now() WHERE code = 'dup'`);
      await ds.query(`INSERT INTO workflows (code, name, workflow_type) VALUES ('dup', 'c', 'custom')`);
      await assert.rejects(ds.query(`INSERT INTO workflows (code, name, workflow_type, status) VALUES ('x', 'x', 'custom', 'weird')`), /check/i);
    } finally {
      await ds.destroy();
    }
  });
});
