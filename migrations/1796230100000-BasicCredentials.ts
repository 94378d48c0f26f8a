import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Connections may use `basic` credentials (the secret holds
 * `username:password`), for generic REST APIs and feeds behind HTTP Basic
 * auth. The checks still keep every value out of the column: only the type,
 * a secret NAME and a header name.
 */
export class BasicCredentials1796230100000 implements MigrationInterface {
  name = 'BasicCredentials1796230100000';

  private check(table: string, types: string[]): string {
    return `ALTER TABLE ${table} DROP CONSTRAINT "CHK_${table}_credentials", ADD CONSTRAINT "CHK_${table}_credentials" CHECK (
      jsonb_typeof(credentials) = 'object'
      AND (credentials - 'type' - 'secret' - 'header') = '{}'::jsonb
      AND COALESCE(credentials->>'type', 'none') IN (${types.map((t) => `'${t}'`).join(', ')})
      AND (credentials->>'secret' IS NULL OR credentials->>'secret' ~ '^[A-Za-z][A-Za-z0-9_.-]{0,127}$'))`;
  }

  async up(q: QueryRunner): Promise<void> {
    for (const table of ['suppliers', 'marketplaces', 'carriers']) await q.query(this.check(table, ['none', 'bearer', 'api_key', 'basic']));
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['suppliers', 'marketplaces', 'carriers']) {
      await q.query(`UPDATE ${table} SET credentials = '{}'::jsonb, is_active = false, disabled_at = COALESCE(disabled_at, now()) WHERE credentials->>'type' = 'basic'`);
      await q.query(this.check(table, ['none', 'bearer', 'api_key']));
    }
  }
}
