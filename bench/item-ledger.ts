/**
 * The JavaScript side of the per-item ledger on its own: a 100,000-item
 * validation (10 % invalid) without a ledger and with one whose database only
 * counts the bytes it is sent (so PostgreSQL's share, measured by
 * `product-import --ledger-ab`, is left out). Runs interleaved, medians
 * printed with the ratio and the bytes a run sends.
 *
 *   npm run bench -- item-ledger [items] [runs]
 */
import { validateItems } from '@engine/activities/data_validate/validate';
import { ItemLedgerStore, type LedgerDatabase } from '@engine/activities/runtime/item-ledger';
import { loadAverage } from './support/proc';

const ITEMS = Number(process.argv[2] ?? 100_000);
const RUNS = Number(process.argv[3] ?? 15);

async function main(): Promise<void> {
  const items = Array.from({ length: ITEMS }, (_, i) => ({ sku: `SKU-${i}`, title: i % 10 === 3 ? '' : `Product ${i}`, price: (i % 97) + 1 }));
  const rules = [
    { type: 'required' as const, field: 'title' },
    { type: 'min_value' as const, field: 'price', min_value: 0.01 },
  ];
  let bytes = 0;
  const db: LedgerDatabase = {
    async query(_sql, params = []) {
      bytes += String(params[4] ?? '').length + String(params[5] ?? '').length;
    },
  };
  const store = new ItemLedgerStore(db);
  const off: number[] = [];
  const on: number[] = [];
  const once = async (ledger: boolean) => {
    const session = ledger ? store.open({ execution_id: 'bench', step_key: 'validate', attempt: 1 }, (v) => v) : undefined;
    const started = process.hrtime.bigint();
    await validateItems(items, rules as never, { items: session });
    await session?.flush();
    return Number(process.hrtime.bigint() - started) / 1e6;
  };
  await once(false);
  await once(true);
  bytes = 0;
  for (let r = 0; r < RUNS; r++) {
    // Alternate which goes first, so neither always runs on a warmer heap.
    if (r % 2) {
      off.push(await once(false));
      on.push(await once(true));
    } else {
      on.push(await once(true));
      off.push(await once(false));
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`bench | ${loadAverage()}`);
  console.log(`bench | validating ${ITEMS.toLocaleString('en')} items (10 % invalid), median of ${RUNS}:`);
  console.log(`bench |   without the ledger ${median(off).toFixed(1).padStart(8)} ms`);
  console.log(`bench |   with the ledger    ${median(on).toFixed(1).padStart(8)} ms   ratio ${(median(on) / median(off)).toFixed(2)}`);
  console.log(`bench |   sent to PostgreSQL ${(bytes / RUNS / 1024 / 1024).toFixed(2)} MiB a run`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
