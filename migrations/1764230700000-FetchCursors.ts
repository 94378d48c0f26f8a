import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Where incremental `data_fetch` steps keep their place: the last cursor or
 * `updated_since` watermark per key. `previous_cursor` and `written_by` (the
 * step's idempotency key, `execution:step`) let a retried attempt of the step
 * that wrote the cursor read the value it started from, so a retry fetches the
 * same window again instead of skipping it.
 */
export class FetchCursors1764230700000 implements MigrationInterface {
  name = 'FetchCursors1764230700000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE fetch_cursors (
        key varchar(200) PRIMARY KEY,
        cursor text,
        previous_cursor text,
        written_by varchar(200),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS fetch_cursors`);
  }
}
