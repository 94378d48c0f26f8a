import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Fan-out (docs/definitions.md#fan-out): a version's `fan_out` levels, and the
 * parent of a child run. A child's row points at its parent by execution id
 * (no foreign key: the child's row may be written before its parent's
 * projection catches up, and deleting a parent's row keeps its children's);
 * the partial index serves the parent's list of children and `?parent=`.
 */
export class FanOut1796232000000 implements MigrationInterface {
  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE workflow_versions ADD COLUMN fan_out jsonb`);
    await q.query(`ALTER TABLE workflow_executions ADD COLUMN parent_execution_id varchar(100)`);
    await q.query(`CREATE INDEX "IDX_workflow_executions_parent" ON workflow_executions (parent_execution_id, id) WHERE parent_execution_id IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS "IDX_workflow_executions_parent"`);
    await q.query(`ALTER TABLE workflow_executions DROP COLUMN IF EXISTS parent_execution_id`);
    await q.query(`ALTER TABLE workflow_versions DROP COLUMN IF EXISTS fan_out`);
  }
}
