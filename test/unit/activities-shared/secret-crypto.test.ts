import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import {
  ChainedSecretResolver,
  EncryptedStoreSecretResolver,
  EnvSecretResolver,
  decryptSecret,
  encryptSecret,
  masterKeyFromEnv,
  parseMasterKey,
  type StoredSecret,
} from '@engine/activities/shared/secrets';
import { errorCode } from '@engine/activities/shared/errors';

const key = crypto.randomBytes(32);
const decryptFails = (err: unknown) => {
  assert.equal(errorCode(err), 'SECRET_DECRYPT_FAILED');
  return true;
};

describe(encryptSecret.name, () => {
  it('round-trips with a fresh 12-byte IV and a 16-byte tag', () => {
    const a = encryptSecret('SUPPLIER_TOKEN', 'tøken-ünïcode-✓', key);
    const b = encryptSecret('SUPPLIER_TOKEN', 'tøken-ünïcode-✓', key);
    assert.equal(a.iv.length, 12);
    assert.equal(a.tag.length, 16);
    assert.notDeepEqual(a.iv, b.iv);
    assert.notDeepEqual(a.ciphertext, b.ciphertext);
    assert.ok(!a.ciphertext.toString('utf8').includes('tøken'));
    assert.equal(decryptSecret('SUPPLIER_TOKEN', a, key), 'tøken-ünïcode-✓');
  });

  it('accepts base64 text records as a store might return them', () => {
    const r = encryptSecret('N', 'v', key);
    const stored: StoredSecret = { ciphertext: r.ciphertext.toString('base64'), iv: r.iv.toString('base64'), tag: new Uint8Array(r.tag) };
    assert.equal(decryptSecret('N', stored, key), 'v');
  });
});

describe(decryptSecret.name, () => {
  const record = encryptSecret('SHOP_KEY', 'shop-secret-value', key);

  it('detects a tampered ciphertext, tag or IV', () => {
    const flip = (b: Buffer) => {
      const c = Buffer.from(b);
      c[0] ^= 1;
      return c;
    };
    assert.throws(() => decryptSecret('SHOP_KEY', { ...record, ciphertext: flip(record.ciphertext) }, key), decryptFails);
    assert.throws(() => decryptSecret('SHOP_KEY', { ...record, tag: flip(record.tag) }, key), decryptFails);
    assert.throws(() => decryptSecret('SHOP_KEY', { ...record, iv: flip(record.iv) }, key), decryptFails);
    assert.throws(() => decryptSecret('SHOP_KEY', { ...record, tag: record.tag.subarray(0, 8) }, key), decryptFails);
  });

  it('refuses a record moved to another name (associated data) or another key', () => {
    assert.throws(() => decryptSecret('OTHER_KEY', record, key), (err: unknown) => {
      decryptFails(err);
      assert.match((err as Error).message, /OTHER_KEY/);
      assert.doesNotMatch((err as Error).message, /shop-secret-value/);
      return true;
    });
    assert.throws(() => decryptSecret('SHOP_KEY', record, crypto.randomBytes(32)), decryptFails);
  });
});

describe(parseMasterKey.name, () => {
  it('accepts hex and base64 forms of 32 bytes', () => {
    assert.deepEqual(parseMasterKey(key.toString('hex')), key);
    assert.deepEqual(parseMasterKey(`hex:${key.toString('hex')}`), key);
    assert.deepEqual(parseMasterKey(key.toString('base64')), key);
    assert.deepEqual(parseMasterKey(key.toString('base64url')), key);
    assert.deepEqual(parseMasterKey(`base64:${key.toString('base64')}`), key);
  });

  it('derives a stable key from a passphrase with HKDF-SHA256', () => {
    const a = parseMasterKey('correct horse battery staple');
    assert.equal(a.length, 32);
    assert.deepEqual(parseMasterKey('correct horse battery staple'), a);
    assert.notDeepEqual(parseMasterKey('correct horse battery stapler'), a);
    assert.deepEqual(parseMasterKey('passphrase:correct horse battery staple'), a);
  });

  it('rejects weak or malformed keys', () => {
    for (const bad of ['', 'short', 'hex:abcd', `base64:${crypto.randomBytes(16).toString('base64')}`]) {
      assert.throws(() => parseMasterKey(bad), (err: unknown) => errorCode(err) === 'MASTER_KEY_INVALID', bad);
    }
    assert.throws(() => masterKeyFromEnv({}), (err: unknown) => errorCode(err) === 'MASTER_KEY_MISSING');
    assert.deepEqual(masterKeyFromEnv({ MERCHFLOW_MASTER_KEY: key.toString('hex') }), key);
  });
});

describe(EncryptedStoreSecretResolver.name, () => {
  const table = new Map<string, StoredSecret>([
    ['SUPPLIER_TOKEN', encryptSecret('SUPPLIER_TOKEN', 'from-store', key)],
    ['SWAPPED', encryptSecret('SUPPLIER_TOKEN', 'not-for-swapped', key)],
  ]);
  const sut = new EncryptedStoreSecretResolver({ key, load: async (name) => table.get(name) ?? null });

  it('decrypts what the store holds and reports unknown names', async () => {
    assert.equal(await sut.resolve('SUPPLIER_TOKEN'), 'from-store');
    await assert.rejects(sut.resolve('NOPE'), (err: unknown) => errorCode(err) === 'SECRET_NOT_FOUND');
    await assert.rejects(sut.resolve('SWAPPED'), decryptFails);
  });

  it('is consulted before the environment in a chain', async () => {
    const chain = new ChainedSecretResolver([sut, new EnvSecretResolver({ MERCHFLOW_SECRET_SUPPLIER_TOKEN: 'from-env', MERCHFLOW_SECRET_ONLY_ENV: 'env-only' })]);
    assert.equal(await chain.resolve('SUPPLIER_TOKEN'), 'from-store');
    assert.equal(await chain.resolve('ONLY_ENV'), 'env-only');
    await assert.rejects(chain.resolve('SWAPPED'), decryptFails);
  });
});
