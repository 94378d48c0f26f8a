import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { ErrorCodes } from '@engine/shared/contracts';

/** `metadata.encoding` of an encrypted payload (Temporal's convention, shown as such in the Web UI). */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
/** Metadata key naming the key a payload was encrypted with, so rotation never strands old histories. */
export const KEY_ID_METADATA = 'encryption-key-id';

const IV_BYTES = 12;
const TAG_BYTES = 16;
export const KEY_BYTES = 32;
/** Key ids: short, printable, safe in metadata, logs and env lists. */
export const KEY_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * The keys payloads are encrypted with: every key that may have encrypted a
 * payload still in some history (decode picks one by the payload's key id), and
 * the id of the one new payloads are encrypted with (null: encode leaves
 * payloads as they are, decode still works — the off switch keeps old
 * histories readable).
 */
export interface PayloadKeyring {
  activeKeyId: string | null;
  keys: ReadonlyMap<string, Buffer>;
}

/** A payload the codec cannot decrypt; `code` says why, and never carries key material. */
export class PayloadCodecError extends Error {
  constructor(
    readonly code: typeof ErrorCodes.PAYLOAD_KEY_UNKNOWN | typeof ErrorCodes.PAYLOAD_DECRYPT_FAILED,
    message: string,
    readonly keyId: string | null,
  ) {
    super(message);
    this.name = 'PayloadCodecError';
  }
}

const utf8 = new TextEncoder();
const text = new TextDecoder();

/**
 * AES-256-GCM payload codec. Each payload is serialised as a protobuf
 * `Payload` (metadata and data alike, so the encoding of the value is hidden
 * too), encrypted with a random 12-byte IV, and stored as `iv | ciphertext |
 * tag` with the metadata `encoding: binary/encrypted` and
 * `encryption-key-id: <id>`. The key id is bound as additional authenticated
 * data, so a payload relabelled with another key id fails to decrypt.
 * Payloads without the encrypted encoding pass through decode unchanged
 * (histories written before encryption was switched on stay readable).
 */
export class EncryptionCodec implements PayloadCodec {
  constructor(private readonly keyring: PayloadKeyring) {
    if (keyring.activeKeyId !== null && !keyring.keys.has(keyring.activeKeyId)) {
      throw new Error(`the active payload key "${keyring.activeKeyId}" is not among the configured keys`);
    }
    for (const [id, key] of keyring.keys) {
      if (key.length !== KEY_BYTES) throw new Error(`payload key "${id}" must be ${KEY_BYTES} bytes, got ${key.length}`);
    }
  }

  /** True when new payloads get encrypted. */
  get encrypting(): boolean {
    return this.keyring.activeKeyId !== null;
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const keyId = this.keyring.activeKeyId;
    if (keyId === null) return payloads;
    const key = this.keyring.keys.get(keyId)!;
    return payloads.map((p) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(aad(keyId));
      const plain = temporal.api.common.v1.Payload.encode(p).finish();
      const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return { metadata: { encoding: utf8.encode(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: utf8.encode(keyId) }, data };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => this.decodeOne(p));
  }

  private decodeOne(p: Payload): Payload {
    const encoding = p.metadata?.encoding;
    if (!encoding || text.decode(encoding) !== ENCRYPTED_ENCODING) return p;
    const rawId = p.metadata?.[KEY_ID_METADATA];
    const keyId = rawId ? text.decode(rawId) : null;
    if (keyId === null) throw new PayloadCodecError(ErrorCodes.PAYLOAD_DECRYPT_FAILED, `an encrypted payload has no "${KEY_ID_METADATA}" metadata`, null);
    const key = this.keyring.keys.get(keyId);
    if (!key) {
      throw new PayloadCodecError(
        ErrorCodes.PAYLOAD_KEY_UNKNOWN,
        `a payload is encrypted with key id "${keyId}", which is not among the configured keys (PAYLOAD_KEYS); keep retired keys configured until no history needs them`,
        keyId,
      );
    }
    const data = p.data ?? new Uint8Array();
    if (data.length < IV_BYTES + TAG_BYTES) throw new PayloadCodecError(ErrorCodes.PAYLOAD_DECRYPT_FAILED, `an encrypted payload (key id "${keyId}") is too short`, keyId);
    try {
      const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      const decipher = createDecipheriv('aes-256-gcm', key, buf.subarray(0, IV_BYTES));
      decipher.setAAD(aad(keyId));
      decipher.setAuthTag(buf.subarray(buf.length - TAG_BYTES));
      const plain = Buffer.concat([decipher.update(buf.subarray(IV_BYTES, buf.length - TAG_BYTES)), decipher.final()]);
      return temporal.api.common.v1.Payload.decode(plain);
    } catch {
      throw new PayloadCodecError(ErrorCodes.PAYLOAD_DECRYPT_FAILED, `an encrypted payload (key id "${keyId}") failed authentication: it was altered or encrypted with another key`, keyId);
    }
  }
}

function aad(keyId: string): Buffer {
  return Buffer.from(`merchflow-payload-v1:${keyId}`, 'utf8');
}

/** A new random key, base64, for PAYLOAD_KEYS. */
export function generatePayloadKey(): string {
  return randomBytes(KEY_BYTES).toString('base64');
}
