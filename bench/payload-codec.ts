/**
 * Cost of payload encryption per Temporal payload, side by side with the
 * baseline every payload pays anyway (JSON payload conversion both ways).
 * Pure: no Temporal, no database.
 *
 *   npm run bench -- payload-codec [runs]
 *
 * For 1 KiB, 16 KiB and 256 KiB (the claim-check threshold) payloads prints
 * the median microseconds of a round trip without and with the codec and the
 * ratio with/without.
 */
import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter } from '@temporalio/common';
import { EncryptionCodec } from '@engine/codec/encryption-codec';

const RUNS = Number(process.argv[2] ?? 7);
const codec = new EncryptionCodec({ activeKeyId: 'bench', keys: new Map([['bench', randomBytes(32)]]) });

function products(bytes: number): unknown[] {
  const out: unknown[] = [];
  let size = 2;
  for (let i = 0; size < bytes; i++) {
    const p = { sku: `SKU-${String(i).padStart(7, '0')}`, name: `Desk lamp model ${i}`, price: 19.99 + i, qty: i % 11, tags: ['lamp', 'desk'] };
    size += JSON.stringify(p).length + 1;
    out.push(p);
  }
  return out;
}

async function timeIt(iterations: number, fn: () => Promise<void>): Promise<number> {
  const samples: number[] = [];
  await fn(); // warm-up
  for (let r = 0; r < RUNS; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) await fn();
    samples.push(Number(process.hrtime.bigint() - t0) / 1000 / iterations);
  }
  return samples.sort((a, b) => a - b)[Math.floor(samples.length / 2)];
}

async function main(): Promise<void> {
  console.log(`payload round trip (convert, [encrypt, decrypt,] convert back), median of ${RUNS} runs`);
  console.log('size      baseline µs   with codec µs   ratio');
  for (const [label, bytes, iterations] of [['1 KiB', 1024, 2000], ['16 KiB', 16 * 1024, 500], ['256 KiB', 256 * 1024, 40]] as const) {
    const value = products(bytes);
    const baseline = await timeIt(iterations, async () => {
      defaultPayloadConverter.fromPayload(defaultPayloadConverter.toPayload(value));
    });
    const withCodec = await timeIt(iterations, async () => {
      const [enc] = await codec.encode([defaultPayloadConverter.toPayload(value)]);
      const [dec] = await codec.decode([enc]);
      defaultPayloadConverter.fromPayload(dec);
    });
    console.log(`${label.padEnd(9)} ${baseline.toFixed(1).padStart(11)}   ${withCodec.toFixed(1).padStart(13)}   ${(withCodec / baseline).toFixed(2)}x`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
