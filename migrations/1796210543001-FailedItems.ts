import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Items that failed after their retries, counted on each step row (with the
 * first few listed) and summed on the run row: a run whose steps completed
 * with failed items is "completed with failures" in the API, the admin UI and
 * the CLI, never a plain success.
 */
export class FailedItems1796210543001 implements MigrationInterface {
  name = 'FailedItems1796210543001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE workflow_step_executions
      ADD COLUMN failed_items_total integer NOT NULL DEFAULT 0,
      ADD COLUMN failed_items jsonb`);
    await q.query(`ALTER TABLE workflow_executions ADD COLUMN failed_items_total integer NOT NULL DEFAULT 0`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE workflow_executions DROP COLUMN IF EXISTS failed_items_total`);
    await q.query(`ALTER TABLE workflow_step_executions DROP COLUMN IF EXISTS failed_items_total, DROP COLUMN IF EXISTS failed_items`);
  }
}
