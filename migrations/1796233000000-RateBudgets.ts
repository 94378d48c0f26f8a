import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Shared rate budgets (issue 12 item 5): one token bucket per connection
 * (`supplier:3`, `marketplace:1`, `carrier:2`) that every run and every
 * worker process takes from, with the time a remote's 429 Retry-After
 * blocks it until, and concurrency leases that lapse on their own when a
 * worker dies. UNLOGGED: this is pacing state, not business data; after a
 * crash PostgreSQL empties these tables and buckets start full again, and
 * skipping the WAL keeps an acquisition cheap (see docs/rate-budgets.md).
 */
export class RateBudgets1796233000000 implements MigrationInterface {
  name = 'RateBudgets1796233000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE UNLOGGED TABLE rate_budget_buckets (
        connection_key varchar(80) PRIMARY KEY,
        tokens double precision NOT NULL,
        updated_at timestamptz NOT NULL,
        blocked_until timestamptz,
        granted boolean NOT NULL DEFAULT true,
        rate double precision,
        burst double precision,
        max_concurrent integer
      )`);
    await q.query(`
      CREATE UNLOGGED TABLE rate_budget_leases (
        connection_key varchar(80) NOT NULL,
        slot integer NOT NULL,
        holder uuid NOT NULL,
        expires_at timestamptz NOT NULL,
        PRIMARY KEY (connection_key, slot)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS rate_budget_leases`);
    await q.query(`DROP TABLE IF EXISTS rate_budget_buckets`);
  }
}
