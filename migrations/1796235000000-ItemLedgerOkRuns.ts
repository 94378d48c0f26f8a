import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The ledger's ok items as runs of consecutive indexes: `ok_runs` holds
 * `[[first index, [key, key, ...]], ...]` for the ok items of a batch that
 * have an index and no reason (the bulk of a step's items), one array push
 * each on the worker instead of a JSON element each (docs/performance.md).
 * Every other outcome stays an element of `items`. Null in batches written
 * before, and in batches without such items.
 */
export class ItemLedgerOkRuns1796235000000 implements MigrationInterface {
  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE item_outcome_batches ADD COLUMN ok_runs json`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE item_outcome_batches DROP COLUMN IF EXISTS ok_runs`);
  }
}
