import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import type { AppConfig } from '@src/config/config';
import { EncryptionCodec, type PayloadKeyring } from '@engine/codec/encryption-codec';
import { CompressionCodec } from '@engine/codec/compression-codec';

/** The keys of the configuration as the codec needs them (no active key when encryption is off). */
export function payloadKeyring(config: Pick<AppConfig, 'payloadEncryption'>): PayloadKeyring {
  const pe = config.payloadEncryption;
  return { activeKeyId: pe.enabled ? pe.activeKeyId : null, keys: pe.keys };
}

/**
 * The codec chain of this configuration, in encoding order: large payloads
 * compressed (TEMPORAL_PAYLOAD_COMPRESS_BYTES), then encrypted (PAYLOAD_ENCRYPTION).
 * Decoding runs it backwards and passes through what a codec did not encode.
 */
export function payloadCodecs(
  config: Pick<AppConfig, 'payloadEncryption' | 'payloadCompressMinBytes'>,
  opts: { maxInflatedPerCall?: number } = {},
): PayloadCodec[] {
  return [new CompressionCodec(config.payloadCompressMinBytes, opts), new EncryptionCodec(payloadKeyring(config))];
}

/**
 * The one data converter every Temporal client and worker of Merchflow uses
 * (API, worker, CLI, schedules, tests): the default payload converter, then the
 * codecs of {@link payloadCodecs}. Workflow code never sees them — codecs run in
 * the client and in the worker's main thread — so workflow histories replay unchanged.
 */
export function merchflowDataConverter(config: AppConfig): DataConverter {
  return { payloadCodecs: payloadCodecs(config) };
}

/** Encodes payloads through a codec chain (in order). */
export async function encodeWith(codecs: PayloadCodec[], payloads: Payload[]): Promise<Payload[]> {
  let out = payloads;
  for (const codec of codecs) out = await codec.encode(out);
  return out;
}

/** Decodes payloads through a codec chain (in reverse order of encoding). */
export async function decodeWith(codecs: PayloadCodec[], payloads: Payload[]): Promise<Payload[]> {
  let out = payloads;
  for (const codec of [...codecs].reverse()) out = await codec.decode(out);
  return out;
}

/** The payload codecs a client was built with. */
export function clientCodecs(client: Client): PayloadCodec[] {
  return client.options.loadedDataConverter.payloadCodecs;
}

function isPayload(v: unknown): v is Payload {
  if (v === null || typeof v !== 'object') return false;
  const metadata = (v as Payload).metadata;
  return metadata !== null && typeof metadata === 'object' && metadata.encoding instanceof Uint8Array;
}

/**
 * Decodes, in place, every payload of a history (or of any part of one) read
 * raw from Temporal with `fetchHistory()`, which returns payloads as stored.
 * Returns the same object, for chaining.
 */
export async function decodeHistoryPayloads<T>(history: T, codecs: PayloadCodec[]): Promise<T> {
  const stack: unknown[] = [history];
  const found: Payload[] = [];
  const seen = new Set<unknown>();
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object' || v instanceof Uint8Array || seen.has(v)) continue;
    seen.add(v);
    if (isPayload(v)) {
      found.push(v);
      continue;
    }
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push(child);
  }
  if (found.length === 0) return history;
  const decoded = await decodeWith(codecs, found);
  found.forEach((p, i) => {
    p.metadata = decoded[i].metadata;
    p.data = decoded[i].data;
  });
  return history;
}
