/**
 * Inventory operations for the inventory sync: what each SKU has available
 * against what its marketplace listing shows, and the record of what was
 * pushed (with its undo, the compensation).
 */
import { z } from 'zod';
import { operation } from './types';
import { asRecord, listOf, numericRows, params, toInt } from './util';

/**
 * `inventory_positions`: every inventory row of a supplier with its available
 * quantity (never below 0), its low-stock flag, and the active listing of the
 * SKU on `marketplace_id` with the quantity last pushed there.
 *
 * @example { "query_type": "operation", "operation": "inventory_positions",
 *            "params": { "supplier_id": "$input.supplier_id", "marketplace_id": "$config.marketplace_id" } }
 */
export const inventoryPositions = operation<{ supplier_id: number; marketplace_id?: number | null }>({
  name: 'inventory_positions',
  summary: "a supplier's available quantities, low-stock flags and listed quantities",
  params: (mode) => z.strictObject({ supplier_id: params.id(mode), marketplace_id: params.optionalId(mode).optional() }),
  async run(p, { client }) {
    const res = await client.query(
      `SELECT i.id AS inventory_id, i.sku, i.quantity, i.reserved, GREATEST(i.available, 0) AS available, i.low_stock_threshold,
              (i.available < i.low_stock_threshold) AS low_stock,
              l.id AS listing_id, l.external_id AS listing_external_id, l.quantity AS listed_quantity,
              -- The generation of the next push (part of its business idempotency key); record_inventory_sync advances it.
              COALESCE(l.sync_generation, 0) + 1 AS sync_generation
       FROM inventory i
       LEFT JOIN LATERAL (
         SELECT l.id, l.external_id, l.quantity, l.sync_generation FROM listings l JOIN products p ON p.id = l.product_id
         WHERE l.marketplace_id = $2 AND l.sku = i.sku AND l.status = 'active' AND p.supplier_id = i.supplier_id
         ORDER BY l.id LIMIT 1
       ) l ON true
       WHERE i.supplier_id = $1
       ORDER BY i.sku`,
      [p.supplier_id, p.marketplace_id ?? null],
    );
    const items = numericRows(res.rows, ['inventory_id', 'listing_id']);
    return {
      supplier_id: p.supplier_id,
      marketplace_id: p.marketplace_id ?? null,
      items,
      total: items.length,
      listed: items.filter((i) => i.listing_id !== null).length,
      low_stock: items.filter((i) => i.low_stock === true).length,
    };
  },
});

/**
 * `record_inventory_sync`: sets each listing's quantity to the `available`
 * pushed to the marketplace and stamps the inventory rows as synced. Returns
 * the previous quantities, which `revert_inventory_sync` restores when the
 * run fails (its compensation). With `results` (the push's per-item answers,
 * aligned with `items`), items whose push failed (null) are left out.
 */
export const recordInventorySync = operation<{ marketplace_id: number; items?: unknown[] | null; results?: unknown[] | null }>({
  name: 'record_inventory_sync',
  summary: 'records the quantities pushed to a marketplace (returns the previous ones for the undo)',
  params: (mode) => z.strictObject({ marketplace_id: params.id(mode), items: params.listOrNull(mode), results: params.listOrNull(mode).optional() }),
  async run(p, { client }) {
    const items = listOf(p.items);
    const results = p.results === undefined || p.results === null ? null : listOf(p.results);
    const byListing = new Map<number, { quantity: number; inventory_id: number | null }>();
    items.forEach((raw, i) => {
      if (results && results[i] === null) return;
      const item = asRecord(raw);
      const listing = toInt(item.listing_id);
      const quantity = toInt(item.available);
      if (listing === null || quantity === null || quantity < 0) return;
      byListing.set(listing, { quantity, inventory_id: toInt(item.inventory_id) });
    });
    const ids = [...byListing.keys()].sort((a, b) => a - b);
    const changes = await client.transaction(async (client) => {
      const res = await client.query<{ listing_id: string; previous_quantity: number; quantity: number }>(
        `WITH x AS (SELECT * FROM unnest($1::bigint[], $2::int[]) AS x(listing_id, quantity)),
              old AS (SELECT l.id, l.quantity FROM listings l JOIN x ON x.listing_id = l.id WHERE l.marketplace_id = $3 ORDER BY l.id FOR UPDATE)
         UPDATE listings l SET quantity = x.quantity, last_synced_at = now(), updated_at = now(),
                sync_generation = l.sync_generation + CASE WHEN l.quantity IS DISTINCT FROM x.quantity THEN 1 ELSE 0 END
         FROM x JOIN old ON old.id = x.listing_id
         WHERE l.id = x.listing_id
         RETURNING l.id AS listing_id, old.quantity AS previous_quantity, l.quantity`,
        [ids, ids.map((id) => byListing.get(id)!.quantity), p.marketplace_id],
      );
      const inventoryIds = [...byListing.values()].map((v) => v.inventory_id).filter((v): v is number => v !== null);
      if (inventoryIds.length > 0) {
        // Locked in id order, as every operation on inventory does, so overlapping syncs and reservations never deadlock.
        await client.query(
          `UPDATE inventory i SET last_synced_at = now() FROM (SELECT id FROM inventory WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE) o WHERE i.id = o.id`,
          [inventoryIds],
        );
      }
      return res.rows.map((r) => ({ listing_id: Number(r.listing_id), previous_quantity: r.previous_quantity, quantity: r.quantity }));
    });
    return { marketplace_id: p.marketplace_id, updated: changes.length, changes };
  },
});

/**
 * `revert_inventory_sync`: the compensation of `record_inventory_sync`. Puts
 * back each listing's previous quantity, unless the quantity changed again
 * since (a later sync wins). Empty input: nothing to do.
 */
export const revertInventorySync = operation<{ changes?: unknown[] | null }>({
  name: 'revert_inventory_sync',
  summary: 'restores the listing quantities record_inventory_sync replaced',
  params: (mode) => z.strictObject({ changes: params.listOrNull(mode) }),
  async run(p, { client }) {
    const changes = listOf(p.changes)
      .map(asRecord)
      .map((c) => ({ id: toInt(c.listing_id), previous: toInt(c.previous_quantity), quantity: toInt(c.quantity) }))
      .filter((c): c is { id: number; previous: number; quantity: number } => c.id !== null && c.previous !== null && c.quantity !== null);
    if (changes.length === 0) return { reverted: 0 };
    const res = await client.transaction(async (client) => {
      // Rows locked in id order first, as everywhere, so a revert never deadlocks with a sync.
      await client.query(`SELECT id FROM listings WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE`, [changes.map((c) => c.id)]);
      return client.query(
        `UPDATE listings l SET quantity = x.previous, updated_at = now()
         FROM unnest($1::bigint[], $2::int[], $3::int[]) AS x(id, previous, quantity)
         WHERE l.id = x.id AND l.quantity = x.quantity`,
        [changes.map((c) => c.id), changes.map((c) => c.previous), changes.map((c) => c.quantity)],
      );
    });
    return { reverted: res.rowCount ?? 0 };
  },
});
