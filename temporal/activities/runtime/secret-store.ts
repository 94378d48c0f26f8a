import type { DataSource } from 'typeorm';
import type { AppConfig } from '@src/config/config';
import {
  ChainedSecretResolver,
  EncryptedStoreSecretResolver,
  EnvSecretResolver,
  type SecretResolver,
} from '@engine/activities/shared/secrets';
import { encryptSecret, parseMasterKey, type StoredSecret } from '@engine/activities/shared/secret-crypto';

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
