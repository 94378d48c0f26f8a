/**
 * Throughput of data_validate and data_transform over 100k generated products,
 * through the pure functions (no Temporal, no database): what one activity
 * attempt spends on the data itself.
 *
 *   BUILD_OUT=dist-xform node scripts/build.js --no-bundle && node dist-xform/bench/transform-validate.js [items] [runs]
 *
 * Prints the median of `runs` timed runs (after one warm-up) per operation.
 */
import { transformData } from '@engine/activities/data_transform';
import { validateData } from '@engine/activities/data_validate';

const ITEMS = Number(process.argv[2] ?? 100_000);
const RUNS = Number(process.argv[3] ?? 5);

const BRANDS = ['Acme', 'Zeta', 'Nordic Home', 'Globex', 'Initech', 'Umbrella', 'Hooli', 'Stark'];
const CONDITIONS = ['new', 'used', 'refurbished'];

/** Supplier-style products: messy text, local number formats, units and dates as strings. */
function generate(n: number): Array<Record<string, unknown>> {
  return Array.from({ length: n }, (_, i) => ({
    sku: i % 250 === 0 ? '' : `SKU-${String(i).padStart(7, '0')}`,
    name: `  ${i % 2 ? 'DESK' : 'floor'}   lamp  model ${i} `,
    cost_price: i % 3 === 0 ? `${(i % 500) + 1},${String(i % 100).padStart(2, '0')} €` : `$${(i % 500) + 1}.${String(i % 100).padStart(2, '0')}`,
    weight: i % 2 ? `${(i % 900) + 100} g` : `${((i % 40) + 1) / 10} lb`,
    qty: i % 11,
    brand: BRANDS[i % BRANDS.length],
    condition: CONDITIONS[i % CONDITIONS.length],
    released: `${String((i % 28) + 1).padStart(2, '0')}.${String((i % 12) + 1).padStart(2, '0')}.20${String(10 + (i % 15))}`,
    supplier: { id: i % 17, name: `Supplier ${i % 17}` },
    images: [{ url: `https://cdn.example.com/p/${i}.jpg` }],
  }));
}

const validation = {
  source_field: 'products',
  validation_rules: [
    { type: 'required', field: 'sku' },
    { type: 'pattern', field: 'sku', pattern: '^SKU-\\d{7}$' },
    { type: 'unique', field: 'sku' },
    { type: 'min_value', field: 'qty', min_value: 0 },
    { type: 'enum', field: 'condition', values: CONDITIONS },
    { type: 'max_length', field: 'name', max_length: 120 },
    { type: 'type', field: 'images', expected: 'array' },
  ],
  max_invalid_ratio: 0.05,
};

const normalize = {
  transform_type: 'normalize',
  source_field: 'products',
  fields: {
    name: ['trim', 'collapse_whitespace', 'title_case'],
    cost_price: { op: 'currency', default_currency: 'EUR', currency_field: 'currency' },
    weight: { op: 'weight', to: 'kg' },
    released: 'date',
  },
};

const map = {
  transform_type: 'map',
  source_field: 'products',
  mapping_rules: {
    sku: 'sku',
    title: 'name',
    price: { path: 'cost_price', type: 'number' },
    currency: 'currency',
    'shipping.weight_kg': 'weight',
    stock: { path: 'qty', type: 'integer' },
    brand: 'brand',
    supplier_id: 'supplier.id',
    image: 'images[0].url',
    released: 'released',
  },
};

const filter = {
  transform_type: 'filter',
  source_field: 'products',
  rules: [
    { field: 'stock', operator: 'gt', value: 0 },
    { any: [{ field: 'brand', operator: 'in', value: ['Acme', 'Zeta', 'Globex'] }, { field: 'price', operator: 'gte', value: 100 }] },
  ],
};

const aggregate = {
  transform_type: 'aggregate',
  source_field: 'products',
  group_by: ['brand', 'currency'],
  aggregations: { products: { op: 'count' }, stock: { op: 'sum', field: 'stock' }, avg_price: { op: 'avg', field: 'price', round: 2 }, max_weight: { op: 'max', field: 'shipping.weight_kg' } },
};

const expressionMap = {
  transform_type: 'map',
  source_field: 'products',
  mapping_rules: { sku: 'sku', sale_price: { expression: '$round(price * 1.25, 2)' } },
};

async function time(label: string, fn: () => Promise<unknown>, items: number): Promise<void> {
  await fn(); // warm-up
  const runs: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    await fn();
    runs.push(performance.now() - started);
  }
  runs.sort((a, b) => a - b);
  const median = runs[Math.floor(runs.length / 2)];
  const perSecond = Math.round(items / (median / 1000));
  console.log(`${label.padEnd(44)} ${median.toFixed(1).padStart(9)} ms   ${perSecond.toLocaleString('en-US').padStart(12)} items/s`);
}

async function main(): Promise<void> {
  const products = generate(ITEMS);
  const input = { products };
  console.log(`data_validate + data_transform, ${ITEMS.toLocaleString('en-US')} products, median of ${RUNS} runs (Node ${process.version})\n`);

  const validated = (await validateData(input, validation)).output;
  const normalized = (await transformData(validated, normalize)).output;
  const mapped = (await transformData(normalized, map)).output;

  await time('validate (7 rules: pattern, unique, enum...)', () => validateData(input, validation), ITEMS);
  await time('normalize (text, currency, weight, date)', () => transformData(validated, normalize), ITEMS);
  await time('map (10 rules, casts, nested paths)', () => transformData(normalized, map), ITEMS);
  await time('filter (3 rules, all/any)', () => transformData(mapped, filter), ITEMS);
  await time('aggregate (2 group keys, 4 aggregations)', () => transformData(mapped, aggregate), ITEMS);
  await time('map with a JSONata expression per item', () => transformData(mapped, expressionMap), ITEMS);
  await time('pipeline: validate → normalize → map → filter', async () => {
    const v = (await validateData(input, validation)).output;
    const n = (await transformData(v, normalize)).output;
    const m = (await transformData(n, map)).output;
    return transformData(m, filter);
  }, ITEMS);

  const { counts } = await validateData(input, validation);
  const kept = (await transformData(mapped, filter)).stats.output_count;
  console.log(`\nvalid ${counts.valid_count}, invalid ${counts.invalid_count}; filter kept ${kept}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
