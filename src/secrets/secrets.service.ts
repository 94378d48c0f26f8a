/**
 * The secret store behind the API, the CLI and the connection test: values
 * are written encrypted (AES-256-GCM under the master key, the secret's name
 * as associated data) and never read back out of this service except by
 * {@link SecretsService.resolve}, which only the connection test uses to
 * authenticate its one request. Listing returns names and times only.
 */
import type { DataSource, EntityManager } from 'typeorm';
import { updated } from '@src/database/query-result';
import { AppError, ConflictError, NotFoundError, ValidationFailedError } from '@src/common/errors';
import { decryptSecret, encryptSecret, parseMasterKey, type StoredSecret } from '@engine/activities/shared/secret-crypto';
import { ENV_SECRET_PREFIX, SECRET_NAME_PATTERN } from '@engine/activities/shared/secrets';

/** What anyone may see of a secret: never its value. */
export interface SecretInfo {
  name: string;
  description: string;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
  last_used_at: Date | null;
}

/** The longest value accepted (a PEM key fits; a file does not). */
export const MAX_SECRET_BYTES = 64 * 1024;

const INFO_COLUMNS = `name, description, created_by, created_at, updated_at, last_used_at`;

/** Throws VALIDATION_FAILED naming `field` unless `name` is a valid secret name. */
export function assertValidSecretName(name: unknown, field = 'name'): asserts name is string {
  if (typeof name !== 'string' || !SECRET_NAME_PATTERN.test(name)) {
    throw new ValidationFailedError([{ field, message: 'must start with a letter, then letters, digits, "_", "." or "-" (at most 128 characters)' }]);
  }
}

function assertValidValue(value: unknown): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) throw new ValidationFailedError([{ field: 'value', message: 'must be a non-empty string' }]);
  if (Buffer.byteLength(value, 'utf8') > MAX_SECRET_BYTES) throw new ValidationFailedError([{ field: 'value', message: `must be at most ${MAX_SECRET_BYTES} bytes` }]);
}

export class SecretsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly masterKey: string | null,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  private key(): Buffer {
    if (!this.masterKey) {
      throw new AppError('MASTER_KEY_MISSING', 'the secret store needs MERCHFLOW_MASTER_KEY (npm start keeps a development key in .data/dev-master-key)', 503);
    }
    return parseMasterKey(this.masterKey);
  }

  async list(): Promise<SecretInfo[]> {
    return this.dataSource.query(`SELECT ${INFO_COLUMNS} FROM secrets ORDER BY name`);
  }

  async get(name: string): Promise<SecretInfo> {
    assertValidSecretName(name);
    const rows: SecretInfo[] = await this.dataSource.query(`SELECT ${INFO_COLUMNS} FROM secrets WHERE name = $1`, [name]);
    if (!rows[0]) throw new NotFoundError('Secret', name);
    return rows[0];
  }

  /**
   * Stores `value` under `name`, replacing any value it had. With
   * `mustBeNew`, an existing name is a 409 instead.
   */
  async set(input: { name: unknown; value: unknown; description?: unknown; actor?: string | null; mustBeNew?: boolean }): Promise<{ secret: SecretInfo; created: boolean }> {
    assertValidSecretName(input.name);
    assertValidValue(input.value);
    if (input.description !== undefined && (typeof input.description !== 'string' || input.description.length > 1000)) {
      throw new ValidationFailedError([{ field: 'description', message: 'must be a string of at most 1000 characters' }]);
    }
    const enc = encryptSecret(input.name, input.value, this.key());
    const rows: Array<SecretInfo & { inserted: boolean }> = await this.dataSource.query(
      `INSERT INTO secrets (name, ciphertext, iv, tag, description, created_by) VALUES ($1, $2, $3, $4, COALESCE($5, ''), $6)
       ON CONFLICT (name) DO ${input.mustBeNew ? 'NOTHING' : `UPDATE SET ciphertext = EXCLUDED.ciphertext, iv = EXCLUDED.iv, tag = EXCLUDED.tag,
         description = COALESCE($5, secrets.description), updated_at = now()`}
       RETURNING ${INFO_COLUMNS}, (xmax = 0) AS inserted`,
      [input.name, enc.ciphertext, enc.iv, enc.tag, input.description ?? null, input.actor ?? null],
    );
    if (!rows[0]) throw new ConflictError('SECRET_EXISTS', `secret ${input.name} already exists: set a new value with PUT /secrets/${input.name}/`, { secret: input.name });
    const { inserted, ...secret } = rows[0];
    return { secret, created: inserted };
  }

  /** Deletes a secret; refused (409) while a connection or channel names it. */
  async delete(name: string): Promise<SecretInfo> {
    const info = await this.get(name);
    const users = await this.usedBy(name);
    if (users.length > 0) {
      throw new ConflictError('SECRET_IN_USE', `secret ${name} is used by ${users.join(', ')}: point them at another secret first`, { secret: name, used_by: users });
    }
    await this.dataSource.query(`DELETE FROM secrets WHERE name = $1`, [name]);
    return info;
  }

  /** Connections (and channels) whose credentials name this secret, as `suppliers/3` etc. */
  async usedBy(name: string): Promise<string[]> {
    const rows: Array<{ ref: string }> = await this.dataSource.query(
      `SELECT 'suppliers/' || id || ' (' || code || ')' AS ref FROM suppliers WHERE credentials->>'secret' = $1
       UNION ALL SELECT 'marketplaces/' || id || ' (' || code || ')' FROM marketplaces WHERE credentials->>'secret' = $1
       UNION ALL SELECT 'carriers/' || id || ' (' || code || ')' FROM carriers WHERE credentials->>'secret' = $1`,
      [name],
    );
    return rows.map((r) => r.ref);
  }

  /** Whether the worker could resolve `name`: a stored secret or a `MERCHFLOW_SECRET_<NAME>` variable. */
  async exists(name: string): Promise<boolean> {
    const rows = await this.dataSource.query(`SELECT 1 FROM secrets WHERE name = $1`, [name]);
    return rows.length > 0 || Boolean(this.env[`${ENV_SECRET_PREFIX}${name.toUpperCase().replace(/[^A-Z0-9_]/g, '_')}`]);
  }

  /**
   * The value, for the one process-internal use that needs it (the
   * connection test's request). Marks the secret used. Never returned by any
   * endpoint.
   */
  async resolve(name: string): Promise<string | null> {
    const rows = updated<StoredSecret>(await this.dataSource.query(`UPDATE secrets SET last_used_at = now() WHERE name = $1 RETURNING ciphertext, iv, tag`, [name]));
    if (rows[0]) return decryptSecret(name, rows[0], this.key());
    const env = this.env[`${ENV_SECRET_PREFIX}${name.toUpperCase().replace(/[^A-Z0-9_]/g, '_')}`];
    return env ? env : null;
  }

  /**
   * Re-encrypts every stored secret under `newKey`, in one transaction: all
   * rows move to the new key or none does (a row the current key cannot
   * decrypt aborts the rotation, naming it). Restart the API and the worker
   * with the new MERCHFLOW_MASTER_KEY afterwards.
   */
  async rotateMasterKey(newKeyRaw: string): Promise<{ rotated: number }> {
    const oldKey = this.key();
    let newKey: Buffer;
    try {
      newKey = parseMasterKey(newKeyRaw);
    } catch (err) {
      throw new ValidationFailedError([{ field: 'new_master_key', message: (err as Error).message }]);
    }
    if (newKey.equals(oldKey)) throw new ValidationFailedError([{ field: 'new_master_key', message: 'is the current master key' }]);
    return this.dataSource.transaction(async (m: EntityManager) => {
      const rows: Array<StoredSecret & { name: string }> = await m.query(`SELECT name, ciphertext, iv, tag FROM secrets ORDER BY name FOR UPDATE`);
      for (const row of rows) {
        let value: string;
        try {
          value = decryptSecret(row.name, row, oldKey);
        } catch {
          throw new AppError('SECRET_DECRYPT_FAILED', `secret ${row.name} cannot be decrypted with the current master key; nothing was rotated`, 409, { secret: row.name });
        }
        const enc = encryptSecret(row.name, value, newKey);
        await m.query(`UPDATE secrets SET ciphertext = $2, iv = $3, tag = $4 WHERE name = $1`, [row.name, enc.ciphertext, enc.iv, enc.tag]);
      }
      return { rotated: rows.length };
    });
  }
}
