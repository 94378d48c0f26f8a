import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { EncryptionCodec, ENCRYPTED_ENCODING, KEY_ID_METADATA, PayloadCodecError } from '@engine/codec/encryption-codec';
import { decodeHistoryPayloads } from '@engine/codec/data-converter';

const oldKey = randomBytes(32);
const newKey = randomBytes(32);
const text = (b: Uint8Array | null | undefined) => Buffer.from(b ?? []).toString('utf8');
const canary = { api_key: 'sk-canary-4f1e9b', items: [1, 2, 3], note: 'ünïcödé' };

function sutWith(active: string | null, keys: Record<string, Buffer>): EncryptionCodec {
  return new EncryptionCodec({ activeKeyId: active, keys: new Map(Object.entries(keys)) });
}

describe(EncryptionCodec.name, () => {
  it('round-trips payloads, hiding the value and its encoding', async () => {
    const sut = sutWith('k1', { k1: oldKey });
    const plain = [defaultPayloadConverter.toPayload(canary), defaultPayloadConverter.toPayload(null), defaultPayloadConverter.toPayload(new Uint8Array([0, 255]))];
    const encoded = await sut.encode(plain);
    assert.equal(encoded.length, 3);
    for (const p of encoded) {
      assert.equal(text(p.metadata!.encoding), ENCRYPTED_ENCODING);
      assert.equal(text(p.metadata![KEY_ID_METADATA]), 'k1');
      assert.ok(!text(p.data).includes('sk-canary'), 'the value is not in clear');
      assert.ok(!text(p.data).includes('json/plain'), 'the inner encoding is not in clear');
    }
    const decoded = await sut.decode(encoded);
    assert.deepEqual(defaultPayloadConverter.fromPayload(decoded[0]), canary);
    assert.equal(defaultPayloadConverter.fromPayload(decoded[1]), null);
    assert.deepEqual([...(defaultPayloadConverter.fromPayload(decoded[2]) as Uint8Array)], [0, 255]);
  });

  it('uses a fresh IV for every payload', async () => {
    const sut = sutWith('k1', { k1: oldKey });
    const p = defaultPayloadConverter.toPayload(canary);
    const [a, b] = await sut.encode([p, p]);
    assert.notDeepEqual(Buffer.from(a.data!), Buffer.from(b.data!));
  });

  it('detects a tampered ciphertext, IV or tag', async () => {
    const sut = sutWith('k1', { k1: oldKey });
    const [enc] = await sut.encode([defaultPayloadConverter.toPayload(canary)]);
    for (const at of [0, 20, enc.data!.length - 1]) {
      const data = Buffer.from(enc.data!);
      data[at] ^= 0x01;
      await assert.rejects(sut.decode([{ ...enc, data }]), (err: PayloadCodecError) => err.code === 'PAYLOAD_DECRYPT_FAILED' && /altered/.test(err.message));
    }
    await assert.rejects(sut.decode([{ ...enc, data: Buffer.from(enc.data!).subarray(0, 10) }]), /too short/);
  });

  it('refuses a payload relabelled with another key id (the id is authenticated)', async () => {
    const sut = sutWith('k1', { k1: oldKey, k2: oldKey });
    const [enc] = await sut.encode([defaultPayloadConverter.toPayload(canary)]);
    const relabelled: Payload = { data: enc.data, metadata: { ...enc.metadata, [KEY_ID_METADATA]: Buffer.from('k2') } };
    await assert.rejects(sut.decode([relabelled]), (err: PayloadCodecError) => err.code === 'PAYLOAD_DECRYPT_FAILED');
  });

  it('names an unknown key id without leaking key material', async () => {
    const [enc] = await sutWith('gone', { gone: oldKey }).encode([defaultPayloadConverter.toPayload(canary)]);
    const sut = sutWith('k2', { k2: newKey });
    await assert.rejects(sut.decode([enc]), (err: PayloadCodecError) => {
      assert.equal(err.code, 'PAYLOAD_KEY_UNKNOWN');
      assert.equal(err.keyId, 'gone');
      assert.match(err.message, /key id "gone"/);
      assert.ok(!err.message.includes(oldKey.toString('base64')));
      return true;
    });
  });

  it('still decodes payloads of a retired key after rotation to a new active key', async () => {
    const before = sutWith('2026-01', { '2026-01': oldKey });
    const [old] = await before.encode([defaultPayloadConverter.toPayload(canary)]);
    const sut = sutWith('2026-06', { '2026-01': oldKey, '2026-06': newKey });
    const [fresh] = await sut.encode([defaultPayloadConverter.toPayload(canary)]);
    assert.equal(text(fresh.metadata![KEY_ID_METADATA]), '2026-06');
    const [a, b] = await sut.decode([old, fresh]);
    assert.deepEqual(defaultPayloadConverter.fromPayload(a), canary);
    assert.deepEqual(defaultPayloadConverter.fromPayload(b), canary);
  });

  it('with no active key (encryption off) passes payloads through and still decrypts old ones', async () => {
    const [enc] = await sutWith('k1', { k1: oldKey }).encode([defaultPayloadConverter.toPayload(canary)]);
    const sut = sutWith(null, { k1: oldKey });
    const plain = defaultPayloadConverter.toPayload(canary);
    assert.deepEqual(await sut.encode([plain]), [plain]);
    assert.deepEqual(await sut.decode([plain]), [plain]);
    assert.deepEqual(defaultPayloadConverter.fromPayload((await sut.decode([enc]))[0]), canary);
  });

  it('rejects a keyring whose active key is missing or whose key is not 32 bytes', () => {
    assert.throws(() => sutWith('k9', { k1: oldKey }), /active payload key "k9"/);
    assert.throws(() => sutWith('k1', { k1: randomBytes(16) }), /32 bytes/);
  });
});

describe(decodeHistoryPayloads.name, () => {
  it('decrypts every payload wherever it sits in a history', async () => {
    const codec = sutWith('k1', { k1: oldKey });
    const [input, result, detail] = await codec.encode([
      defaultPayloadConverter.toPayload({ n: 1 }),
      defaultPayloadConverter.toPayload({ out: 'x' }),
      defaultPayloadConverter.toPayload('why'),
    ]);
    const history = {
      events: [
        { workflowExecutionStartedEventAttributes: { input: { payloads: [input] }, memo: { fields: {} } } },
        { activityTaskCompletedEventAttributes: { result: { payloads: [result] } } },
        { activityTaskFailedEventAttributes: { failure: { applicationFailureInfo: { details: { payloads: [detail] } } } } },
      ],
    };
    const sut = await decodeHistoryPayloads(history, [codec]);
    assert.deepEqual(defaultPayloadConverter.fromPayload(sut.events[0].workflowExecutionStartedEventAttributes!.input.payloads[0]), { n: 1 });
    assert.deepEqual(defaultPayloadConverter.fromPayload(sut.events[1].activityTaskCompletedEventAttributes!.result.payloads[0]), { out: 'x' });
    assert.equal(defaultPayloadConverter.fromPayload(sut.events[2].activityTaskFailedEventAttributes!.failure.applicationFailureInfo.details.payloads[0]), 'why');
  });
});
