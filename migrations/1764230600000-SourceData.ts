import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Raw records from suppliers and marketplaces, with their lineage to the run and step that wrote them. */
export class SourceData1764230600000 implements MigrationInterface {
  name = 'SourceData1764230600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE source_data (
        id bigserial PRIMARY KEY,
        source_type varchar(50) NOT NULL,
        source_name varchar(100),
        external_id varchar(200),
        supplier_id integer,
        marketplace_id integer,
        raw_data jsonb NOT NULL,
        content_hash char(64) NOT NULL,
        status varchar(20) NOT NULL DEFAULT 'new',
        execution_id varchar(100),
        step_key varchar(63),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    // Re-importing the same record updates it in place (NULLS NOT DISTINCT: records without a supplier dedupe too).
    await q.query(
      `CREATE UNIQUE INDEX "UQ_source_data_identity" ON source_data (source_type, supplier_id, marketplace_id, external_id) NULLS NOT DISTINCT`,
    );
    await q.query(`CREATE INDEX "IDX_source_data_execution" ON source_data (execution_id)`);
    await q.query(`CREATE INDEX "IDX_source_data_type_created" ON source_data (source_type, created_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS source_data`);
  }
}
