import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Secrets referenced by name from step configs, stored AES-256-GCM encrypted under the master key. */
export class Secrets1764230500000 implements MigrationInterface {
  name = 'Secrets1764230500000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE secrets (
        name varchar(128) PRIMARY KEY,
        ciphertext bytea NOT NULL,
        iv bytea NOT NULL,
        tag bytea NOT NULL,
        description text NOT NULL DEFAULT '',
        created_by varchar(150),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS secrets`);
  }
}
