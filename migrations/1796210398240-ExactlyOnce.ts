import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Exactly-once effects across overlapping runs (docs/exactly-once.md):
 * - `entity_claims`: a lease per business entity (`kind`, `entity_key`, e.g.
 *   `order`, `1:ord_000042`) with its owner (the execution id) and an expiry,
 *   taken with `FOR UPDATE SKIP LOCKED`, so overlapping runs split the work;
 *   `done` once the entity reached its final state.
 * - `listings.generation` / `listings.sync_generation`: the generation of a
 *   listing (a re-listing after delisting is a new one) and of its quantity
 *   pushes, part of the business idempotency keys of those effects.
 * - `workflow_executions.singleton_key`: at most one pending or running run
 *   per key (the order workflow per marketplace).
 */
export class ExactlyOnce1796210398240 implements MigrationInterface {
  name = 'ExactlyOnce1796210398240';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE entity_claims (
        kind varchar(30) NOT NULL,
        entity_key varchar(255) NOT NULL,
        owner varchar(100) NOT NULL,
        status varchar(10) NOT NULL DEFAULT 'claimed',
        expires_at timestamptz NOT NULL,
        claimed_at timestamptz NOT NULL DEFAULT now(),
        done_at timestamptz,
        claims integer NOT NULL DEFAULT 1,
        CONSTRAINT "PK_entity_claims" PRIMARY KEY (kind, entity_key),
        CONSTRAINT "CHK_entity_claims_status" CHECK (status IN ('claimed', 'done'))
      )`);
    await q.query(`CREATE INDEX "IDX_entity_claims_owner" ON entity_claims (owner)`);
    await q.query(`ALTER TABLE listings ADD COLUMN generation integer NOT NULL DEFAULT 1, ADD COLUMN sync_generation integer NOT NULL DEFAULT 0`);
    await q.query(`ALTER TABLE workflow_executions ADD COLUMN singleton_key varchar(200)`);
    await q.query(
      `CREATE UNIQUE INDEX "UQ_workflow_executions_singleton" ON workflow_executions (singleton_key) WHERE singleton_key IS NOT NULL AND status IN ('pending', 'running')`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS "UQ_workflow_executions_singleton"`);
    await q.query(`ALTER TABLE workflow_executions DROP COLUMN IF EXISTS singleton_key`);
    await q.query(`ALTER TABLE listings DROP COLUMN IF EXISTS generation, DROP COLUMN IF EXISTS sync_generation`);
    await q.query(`DROP TABLE IF EXISTS entity_claims`);
  }
}
