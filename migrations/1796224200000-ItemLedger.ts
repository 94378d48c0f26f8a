import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The per-item ledger: what each item-wise step did with each item (ok,
 * invalid, failed, skipped), with the reason and, for items that did not go
 * through, the item itself (scrubbed of secrets) so an operator can see it and
 * re-run it. Stored a batch per row, `items` a JSON array with one
 * `[key, index, status, reason, message, item]` per item: a 100,000-item step
 * writes 50 rows rather than 100,000 index entries (docs/recovery.md). `json`,
 * not `jsonb`: written often, read rarely, and checking is cheaper than
 * parsing. A retried attempt writes new batches; readers take each
 * item's latest outcome. Deleting a run deletes its ledger.
 */
export class ItemLedger1796224200000 implements MigrationInterface {
  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE item_outcome_batches (
        id bigserial PRIMARY KEY,
        execution_id varchar(100) NOT NULL REFERENCES workflow_executions(execution_id) ON DELETE CASCADE,
        step_key varchar(100) NOT NULL,
        attempt integer NOT NULL,
        item_count integer NOT NULL CHECK (item_count > 0),
        items json NOT NULL,
        recorded_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX "IDX_item_outcome_batches_run" ON item_outcome_batches (execution_id, step_key)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS item_outcome_batches`);
  }
}
