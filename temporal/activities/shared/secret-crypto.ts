/**
 * Encryption of stored secrets: AES-256-GCM under a 32-byte master key, a
 * random 12-byte IV per secret, and the secret's name as associated data so a
 * ciphertext copied to another name fails authentication.
 */
import crypto from 'node:crypto';
import { StepError } from '@engine/activities/shared/errors';
import { ErrorCodes } from '@engine/shared/contracts';

/** One encrypted secret as stored. Strings are base64. */
export interface EncryptedSecret {
  ciphertext: Buffer;
  iv: Buffer;
  tag: Buffer;
}

/** What a store may hand back: bytes (`bytea`) or base64 text. */
export interface StoredSecret {
  ciphertext: Buffer | Uint8Array | string;
  iv: Buffer | Uint8Array | string;
  tag: Buffer | Uint8Array | string;
}

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Fixed salt: the passphrase is the only input, and a per-install salt would need storing next to it. */
const HKDF_SALT = Buffer.from('merchflow/secrets/master-key/v1', 'utf8');
const HKDF_INFO = Buffer.from('aes-256-gcm', 'utf8');
const MIN_PASSPHRASE_LENGTH = 16;

/**
 * Turns `MERCHFLOW_MASTER_KEY` into a 32-byte key. Accepted forms:
 * - 64 hex characters, or `hex:<64 hex>`;
 * - base64 (or base64url) of 32 bytes, or `base64:<...>`;
 * - anything else (or `passphrase:<...>`, at least 16 characters) is a
 *   passphrase, stretched with HKDF-SHA256.
 *
 * @example parseMasterKey(crypto.randomBytes(32).toString('base64'))
 */
export function parseMasterKey(raw: string): Buffer {
  const value = raw.trim();
  if (!value) throw new StepError(ErrorCodes.MASTER_KEY_INVALID, 'master key is empty');
  const invalid = (why: string) => new StepError(ErrorCodes.MASTER_KEY_INVALID, `master key is invalid: ${why}`);
  const prefixed = /^(hex|base64|passphrase):(.*)$/s.exec(value);
  if (prefixed) {
    const [, kind, body] = prefixed;
    if (kind === 'hex') {
      if (!/^[0-9a-f]{64}$/i.test(body)) throw invalid('hex form needs 64 hex characters');
      return Buffer.from(body, 'hex');
    }
    if (kind === 'base64') {
      const key = decodeBase64Strict(body);
      if (!key || key.length !== KEY_BYTES) throw invalid('base64 form must decode to 32 bytes');
      return key;
    }
    return deriveFromPassphrase(body);
  }
  if (/^[0-9a-f]{64}$/i.test(value)) return Buffer.from(value, 'hex');
  const key = decodeBase64Strict(value);
  if (key && key.length === KEY_BYTES) return key;
  return deriveFromPassphrase(value);
}

function deriveFromPassphrase(passphrase: string): Buffer {
  if (passphrase.length < MIN_PASSPHRASE_LENGTH) {
    throw new StepError(
      ErrorCodes.MASTER_KEY_INVALID,
      `master key passphrase must be at least ${MIN_PASSPHRASE_LENGTH} characters (or give 32 bytes as hex/base64)`,
    );
  }
  return Buffer.from(crypto.hkdfSync('sha256', Buffer.from(passphrase, 'utf8'), HKDF_SALT, HKDF_INFO, KEY_BYTES));
}

/** Decodes base64 or base64url only when the text is exactly that (Buffer.from silently skips junk). */
function decodeBase64Strict(text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) return undefined;
  const normal = text.replace(/-/g, '+').replace(/_/g, '/');
  const buf = Buffer.from(normal, 'base64');
  return buf.toString('base64').replace(/=+$/, '') === normal.replace(/=+$/, '') ? buf : undefined;
}

/**
 * The master key from the environment (`MERCHFLOW_MASTER_KEY`).
 * Throws `MASTER_KEY_MISSING` when it is not set.
 */
export function masterKeyFromEnv(env: NodeJS.ProcessEnv = process.env): Buffer {
  const raw = env.MERCHFLOW_MASTER_KEY;
  if (!raw || !raw.trim()) throw new StepError(ErrorCodes.MASTER_KEY_MISSING, 'MERCHFLOW_MASTER_KEY is not set');
  return parseMasterKey(raw);
}

function assertKey(key: Buffer): void {
  if (!Buffer.isBuffer(key) || key.length !== KEY_BYTES) {
    throw new StepError(ErrorCodes.MASTER_KEY_INVALID, 'master key must be 32 bytes');
  }
}

/**
 * Encrypts `plaintext` for storage under `name`.
 *
 * @example const record = encryptSecret('SUPPLIER_TOKEN', 's3cr3t', key); // store record.ciphertext/iv/tag
 */
export function encryptSecret(name: string, plaintext: string, key: Buffer): EncryptedSecret {
  assertKey(key);
  const iv = crypto.randomBytes(IV_BYTES);
  const cipher = crypto.createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(name, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return { ciphertext, iv, tag: cipher.getAuthTag() };
}

function toBuffer(v: Buffer | Uint8Array | string): Buffer {
  return typeof v === 'string' ? Buffer.from(v, 'base64') : Buffer.from(v);
}

/**
 * Decrypts a stored secret, verifying its tag and that it was encrypted for
 * `name`. Any mismatch (wrong key, tampered bytes, another secret's record)
 * throws `SECRET_DECRYPT_FAILED`, which names the secret only.
 */
export function decryptSecret(name: string, record: StoredSecret, key: Buffer): string {
  assertKey(key);
  const iv = toBuffer(record.iv);
  const tag = toBuffer(record.tag);
  const fail = () => new StepError(ErrorCodes.SECRET_DECRYPT_FAILED, `secret ${JSON.stringify(name)} could not be decrypted`, { details: { secret: name } });
  // Fixed lengths: GCM would otherwise accept short tags, which weakens authentication.
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw fail();
  try {
    const decipher = crypto.createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(name, 'utf8'));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(toBuffer(record.ciphertext)), decipher.final()]).toString('utf8');
  } catch {
    throw fail();
  }
}
