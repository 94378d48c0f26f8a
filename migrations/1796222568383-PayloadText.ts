import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Payloads stored as JSON text (compressed by PostgreSQL's TOAST, with lz4
 * where the server has it) instead of gzip bytes with a sha256: measured in
 * docs/performance.md, gzip and the hash cost the worker more than the
 * whole rest of storing a large output. Old rows keep `data` and still load.
 * Deleting a run deletes its payloads.
 */
export class PayloadText1796222568383 implements MigrationInterface {
  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE payloads ADD COLUMN body text, ALTER COLUMN data DROP NOT NULL, ALTER COLUMN sha256 DROP NOT NULL`);
    // lz4 only where PostgreSQL was built with it; else TOAST's default (pglz).
    await q.query(`DO $$ BEGIN ALTER TABLE payloads ALTER COLUMN body SET COMPRESSION lz4; EXCEPTION WHEN OTHERS THEN NULL; END $$`);
    await q.query(`CREATE INDEX IF NOT EXISTS "IDX_payloads_created" ON payloads (created_at)`);
    // NOT VALID: rows of runs deleted before this migration are not checked (the retention sweep removes them).
    await q.query(
      `ALTER TABLE payloads ADD CONSTRAINT "FK_payloads_execution" FOREIGN KEY (execution_id)
         REFERENCES workflow_executions(execution_id) ON DELETE CASCADE NOT VALID`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE payloads DROP CONSTRAINT IF EXISTS "FK_payloads_execution"`);
    await q.query(`DROP INDEX IF EXISTS "IDX_payloads_created"`);
    await q.query(`DELETE FROM payloads WHERE data IS NULL`);
    await q.query(`ALTER TABLE payloads DROP COLUMN body, ALTER COLUMN data SET NOT NULL`);
    await q.query(`UPDATE payloads SET sha256 = repeat('0', 64) WHERE sha256 IS NULL`);
    await q.query(`ALTER TABLE payloads ALTER COLUMN sha256 SET NOT NULL`);
  }
}
