import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Item-level recovery (issue 13, items 3 and 4): what a recovery run is
 * (`workflow_executions.recovery`: restart, retry of items or edited output,
 * the definition version chosen, the steps reused, the items retried, the
 * idempotency root) and the audit of step outputs an operator edited
 * (`step_output_edits`: who, when, why, before and after). Temporal's history
 * is never rewritten: an edit starts a new run that reuses the edited output.
 */
export class Recovery1796234000000 implements MigrationInterface {
  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE workflow_executions ADD COLUMN recovery jsonb`);
    await q.query(`
      CREATE TABLE step_output_edits (
        id bigserial PRIMARY KEY,
        execution_id varchar(100) NOT NULL REFERENCES workflow_executions(execution_id) ON DELETE CASCADE,
        step_key varchar(100) NOT NULL,
        new_execution_id varchar(100),
        edited_by varchar(200),
        reason text,
        before jsonb,
        after jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX "IDX_step_output_edits_run" ON step_output_edits (execution_id)`);
    await q.query(`CREATE INDEX "IDX_step_output_edits_new_run" ON step_output_edits (new_execution_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS step_output_edits`);
    await q.query(`ALTER TABLE workflow_executions DROP COLUMN IF EXISTS recovery`);
  }
}
