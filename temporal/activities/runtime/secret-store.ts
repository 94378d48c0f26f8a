import type { DataSource } from 'typeorm';
import type { AppConfig } from '@src/config/config';
import {
  ChainedSecretResolver,
  EncryptedStoreSecretResolver,
  EnvSecretResolver,
  type SecretResolver,
} from '@engine/activities/shared/secrets';
import { decryptSecret, encryptSecret, parseMasterKey, type StoredSecret } from '@engine/activities/shared/secret-crypto';
import { SecretScrubber } from '@engine/activities/runtime/secret-scrubber';
import type { Logger } from '@src/logging/logger';

/**
 * The worker's secrets: the encrypted `secrets` table first (when a master
 * key is configured), then the environment. Values are resolved inside
 * activities only and never leave them.
 */
export function createSecretResolver(config: AppConfig, dataSource: DataSource, env: NodeJS.ProcessEnv = process.env): SecretResolver {
  const resolvers: SecretResolver[] = [];
  if (config.security.masterKey) {
    const key = parseMasterKey(config.security.masterKey);
    resolvers.push(
      new EncryptedStoreSecretResolver({
        key,
        load: async (name) => {
          const rows: StoredSecret[] = await dataSource.query(`SELECT ciphertext, iv, tag FROM secrets WHERE name = $1`, [name]);
          // "Last used" for the secrets list; at most one write a minute per secret, and never a reason to fail the step.
          if (rows[0]) {
            await dataSource
              .query(`UPDATE secrets SET last_used_at = now() WHERE name = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`, [name])
              .catch(() => undefined);
          }
          return rows[0] ?? null;
        },
      }),
    );
  }
  resolvers.push(new EnvSecretResolver(env));
  return new ChainedSecretResolver(resolvers);
}

/** Stores (or replaces) a secret, encrypted under the master key. */
export async function storeSecret(config: AppConfig, dataSource: DataSource, name: string, value: string, by: string | null = null): Promise<void> {
  if (!config.security.masterKey) throw new Error('MERCHFLOW_MASTER_KEY is not set: secrets cannot be stored encrypted');
  const enc = encryptSecret(name, value, parseMasterKey(config.security.masterKey));
  await dataSource.query(
    `INSERT INTO secrets (name, ciphertext, iv, tag, created_by) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (name) DO UPDATE SET ciphertext = EXCLUDED.ciphertext, iv = EXCLUDED.iv, tag = EXCLUDED.tag, updated_at = now()`,
    [name, enc.ciphertext, enc.iv, enc.tag, by],
  );
}

/**
 * Every secret value the worker could hand out: each row of the encrypted
 * store it can decrypt (rows under another key are skipped: they cannot be
 * resolved either) and every `MERCHFLOW_SECRET_*` variable.
 */
export async function loadSecretValues(config: AppConfig, dataSource: DataSource, env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const values = new EnvSecretResolver(env).values();
  if (config.security.masterKey) {
    const key = parseMasterKey(config.security.masterKey);
    const rows: Array<StoredSecret & { name: string }> = await dataSource.query(`SELECT name, ciphertext, iv, tag FROM secrets`);
    for (const row of rows) {
      try {
        values.push(decryptSecret(row.name, row, key));
      } catch {
        /* not ours to read */
      }
    }
  }
  return values;
}

/** The worker-wide scrubber over {@link loadSecretValues}, reloaded at most every few seconds. */
export function createSecretScrubber(config: AppConfig, dataSource: DataSource, logger?: Logger, env: NodeJS.ProcessEnv = process.env): SecretScrubber {
  return new SecretScrubber({
    load: () => loadSecretValues(config, dataSource, env),
    minLength: config.security.scrubMinLength,
    onStale: (err) => logger?.warn('could not reload secret values to scrub; keeping the previous ones', { error: err }),
  });
}
