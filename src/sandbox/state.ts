import type { Catalogue } from './catalogue';
import { HttpError, invalid, notFound } from './http';
import { hash32, hashString, intBetween, pick, round2, streamFor } from './prng';

/** A marketplace listing. */
export interface Listing {
  id: string;
  sku: string;
  title: string;
  description: string | null;
  price: number;
  currency: string;
  quantity: number;
  status: ListingStatus;
  images: string[];
  category: string | null;
  brand: string | null;
  idempotency_key: string;
  created_at: string;
  updated_at: string;
}

export type ListingStatus = 'active' | 'inactive';
export const LISTING_STATUSES: readonly ListingStatus[] = ['active', 'inactive'];

/** The fields a client sends to create a listing. */
export interface ListingInput {
  sku: string;
  title: string;
  price: number;
  description?: string;
  currency?: string;
  quantity?: number;
  status?: ListingStatus;
  images?: string[];
  category?: string;
  brand?: string;
}

export type ListingPatch = Partial<Omit<ListingInput, 'sku'>>;

export type OrderStatus = 'new' | 'acknowledged' | 'shipped';
export const ORDER_STATUSES: readonly OrderStatus[] = ['new', 'acknowledged', 'shipped'];

export interface Address {
  name: string;
  line1: string;
  city: string;
  region: string;
  postal_code: string;
  country: string;
}

export interface OrderItem {
  line_id: string;
  sku: string;
  /** The listing the SKU was sold through; `null` when the SKU is not listed in this sandbox (seeded orders on a fresh sandbox). */
  listing_id: string | null;
  title: string;
  quantity: number;
  unit_price: number;
}

export interface Shipment {
  tracking_number: string;
  carrier: string;
  label_id: string | null;
  shipped_at: string;
}

/** A marketplace order. */
export interface Order {
  id: string;
  status: OrderStatus;
  currency: string;
  buyer: { name: string; email: string };
  shipping_address: Address;
  items: OrderItem[];
  subtotal: number;
  shipping_cost: number;
  total: number;
  created_at: string;
  updated_at: string;
  acknowledged_at: string | null;
  shipment: Shipment | null;
}

/** A carrier shipping label. */
export interface Label {
  id: string;
  order_id: string;
  tracking_number: string;
  carrier: string;
  service: LabelService;
  status: 'created' | 'voided';
  label_url: string;
  rate: { amount: number; currency: string };
  ship_to: Address;
  weight_kg: number;
  idempotency_key: string | null;
  created_at: string;
  voided_at: string | null;
}

export type LabelService = 'ground' | 'express';
export const LABEL_SERVICES: readonly LabelService[] = ['ground', 'express'];

export interface LabelInput {
  order_id: string;
  ship_to: Address;
  service?: LabelService;
  weight_kg?: number;
}

/** One change of supplier stock, as the admin API reports it. */
export interface StockChange {
  sku: string;
  previous: number;
  quantity: number;
}

/** The sandbox APIs, each with its own rate-limit bucket and request counter. */
export type ApiName = 'supplier' | 'marketplace' | 'carrier' | 'generic' | 'feed';
export const API_NAMES: readonly ApiName[] = ['supplier', 'marketplace', 'carrier', 'generic', 'feed'];

/** Monotonic counters since start or the last reset. */
export interface SandboxCounters {
  /** API requests received (admin and static files excluded), whatever they were answered. */
  requests_served: number;
  requests_by_api: Record<ApiName, number>;
  /** Requests answered 429. */
  rate_limited: number;
  /** Requests answered 401. */
  unauthorized: number;
  /** Injected 5xx answers plus injected hangs. */
  faults_injected: number;
  timeouts_injected: number;
  listings_created: number;
  listing_updates: number;
  /** Marketplace inventory quantities applied (per SKU, single and bulk). */
  inventory_updates: number;
  /** Requests answered from an idempotency key or an already-applied action instead of changing state. */
  idempotent_replays: number;
  /** Requests refused because their Idempotency-Key was used before for another entity (422 `idempotency_key_reused`). */
  idempotency_conflicts: number;
  /** Shipment notices refused because the order already shipped with another tracking number (409 `shipment_exists`). */
  shipment_conflicts: number;
  orders_created: number;
  acknowledged_orders: number;
  shipments: number;
  labels: number;
  labels_voided: number;
  /** Label requests refused by the permanent carrier failure mode. */
  labels_rejected: number;
  listings_rejected: number;
  /** Supplier stock quantities changed through the admin API. */
  supplier_stock_changes: number;
}

/** The permanent carrier failure mode: every new label is refused with this status and code. */
export interface CarrierFailure {
  status: number;
  code: string;
  message: string;
  /** Only labels of these orders are refused (absent: every new label). */
  order_ids?: string[];
}

/** Options of {@link SandboxState}. */
export interface SandboxStateOptions {
  /** Orders present at start (and after reset), generated from the seed (default 25). */
  initialOrders?: number;
  /** Base URL of the server, used in label URLs. */
  baseUrl: string;
}

/** Seeded orders get fixed timestamps so the same seed gives identical orders. */
const ORDER_BASE_TIME = Date.UTC(2024, 5, 1);
const CARRIER_NAME = 'sandbox-post';
const FIRST_NAMES = ['Ada', 'Grace', 'Alan', 'Linus', 'Margaret', 'Ken', 'Barbara', 'Dennis', 'Radia', 'Edsger', 'Frances', 'Tim'];
const LAST_NAMES = ['Lovelace', 'Hopper', 'Turing', 'Torvalds', 'Hamilton', 'Thompson', 'Liskov', 'Ritchie', 'Perlman', 'Dijkstra', 'Allen', 'Lee'];
const CITIES: ReadonlyArray<[city: string, region: string]> = [
  ['Portland', 'OR'], ['Austin', 'TX'], ['Denver', 'CO'], ['Madison', 'WI'], ['Raleigh', 'NC'], ['Boise', 'ID'], ['Tucson', 'AZ'], ['Albany', 'NY'],
];
const STREETS = ['Main St', 'Oak Ave', 'Maple Dr', 'Cedar Ln', 'Pine St', 'Elm St', 'Lakeview Rd', 'Hill Ct'];

/**
 * Everything the sandbox APIs remember, and the operations that change it.
 * No HTTP here: handlers validate input, call these methods and render the
 * results, and tests can inspect the same object through `sandbox.state`.
 */
export class SandboxState {
  listings = new Map<string, Listing>();
  orders = new Map<string, Order>();
  labels = new Map<string, Label>();
  counters: SandboxCounters = emptyCounters();
  /** Permanent carrier failure mode, or `null` when labels are issued normally. */
  carrierFailure: CarrierFailure | null = null;
  /** SKUs the marketplace refuses to list, each with the answer it gives (a permanent failure of one item). */
  listingRejections = new Map<string, CarrierFailure>();

  private listingBySku = new Map<string, string>();
  private listingByKey = new Map<string, string>();
  private labelByKey = new Map<string, string>();
  private stock = new Map<number, number>();
  private orderSeq = 0;
  private labelSeq = 0;
  private movementSeq = 0;

  constructor(
    readonly catalogue: Catalogue,
    private readonly options: SandboxStateOptions,
  ) {
    this.reset();
  }

  /** Back to the state at start: no listings or labels, the seeded orders, generated stock, zero counters. */
  reset(): void {
    this.listings = new Map();
    this.orders = new Map();
    this.labels = new Map();
    this.counters = emptyCounters();
    this.carrierFailure = null;
    this.listingRejections = new Map();
    this.listingBySku = new Map();
    this.listingByKey = new Map();
    this.labelByKey = new Map();
    this.stock = new Map();
    this.orderSeq = 0;
    this.labelSeq = 0;
    this.movementSeq = 0;
    this.createOrders(this.options.initialOrders ?? 25, { seeded: true });
    // Seeded orders are part of the initial data, not activity.
    this.counters.orders_created = 0;
  }

  // ---- supplier stock ---------------------------------------------------------

  /** Current supplier stock of product `index`. */
  stockOf(index: number): number {
    return this.stock.get(index) ?? this.catalogue.initialStock(index);
  }

  /** Sets (`quantity`) or moves (`delta`) the supplier stock of a SKU; stock never goes below zero. */
  changeStock(sku: string, change: { quantity?: number; delta?: number }, field = 'sku'): StockChange {
    const index = this.catalogue.indexOfSku(sku);
    if (index === undefined) throw invalid(field, `unknown supplier SKU ${sku}`);
    const previous = this.stockOf(index);
    const quantity = Math.max(0, change.quantity ?? previous + (change.delta ?? 0));
    this.stock.set(index, quantity);
    this.counters.supplier_stock_changes++;
    return { sku, previous, quantity };
  }

  /**
   * Simulates stock movement: `count` distinct products get new quantities,
   * the first `lowStock` of them below the catalogue's low-stock threshold.
   * Deterministic: the n-th call after a reset always moves the same SKUs.
   */
  simulateStockMovement(count: number, lowStock: number): StockChange[] {
    const rng = streamFor(this.catalogue.seed, 'movement', this.movementSeq++);
    const picked = new Set<number>();
    const changes: StockChange[] = [];
    const threshold = this.catalogue.lowStockThreshold;
    for (let attempts = 0; changes.length < count && attempts < count * 20; attempts++) {
      const index = this.validProductIndex(Math.floor(rng() * this.catalogue.size));
      if (index === undefined || picked.has(index)) continue;
      picked.add(index);
      const quantity = changes.length < lowStock ? intBetween(rng, 0, Math.max(0, threshold - 1)) : intBetween(rng, threshold, 500);
      changes.push(this.changeStock(this.catalogue.skuOf(index), { quantity }));
    }
    return changes;
  }

  /** The first product at or after `start` (wrapping) that is valid, or `undefined` if none is. */
  private validProductIndex(start: number): number | undefined {
    const size = this.catalogue.size;
    for (let i = 0; i < Math.min(size, 10_000); i++) {
      const index = (start + i) % size;
      if (this.catalogue.defectOf(index) === null) return index;
    }
    return undefined;
  }

  // ---- marketplace listings -----------------------------------------------------

  /**
   * Creates a listing once per idempotency key: a repeated key returns the
   * listing it created (`created: false`) whatever the body. A second key for
   * an already listed SKU is a 409 naming the existing listing.
   */
  createListing(idempotencyKey: string, input: ListingInput): { listing: Listing; created: boolean } {
    const rejection = this.listingRejections.get(input.sku);
    if (rejection) {
      this.counters.listings_rejected++;
      throw new HttpError(rejection.status, rejection.code, rejection.message, { field: 'sku', permanent: rejection.status < 500 });
    }
    const replayId = this.listingByKey.get(idempotencyKey);
    if (replayId !== undefined) {
      const listing = this.listings.get(replayId)!;
      if (listing.sku !== input.sku) throw this.keyReused(idempotencyKey, `listing ${listing.id} of SKU ${listing.sku}`);
      this.counters.idempotent_replays++;
      return { listing, created: false };
    }
    const existing = this.listingBySku.get(input.sku);
    if (existing !== undefined) {
      throw new HttpError(409, 'listing_exists', `SKU ${input.sku} is already listed as ${existing}`, { field: 'sku', listing_id: existing });
    }
    const now = timestamp();
    const listing: Listing = {
      id: 'lst_' + String(this.listings.size + 1).padStart(6, '0'),
      sku: input.sku,
      title: input.title,
      description: input.description ?? null,
      price: round2(input.price),
      currency: input.currency ?? 'USD',
      quantity: input.quantity ?? 0,
      status: input.status ?? 'active',
      images: input.images ?? [],
      category: input.category ?? null,
      brand: input.brand ?? null,
      idempotency_key: idempotencyKey,
      created_at: now,
      updated_at: now,
    };
    this.listings.set(listing.id, listing);
    this.listingBySku.set(listing.sku, listing.id);
    this.listingByKey.set(idempotencyKey, listing.id);
    this.counters.listings_created++;
    return { listing, created: true };
  }

  listing(id: string): Listing {
    const listing = this.listings.get(id);
    if (!listing) throw notFound('listing', id);
    return listing;
  }

  updateListing(id: string, patch: ListingPatch): Listing {
    const listing = this.listing(id);
    for (const [key, value] of Object.entries(patch)) {
      if (value !== undefined) (listing as unknown as Record<string, unknown>)[key] = key === 'price' ? round2(value as number) : value;
    }
    listing.updated_at = timestamp();
    this.counters.listing_updates++;
    return listing;
  }

  /** The listing of a SKU, or `undefined`. */
  listingForSku(sku: string): Listing | undefined {
    const id = this.listingBySku.get(sku);
    return id === undefined ? undefined : this.listings.get(id);
  }

  /** Sets the available quantity of a listed SKU (404 when the SKU has no listing). */
  setListingQuantity(sku: string, quantity: number): Listing {
    const listing = this.listingForSku(sku);
    if (!listing) throw new HttpError(404, 'listing_not_found', `no listing for SKU ${sku}`, { field: 'sku' });
    listing.quantity = quantity;
    listing.updated_at = timestamp();
    this.counters.inventory_updates++;
    return listing;
  }

  // ---- marketplace orders ---------------------------------------------------------

  order(id: string): Order {
    const order = this.orders.get(id);
    if (!order) throw notFound('order', id);
    return order;
  }

  /**
   * Creates `count` new orders. Each references SKUs from `skus` when given,
   * else active listings when there are any, else valid catalogue products
   * (so a fresh sandbox has orders before anything is listed). Order n is
   * generated from the seed and n alone.
   */
  createOrders(count: number, opts: { skus?: string[]; seeded?: boolean } = {}): Order[] {
    const listed = [...this.listings.values()].filter((l) => l.status === 'active').map((l) => l.sku);
    const pool = opts.skus ?? (listed.length > 0 ? listed : null);
    const created: Order[] = [];
    for (let n = 0; n < count; n++) {
      const seq = ++this.orderSeq;
      const rng = streamFor(this.catalogue.seed, 'order', seq);
      const id = 'ord_' + String(seq).padStart(6, '0');
      const items: OrderItem[] = [];
      const lineCount = intBetween(rng, 1, 3);
      for (let line = 0; line < lineCount; line++) {
        const sku = pool ? pick(rng, pool) : this.randomValidSku(rng());
        if (sku === undefined || items.some((item) => item.sku === sku)) continue;
        items.push(this.orderItem(`${id}-${items.length + 1}`, sku, intBetween(rng, 1, 3)));
      }
      if (items.length === 0) break; // nothing to sell: an empty catalogue and no listings
      const first = pick(rng, FIRST_NAMES);
      const last = pick(rng, LAST_NAMES);
      const [city, region] = pick(rng, CITIES);
      const subtotal = round2(items.reduce((sum, item) => sum + item.quantity * item.unit_price, 0));
      const shippingCost = subtotal >= 50 ? 0 : 5.99;
      const createdAt = opts.seeded ? new Date(ORDER_BASE_TIME + seq * 17 * 60_000).toISOString() : timestamp();
      const order: Order = {
        id,
        status: 'new',
        currency: 'USD',
        buyer: { name: `${first} ${last}`, email: `${first}.${last}.${seq}@example.com`.toLowerCase() },
        shipping_address: {
          name: `${first} ${last}`,
          line1: `${intBetween(rng, 1, 9999)} ${pick(rng, STREETS)}`,
          city,
          region,
          postal_code: String(intBetween(rng, 10000, 99999)),
          country: 'US',
        },
        items,
        subtotal,
        shipping_cost: shippingCost,
        total: round2(subtotal + shippingCost),
        created_at: createdAt,
        updated_at: createdAt,
        acknowledged_at: null,
        shipment: null,
      };
      this.orders.set(id, order);
      this.counters.orders_created++;
      created.push(order);
    }
    return created;
  }

  /** True when a SKU can be sold: it is listed or a valid catalogue product. */
  isSellableSku(sku: string): boolean {
    const index = this.catalogue.indexOfSku(sku);
    return this.listingBySku.has(sku) || (index !== undefined && this.catalogue.defectOf(index) === null);
  }

  private randomValidSku(u: number): string | undefined {
    if (this.catalogue.size === 0) return undefined;
    const index = this.validProductIndex(Math.floor(u * this.catalogue.size));
    return index === undefined ? undefined : this.catalogue.skuOf(index);
  }

  private orderItem(lineId: string, sku: string, quantity: number): OrderItem {
    const listing = this.listingForSku(sku);
    if (listing) return { line_id: lineId, sku, listing_id: listing.id, title: listing.title, quantity, unit_price: listing.price };
    const index = this.catalogue.indexOfSku(sku);
    const product = index === undefined ? undefined : this.catalogue.product(index);
    // Unlisted SKUs sell at a typical marketplace markup over the supplier cost.
    const unitPrice = product?.cost_price !== undefined && product.cost_price > 0 ? round2(product.cost_price * 1.6) : 9.99;
    return { line_id: lineId, sku, listing_id: null, title: product?.name || sku, quantity, unit_price: unitPrice };
  }

  /** Acknowledges an order; acknowledging again (or after shipment) changes nothing. */
  acknowledgeOrder(id: string): { order: Order; changed: boolean } {
    const order = this.order(id);
    if (order.status !== 'new') {
      this.counters.idempotent_replays++;
      return { order, changed: false };
    }
    order.status = 'acknowledged';
    order.acknowledged_at = order.updated_at = timestamp();
    this.counters.acknowledged_orders++;
    return { order, changed: true };
  }

  /**
   * Records the shipment of an acknowledged order. The same tracking number
   * again is a no-op; a different one is a 409, since an order ships once.
   */
  shipOrder(id: string, input: { tracking_number: string; carrier: string; label_id?: string }): { order: Order; changed: boolean } {
    const order = this.order(id);
    if (order.shipment) {
      if (order.shipment.tracking_number === input.tracking_number) {
        this.counters.idempotent_replays++;
        return { order, changed: false };
      }
      this.counters.shipment_conflicts++;
      throw new HttpError(409, 'shipment_exists', `order ${id} already shipped with tracking number ${order.shipment.tracking_number}`, {
        field: 'tracking_number',
      });
    }
    if (order.status === 'new') throw new HttpError(409, 'order_not_acknowledged', `order ${id} must be acknowledged before it ships`);
    const now = timestamp();
    order.shipment = { tracking_number: input.tracking_number, carrier: input.carrier, label_id: input.label_id ?? null, shipped_at: now };
    order.status = 'shipped';
    order.updated_at = now;
    this.counters.shipments++;
    return { order, changed: true };
  }

  // ---- carrier labels ---------------------------------------------------------------

  /**
   * Buys a label. A repeated idempotency key returns the label it bought; in
   * the permanent failure mode every new label is refused.
   */
  createLabel(idempotencyKey: string | undefined, input: LabelInput): { label: Label; created: boolean } {
    const replayId = idempotencyKey === undefined ? undefined : this.labelByKey.get(idempotencyKey);
    if (replayId !== undefined) {
      const label = this.labels.get(replayId)!;
      if (label.order_id !== input.order_id) throw this.keyReused(idempotencyKey!, `label ${label.id} of order ${label.order_id}`);
      this.counters.idempotent_replays++;
      return { label, created: false };
    }
    if (this.carrierFailure && (!this.carrierFailure.order_ids || this.carrierFailure.order_ids.includes(input.order_id))) {
      this.counters.labels_rejected++;
      const { status, code, message } = this.carrierFailure;
      throw new HttpError(status, code, message, { permanent: true });
    }
    const seq = ++this.labelSeq;
    const id = 'lbl_' + String(seq).padStart(6, '0');
    const service = input.service ?? 'ground';
    const weight = input.weight_kg ?? 1;
    const label: Label = {
      id,
      order_id: input.order_id,
      // The sequence number keeps tracking numbers unique; the hash makes them look like real ones.
      tracking_number: 'SBX' + String(hash32(this.catalogue.seed, hashString('tracking'), seq) % 100_000).padStart(5, '0') + String(seq).padStart(7, '0'),
      carrier: CARRIER_NAME,
      service,
      status: 'created',
      label_url: `${this.options.baseUrl}/carrier/v1/labels/${id}/document`,
      rate: { amount: round2((service === 'express' ? 14.5 : 6.25) + weight * 0.85), currency: 'USD' },
      ship_to: input.ship_to,
      weight_kg: weight,
      idempotency_key: idempotencyKey ?? null,
      created_at: timestamp(),
      voided_at: null,
    };
    this.labels.set(id, label);
    if (idempotencyKey !== undefined) this.labelByKey.set(idempotencyKey, id);
    this.counters.labels++;
    return { label, created: true };
  }

  /** Labels bought per order id (voided ones included): what "one label per order" is checked against. */
  labelsPerOrder(): Map<string, number> {
    const out = new Map<string, number>();
    for (const label of this.labels.values()) out.set(label.order_id, (out.get(label.order_id) ?? 0) + 1);
    return out;
  }

  /** A key sent before for another entity: a client bug that replaying would hide. */
  private keyReused(key: string, what: string): HttpError {
    this.counters.idempotency_conflicts++;
    return new HttpError(422, 'idempotency_key_reused', `Idempotency-Key ${key} was used for ${what}`, { field: 'Idempotency-Key' });
  }

  label(id: string): Label {
    const label = this.labels.get(id);
    if (!label) throw notFound('label', id);
    return label;
  }

  /** Voids a label (the compensation of buying one); voiding twice changes nothing. */
  voidLabel(id: string): { label: Label; changed: boolean } {
    const label = this.label(id);
    if (label.status === 'voided') {
      this.counters.idempotent_replays++;
      return { label, changed: false };
    }
    label.status = 'voided';
    label.voided_at = timestamp();
    this.counters.labels_voided++;
    return { label, changed: true };
  }

  // ---- reporting ---------------------------------------------------------------------

  /** Counts of everything stored plus the counters: the body of `GET /_admin/state` (without settings). */
  snapshot(): Record<string, unknown> {
    const ordersByStatus: Record<OrderStatus, number> = { new: 0, acknowledged: 0, shipped: 0 };
    for (const order of this.orders.values()) ordersByStatus[order.status]++;
    return {
      products: this.catalogue.size,
      invalid_products: this.catalogue.invalidCount,
      low_stock_threshold: this.catalogue.lowStockThreshold,
      listings: this.listings.size,
      orders: this.orders.size,
      orders_by_status: ordersByStatus,
      orders_with_several_labels: [...this.labelsPerOrder().values()].filter((n) => n > 1).length,
      carrier_failure: this.carrierFailure !== null,
      ...this.counters,
      requests_by_api: { ...this.counters.requests_by_api },
    };
  }
}

function emptyCounters(): SandboxCounters {
  return {
    requests_served: 0,
    requests_by_api: { supplier: 0, marketplace: 0, carrier: 0, generic: 0, feed: 0 },
    rate_limited: 0,
    unauthorized: 0,
    faults_injected: 0,
    timeouts_injected: 0,
    listings_created: 0,
    listing_updates: 0,
    inventory_updates: 0,
    idempotent_replays: 0,
    idempotency_conflicts: 0,
    shipment_conflicts: 0,
    orders_created: 0,
    acknowledged_orders: 0,
    shipments: 0,
    labels: 0,
    labels_voided: 0,
    labels_rejected: 0,
    listings_rejected: 0,
    supplier_stock_changes: 0,
  };
}

function timestamp(): string {
  return new Date().toISOString();
}
