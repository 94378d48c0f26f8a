import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * API keys (stored as sha256 hashes, found by their visible prefix) with a
 * role each; and, on schedules, the definition version the Temporal Schedule's
 * action pins and the last error met while syncing it.
 */
export class ApiKeys1764230800000 implements MigrationInterface {
  name = 'ApiKeys1764230800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE api_keys (
        id serial PRIMARY KEY,
        name varchar(100) NOT NULL,
        prefix varchar(32) NOT NULL,
        key_hash char(64) NOT NULL,
        role varchar(10) NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
        source varchar(10) NOT NULL DEFAULT 'api' CHECK (source IN ('api', 'cli', 'env')),
        created_by varchar(150),
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz,
        last_used_at timestamptz,
        revoked_at timestamptz,
        CONSTRAINT "UQ_api_keys_prefix" UNIQUE (prefix),
        CONSTRAINT "UQ_api_keys_key_hash" UNIQUE (key_hash)
      )`);
    await q.query(`ALTER TABLE workflow_schedules ADD COLUMN workflow_version integer, ADD COLUMN sync_error text`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE workflow_schedules DROP COLUMN IF EXISTS workflow_version, DROP COLUMN IF EXISTS sync_error`);
    await q.query(`DROP TABLE IF EXISTS api_keys`);
  }
}
