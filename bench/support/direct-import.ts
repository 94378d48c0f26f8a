/**
 * The product-import bench's baseline: the same import as the product import
 * template, written as one plain script with no engine: the same sandbox pages
 * (cursor-paged `GET /products`, the supplier's page size), the same validation
 * rules (those of the template's `validate_products`, written out by hand),
 * the same mapping (`transform_products`, by hand) and the same store (the
 * `import_products` operation's batched `INSERT … ON CONFLICT`, called
 * directly). Times each phase.
 */
import { performance } from 'node:perf_hooks';
import type { DataSource } from 'typeorm';
import { withCommerceDb } from '@src/commerce/operations/db';
import { DATABASE_OPERATIONS } from '@src/commerce/operations';

export interface DirectImportResult {
  wall: number;
  /** Milliseconds of each phase. */
  phases: { fetch: number; validate: number; transform: number; store: number };
  fetched: number;
  valid: number;
  invalid: number;
  stored: Record<string, unknown>;
}

type Item = Record<string, unknown>;

const missing = (v: unknown) => v === null || v === undefined;
const empty = (v: unknown) => missing(v) || (typeof v === 'string' && v.trim() === '') || (Array.isArray(v) && v.length === 0);

/** The template's validation rules: required external_id, sku, name, cost_price; cost_price ≥ 0.01; images an array; external_id unique. */
function validate(items: Item[]): { valid: Item[]; invalid: number } {
  const valid: Item[] = [];
  const seen = new Set<string>();
  let invalid = 0;
  for (const item of items) {
    let ok = !empty(item.external_id) && !empty(item.sku) && !empty(item.name) && !empty(item.cost_price);
    const cost = item.cost_price;
    if (!missing(cost)) {
      const n = typeof cost === 'number' ? cost : typeof cost === 'string' && cost.trim() !== '' ? Number(cost) : NaN;
      if (!Number.isFinite(n) || n < 0.01) ok = false;
    }
    if (!missing(item.images) && !Array.isArray(item.images)) ok = false;
    if (!missing(item.external_id)) {
      const key = String(item.external_id);
      if (seen.has(key)) ok = false;
      else seen.add(key);
    }
    if (ok) valid.push(item);
    else invalid++;
  }
  return { valid, invalid };
}

const num = (v: unknown) => (missing(v) ? null : typeof v === 'number' ? v : Number.isFinite(Number(v)) ? Number(v) : null);

/** The template's mapping_rules, by hand. */
function transform(items: Item[]): Item[] {
  return items.map((p) => {
    const dims = (p.dimensions_cm ?? null) as Item | null;
    return {
      external_id: p.external_id,
      sku: p.sku,
      title: p.name,
      description: p.description,
      brand: p.brand,
      category: p.category,
      cost_price: num(p.cost_price),
      currency: missing(p.currency) ? 'USD' : p.currency,
      weight_kg: num(p.weight_kg),
      images: missing(p.images) ? [] : p.images,
      attributes: { barcode: p.barcode, length_cm: dims?.length, width_cm: dims?.width, height_cm: dims?.height },
      raw_data: p,
    };
  });
}

/** Imports the supplier's catalogue from `baseUrl` into supplier `supplierId` (a row of its own, so both sides do the same writes). */
export async function directImport(opts: { dataSource: DataSource; baseUrl: string; supplierId: number; pageSize: number; executionId: string }): Promise<DirectImportResult> {
  const t0 = performance.now();
  const items: Item[] = [];
  let cursor: string | null = null;
  do {
    const url = new URL(`${opts.baseUrl.replace(/\/+$/, '')}/products`);
    url.searchParams.set('limit', String(opts.pageSize));
    if (cursor) url.searchParams.set('cursor', cursor);
    const res = await fetch(url);
    if (!res.ok) throw new Error(`GET ${url.pathname}: ${res.status}`);
    const page = (await res.json()) as { items: Item[]; next_cursor?: string | null };
    for (const item of page.items) items.push(item);
    cursor = page.next_cursor ?? null;
  } while (cursor);
  const t1 = performance.now();
  const { valid, invalid } = validate(items);
  const t2 = performance.now();
  const products = transform(valid);
  const t3 = performance.now();
  const op = DATABASE_OPERATIONS.import_products;
  const noop = () => undefined;
  const stored = (await withCommerceDb(opts.dataSource, (client) =>
    op.run({ supplier_id: opts.supplierId, products, status: 'ready_for_listing' }, {
      client,
      step: { execution_id: opts.executionId, step_key: 'store_products', heartbeat: noop, signal: new AbortController().signal, logger: console as never },
    }),
  )) as Record<string, unknown>;
  const t4 = performance.now();
  return {
    wall: (t4 - t0) / 1000,
    phases: { fetch: t1 - t0, validate: t2 - t1, transform: t3 - t2, store: t4 - t3 },
    fetched: items.length,
    valid: valid.length,
    invalid,
    stored,
  };
}
