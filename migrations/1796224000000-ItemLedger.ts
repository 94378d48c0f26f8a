import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The per-item ledger: what each item-wise step did with each item (ok,
 * invalid, failed, skipped), with the reason and, for items that did not go
 * through, the item itself (scrubbed of secrets) so an operator can see it and
 * re-run it. One row per (run, step, item): a retried attempt overwrites the
 * rows of the items it processed again. Deleting a run deletes its ledger.
 */
export class ItemLedger1796224000000 implements MigrationInterface {
  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE step_item_outcomes (
        id bigserial PRIMARY KEY,
        execution_id varchar(100) NOT NULL REFERENCES workflow_executions(execution_id) ON DELETE CASCADE,
        step_key varchar(100) NOT NULL,
        item_ref varchar(220) NOT NULL,
        item_key varchar(200) NOT NULL,
        item_index integer NULL,
        status varchar(16) NOT NULL CHECK (status IN ('ok', 'invalid', 'failed', 'skipped')),
        reason_code varchar(64) NULL,
        message text NULL,
        attempt integer NOT NULL,
        payload jsonb NULL,
        recorded_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "UQ_step_item_outcomes_item" UNIQUE (execution_id, step_key, item_ref)
      )`);
    await q.query(`CREATE INDEX "IDX_step_item_outcomes_status" ON step_item_outcomes (execution_id, status, step_key, item_index)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS step_item_outcomes`);
  }
}
