import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Every change to an API key (created, revoked, expiry moved, role changed,
 * deleted) is announced on the `merchflow_api_keys` channel with the key's id, so
 * every API replica drops what it cached at once, whoever made the change
 * (the API, the CLI, or SQL by hand).
 */
export class ApiKeyChanges1796211220482 implements MigrationInterface {
  name = 'ApiKeyChanges1796211220482';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE OR REPLACE FUNCTION merchflow_api_keys_notify() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('merchflow_api_keys', (CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END)::text);
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE TRIGGER api_keys_changed
        AFTER INSERT OR UPDATE OF revoked_at, expires_at, role, key_hash OR DELETE ON api_keys
        FOR EACH ROW EXECUTE FUNCTION merchflow_api_keys_notify()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER IF EXISTS api_keys_changed ON api_keys`);
    await q.query(`DROP FUNCTION IF EXISTS merchflow_api_keys_notify()`);
  }
}
