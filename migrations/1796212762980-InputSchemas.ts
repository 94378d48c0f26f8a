import type { MigrationInterface, QueryRunner } from 'typeorm';

/** A workflow version may declare the JSON Schema of its runs' input_data. */
export class InputSchemas1796212762980 implements MigrationInterface {
  name = 'InputSchemas1796212762980';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE workflow_versions ADD COLUMN input_schema jsonb`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE workflow_versions DROP COLUMN input_schema`);
  }
}
