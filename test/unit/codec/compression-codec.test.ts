import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { COMPRESSED_ENCODING, CompressionCodec, MAX_INFLATED_BYTES, PayloadInflateError } from '@engine/codec/compression-codec';
import { ENCRYPTED_ENCODING } from '@engine/codec/encryption-codec';
import { decodeWith, encodeWith, payloadCodecs } from '@engine/codec/data-converter';

const text = (b: Uint8Array | null | undefined) => Buffer.from(b ?? []).toString('utf8');
const size = (p: Payload) => (p.data?.length ?? 0) + Object.entries(p.metadata ?? {}).reduce((n, [k, v]) => n + k.length + v.length, 0);
/** A start input's shape: a definition of ten steps, repetitive as definitions are. */
const definition = {
  definition: { code: 'import', steps: Array.from({ length: 10 }, (_, i) => ({ key: `step_${i}`, step_type: 'data_transform', name: `Step ${i}`, timeout_seconds: 60 })) },
  input: { supplier_id: 1 },
};

describe(CompressionCodec.name, () => {
  it('stores a large payload compressed and gives back the same value', async () => {
    const sut = new CompressionCodec(256);
    const plain = defaultPayloadConverter.toPayload(definition);
    const [encoded] = await sut.encode([plain]);
    assert.equal(text(encoded.metadata!.encoding), COMPRESSED_ENCODING);
    assert.ok(size(encoded) < size(plain) / 2, `${size(encoded)} bytes compressed vs ${size(plain)}`);
    const [decoded] = await sut.decode([encoded]);
    assert.equal(text(decoded.metadata!.encoding), 'json/plain');
    assert.deepEqual(defaultPayloadConverter.fromPayload(decoded), definition);
  });

  it('leaves small, incompressible and (when off) all payloads as they are', async () => {
    const small = defaultPayloadConverter.toPayload({ step_ref: { version_id: 1 }, input: { n: 1 } });
    const noise = defaultPayloadConverter.toPayload(randomBytes(2048));
    const large = defaultPayloadConverter.toPayload(definition);
    assert.deepEqual(await new CompressionCodec(256).encode([small, noise]), [small, noise]);
    assert.deepEqual(await new CompressionCodec(0).encode([large]), [large], '0 turns compression off');
    assert.deepEqual(await new CompressionCodec(256).decode([small, noise]), [small, noise], 'decode passes through what it did not compress');
  });

  it('refuses a payload that inflates past the bound, and a corrupt one, naming why', async () => {
    const sut = new CompressionCodec(256);
    const bomb: Payload = { metadata: { encoding: Buffer.from(COMPRESSED_ENCODING) }, data: deflateRawSync(Buffer.alloc(MAX_INFLATED_BYTES + 1)) };
    await assert.rejects(sut.decode([bomb]), (e: unknown) => e instanceof PayloadInflateError && /inflates past/.test(e.message));
    const corrupt: Payload = { metadata: { encoding: Buffer.from(COMPRESSED_ENCODING) }, data: Buffer.from('not deflate at all') };
    await assert.rejects(sut.decode([corrupt]), (e: unknown) => e instanceof PayloadInflateError && /corrupt/.test(e.message));
  });

  it('bounds what one decode call may inflate in all when asked (the codec endpoint), and refuses what inflates to no payload', async () => {
    const big = defaultPayloadConverter.toPayload('x'.repeat(600 * 1024));
    const [packed] = await new CompressionCodec(256).encode([big]);
    assert.equal(text(packed.metadata!.encoding), COMPRESSED_ENCODING);
    const bounded = new CompressionCodec(256, { maxInflatedPerCall: 1024 * 1024 });
    assert.equal((await bounded.decode([packed])).length, 1, 'one fits');
    await assert.rejects(bounded.decode([packed, packed]), (e: unknown) => e instanceof PayloadInflateError, 'two do not');
    assert.equal((await new CompressionCodec(256).decode([packed, packed, packed])).length, 3, 'unbounded for workers and clients');
    const notAPayload: Payload = { metadata: { encoding: Buffer.from(COMPRESSED_ENCODING) }, data: deflateRawSync(Buffer.from([0xff, 0xff, 0xff, 0xff])) };
    await assert.rejects(new CompressionCodec(256).decode([notAPayload]), (e: unknown) => e instanceof PayloadInflateError && /no Temporal payload/.test(e.message));
  });

  it('runs before encryption in the configured chain, and the chain decodes both ways back', async () => {
    const codecs = payloadCodecs({ payloadCompressMinBytes: 256, payloadEncryption: { enabled: true, activeKeyId: 'k1', keys: new Map([['k1', randomBytes(32)]]), source: 'PAYLOAD_KEYS' } });
    const large = defaultPayloadConverter.toPayload(definition);
    const [encoded] = await encodeWith(codecs, [large]);
    assert.equal(text(encoded.metadata!.encoding), ENCRYPTED_ENCODING);
    // Encrypted after compression: the ciphertext is about the compressed size, not the plain one.
    assert.ok(size(encoded) < size(large) / 2, `${size(encoded)} bytes encrypted vs ${size(large)} plain`);
    const [decoded] = await decodeWith(codecs, [encoded]);
    assert.deepEqual(defaultPayloadConverter.fromPayload(decoded), definition);
  });
});
