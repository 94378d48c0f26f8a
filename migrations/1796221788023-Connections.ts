import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Connections as first-class resources: suppliers and marketplaces gain a
 * platform, a JSONata field mapping, a rate budget (stored; enforced by a
 * later change) and the time they were disabled; carriers get a table of
 * their own with the same shape; secrets record when the worker last used
 * them.
 */
export class Connections1796221788023 implements MigrationInterface {
  name = 'Connections1796221788023';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE secrets ADD COLUMN last_used_at timestamptz`);
    const platformCheck = (table: string) =>
      `CONSTRAINT "CHK_${table}_platform" CHECK (platform IN ('sandbox', 'generic_rest', 'feed', 'shopify', 'woocommerce'))`;
    for (const table of ['suppliers', 'marketplaces']) {
      await q.query(`ALTER TABLE ${table}
        ADD COLUMN platform varchar(30) NOT NULL DEFAULT 'sandbox',
        ADD COLUMN field_mapping jsonb NOT NULL DEFAULT '{}',
        ADD COLUMN rate_budget jsonb NOT NULL DEFAULT '{}',
        ADD COLUMN disabled_at timestamptz,
        ADD ${platformCheck(table)}`);
    }
    await q.query(`
      CREATE TABLE carriers (
        id serial PRIMARY KEY,
        code varchar(50) NOT NULL,
        name varchar(200) NOT NULL,
        api_base_url text NOT NULL,
        platform varchar(30) NOT NULL DEFAULT 'sandbox',
        credentials jsonb NOT NULL DEFAULT '{}',
        settings jsonb NOT NULL DEFAULT '{}',
        field_mapping jsonb NOT NULL DEFAULT '{}',
        rate_budget jsonb NOT NULL DEFAULT '{}',
        is_active boolean NOT NULL DEFAULT true,
        disabled_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "UQ_carriers_code" UNIQUE (code),
        ${platformCheck('carriers')},
        CONSTRAINT "CHK_carriers_credentials" CHECK (
          jsonb_typeof(credentials) = 'object'
          AND (credentials - 'type' - 'secret' - 'header') = '{}'::jsonb
          AND COALESCE(credentials->>'type', 'none') IN ('none', 'bearer', 'api_key')
          AND (credentials->>'secret' IS NULL OR credentials->>'secret' ~ '^[A-Za-z][A-Za-z0-9_.-]{0,127}$'))
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS carriers`);
    for (const table of ['suppliers', 'marketplaces']) {
      await q.query(`ALTER TABLE ${table} DROP CONSTRAINT "CHK_${table}_platform", DROP COLUMN platform, DROP COLUMN field_mapping, DROP COLUMN rate_budget, DROP COLUMN disabled_at`);
    }
    await q.query(`ALTER TABLE secrets DROP COLUMN last_used_at`);
  }
}
