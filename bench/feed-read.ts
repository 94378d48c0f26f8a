/**
 * The supplier adapters alone, reading a large catalogue from the sandbox and
 * dropping each page once counted (what a streaming consumer does): the
 * `feed` adapter over the CSV, JSON lines and XML files, beside the `sandbox`
 * adapter over the JSON supplier API (the baseline). Prints rows/s and the
 * peak RSS growth of this process (adapter + sandbox) during each read, and
 * the ratios against the baseline. Shows that a feed is parsed as it streams:
 * the peak does not grow with the file.
 *
 *   npm run bench -- feed-read [rows=100000] [--formats csv,jsonl,xml]
 *
 * Not part of `npm test`.
 */
import { HttpClient } from '@engine/activities/shared/http';
import { startSandbox } from '@src/sandbox';
import { supplierAdapter, type ConnectionRow } from '@src/commerce/connectors/platforms';
import { loadAverage, rssBytes, sampleRss } from './support/proc';

const positional = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--') && all[i - 1] !== '--formats');
const ROWS = Number(positional[0] ?? 100_000);
const FORMATS = (process.argv.includes('--formats') ? process.argv[process.argv.indexOf('--formats') + 1] : 'csv,jsonl,xml').split(',');
const say = (line: string) => console.log(`bench | ${line}`);
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

const MAPPINGS: Record<string, { settings: Record<string, unknown>; mapping: Record<string, string> }> = {
  csv: {
    settings: { format: 'csv', products_path: '/catalogue.csv', page_size: 1000 },
    mapping: { external_id: 'external_id', sku: "sku != '' ? sku", name: 'name', brand: 'brand', category: 'category', cost_price: "cost != '' ? $number(cost)", currency: 'currency', weight_kg: '$number(weight_kg)', images: "image != '' ? [image] : []", stock_quantity: '$number(stock)' },
  },
  jsonl: { settings: { format: 'jsonl', products_path: '/catalogue.jsonl', page_size: 1000 }, mapping: {} },
  xml: {
    settings: { format: 'xml', products_path: '/catalogue.xml', item_path: 'products/product', page_size: 1000 },
    mapping: { external_id: '`@id`', sku: 'sku', name: 'name', brand: 'brand', category: 'category', cost_price: '$number(cost.`#text`)', weight_kg: '$number(weight_kg)', images: '[images.image]', stock_quantity: '$number(stock)' },
  },
};

async function main(): Promise<void> {
  const sandbox = await startSandbox({ products: ROWS, seed: 42, initialOrders: 0 });
  const client = new HttpClient({ allowHosts: [`127.0.0.1:${sandbox.port}`] });
  try {
    say(`${ROWS.toLocaleString('en')} rows; ${loadAverage()}`);
    const read = async (label: string, row: ConnectionRow) => {
      global.gc?.();
      const base = rssBytes(process.pid);
      const rss = sampleRss(process.pid, 50);
      const started = Date.now();
      let items = 0;
      let unmapped = 0;
      for await (const page of (await supplierAdapter({ row, secret: null, client })).products()) {
        items += page.items.length;
        unmapped += page.unmapped?.length ?? 0;
      }
      const seconds = (Date.now() - started) / 1000;
      const peak = rss.stop();
      say(`${label.padEnd(22)} ${items} mapped, ${unmapped} unmapped in ${seconds.toFixed(1)} s (${Math.round((items + unmapped) / seconds).toLocaleString('en')} rows/s), RSS peak +${mb(peak - base)} over ${mb(base)}`);
      return { seconds, growth: peak - base };
    };
    const common = { id: 1, credentials: null, rate_budget: null } as const;
    const baseline = await read('sandbox JSON API', { ...common, code: 'api', platform: 'sandbox', api_base_url: sandbox.urls.supplier, settings: { page_size: 1000 }, field_mapping: {} });
    for (const format of FORMATS) {
      const m = MAPPINGS[format];
      const r = await read(`${format} feed`, { ...common, code: format, platform: 'feed', api_base_url: sandbox.urls.feed, settings: m.settings, field_mapping: m.mapping });
      say(`  ${format}: time ratio ${(r.seconds / baseline.seconds).toFixed(2)} vs the API baseline; RSS growth ${mb(r.growth)} vs ${mb(baseline.growth)}`);
    }
    say(`${loadAverage()}`);
  } finally {
    client.close();
    await sandbox.close();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
