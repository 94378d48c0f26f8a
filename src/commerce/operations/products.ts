/**
 * Product operations: the import (source data and normalised products in one
 * transaction, keyed by supplier + external id with content hashes), supplier
 * statistics, and what listing creation reads and writes.
 */
import { z } from 'zod';
import { isPlainObject } from '@engine/dsl/references';
import { canonicalJson, contentHash, sha256Hex } from '@engine/activities/database_query/values';
import { ItemFailures, itemKeyGuess } from '@engine/activities/shared/item-failures';
import { operation, type OperationContext } from './types';
import type { Db } from './db';
import { isPayloadRef } from '@engine/dsl/types';
import { asRecord, listOf, notFound, numericRows, params, toInt, toNumber, toText } from './util';
import { LISTING_CLAIM, claimEntities, completeClaims, heldElsewhereSql, listingClaimKey } from './claims';

const PRODUCT_STATUSES = ['imported', 'ready_for_listing', 'listed', 'inactive'] as const;
const MAX_REPORTED = 100;

interface ItemError {
  index: number;
  external_id: string | null;
  field: string;
  message: string;
}

/** A product's supplier-derived fields, normalised and checked, or what is wrong with it. */
interface NormalisedProduct {
  external_id: string;
  sku: string;
  title: string;
  description: string | null;
  brand: string | null;
  category: string | null;
  cost_price: number | null;
  currency: string;
  weight_kg: number | null;
  images: string[];
  attributes: Record<string, unknown>;
  raw_data: unknown;
}

function normaliseProduct(item: unknown): { product: NormalisedProduct } | { field: string; message: string } {
  if (!isPlainObject(item)) return { field: '$', message: 'is not an object' };
  const external = toText(item.external_id);
  if (!external) return { field: 'external_id', message: 'is required' };
  if (external.length > 200) return { field: 'external_id', message: 'is longer than 200 characters' };
  const sku = toText(item.sku);
  if (!sku) return { field: 'sku', message: 'is required' };
  if (sku.length > 100) return { field: 'sku', message: 'is longer than 100 characters' };
  const title = toText(item.title ?? item.name);
  if (!title) return { field: 'title', message: 'is required' };
  const cost = item.cost_price === undefined || item.cost_price === null ? null : toNumber(item.cost_price);
  if (item.cost_price !== undefined && item.cost_price !== null && (cost === null || cost < 0)) return { field: 'cost_price', message: 'must be a number >= 0' };
  const weight = item.weight_kg === undefined || item.weight_kg === null ? null : toNumber(item.weight_kg);
  const currency = toText(item.currency)?.toUpperCase() ?? 'USD';
  if (!/^[A-Z]{3}$/.test(currency)) return { field: 'currency', message: 'must be a three-letter currency code' };
  const images = Array.isArray(item.images) ? item.images.filter((u): u is string => typeof u === 'string') : [];
  const { raw_data: raw, ...rest } = item;
  return {
    product: {
      external_id: external,
      sku,
      title: title.slice(0, 500),
      description: toText(item.description),
      brand: toText(item.brand)?.slice(0, 200) ?? null,
      category: toText(item.category)?.slice(0, 200) ?? null,
      cost_price: cost === null ? null : Math.round(cost * 100) / 100,
      currency,
      weight_kg: weight === null || weight < 0 ? null : Math.round(weight * 1000) / 1000,
      images,
      attributes: asRecord(item.attributes),
      raw_data: raw === undefined ? rest : raw,
    },
  };
}

/** What AI enrichment added to an item (`ai_process` enrich_product), or null. */
export function enrichmentOf(item: unknown): Record<string, unknown> | null {
  if (!isPlainObject(item)) return null;
  const ai = asRecord(item.ai).enrich_product;
  if (isPlainObject(ai)) {
    return {
      description: item.description ?? null,
      bullet_points: item.bullet_points ?? [],
      keywords: item.keywords ?? [],
      attributes: asRecord(item.attributes),
      model: ai.model ?? null,
      confidence: ai.confidence ?? null,
    };
  }
  const suggestion = asRecord(item.ai_suggestion);
  if (item.needs_review === true && suggestion.task_type === 'enrich_product') return { needs_review: true, suggestion };
  return null;
}

/**
 * `import_products`: writes each valid item as a source_data record (its raw
 * data, hashed) and a product (its normalised fields, hashed), linked, in one
 * transaction. Unchanged records are left alone, so importing the same data
 * again changes nothing. `products` are the normalised items (a transform's
 * output); `enriched` (optional) the same items after AI enrichment, whose
 * additions go to `enrichment`. Items without external_id, sku or title are
 * counted invalid and reported, not written.
 *
 * @example { "query_type": "operation", "operation": "import_products",
 *            "params": { "supplier_id": "$input.supplier_id", "products": "$steps.transform_products.items", "enriched": "$.items", "status": "ready_for_listing" } }
 */
export const importProducts = operation<{
  supplier_id: number;
  products?: unknown[] | null;
  enriched?: unknown[] | null;
  status?: (typeof PRODUCT_STATUSES)[number];
  source_type?: string;
}>({
  name: 'import_products',
  summary: 'upserts source data and normalised products of a supplier (content-hashed, linked, one transaction)',
  params: (mode) =>
    z.strictObject({
      supplier_id: params.id(mode),
      products: params.listOrNull(mode),
      enriched: params.listOrNull(mode).optional(),
      status: params.oneOf(mode, ['imported', 'ready_for_listing']).optional(),
      source_type: params.text(mode, 50).optional(),
    }),
  pagedParams: ['products', 'enriched'],
  async run(p, { client, step }) {
    const sourceType = p.source_type ?? 'supplier_product';
    const supplier = await client.query<{ code: string }>(`SELECT code FROM suppliers WHERE id = $1`, [p.supplier_id]);
    if (supplier.rows.length === 0) throw notFound('supplier', p.supplier_id);
    const pagesOf = (v: unknown): AsyncIterable<readonly unknown[]> => step.pages?.of(v) ?? (async function* () { yield listOf(v); })();

    // The enrichment of each item by external id; when `enriched` is the very list of `products` (the AI step was
    // skipped and passed it on), each item's own, read as it is stored.
    const sameList = p.enriched === p.products || (isPayloadRef(p.enriched) && isPayloadRef(p.products) && p.enriched.$payload.id === p.products.$payload.id);
    const enrichedById = new Map<string, Record<string, unknown>>();
    if (!sameList) {
      for await (const page of pagesOf(p.enriched)) {
        for (const e of page) {
          const id = isPlainObject(e) ? toText(e.external_id) : null;
          const enrichment = id ? enrichmentOf(e) : null;
          if (id && enrichment) enrichedById.set(id, enrichment);
        }
      }
    }
    const enrichmentFor = (id: string, item: unknown) => (sameList ? enrichmentOf(item) : (enrichedById.get(id) ?? null));

    const errors: ItemError[] = [];
    let invalid = 0;
    let total = 0;
    let enriched = 0;
    // Products written more than once (the same external id again, in a page or a later one): counted once.
    const tally = { duplicates: 0 };
    const counts = { inserted: 0, updated: 0, unchanged: 0 };
    const source = { inserted: 0, updated: 0, unchanged: 0 };
    const ledger = step.items;
    try {
      await client.transaction(async (client) => {
        // A page at a time (a paged list: ITEM_PAGE_SIZE items; a plain list: all of it), in the one transaction.
        for await (const page of pagesOf(p.products)) {
          const offset = total;
          total += page.length;
          const unique = new Map<string, { x: NormalisedProduct; item: unknown }>();
          const valid: Array<{ key: string; index: number }> = [];
          page.forEach((item, i) => {
            const index = offset + i;
            const r = normaliseProduct(item);
            if ('field' in r) {
              invalid++;
              if (errors.length < MAX_REPORTED) errors.push({ index, external_id: isPlainObject(item) ? toText(item.external_id) : null, field: r.field, message: r.message });
              ledger?.record({ key: itemKeyGuess(item, index), index, status: 'invalid', code: 'INVALID_RECORD', message: `${r.field}: ${r.message}`, item });
              return;
            }
            // The last occurrence of an external id wins: one statement may not touch a row twice (a later page writes it again).
            if (unique.delete(r.product.external_id)) tally.duplicates++;
            unique.set(r.product.external_id, { x: r.product, item });
            if (ledger) valid.push({ key: itemKeyGuess(item, index), index });
          });
          const rows = [...unique.values()].map(({ x, item }) => {
            const enrichment = enrichmentFor(x.external_id, item);
            if (enrichment) enriched++;
            return { ...hashedRow(x), enrichment: enrichment ? canonicalJson(enrichment) : null };
          });
          await storeProducts(client, { supplierId: p.supplier_id, supplierCode: supplier.rows[0].code, sourceType, status: p.status ?? 'imported', step }, rows, counts, source, tally);
          // Recorded as this page is written; should the transaction fail later, every valid item is recorded again, not stored
          // (a later outcome of an item replaces an earlier one).
          if (ledger) for (const v of valid) ledger.record({ key: v.key, index: v.index, status: 'ok' });
          step.heartbeat({ products: total });
        }
      });
    } catch (err) {
      // One transaction: none of the valid products is stored (each with the reason, without a copy: the step's input has them).
      if (ledger) {
        const code = (err as { code?: unknown }).code;
        const reason = typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? 'DB_ERROR' : 'STEP_FAILED';
        const message = `not stored: ${err instanceof Error ? err.message : String(err)}`;
        // The valid items again, page by page (the list is not kept in memory); a list that cannot be read again keeps the
        // outcomes recorded so far.
        let index = 0;
        try {
          for await (const page of pagesOf(p.products)) {
            for (const item of page) {
              if (!('field' in normaliseProduct(item))) ledger.record({ key: itemKeyGuess(item, index), index, status: 'failed', code: reason, message });
              index++;
            }
          }
        } catch (readErr) {
          step.logger.warn('import_products: could not read the items again to record them as not stored', { error: readErr });
        }
      }
      throw err;
    }
    return {
      supplier_id: p.supplier_id,
      total,
      ...counts,
      invalid,
      duplicates: tally.duplicates,
      enriched: sameList ? enriched : enrichedById.size,
      source_data: source,
      ...(errors.length > 0 ? { errors } : {}),
    };
  },
});

/** A normalised product with the hashes that tell whether the database already holds it unchanged. */
function hashedRow(x: NormalisedProduct) {
  const rawJson = canonicalJson(x.raw_data);
  return {
    x,
    rawJson,
    rawHash: sha256Hex(rawJson),
    productHash: contentHash({
      sku: x.sku,
      title: x.title,
      description: x.description,
      brand: x.brand,
      category: x.category,
      cost_price: x.cost_price,
      currency: x.currency,
      weight_kg: x.weight_kg,
      images: x.images,
      attributes: x.attributes,
    }),
  };
}

/**
 * Upserts one page of products (each external id once) and their source
 * data: what the database already holds unchanged is not sent at all (a
 * re-import of 100,000 unchanged products is index scans, not 200,000
 * upserts). Adds to `counts` (products) and `source` (source data).
 */
async function storeProducts(
  client: Db,
  at: { supplierId: number; supplierCode: string; sourceType: string; status: string; step: OperationContext['step'] },
  rows: Array<ReturnType<typeof hashedRow> & { enrichment: string | null }>,
  counts: { inserted: number; updated: number; unchanged: number },
  source: { inserted: number; updated: number; unchanged: number },
  tally: { duplicates: number },
): Promise<void> {
  const { supplierId, sourceType, step } = at;
  const BATCH = 5000;
  const known = new Map<string, { sd: string | null; product: string | null; source_data_id: string | null; bare: boolean; here: boolean }>();
  for (let start = 0; start < rows.length; start += 20_000) {
    const ids = rows.slice(start, start + 20_000).map((r) => r.x.external_id);
    const existing = await client.query<{ external_id: string; sd_hash: string | null; p_hash: string | null; source_data_id: string | null; bare: boolean | null; here: boolean | null }>(
      // One index lookup per id (LATERAL ... LIMIT 1): this runs once a page inside the import's one transaction, while
      // the tables grow with its own rows, which a hash join would scan whole for every page. `here`: the product row
      // was written by this very transaction, an earlier page (its xmin is this transaction's id).
      `SELECT x.external_id, s.content_hash AS sd_hash, p.content_hash AS p_hash, p.source_data_id, (p.enrichment IS NULL) AS bare,
              (p.xmin = pg_current_xact_id()::xid) AS here
       FROM unnest($1::text[]) AS x(external_id)
       LEFT JOIN LATERAL (SELECT content_hash FROM source_data WHERE source_type = $2 AND supplier_id = $3 AND marketplace_id IS NULL AND external_id = x.external_id LIMIT 1) s ON true
       LEFT JOIN LATERAL (SELECT content_hash, source_data_id, enrichment, xmin FROM products WHERE supplier_id = $3 AND external_id = x.external_id LIMIT 1) p ON true`,
      [ids, sourceType, supplierId],
    );
    for (const e of existing.rows) known.set(e.external_id, { sd: e.sd_hash, product: e.p_hash, source_data_id: e.source_data_id, bare: e.bare ?? true, here: e.here === true });
  }
  const sdChanged = rows.filter((r) => known.get(r.x.external_id)?.sd !== r.rawHash);
  const sdNew = new Set(sdChanged.filter((r) => !known.get(r.x.external_id)?.sd).map((r) => r.x.external_id));
  const productChanged = rows.filter((r) => {
    const k = known.get(r.x.external_id);
    return !k?.product || k.product !== r.productHash || k.source_data_id === null || sdNew.has(r.x.external_id) || (r.enrichment !== null && k.bare);
  });
  // A product an earlier page of this import wrote is written again (the last occurrence wins) but counted once, as a duplicate.
  const again = new Set(rows.filter((r) => known.get(r.x.external_id)?.here).map((r) => r.x.external_id));
  tally.duplicates += again.size;
  const sdChangedAgain = sdChanged.filter((r) => again.has(r.x.external_id)).length;
  const productChangedAgain = productChanged.filter((r) => again.has(r.x.external_id)).length;
  source.unchanged += rows.length - sdChanged.length - (again.size - sdChangedAgain);
  counts.unchanged += rows.length - productChanged.length - (again.size - productChangedAgain);
  for (let start = 0; start < sdChanged.length; start += BATCH) {
    const batch = sdChanged.slice(start, start + BATCH);
    const sd = await client.query<{ external_id: string; inserted: boolean }>(
      `INSERT INTO source_data AS t (source_type, source_name, external_id, supplier_id, raw_data, content_hash, status, execution_id, step_key)
       SELECT $1, $2, x.external_id, $3, x.raw_data, x.content_hash, 'processed', $4, $5
       FROM unnest($6::text[], $7::jsonb[], $8::text[]) AS x(external_id, raw_data, content_hash)
       ON CONFLICT (source_type, supplier_id, marketplace_id, external_id) DO UPDATE SET
         raw_data = EXCLUDED.raw_data, content_hash = EXCLUDED.content_hash, status = EXCLUDED.status,
         execution_id = EXCLUDED.execution_id, step_key = EXCLUDED.step_key, updated_at = now()
       WHERE t.content_hash IS DISTINCT FROM EXCLUDED.content_hash
       RETURNING t.external_id, (t.xmax = 0) AS inserted`,
      [
        sourceType,
        at.supplierCode,
        supplierId,
        step.execution_id,
        step.step_key,
        batch.map((r) => r.x.external_id),
        batch.map((r) => r.rawJson),
        batch.map((r) => r.rawHash),
      ],
    );
    for (const r of sd.rows) if (!again.has(r.external_id)) source[r.inserted ? 'inserted' : 'updated']++;
    source.unchanged += batch.filter((r) => !again.has(r.x.external_id)).length - sd.rows.filter((r) => !again.has(r.external_id)).length;
    step.heartbeat({ source_data: Math.min(start + BATCH, sdChanged.length), total: sdChanged.length });
  }

  for (let start = 0; start < productChanged.length; start += BATCH) {
    const batch = productChanged.slice(start, start + BATCH);
    const res = await client.query<{ external_id: string; inserted: boolean }>(
      `INSERT INTO products AS p (supplier_id, external_id, sku, title, description, brand, category, cost_price, currency, weight_kg,
                                  images, attributes, status, content_hash, source_data_id, enrichment, execution_id, step_key)
       SELECT $1, x.external_id, x.sku, x.title, x.description, x.brand, x.category, x.cost_price, x.currency, x.weight_kg,
              x.images, x.attributes, $2, x.content_hash, s.id, x.enrichment, $3, $4
       FROM unnest($5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::numeric[], $12::text[],
                   $13::numeric[], $14::jsonb[], $15::jsonb[], $16::text[], $17::jsonb[])
            AS x(external_id, sku, title, description, brand, category, cost_price, currency, weight_kg, images, attributes, content_hash, enrichment)
       LEFT JOIN LATERAL (SELECT id FROM source_data WHERE source_type = $18 AND supplier_id = $1 AND marketplace_id IS NULL AND external_id = x.external_id LIMIT 1) s ON true
       ON CONFLICT (supplier_id, external_id) DO UPDATE SET
         sku = EXCLUDED.sku, title = EXCLUDED.title, description = EXCLUDED.description, brand = EXCLUDED.brand,
         category = EXCLUDED.category, cost_price = EXCLUDED.cost_price, currency = EXCLUDED.currency, weight_kg = EXCLUDED.weight_kg,
         images = EXCLUDED.images, attributes = EXCLUDED.attributes, content_hash = EXCLUDED.content_hash,
         source_data_id = EXCLUDED.source_data_id, enrichment = COALESCE(EXCLUDED.enrichment, p.enrichment),
         execution_id = EXCLUDED.execution_id, step_key = EXCLUDED.step_key, updated_at = now()
       WHERE p.content_hash IS DISTINCT FROM EXCLUDED.content_hash
          OR p.source_data_id IS DISTINCT FROM EXCLUDED.source_data_id
          OR (p.enrichment IS NULL AND EXCLUDED.enrichment IS NOT NULL)
       RETURNING p.external_id, (p.xmax = 0) AS inserted`,
      [
        supplierId,
        at.status,
        step.execution_id,
        step.step_key,
        batch.map((r) => r.x.external_id),
        batch.map((r) => r.x.sku),
        batch.map((r) => r.x.title),
        batch.map((r) => r.x.description),
        batch.map((r) => r.x.brand),
        batch.map((r) => r.x.category),
        batch.map((r) => r.x.cost_price),
        batch.map((r) => r.x.currency),
        batch.map((r) => r.x.weight_kg),
        batch.map((r) => JSON.stringify(r.x.images)),
        batch.map((r) => canonicalJson(r.x.attributes)),
        batch.map((r) => r.productHash),
        batch.map((r) => r.enrichment),
        sourceType,
      ],
    );
    for (const r of res.rows) if (!again.has(r.external_id)) counts[r.inserted ? 'inserted' : 'updated']++;
    counts.unchanged += batch.filter((r) => !again.has(r.x.external_id)).length - res.rows.filter((r) => !again.has(r.external_id)).length;
    step.heartbeat({ products: Math.min(start + BATCH, productChanged.length), total: productChanged.length });
  }
}

/** One invalid item as data_validate reports it: `{index, item?, errors: [{field, rule, message}]}`. */
function reportOf(entry: unknown): { index: number; external_id: string | null; sku: string | null; errors: unknown[] } {
  const e = asRecord(entry);
  const item = asRecord(e.item);
  return {
    index: toInt(e.index) ?? -1,
    external_id: toText(item.external_id),
    sku: toText(item.sku),
    errors: Array.isArray(e.errors) ? e.errors : [],
  };
}

/**
 * `update_supplier_statistics`: the supplier's product total and the counts
 * of its last import (with the first invalid records and their reasons).
 * Idempotent: it sets values, it never adds to them. Returns the import
 * report with the first 100 invalid records and their reasons (all of them,
 * with the records, are in the validation step's output).
 *
 * @example { "query_type": "operation", "operation": "update_supplier_statistics",
 *            "params": { "supplier_id": "$input.supplier_id", "imported": "$steps.store.inserted", "updated": "$steps.store.updated",
 *                        "unchanged": "$steps.store.unchanged", "invalid": "$steps.validate.invalid_count", "invalid_items": "$steps.validate.invalid" } }
 */
export const updateSupplierStatistics = operation<{
  supplier_id: number;
  imported?: number;
  updated?: number;
  unchanged?: number;
  invalid?: number;
  invalid_items?: unknown[] | null;
}>({
  name: 'update_supplier_statistics',
  summary: "sets a supplier's product total and last-import counts",
  params: (mode) =>
    z.strictObject({
      supplier_id: params.id(mode),
      imported: params.count(mode).optional(),
      updated: params.count(mode).optional(),
      unchanged: params.count(mode).optional(),
      invalid: params.count(mode).optional(),
      invalid_items: params.listOrNull(mode).optional(),
    }),
  pagedParams: ['invalid_items'],
  async run(p, { client, step }) {
    // Only the first ones are kept: a paged list is read no further than its first page.
    const reports: Array<ReturnType<typeof reportOf>> = [];
    const pages = step.pages?.of(p.invalid_items) ?? [listOf(p.invalid_items)];
    for await (const page of pages) {
      for (const entry of page) if (reports.length < MAX_REPORTED) reports.push(reportOf(entry));
      if (reports.length >= MAX_REPORTED) break;
    }
    const total = isPayloadRef(p.invalid_items) ? (p.invalid_items.$payload.items ?? reports.length) : listOf(p.invalid_items).length;
    const invalid = p.invalid ?? total;
    const res = await client.query<{ products_total: number }>(
      `UPDATE suppliers SET
         products_total = (SELECT count(*) FROM products WHERE supplier_id = $1),
         last_import_at = now(), last_import_execution_id = $2,
         last_import_imported = $3, last_import_updated = $4, last_import_unchanged = $5, last_import_invalid = $6,
         last_import_errors = $7::jsonb, updated_at = now()
       WHERE id = $1
       RETURNING products_total`,
      [p.supplier_id, step.execution_id, p.imported ?? 0, p.updated ?? 0, p.unchanged ?? 0, invalid, JSON.stringify(reports.slice(0, MAX_REPORTED))],
    );
    if (res.rows.length === 0) throw notFound('supplier', p.supplier_id);
    return {
      supplier_id: p.supplier_id,
      products_total: res.rows[0].products_total,
      imported: p.imported ?? 0,
      updated: p.updated ?? 0,
      unchanged: p.unchanged ?? 0,
      invalid,
      // The first ones; the full list with the items is the validation step's output.
      invalid_items: reports.slice(0, MAX_REPORTED),
    };
  },
});

const REQUIREMENT_DEFAULTS = { required_fields: ['sku', 'title', 'cost_price'], title_max_length: 200, min_price: 0.01, min_images: 0 };

/**
 * `fetch_listable_products`: the marketplace (currency, markup, requirements
 * with defaults filled in) and the products in `status` (default
 * ready_for_listing), optionally of one supplier, with the AI description
 * where enrichment produced one and the quantity available in inventory.
 *
 * @example { "query_type": "operation", "operation": "fetch_listable_products",
 *            "params": { "marketplace_id": "$config.marketplace_id", "supplier_id": "$config.supplier_id", "limit": 1000 } }
 */
export const fetchListableProducts = operation<{
  marketplace_id: number;
  supplier_id?: number | null;
  limit?: number;
  status?: (typeof PRODUCT_STATUSES)[number];
  claim?: boolean;
  claim_lease_seconds?: number;
}>({
  name: 'fetch_listable_products',
  summary: 'reads a marketplace and the products ready to be listed on it (with claim: those this run claimed)',
  params: (mode) =>
    z.strictObject({
      marketplace_id: params.id(mode),
      supplier_id: params.optionalId(mode).optional(),
      limit: params.count(mode, 1_000_000).optional(),
      status: params.oneOf(mode, PRODUCT_STATUSES as unknown as ['imported', 'ready_for_listing', 'listed', 'inactive']).optional(),
      claim: params.bool(mode).optional(),
      claim_lease_seconds: params.count(mode, 86_400).optional(),
    }),
  async run(p, { client, step }) {
    const m = await client.query(`SELECT id, code, currency, markup_percent, requirements FROM marketplaces WHERE id = $1`, [p.marketplace_id]);
    if (m.rows.length === 0) throw notFound('marketplace', p.marketplace_id);
    const row = m.rows[0] as { id: number; code: string; currency: string; markup_percent: string; requirements: Record<string, unknown> };
    const claim = p.claim ?? false;
    const res = await client.query(
      `WITH candidates AS (
         SELECT p.id AS product_id, p.supplier_id, p.external_id, p.sku, p.title,
                COALESCE(p.enrichment->>'description', p.description) AS description,
                p.brand, p.category, p.cost_price, p.currency, p.weight_kg, p.images, p.attributes,
                COALESCE(p.enrichment->'bullet_points', '[]'::jsonb) AS bullet_points,
                GREATEST(COALESCE(i.available, 0), 0) AS quantity,
                -- Part of the listing's business idempotency key: a delisted product is listed anew as the next generation.
                COALESCE((SELECT CASE WHEN l.status IN ('inactive', 'failed') THEN l.generation + 1 ELSE l.generation END
                          FROM listings l WHERE l.product_id = p.id AND l.marketplace_id = $4), 1) AS listing_generation
         FROM products p
         LEFT JOIN inventory i ON i.supplier_id = p.supplier_id AND i.sku = p.sku
         WHERE p.status = $1 AND ($2::int IS NULL OR p.supplier_id = $2))
       SELECT c.* FROM candidates c
       -- With claims, products another run is listing are left out before the limit, so they never crowd this run's batch.
       WHERE NOT $5::boolean OR NOT EXISTS (
         SELECT 1 FROM entity_claims ec
         WHERE ec.kind = '${LISTING_CLAIM}' AND ec.entity_key = $4 || ':' || c.product_id || ':' || c.listing_generation AND ${heldElsewhereSql('ec', '$6')})
       ORDER BY c.product_id
       LIMIT $3`,
      [p.status ?? 'ready_for_listing', p.supplier_id ?? null, p.limit ?? 1000, p.marketplace_id, claim, step.execution_id],
    );
    let products = numericRows(res.rows, ['product_id', 'cost_price', 'weight_kg', 'quantity']);
    let claimedElsewhere = 0;
    if (claim) {
      const keyOf = (x: Record<string, unknown>) => listingClaimKey(p.marketplace_id, Number(x.product_id), Number(x.listing_generation));
      const claimed = await claimEntities(client, LISTING_CLAIM, products.map(keyOf), step.execution_id, p.claim_lease_seconds);
      claimedElsewhere = products.length - claimed.size;
      products = products.filter((x) => claimed.has(keyOf(x)));
    }
    return {
      ...(claim ? { claimed_elsewhere_count: claimedElsewhere } : {}),
      marketplace: {
        id: row.id,
        code: row.code,
        currency: row.currency,
        markup_percent: toNumber(row.markup_percent) ?? 0,
        requirements: { ...REQUIREMENT_DEFAULTS, ...asRecord(row.requirements) },
      },
      products,
      count: products.length,
    };
  },
});

/**
 * `record_listings`: stores the listings the marketplace answered for, one
 * per product and marketplace. `items[i]` is the product sent and
 * `results[i]` the (mapped) answer of the create call: its `listing_id`, or
 * `existing_listing_id` when the SKU was already listed. A null result (the
 * call failed, and the create step listed that item in its `failed_items`)
 * is counted as `not_created` and not stored; an answer without a listing id,
 * or a SKU listed here for another product, is a failed item of this step.
 *
 * @example { "query_type": "operation", "operation": "record_listings",
 *            "params": { "marketplace_id": "$config.marketplace_id", "items": "$steps.price.products", "results": "$steps.create.results" } }
 */
export const recordListings = operation<{ marketplace_id: number; items?: unknown[] | null; results?: unknown[] | null; status?: 'active' | 'inactive' }>({
  name: 'record_listings',
  summary: 'stores the listings a marketplace created (one per product and marketplace)',
  params: (mode) =>
    z.strictObject({
      marketplace_id: params.id(mode),
      items: params.listOrNull(mode),
      results: params.listOrNull(mode),
      status: params.oneOf(mode, ['active', 'inactive']).optional(),
    }),
  async run(p, { client, step }) {
    const items = listOf(p.items);
    const results = listOf(p.results);
    const failures = new ItemFailures();
    const fail = (index: number, sku: string | null, code: string, message: string) => failures.add({ key: sku ?? String(index), index, code, message });
    let notCreated = 0;
    const rows = new Map<
      number,
      { product_id: number; external_id: string; sku: string; title: string; price: number; currency: string; quantity: number; generation: number }
    >();
    items.forEach((raw, index) => {
      const item = asRecord(raw);
      if (results[index] === null || results[index] === undefined) {
        notCreated++;
        return;
      }
      const r = asRecord(results[index]);
      const external = toText(r.listing_id) ?? toText(r.id) ?? toText(r.existing_listing_id);
      const productId = toInt(item.product_id);
      const sku = toText(item.sku);
      const price = toNumber(item.price);
      if (!external || productId === null || !sku || price === null || price <= 0) {
        if (!external) fail(index, sku, 'NO_LISTING_ID', 'the marketplace returned no listing id');
        else fail(index, sku, 'ITEM_INVALID', 'the item lacks product_id, sku or a positive price');
        return;
      }
      rows.set(productId, {
        product_id: productId,
        external_id: external,
        sku,
        title: (toText(item.title) ?? sku).slice(0, 500),
        price: Math.round(price * 100) / 100,
        currency: toText(item.currency) ?? 'USD',
        quantity: Math.max(0, toInt(item.quantity) ?? 0),
        generation: Math.max(1, toInt(item.listing_generation) ?? 1),
      });
    });
    const counts = { inserted: 0, updated: 0 };
    // Rows are locked and written in product id order, the same in every run, so overlapping runs never deadlock.
    let list = [...rows.values()].sort((a, b) => a.product_id - b.product_id);
    await client.transaction(async (client) => {
      // A SKU is listed once per marketplace: one listed for another product (another supplier's) is reported, not taken over.
      const taken = await client.query<{ sku: string; product_id: string }>(
        `SELECT sku, product_id FROM listings WHERE marketplace_id = $1 AND sku = ANY($2::text[]) ORDER BY id FOR UPDATE`,
        [p.marketplace_id, list.map((x) => x.sku)],
      );
      const owner = new Map(taken.rows.map((r) => [r.sku, Number(r.product_id)]));
      list = list.filter((x) => {
        const other = owner.get(x.sku);
        if (other === undefined || other === x.product_id) return true;
        fail(items.findIndex((i) => toInt(asRecord(i).product_id) === x.product_id), x.sku, 'SKU_TAKEN', `SKU ${x.sku} is already listed here for product ${other}`);
        return false;
      });
      const res = await client.query<{ inserted: boolean }>(
        `INSERT INTO listings AS l (product_id, marketplace_id, external_id, sku, title, price, currency, quantity, generation, status, last_synced_at, execution_id, step_key)
         SELECT x.product_id, $1, x.external_id, x.sku, x.title, x.price, x.currency, x.quantity, x.generation, $2, now(), $3, $4
         FROM unnest($5::bigint[], $6::text[], $7::text[], $8::text[], $9::numeric[], $10::text[], $11::int[], $12::int[]) WITH ORDINALITY
              AS x(product_id, external_id, sku, title, price, currency, quantity, generation, n)
         ORDER BY x.n
         ON CONFLICT (product_id, marketplace_id) DO UPDATE SET
           external_id = EXCLUDED.external_id, sku = EXCLUDED.sku, title = EXCLUDED.title, price = EXCLUDED.price,
           currency = EXCLUDED.currency, quantity = EXCLUDED.quantity, generation = GREATEST(l.generation, EXCLUDED.generation), status = EXCLUDED.status,
           last_synced_at = now(), execution_id = EXCLUDED.execution_id, step_key = EXCLUDED.step_key, updated_at = now()
         WHERE (l.external_id, l.sku, l.title, l.price, l.currency, l.quantity, l.status, l.generation)
               IS DISTINCT FROM (EXCLUDED.external_id, EXCLUDED.sku, EXCLUDED.title, EXCLUDED.price, EXCLUDED.currency, EXCLUDED.quantity, EXCLUDED.status,
                                 GREATEST(l.generation, EXCLUDED.generation))
         RETURNING (l.xmax = 0) AS inserted`,
        [
          p.marketplace_id,
          p.status ?? 'active',
          step.execution_id,
          step.step_key,
          list.map((x) => x.product_id),
          list.map((x) => x.external_id),
          list.map((x) => x.sku),
          list.map((x) => x.title),
          list.map((x) => x.price),
          list.map((x) => x.currency),
          list.map((x) => x.quantity),
          list.map((x) => x.generation),
        ],
      );
      for (const r of res.rows) counts[r.inserted ? 'inserted' : 'updated']++;
      // Listed: the claims of this generation are done (a no-op for runs that claimed nothing).
      await completeClaims(
        client,
        LISTING_CLAIM,
        list.map((x) => listingClaimKey(p.marketplace_id, x.product_id, x.generation)),
        step.execution_id,
      );
      await client.query(`UPDATE marketplaces SET listings_total = (SELECT count(*) FROM listings WHERE marketplace_id = $1), updated_at = now() WHERE id = $1`, [
        p.marketplace_id,
      ]);
    });
    // Every listing it was given failed here: the step fails rather than report a success for nothing stored.
    failures.enforce(items.length - notCreated, {}, 'listings');
    return {
      marketplace_id: p.marketplace_id,
      total: items.length,
      ...counts,
      unchanged: list.length - counts.inserted - counts.updated,
      not_created: notCreated,
      failed: failures.count,
      product_ids: list.map((x) => x.product_id),
      ...failures.report(),
    };
  },
});
