import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';

/** `metadata.encoding` of a compressed payload: raw DEFLATE of the protobuf `Payload` it stands for. */
export const COMPRESSED_ENCODING = 'binary/deflate';

/**
 * The most a compressed payload may inflate to. Temporal refuses payloads over
 * 2 MiB (its blob size limit), so nothing it stored inflates past this; the
 * bound keeps a crafted payload sent to the codec endpoint from inflating
 * without limit.
 */
export const MAX_INFLATED_BYTES = 16 * 1024 * 1024;

/** What compression must save for a payload to be stored compressed: the new metadata costs about this much. */
const MIN_SAVING_BYTES = 32;

const utf8 = new TextEncoder();
const text = new TextDecoder();
const PayloadProto = temporal.api.common.v1.Payload;

/** A compressed payload the codec cannot inflate (corrupt, or larger than MAX_INFLATED_BYTES). */
export class PayloadInflateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PayloadInflateError';
  }
}

/**
 * Compresses large Temporal payloads (a run's start input with its definition,
 * the Web UI's run details, a run's result): each payload of at least
 * `minBytes` (as a protobuf `Payload`, metadata and all) is stored as raw
 * DEFLATE with `encoding: binary/deflate`, when that saves at least 32 bytes;
 * smaller ones (a step's input by reference, its result) pass unchanged.
 * Runs first in the codec chain, before encryption (ciphertext does not
 * compress). Decode inflates what it compressed and passes every other
 * payload through, so histories written before it, or with it off
 * (`minBytes` 0), read the same. Level 6 (zlib's default): a 1 KB start input
 * takes tens of microseconds.
 */
export class CompressionCodec implements PayloadCodec {
  /**
   * `maxInflatedPerCall`: the most one decode call may inflate in all (the codec endpoint's bound: a 1 MB request
   * of compressed payloads must not become gigabytes); none for workers and clients, which decode whole histories.
   */
  constructor(
    private readonly minBytes: number,
    private readonly opts: { maxInflatedPerCall?: number } = {},
  ) {}

  async encode(payloads: Payload[]): Promise<Payload[]> {
    if (this.minBytes <= 0) return payloads;
    return payloads.map((p) => this.encodeOne(p));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    let budget = this.opts.maxInflatedPerCall ?? Number.POSITIVE_INFINITY;
    return payloads.map((p) => {
      const out = decodeOne(p, Math.min(MAX_INFLATED_BYTES, budget));
      if (isCompressed(p)) budget -= out.inflated;
      return out.payload;
    });
  }

  private encodeOne(p: Payload): Payload {
    // A payload's data and metadata: cheaper to size than to encode, and most payloads are small.
    if ((p.data?.length ?? 0) + 32 < this.minBytes) return p;
    const plain = PayloadProto.encode(p).finish();
    if (plain.length < this.minBytes) return p;
    const packed = deflateRawSync(plain);
    if (packed.length + MIN_SAVING_BYTES > plain.length) return p;
    return { metadata: { encoding: utf8.encode(COMPRESSED_ENCODING) }, data: packed };
  }
}

/** True when `p` is a payload this codec compressed. */
export function isCompressed(p: Payload): boolean {
  const encoding = p.metadata?.encoding;
  return encoding !== undefined && encoding !== null && text.decode(encoding) === COMPRESSED_ENCODING;
}

function decodeOne(p: Payload, maxBytes: number): { payload: Payload; inflated: number } {
  if (!isCompressed(p)) return { payload: p, inflated: 0 };
  if (maxBytes <= 0) throw new PayloadInflateError(`the compressed payloads of one request inflate past the bound of a request`);
  let plain: Buffer;
  try {
    plain = inflateRawSync(p.data ?? new Uint8Array(), { maxOutputLength: maxBytes });
  } catch (err) {
    const tooLarge = (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
    throw new PayloadInflateError(tooLarge ? `a compressed payload inflates past ${maxBytes} bytes` : 'a compressed payload is corrupt');
  }
  try {
    return { payload: PayloadProto.decode(plain), inflated: plain.length };
  } catch {
    throw new PayloadInflateError('a compressed payload is corrupt: it inflates to no Temporal payload');
  }
}
