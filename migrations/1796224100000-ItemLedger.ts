import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The per-item ledger: what each item-wise step did with each item (ok,
 * invalid, failed, skipped), with the reason and, for items that did not go
 * through, the item itself (scrubbed of secrets) so an operator can see it and
 * re-run it. Stored a batch per row (parallel arrays, one element per item):
 * a 100,000-item step writes 50 rows rather than 100,000 index entries, which
 * is what keeps the ledger's cost to a few percent of the step's time
 * (docs/recovery.md). A retried attempt writes new batches; readers take each
 * item's latest outcome. Deleting a run deletes its ledger.
 */
export class ItemLedger1796224100000 implements MigrationInterface {
  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE item_outcome_batches (
        id bigserial PRIMARY KEY,
        execution_id varchar(100) NOT NULL REFERENCES workflow_executions(execution_id) ON DELETE CASCADE,
        step_key varchar(100) NOT NULL,
        attempt integer NOT NULL,
        item_refs text[] NOT NULL,
        item_keys text[] NOT NULL,
        item_indexes integer[] NOT NULL,
        statuses text[] NOT NULL,
        reason_codes text[] NOT NULL,
        messages text[] NOT NULL,
        payloads jsonb[] NOT NULL,
        recorded_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "CHK_item_outcome_batches_lengths" CHECK (
          cardinality(item_keys) = cardinality(item_refs) AND cardinality(item_indexes) = cardinality(item_refs)
          AND cardinality(statuses) = cardinality(item_refs) AND cardinality(reason_codes) = cardinality(item_refs)
          AND cardinality(messages) = cardinality(item_refs) AND cardinality(payloads) = cardinality(item_refs)),
        CONSTRAINT "CHK_item_outcome_batches_statuses" CHECK (statuses <@ ARRAY['ok', 'invalid', 'failed', 'skipped']::text[])
      )`);
    await q.query(`CREATE INDEX "IDX_item_outcome_batches_run" ON item_outcome_batches (execution_id, step_key)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS item_outcome_batches`);
  }
}
