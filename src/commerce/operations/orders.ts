/**
 * Order operations for order processing: availability, stock reservations
 * (atomic and idempotent), order records, status updates with shipments, and
 * the compensations (release reservations, fail orders).
 *
 * Stock invariants: `inventory.reserved` changes only here, always under a
 * row lock taken in inventory id order (so concurrent runs cannot deadlock or
 * oversell), and a reservation is made only when every line of its order can
 * be held at once.
 */
import type { Db } from './db';
import { z } from 'zod';
import { isPlainObject } from '@engine/dsl/references';
import { operation } from './types';
import { asRecord, listOf, params, toInt, toNumber, toText } from './util';
import { claimEntities, completeClaims, heldByOthers, orderClaimKey, releaseClaims } from './claims';

/** Claim kind of marketplace orders in `entity_claims`. */
export const ORDER_CLAIM = 'order';

/** Lease of an order claim, settable per step (`claim_lease_seconds`). */
const leaseParam = (mode: Parameters<typeof params.count>[0]) => params.count(mode, 86_400).optional();

/** A marketplace order line as the marketplace sends it. */
interface OrderLineIn {
  line_id: string;
  sku: string;
  quantity: number;
  title: string | null;
  unit_price: number;
}

/** One line after `check_availability`: where its stock comes from. */
interface AllocatedLine extends OrderLineIn {
  listing_id: number | null;
  product_id: number | null;
  inventory_id: number | null;
  weight_kg: number | null;
  available: number;
}

function linesOf(order: Record<string, unknown>): OrderLineIn[] {
  return listOf(order.items).map((raw, i) => {
    const l = asRecord(raw);
    return {
      line_id: toText(l.line_id) ?? `${toText(order.id) ?? 'order'}-${i + 1}`,
      sku: toText(l.sku) ?? '',
      quantity: toInt(l.quantity) ?? 0,
      title: toText(l.title),
      unit_price: toNumber(l.unit_price) ?? 0,
    };
  });
}

/** The reservation key of one order line: the same for every run, so reserving again is a no-op. */
export function reservationKey(marketplaceId: number, orderId: string, lineId: string): string {
  return `${marketplaceId}:${orderId}:${lineId}`;
}

/**
 * `check_availability`: annotates each order with `allocation` (`ok`, a
 * `reason`, and per line the listing, product and inventory row its stock
 * comes from and what is available) and its shipping `weight_kg`. Orders in
 * one batch draw from the same stock in turn, so the batch never promises a
 * unit twice. Nothing is held here: `reserve_inventory` does that.
 */
export const checkAvailability = operation<{ marketplace_id: number; orders?: unknown[] | null }>({
  name: 'check_availability',
  summary: 'annotates orders with where their stock comes from and whether it suffices',
  params: (mode) => z.strictObject({ marketplace_id: params.id(mode), orders: params.listOrNull(mode) }),
  async run(p, { client, step }) {
    const orders = listOf(p.orders).map(asRecord);
    const skus = [...new Set(orders.flatMap((o) => linesOf(o).map((l) => l.sku)).filter(Boolean))];
    const res = await client.query<{ sku: string; listing_id: string; product_id: string; weight_kg: string | null; inventory_id: string | null; available: number | null }>(
      `SELECT l.sku, l.id AS listing_id, l.product_id, p.weight_kg, i.id AS inventory_id, GREATEST(i.available, 0) AS available
       FROM listings l
       JOIN products p ON p.id = l.product_id
       LEFT JOIN inventory i ON i.supplier_id = p.supplier_id AND i.sku = l.sku
       WHERE l.marketplace_id = $1 AND l.sku = ANY($2::text[])`,
      [p.marketplace_id, skus],
    );
    const bySku = new Map(res.rows.map((r) => [r.sku, r]));
    const pool = new Map<string, number>();
    for (const r of res.rows) if (r.inventory_id !== null) pool.set(r.inventory_id, r.available ?? 0);

    let allocatable = 0;
    const items = orders.map((order, index) => {
      const lines: AllocatedLine[] = linesOf(order).map((l) => {
        const s = bySku.get(l.sku);
        return {
          ...l,
          listing_id: s ? Number(s.listing_id) : null,
          product_id: s ? Number(s.product_id) : null,
          inventory_id: s?.inventory_id ? Number(s.inventory_id) : null,
          weight_kg: toNumber(s?.weight_kg),
          available: s?.inventory_id ? (pool.get(s.inventory_id) ?? 0) : 0,
        };
      });
      const need = new Map<number, number>();
      // The reason an order cannot be served, and its code in the ledger.
      let reason: string | null = lines.length === 0 ? 'the order has no lines' : null;
      let code = 'NO_LINES';
      for (const l of lines) {
        if (reason) break;
        if (l.quantity <= 0) [reason, code] = [`line ${l.line_id} has no quantity`, 'BAD_QUANTITY'];
        else if (l.listing_id === null) [reason, code] = [`SKU ${l.sku} is not listed on this marketplace`, 'NOT_LISTED'];
        else if (l.inventory_id === null) [reason, code] = [`SKU ${l.sku} has no inventory record`, 'NO_INVENTORY'];
        else need.set(l.inventory_id, (need.get(l.inventory_id) ?? 0) + l.quantity);
      }
      if (!reason) {
        for (const l of lines) {
          const key = String(l.inventory_id);
          if ((pool.get(key) ?? 0) < need.get(l.inventory_id!)!) {
            [reason, code] = [`not enough stock of ${l.sku}: ${pool.get(key) ?? 0} available, ${need.get(l.inventory_id!)} needed`, 'OUT_OF_STOCK'];
            break;
          }
        }
      }
      const key = toText(order.id) ?? String(index);
      if (!reason) {
        for (const [inv, n] of need) pool.set(String(inv), (pool.get(String(inv)) ?? 0) - n);
        allocatable++;
        step.items?.record({ key, index, status: 'ok' });
      } else step.items?.record({ key, index, status: 'failed', code, message: reason, item: order });
      const weight = lines.reduce((sum, l) => sum + (l.weight_kg ?? 0.5) * Math.max(0, l.quantity), 0);
      return {
        ...order,
        weight_kg: Math.min(70, Math.max(0.1, Math.round(weight * 1000) / 1000)),
        allocation: { ok: reason === null, reason, lines },
      };
    });
    return { marketplace_id: p.marketplace_id, items, total: items.length, allocatable, unallocatable: items.length - allocatable };
  },
});

interface InventoryLock {
  id: string;
  available: number;
}

/** Locks inventory rows in id order (the one order every operation uses, so no deadlock). */
async function lockInventory(client: Db, ids: number[]): Promise<Map<string, InventoryLock>> {
  if (ids.length === 0) return new Map();
  const res = await client.query<InventoryLock>(`SELECT id, available FROM inventory WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE`, [ids]);
  return new Map(res.rows.map((r) => [String(r.id), r]));
}

function flagged(order: Record<string, unknown>): string | null {
  const f = asRecord(order.fraud_check);
  if (f.is_fraud === true || f.recommended_action === 'reject') return `fraud check: ${Array.isArray(f.reasons) ? f.reasons.join('; ') : 'rejected'}`.slice(0, 500);
  return null;
}

/**
 * `reserve_inventory`: for each order, in its own transaction, holds stock
 * for every line or for none: rows are locked, `available >= quantity` is
 * checked for all lines, then `reserved` grows and one reservation per line
 * is written under its idempotency key. A line already held (by an earlier
 * attempt or run) is not held again; a released one is held anew. Orders the
 * fraud check rejected are skipped. Returns the reserved orders (`items`),
 * those that could not be (`not_reserved`, with the reason), and every
 * reservation key (the input of the compensation, `release_reservations`).
 */
export const reserveInventory = operation<{ marketplace_id: number; orders?: unknown[] | null; skip_flagged?: boolean; claim_lease_seconds?: number }>({
  name: 'reserve_inventory',
  summary: 'claims orders for the run, then atomically reserves stock for each (all lines or none), idempotent per order line',
  params: (mode) =>
    z.strictObject({ marketplace_id: params.id(mode), orders: params.listOrNull(mode), skip_flagged: params.bool(mode).optional(), claim_lease_seconds: leaseParam(mode) }),
  async run(p, { client, step }) {
    const orders = listOf(p.orders).map(asRecord);
    const reserved: Array<Record<string, unknown>> = [];
    const notReserved: Array<{ external_id: string | null; reason: string }> = [];
    const keys: string[] = [];
    const unclaim: string[] = [];
    let held = 0;
    let claimedElsewhere = 0;
    // Claim every order this run may act on: one that another live run holds is left to it.
    const candidates = orders.map((o) => toText(o.id)).filter((id): id is string => id !== null);
    const claimed = await claimEntities(
      client,
      ORDER_CLAIM,
      candidates.map((id) => orderClaimKey(p.marketplace_id, id)),
      step.execution_id,
      p.claim_lease_seconds,
    );
    // The ledger: each order reserved (ok), left to another run or skipped as flagged (skipped), or not reservable (failed).
    const note = (index: number, externalId: string | null, status: 'skipped' | 'failed', code: string, reason: string) =>
      step.items?.record({ key: externalId ?? String(index), index, status, code, message: reason, item: orders[index] });
    for (const [n, order] of orders.entries()) {
      // Each order is its own transaction: a cancelled step stops between two (the heartbeat throws).
      step.heartbeat({ orders: n, total: orders.length });
      const externalId = toText(order.id);
      const allocation = asRecord(order.allocation);
      const lines = listOf(allocation.lines).map(asRecord);
      if (externalId && !claimed.has(orderClaimKey(p.marketplace_id, externalId))) {
        claimedElsewhere++;
        notReserved.push({ external_id: externalId, reason: 'claimed by another run' });
        note(n, externalId, 'skipped', 'CLAIMED_ELSEWHERE', 'claimed by another run');
        continue;
      }
      const skip = !externalId
        ? 'the order has no id'
        : (p.skip_flagged ?? true)
          ? flagged(order)
          : null;
      if (skip) {
        notReserved.push({ external_id: externalId, reason: skip });
        note(n, externalId, externalId ? 'skipped' : 'failed', externalId ? 'ORDER_FLAGGED' : 'ORDER_INVALID', skip);
        if (externalId) unclaim.push(orderClaimKey(p.marketplace_id, externalId));
        continue;
      }
      if (lines.length === 0 || lines.some((l) => toInt(l.inventory_id) === null || (toInt(l.quantity) ?? 0) <= 0)) {
        notReserved.push({ external_id: externalId, reason: toText(allocation.reason) ?? 'the order has no allocated lines' });
        note(n, externalId, 'failed', 'NOT_ALLOCATED', toText(allocation.reason) ?? 'the order has no allocated lines');
        unclaim.push(orderClaimKey(p.marketplace_id, externalId!));
        continue;
      }
      const wanted = lines.map((l) => ({
        key: reservationKey(p.marketplace_id, externalId!, toText(l.line_id) ?? ''),
        line_id: toText(l.line_id) ?? '',
        sku: toText(l.sku) ?? '',
        inventory_id: toInt(l.inventory_id)!,
        quantity: toInt(l.quantity)!,
      }));
      const outcome = await client.transaction(async (client) => {
        const locks = await lockInventory(client, [...new Set(wanted.map((w) => w.inventory_id))].sort((a, b) => a - b));
        const existing = await client.query<{ idempotency_key: string; status: string }>(
          `SELECT idempotency_key, status FROM reservations WHERE idempotency_key = ANY($1::text[]) ORDER BY idempotency_key FOR UPDATE`,
          [wanted.map((w) => w.key)],
        );
        const state = new Map(existing.rows.map((r) => [r.idempotency_key, r.status]));
        // Lines still held (active) or already shipped (consumed) need nothing more.
        const toHold = wanted.filter((w) => state.get(w.key) !== 'active' && state.get(w.key) !== 'consumed').sort((a, b) => (a.key < b.key ? -1 : 1));
        const need = new Map<number, number>();
        for (const w of toHold) need.set(w.inventory_id, (need.get(w.inventory_id) ?? 0) + w.quantity);
        for (const [inv, qty] of need) {
          const lock = locks.get(String(inv));
          if (!lock) return { ok: false as const, reason: `inventory row ${inv} no longer exists` };
          if (lock.available < qty) {
            const sku = wanted.find((w) => w.inventory_id === inv)!.sku;
            return { ok: false as const, reason: `not enough stock of ${sku}: ${lock.available} available, ${qty} needed` };
          }
        }
        if (toHold.length > 0) {
          await client.query(
            `INSERT INTO reservations AS r (marketplace_id, order_external_id, line_external_id, inventory_id, sku, quantity, status, idempotency_key, execution_id)
             SELECT $1, $2, x.line_id, x.inventory_id, x.sku, x.quantity, 'active', x.key, $3
             FROM unnest($4::text[], $5::bigint[], $6::text[], $7::int[], $8::text[]) AS x(line_id, inventory_id, sku, quantity, key)
             ON CONFLICT (idempotency_key) DO UPDATE SET
               status = 'active', inventory_id = EXCLUDED.inventory_id, quantity = EXCLUDED.quantity, released_at = NULL,
               execution_id = EXCLUDED.execution_id, updated_at = now()
             WHERE r.status = 'released'`,
            [
              p.marketplace_id,
              externalId,
              step.execution_id,
              toHold.map((w) => w.line_id),
              toHold.map((w) => w.inventory_id),
              toHold.map((w) => w.sku),
              toHold.map((w) => w.quantity),
              toHold.map((w) => w.key),
            ],
          );
          const ids = [...need.keys()];
          await client.query(
            `UPDATE inventory i SET reserved = i.reserved + x.qty, updated_at = now()
             FROM unnest($1::bigint[], $2::int[]) AS x(id, qty) WHERE i.id = x.id`,
            [ids, ids.map((id) => need.get(id)!)],
          );
        }
        return { ok: true as const, held: toHold.length };
      });
      if (!outcome.ok) {
        notReserved.push({ external_id: externalId, reason: outcome.reason });
        note(n, externalId, 'failed', 'NOT_RESERVED', outcome.reason);
        unclaim.push(orderClaimKey(p.marketplace_id, externalId!));
        continue;
      }
      held += outcome.held;
      const orderKeys = wanted.map((w) => w.key);
      keys.push(...orderKeys);
      reserved.push({ ...order, reservation_keys: orderKeys });
      step.items?.record({ key: externalId!, index: n, status: 'ok' });
    }
    // Orders this run will not act on go back at once: a later run (more stock, a fixed order) may take them.
    await releaseClaims(client, ORDER_CLAIM, unclaim, step.execution_id);
    return {
      marketplace_id: p.marketplace_id,
      items: reserved,
      reserved_count: reserved.length,
      claimed_elsewhere_count: claimedElsewhere,
      lines_held: held,
      not_reserved: notReserved,
      not_reserved_count: notReserved.length,
      reservation_keys: keys,
    };
  },
});

/** The reservation keys `reserve_inventory` uses for these orders (from their allocated lines, else their lines). */
function derivedKeys(marketplaceId: number, orders: unknown[]): string[] {
  return orders.map(asRecord).flatMap((order) => {
    const externalId = toText(order.id);
    if (!externalId) return [];
    const allocated = listOf(asRecord(order.allocation).lines).map(asRecord);
    const lineIds = allocated.length > 0 ? allocated.map((l) => toText(l.line_id) ?? '') : linesOf(order).map((l) => l.line_id);
    return lineIds.map((line) => reservationKey(marketplaceId, externalId, line));
  });
}

/**
 * `release_reservations`: the compensation of `reserve_inventory`. Every
 * active reservation among `keys` gives its units back (`reserved` shrinks);
 * a consumed one (the order was marked shipped) puts its units back in
 * stock. Released ones are left alone, so releasing twice changes nothing.
 *
 * With `marketplace_id` and `orders` (the orders `reserve_inventory` was
 * given), it also releases the reservations whose keys those orders derive,
 * but only those this run made: the undo of a reservation step that failed or
 * was cancelled part way, which has no output listing its keys.
 *
 * @example { "operation": "release_reservations",
 *            "params": { "keys": "$.reservation_keys", "marketplace_id": "$config.marketplace_id", "orders": "$.items" } }
 */
export const releaseReservations = operation<{ keys?: unknown[] | null; marketplace_id?: number | null; orders?: unknown[] | null }>({
  name: 'release_reservations',
  summary: 'releases reservations by key, or by the orders of this run (idempotent); the compensation of reserve_inventory',
  params: (mode) =>
    z.strictObject({ keys: params.listOrNull(mode).optional(), marketplace_id: params.optionalId(mode).optional(), orders: params.listOrNull(mode).optional() }),
  async run(p, { client, step }) {
    const keys = listOf(p.keys).filter((k): k is string => typeof k === 'string' && k !== '');
    const derived = p.marketplace_id ? derivedKeys(p.marketplace_id, listOf(p.orders)) : [];
    const none = { released: 0, unreserved_units: 0, restocked_units: 0, kept_for_other_runs: 0 };
    if (keys.length === 0 && derived.length === 0) return none;
    return client.transaction(async (client) => {
      const candidates = await client.query<{ id: string; inventory_id: string; marketplace_id: number; order_external_id: string }>(
        `SELECT id, inventory_id, marketplace_id, order_external_id FROM reservations
         WHERE (idempotency_key = ANY($1::text[]) OR (idempotency_key = ANY($2::text[]) AND execution_id = $3)) AND status IN ('active', 'consumed')`,
        [keys, derived, step.execution_id],
      );
      // An order another run now holds (its lease, or shipped by it) keeps its stock: undoing it is not this run's to do.
      const others = await heldByOthers(
        client,
        ORDER_CLAIM,
        candidates.rows.map((r) => orderClaimKey(r.marketplace_id, r.order_external_id)),
        step.execution_id,
      );
      const found = candidates.rows.filter((r) => !others.has(orderClaimKey(r.marketplace_id, r.order_external_id)));
      const kept = candidates.rows.length - found.length;
      if (found.length === 0) return { ...none, kept_for_other_runs: kept };
      await lockInventory(client, [...new Set(found.map((r) => Number(r.inventory_id)))].sort((a, b) => a - b));
      // Re-read under the locks: a concurrent release may have won.
      const rows = await client.query<{ id: string; inventory_id: string; quantity: number; status: string }>(
        `UPDATE reservations r SET status = 'released', released_at = now(), updated_at = now()
         FROM (SELECT id, status AS was FROM reservations WHERE id = ANY($1::bigint[]) AND status IN ('active', 'consumed') ORDER BY id FOR UPDATE) old
         WHERE r.id = old.id
         RETURNING r.id, r.inventory_id, r.quantity, old.was AS status`,
        [found.map((r) => r.id)],
      );
      const unreserve = new Map<string, number>();
      const restock = new Map<string, number>();
      for (const r of rows.rows) {
        const target = r.status === 'active' ? unreserve : restock;
        target.set(r.inventory_id, (target.get(r.inventory_id) ?? 0) + r.quantity);
      }
      const ids = [...new Set([...unreserve.keys(), ...restock.keys()])].sort((a, b) => Number(a) - Number(b));
      await client.query(
        `UPDATE inventory i SET reserved = GREATEST(i.reserved - x.unreserve, 0), quantity = i.quantity + x.restock, updated_at = now()
         FROM unnest($1::bigint[], $2::int[], $3::int[]) AS x(id, unreserve, restock) WHERE i.id = x.id`,
        [ids, ids.map((id) => unreserve.get(id) ?? 0), ids.map((id) => restock.get(id) ?? 0)],
      );
      await releaseClaims(
        client,
        ORDER_CLAIM,
        found.map((r) => orderClaimKey(r.marketplace_id, r.order_external_id)),
        step.execution_id,
      );
      const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
      return { released: rows.rows.length, unreserved_units: sum(unreserve), restocked_units: sum(restock), kept_for_other_runs: kept };
    });
  },
});

/**
 * `record_orders`: stores each order with its lines (status `reserved` by
 * default), links its reservations, and returns what the next steps need
 * (`orders`: id, external id, address, weight, totals). An order already past
 * `reserved` (acknowledged, shipped...) is not touched and not returned, so
 * it is never processed, or shipped, twice.
 */
export const recordOrders = operation<{
  marketplace_id: number;
  orders?: unknown[] | null;
  status?: 'received' | 'validated' | 'reserved';
  claim_lease_seconds?: number;
}>({
  name: 'record_orders',
  summary: 'stores the orders the run holds a claim on, with their lines (once per marketplace and external id), and links their reservations',
  params: (mode) =>
    z.strictObject({
      marketplace_id: params.id(mode),
      orders: params.listOrNull(mode),
      status: params.oneOf(mode, ['received', 'validated', 'reserved']).optional(),
      claim_lease_seconds: leaseParam(mode),
    }),
  async run(p, { client, step }) {
    const all = listOf(p.orders).map(asRecord);
    const given = all.filter((o) => toText(o.id) !== null);
    // Only orders this run holds (claimed by reserve_inventory, or free now); the lease is renewed.
    const claimed = await claimEntities(
      client,
      ORDER_CLAIM,
      given.map((o) => orderClaimKey(p.marketplace_id, toText(o.id)!)),
      step.execution_id,
      p.claim_lease_seconds,
    );
    const orders = given.filter((o) => claimed.has(orderClaimKey(p.marketplace_id, toText(o.id)!)));
    const claimedElsewhere = given.filter((o) => !claimed.has(orderClaimKey(p.marketplace_id, toText(o.id)!))).map((o) => toText(o.id)!);
    const status = p.status ?? 'reserved';
    return client.transaction(async (client) => {
      const fraudScore = (o: Record<string, unknown>) => {
        const s = toNumber(asRecord(o.fraud_check).risk_score);
        return s === null ? null : Math.min(1, Math.max(0, s));
      };
      const res = await client.query<{ id: string; external_id: string; inserted: boolean }>(
        `INSERT INTO orders AS o (marketplace_id, external_id, status, currency, buyer, shipping_address, subtotal, shipping_cost, total,
                                  weight_kg, fraud_score, fraud_check, placed_at, execution_id, step_key)
         SELECT $1, x.external_id, $2, x.currency, x.buyer, x.shipping_address, x.subtotal, x.shipping_cost, x.total,
                x.weight_kg, x.fraud_score, x.fraud_check, x.placed_at, $3, $4
         FROM unnest($5::text[], $6::text[], $7::jsonb[], $8::jsonb[], $9::numeric[], $10::numeric[], $11::numeric[], $12::numeric[],
                     $13::numeric[], $14::jsonb[], $15::timestamptz[])
              AS x(external_id, currency, buyer, shipping_address, subtotal, shipping_cost, total, weight_kg, fraud_score, fraud_check, placed_at)
         ON CONFLICT (marketplace_id, external_id) DO UPDATE SET
           status = EXCLUDED.status, currency = EXCLUDED.currency, buyer = EXCLUDED.buyer, shipping_address = EXCLUDED.shipping_address,
           subtotal = EXCLUDED.subtotal, shipping_cost = EXCLUDED.shipping_cost, total = EXCLUDED.total, weight_kg = EXCLUDED.weight_kg,
           fraud_score = EXCLUDED.fraud_score, fraud_check = EXCLUDED.fraud_check, error = NULL,
           execution_id = EXCLUDED.execution_id, step_key = EXCLUDED.step_key, updated_at = now()
         WHERE o.status IN ('received', 'validated', 'reserved', 'failed')
         RETURNING o.id, o.external_id, (o.xmax = 0) AS inserted`,
        [
          p.marketplace_id,
          status,
          step.execution_id,
          step.step_key,
          orders.map((o) => toText(o.id)),
          orders.map((o) => (toText(o.currency) ?? 'USD').toUpperCase().slice(0, 3)),
          orders.map((o) => JSON.stringify(asRecord(o.buyer))),
          orders.map((o) => JSON.stringify(asRecord(o.shipping_address))),
          orders.map((o) => toNumber(o.subtotal) ?? 0),
          orders.map((o) => toNumber(o.shipping_cost) ?? 0),
          orders.map((o) => toNumber(o.total) ?? 0),
          orders.map((o) => toNumber(o.weight_kg)),
          orders.map(fraudScore),
          orders.map((o) => (isPlainObject(o.fraud_check) ? JSON.stringify(o.fraud_check) : null)),
          orders.map((o) => {
            const t = toText(o.created_at);
            return t && !Number.isNaN(Date.parse(t)) ? new Date(t).toISOString() : null;
          }),
        ],
      );
      const idOf = new Map(res.rows.map((r) => [r.external_id, Number(r.id)]));
      const recorded = orders.filter((o) => idOf.has(toText(o.id)!));
      const lines = recorded.flatMap((o) => {
        const allocated = new Map(listOf(asRecord(o.allocation).lines).map((l) => [toText(asRecord(l).line_id), asRecord(l)]));
        return linesOf(o).map((l) => ({ order_id: idOf.get(toText(o.id)!)!, ...l, alloc: allocated.get(l.line_id) ?? {} }));
      });
      if (lines.length > 0) {
        await client.query(
          `INSERT INTO order_lines AS ol (order_id, line_external_id, sku, listing_id, product_id, title, quantity, unit_price)
           SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::text[], $7::int[], $8::numeric[])
           ON CONFLICT (order_id, line_external_id) DO UPDATE SET
             sku = EXCLUDED.sku, listing_id = EXCLUDED.listing_id, product_id = EXCLUDED.product_id, title = EXCLUDED.title,
             quantity = EXCLUDED.quantity, unit_price = EXCLUDED.unit_price`,
          [
            lines.map((l) => l.order_id),
            lines.map((l) => l.line_id),
            lines.map((l) => l.sku),
            lines.map((l) => toInt(asRecord(l.alloc).listing_id)),
            lines.map((l) => toInt(asRecord(l.alloc).product_id)),
            lines.map((l) => l.title?.slice(0, 500) ?? null),
            lines.map((l) => Math.max(1, l.quantity)),
            lines.map((l) => l.unit_price),
          ],
        );
        await client.query(
          `UPDATE reservations r SET order_id = o.id, order_line_id = ol.id, updated_at = now()
           FROM orders o JOIN order_lines ol ON ol.order_id = o.id
           WHERE o.id = ANY($1::bigint[]) AND r.marketplace_id = o.marketplace_id AND r.order_external_id = o.external_id
             AND r.line_external_id = ol.line_external_id AND (r.order_id IS DISTINCT FROM o.id OR r.order_line_id IS DISTINCT FROM ol.id)`,
          [[...idOf.values()]],
        );
      }
      await client.query(`UPDATE marketplaces SET orders_total = (SELECT count(*) FROM orders WHERE marketplace_id = $1), updated_at = now() WHERE id = $1`, [
        p.marketplace_id,
      ]);
      const inserted = res.rows.filter((r) => r.inserted).length;
      // The ledger: each order recorded (ok), left to another run or already past `reserved` (skipped), or without an id (failed).
      const elsewhere = new Set(claimedElsewhere);
      all.forEach((o, index) => {
        const id = toText(o.id);
        if (id === null) step.items?.record({ key: String(index), index, status: 'failed', code: 'ORDER_INVALID', message: 'the order has no id', item: o });
        else if (idOf.has(id)) step.items?.record({ key: id, index, status: 'ok' });
        else if (elsewhere.has(id)) step.items?.record({ key: id, index, status: 'skipped', code: 'CLAIMED_ELSEWHERE', message: 'held by another run, or finished' });
        else step.items?.record({ key: id, index, status: 'skipped', code: 'ALREADY_PROCESSED', message: 'the order is already past reserved' });
      });
      return {
        marketplace_id: p.marketplace_id,
        orders: recorded.map((o) => ({
          order_id: idOf.get(toText(o.id)!)!,
          external_id: toText(o.id)!,
          total: toNumber(o.total) ?? 0,
          currency: toText(o.currency) ?? 'USD',
          buyer: asRecord(o.buyer),
          shipping_address: asRecord(o.shipping_address),
          weight_kg: toNumber(o.weight_kg) ?? 0.5,
          reservation_keys: listOf(o.reservation_keys),
        })),
        order_ids: [...idOf.values()],
        inserted,
        updated: res.rows.length - inserted,
        skipped: orders.filter((o) => !idOf.has(toText(o.id)!)).map((o) => toText(o.id)),
        claimed_elsewhere: claimedElsewhere,
      };
    });
  },
});

/**
 * `fail_orders`: the compensation of `record_orders`. Marks the run's orders
 * failed with the run's error and voids their shipment records (the carrier
 * labels are voided by the labels' own compensation).
 */
export const failOrders = operation<{ order_ids?: unknown[] | null; error?: string | null }>({
  name: 'fail_orders',
  summary: 'marks orders failed (with the reason) and voids their shipment records',
  params: (mode) => z.strictObject({ order_ids: params.listOrNull(mode), error: params.optionalText(mode).optional() }),
  async run(p, { client, step }) {
    const given = listOf(p.order_ids)
      .map(toInt)
      .filter((v): v is number => v !== null);
    if (given.length === 0) return { failed: 0, shipments_voided: 0, kept_for_other_runs: 0 };
    return client.transaction(async (client) => {
      // Orders another run holds now (or finished) are left alone: this run no longer acts on them.
      const known = await client.query<{ id: string; marketplace_id: number; external_id: string }>(
        `SELECT id, marketplace_id, external_id FROM orders WHERE id = ANY($1::bigint[]) ORDER BY id`,
        [given],
      );
      const keyOf = (r: { marketplace_id: number; external_id: string }) => orderClaimKey(r.marketplace_id, r.external_id);
      const others = await heldByOthers(client, ORDER_CLAIM, known.rows.map(keyOf), step.execution_id);
      const mine = known.rows.filter((r) => !others.has(keyOf(r)));
      const ids = mine.map((r) => Number(r.id));
      const failed = await client.query(
        `UPDATE orders o SET status = 'failed', error = $2, updated_at = now()
         FROM (SELECT id FROM orders WHERE id = ANY($1::bigint[]) AND status <> 'cancelled' ORDER BY id FOR UPDATE) l WHERE o.id = l.id`,
        [ids, (p.error ?? 'the order processing run failed').slice(0, 2000)],
      );
      const voided = await client.query(
        `UPDATE shipments SET status = 'voided', voided_at = now(), updated_at = now() WHERE order_id = ANY($1::bigint[]) AND status <> 'voided'`,
        [ids],
      );
      // The run gives its orders back: the next run may try them again.
      await releaseClaims(client, ORDER_CLAIM, mine.map(keyOf), step.execution_id);
      return { failed: failed.rowCount ?? 0, shipments_voided: voided.rowCount ?? 0, kept_for_other_runs: known.rows.length - mine.length };
    });
  },
});

/**
 * `update_order_status`: after acknowledgement and labels, moves each of the
 * run's orders on: acknowledged by the marketplace → `acknowledged`; with a
 * label → a shipment record (one per order: a second label for a shipped
 * order is refused and reported) and `shipped`, its reservations consumed
 * (the units leave stock). Returns the shipments to announce to the
 * marketplace (`shipped`) and the orders waiting for manual shipping.
 */
export const updateOrderStatus = operation<{ marketplace_id: number; orders?: unknown[] | null; acknowledged?: unknown[] | null; labels?: unknown[] | null }>({
  name: 'update_order_status',
  summary: 'records acknowledgements and shipments (one per order) and consumes the shipped reservations',
  params: (mode) =>
    z.strictObject({
      marketplace_id: params.id(mode),
      orders: params.listOrNull(mode),
      acknowledged: params.listOrNull(mode).optional(),
      labels: params.listOrNull(mode).optional(),
    }),
  async run(p, { client, step }) {
    const orders = listOf(p.orders).map(asRecord);
    const idByExternal = new Map(orders.map((o) => [toText(o.external_id), toInt(o.order_id)]).filter((e): e is [string, number] => e[0] !== null && e[1] !== null));
    const acked = listOf(p.acknowledged)
      .map(asRecord)
      .map((a) => toText(a.id) ?? toText(a.order_id))
      .filter((id): id is string => id !== null && idByExternal.has(id));
    const labels = listOf(p.labels)
      .filter(isPlainObject)
      .map((l) => ({
        external_id: toText(l.order_id),
        label_id: toText(l.label_id) ?? toText(l.id),
        tracking_number: toText(l.tracking_number),
        carrier: toText(l.carrier) ?? 'unknown',
        service: toText(l.service),
        label_url: toText(l.label_url),
      }))
      .filter((l) => l.external_id !== null && l.tracking_number !== null && idByExternal.has(l.external_id));

    return client.transaction(async (client) => {
      const ackIds = acked.map((e) => idByExternal.get(e)!);
      if (ackIds.length > 0) {
        await client.query(
          `UPDATE orders SET status = 'acknowledged', acknowledged_at = COALESCE(acknowledged_at, now()), updated_at = now()
           WHERE id = ANY($1::bigint[]) AND status IN ('received', 'validated', 'reserved')`,
          [ackIds],
        );
      }
      const shipped: Array<{ order_id: number; order_external_id: string; tracking_number: string; carrier: string; label_id: string | null }> = [];
      const refused: Array<{ order_external_id: string; label_id: string | null; reason: string }> = [];
      if (labels.length > 0) {
        const res = await client.query<{ order_id: string; tracking_number: string; label_id: string | null; carrier: string }>(
          `INSERT INTO shipments AS s (order_id, carrier, service, tracking_number, label_id, label_url, status, shipped_at, execution_id)
           SELECT x.order_id, x.carrier, x.service, x.tracking_number, x.label_id, x.label_url, 'shipped', now(), $1
           FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) AS x(order_id, carrier, service, tracking_number, label_id, label_url)
           ON CONFLICT (order_id) DO UPDATE SET
             carrier = EXCLUDED.carrier, service = EXCLUDED.service, tracking_number = EXCLUDED.tracking_number, label_id = EXCLUDED.label_id,
             label_url = EXCLUDED.label_url, status = 'shipped', shipped_at = now(), voided_at = NULL, execution_id = EXCLUDED.execution_id, updated_at = now()
           WHERE s.status = 'voided' OR s.tracking_number = EXCLUDED.tracking_number
           RETURNING s.order_id, s.tracking_number, s.label_id, s.carrier`,
          [
            step.execution_id,
            labels.map((l) => idByExternal.get(l.external_id!)),
            labels.map((l) => l.carrier),
            labels.map((l) => l.service),
            labels.map((l) => l.tracking_number),
            labels.map((l) => l.label_id),
            labels.map((l) => l.label_url),
          ],
        );
        const written = new Map(res.rows.map((r) => [Number(r.order_id), r]));
        for (const l of labels) {
          const id = idByExternal.get(l.external_id!)!;
          const row = written.get(id);
          if (row) shipped.push({ order_id: id, order_external_id: l.external_id!, tracking_number: row.tracking_number, carrier: row.carrier, label_id: row.label_id });
          else refused.push({ order_external_id: l.external_id!, label_id: l.label_id, reason: 'the order already has a shipment' });
        }
        const shippedIds = shipped.map((s) => s.order_id);
        if (shippedIds.length > 0) {
          await client.query(
            `UPDATE orders SET status = 'shipped', shipped_at = COALESCE(shipped_at, now()), acknowledged_at = COALESCE(acknowledged_at, now()), updated_at = now()
             WHERE id = ANY($1::bigint[])`,
            [shippedIds],
          );
          // The shipped units leave stock: the hold becomes a decrement. Inventory rows are locked first, as everywhere.
          const holds = await client.query<{ inventory_id: string }>(`SELECT DISTINCT inventory_id FROM reservations WHERE order_id = ANY($1::bigint[]) AND status = 'active'`, [
            shippedIds,
          ]);
          if (holds.rows.length > 0) {
            await lockInventory(client, holds.rows.map((r) => Number(r.inventory_id)).sort((a, b) => a - b));
            const consumed = await client.query<{ inventory_id: string; quantity: number }>(
              `UPDATE reservations SET status = 'consumed', consumed_at = now(), updated_at = now()
               WHERE order_id = ANY($1::bigint[]) AND status = 'active'
               RETURNING inventory_id, quantity`,
              [shippedIds],
            );
            const per = new Map<string, number>();
            for (const r of consumed.rows) per.set(r.inventory_id, (per.get(r.inventory_id) ?? 0) + r.quantity);
            const ids = [...per.keys()];
            await client.query(
              `UPDATE inventory i SET reserved = GREATEST(i.reserved - x.n, 0), quantity = GREATEST(i.quantity - x.n, 0), updated_at = now()
               FROM unnest($1::bigint[], $2::int[]) AS x(id, n) WHERE i.id = x.id`,
              [ids, ids.map((id) => per.get(id)!)],
            );
          }
        }
      }
      const shippedSet = new Set(shipped.map((s) => s.order_external_id));
      const awaiting = acked.filter((e) => !shippedSet.has(e));
      // The ledger: each order shipped or acknowledged and waiting for manual shipping (ok), its label refused (failed), or neither (skipped).
      const ackedSet = new Set(acked);
      const refusedBy = new Map(refused.map((r) => [r.order_external_id, r.reason]));
      orders.forEach((o, index) => {
        const id = toText(o.external_id);
        const key = id ?? String(index);
        if (id !== null && shippedSet.has(id)) step.items?.record({ key, index, status: 'ok' });
        else if (id !== null && refusedBy.has(id)) step.items?.record({ key, index, status: 'failed', code: 'SHIPMENT_REFUSED', message: refusedBy.get(id)!, item: o });
        else if (id !== null && ackedSet.has(id)) step.items?.record({ key, index, status: 'ok', code: 'AWAITING_SHIPMENT', message: 'acknowledged; no label: waiting for manual shipping' });
        else step.items?.record({ key, index, status: 'skipped', code: 'NOT_ACKNOWLEDGED', message: 'neither acknowledged by the marketplace nor labelled', item: o });
      });
      // Final for this workflow (shipped, or acknowledged and waiting for manual shipping): the claims are done.
      const finished = [...new Set([...shippedSet, ...acked, ...refused.map((r) => r.order_external_id)])];
      await completeClaims(
        client,
        ORDER_CLAIM,
        finished.map((e) => orderClaimKey(p.marketplace_id, e)),
        step.execution_id,
      );
      return {
        marketplace_id: p.marketplace_id,
        acknowledged: acked.length,
        shipped,
        shipped_count: shipped.length,
        awaiting_shipment: awaiting,
        awaiting_count: awaiting.length,
        refused_labels: refused,
      };
    });
  },
});
