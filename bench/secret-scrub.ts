/**
 * What the worker-wide secret scrubber adds to each step result, against the
 * serialisation Temporal does anyway (baseline: one JSON.stringify of the same
 * output), side by side in one process. Pure: no Temporal, no database.
 *
 *   npm run bench -- secret-scrub [items] [runs]
 *
 * Prints the median of `runs` runs (after one warm-up) per case and its ratio
 * to the baseline.
 */
import { randomBytes } from 'node:crypto';
import { SecretScrubber } from '@engine/activities/runtime/secret-scrubber';

const ITEMS = Number(process.argv[2] ?? 10_000);
const RUNS = Number(process.argv[3] ?? 7);

function products(n: number, leak?: string): Array<Record<string, unknown>> {
  return Array.from({ length: n }, (_, i) => ({
    sku: `SKU-${String(i).padStart(7, '0')}`,
    title: `Desk lamp model ${i}`,
    price: (i % 500) + 0.99,
    stock: i % 11,
    supplier: { id: i % 17, name: `Supplier ${i % 17}` },
    images: [{ url: `https://cdn.example.com/p/${i}.jpg` }],
    note: leak && i === n - 1 ? `echoed ${leak}` : 'ok',
  }));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function time(fn: () => unknown): number {
  fn();
  const out: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = process.hrtime.bigint();
    fn();
    out.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return median(out);
}

async function scrubberWith(count: number): Promise<{ sut: SecretScrubber; values: string[] }> {
  const values = Array.from({ length: count }, () => `sk_${randomBytes(16).toString('base64url')}`);
  const sut = new SecretScrubber({ load: async () => values });
  await sut.refresh();
  return { sut, values };
}

async function main(): Promise<void> {
  const clean = products(ITEMS);
  const baseline = time(() => JSON.stringify(clean));
  const rows: Array<[string, number]> = [];
  for (const count of [1, 10, 100]) {
    const { sut, values } = await scrubberWith(count);
    rows.push([`${count} secrets, clean output`, time(() => sut.scrub(clean))]);
    const leaky = products(ITEMS, values[values.length - 1]);
    rows.push([`${count} secrets, one value echoed`, time(() => sut.scrub(leaky))]);
  }
  console.log(`secret-scrub: ${ITEMS} items (${(JSON.stringify(clean).length / 1e6).toFixed(1)} MB of JSON), median of ${RUNS}`);
  console.log(`  ${'baseline: JSON.stringify'.padEnd(34)} ${baseline.toFixed(2).padStart(8)} ms  1.00x`);
  for (const [name, ms] of rows) console.log(`  ${name.padEnd(34)} ${ms.toFixed(2).padStart(8)} ms  ${(ms / baseline).toFixed(2)}x`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
