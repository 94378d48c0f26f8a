/**
 * Shopify Admin REST adapter (issue 12), marketplace and supplier sides.
 *
 * - Endpoint: the shop's versioned Admin API root, e.g.
 *   `https://<shop>/admin/api/2024-10` (the sandbox serves one at
 *   `/shopify/admin/api/2024-10`).
 * - Auth: the connection's secret is the Admin API access token, sent as
 *   `X-Shopify-Access-Token` (credentials `{"type": "api_key", "secret": NAME}`;
 *   the header is always Shopify's).
 * - Pagination: cursor-based, `limit` (max 250) then the `page_info` URL of the
 *   `Link: <...>; rel="next"` header, to the last page.
 * - Rate limit: the leaky bucket. A 429 is retried after its `Retry-After`; the
 *   `X-Shopify-Shop-Api-Call-Limit` header (`used/size`) is read after every
 *   answer and the adapter slows down before the bucket fills.
 * - Products: a product has variants; each variant is one Merchflow item
 *   (`sku`, `price`, `inventory_item_id`). A listing is a product with one
 *   variant per SKU; listings are upserted by SKU. Shopify's REST API has no
 *   lookup by SKU, so the adapter reads the catalogue once (`fields=id,variants`)
 *   and keeps a SKU index for the adapter's life (one step attempt).
 * - Inventory: set through `inventory_levels/set.json` with the variant's
 *   `inventory_item_id` and a location (`settings.location_id`, else the first
 *   active location of `locations.json`).
 * - Orders: `orders.json?status=...&fulfillment_status=...`. Shopify has no
 *   acknowledgement: the adapter acknowledges an order by adding the tag
 *   `merchflow-acknowledged` (`settings.acknowledge_tag`) through
 *   `PUT orders/{id}.json`; Merchflow's status is derived: fulfilled →
 *   `shipped`, tagged → `acknowledged`, else `new`.
 * - Shipment notice: a fulfilment of the order's open fulfilment orders
 *   (`orders/{id}/fulfillment_orders.json`, then `POST fulfillments.json` with
 *   `tracking_info {number, company}`). The same tracking number again is a
 *   no-op; another one for a fulfilled order is refused (not retried).
 */
import { StepError } from '@engine/activities/shared/errors';
import { apiKeyAuth } from '@engine/activities/shared/http';
import { ErrorCodes } from '@engine/shared/contracts';
import type { SupplierInventoryRecord, SupplierProductRecord } from '../supplier.connector';
import type { ListingInput, MarketplaceListing, MarketplaceOrder, ShipmentNotice } from '../marketplace.connector';
import type { CallOptions, WriteOptions } from '../connector-http';
import type { AdapterDeps, MarketplaceAdapter, Page, PlatformModule, ProbeResult, ReadOptions, SupplierAdapter } from './types';
import { headerValue, linkNext, money, PlatformHttp, priceText, probeWith, rowHttpOptions, withFieldMapping } from './rest-support';

export const SHOPIFY_MAX_PAGE = 250;
export const SHOPIFY_ACK_TAG = 'merchflow-acknowledged';
/** Default leak rate of the Admin REST bucket (requests per second), used to pace before it fills. */
const LEAK_PER_SECOND = 2;

// ---- Shopify's shapes (the fields the adapter reads) ----------------------------------

export interface ShopifyVariant {
  id: number;
  product_id: number;
  title?: string;
  sku: string | null;
  price: string;
  inventory_item_id: number;
  inventory_quantity?: number;
  barcode?: string | null;
  grams?: number;
}

export interface ShopifyProduct {
  id: number;
  title: string;
  body_html: string | null;
  vendor: string | null;
  product_type: string | null;
  status: 'active' | 'draft' | 'archived';
  tags?: string;
  images?: Array<{ src: string }>;
  variants: ShopifyVariant[];
  created_at?: string;
  updated_at?: string;
}

interface ShopifyAddress {
  name?: string | null;
  first_name?: string | null;
  last_name?: string | null;
  address1?: string | null;
  city?: string | null;
  province_code?: string | null;
  zip?: string | null;
  country_code?: string | null;
}

export interface ShopifyOrder {
  id: number;
  name: string;
  email: string | null;
  currency: string;
  created_at: string;
  tags: string;
  fulfillment_status: string | null;
  cancelled_at?: string | null;
  subtotal_price: string;
  total_price: string;
  total_shipping_price_set?: { shop_money?: { amount?: string } };
  customer?: { first_name?: string | null; last_name?: string | null; email?: string | null } | null;
  shipping_address?: ShopifyAddress | null;
  line_items: Array<{ id: number; sku: string | null; title: string; quantity: number; price: string; product_id: number | null; variant_id: number | null }>;
}

interface FulfillmentOrder {
  id: number;
  status: string;
}

interface Fulfillment {
  id: number;
  status: string;
  tracking_number: string | null;
  tracking_company: string | null;
}

/** Shopify's error bodies: `{"errors": "text"}` or `{"errors": {"field": ["message"]}}`. */
export function shopifyErrorText(body: unknown): string {
  const e = (body as { errors?: unknown } | null)?.errors;
  if (typeof e === 'string') return e;
  if (e && typeof e === 'object') {
    return Object.entries(e as Record<string, unknown>)
      .map(([k, v]) => `${k} ${Array.isArray(v) ? v.join(', ') : String(v)}`)
      .join('; ');
  }
  return typeof body === 'string' ? body.slice(0, 200) : 'error';
}

// ---- mapping ------------------------------------------------------------------------------

const fullName = (a: { first_name?: string | null; last_name?: string | null } | null | undefined): string => [a?.first_name, a?.last_name].filter(Boolean).join(' ');

/** Merchflow's order status of a Shopify order. */
export function shopifyOrderStatus(o: Pick<ShopifyOrder, 'fulfillment_status' | 'tags'>, ackTag = SHOPIFY_ACK_TAG): 'new' | 'acknowledged' | 'shipped' {
  if (o.fulfillment_status === 'fulfilled') return 'shipped';
  return tagList(o.tags).includes(ackTag) ? 'acknowledged' : 'new';
}

function tagList(tags: string | null | undefined): string[] {
  return (tags ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
}

export function mapShopifyOrder(o: ShopifyOrder, ackTag = SHOPIFY_ACK_TAG): MarketplaceOrder {
  const ship = o.shipping_address ?? {};
  const name = ship.name || fullName(ship) || fullName(o.customer);
  return {
    id: String(o.id),
    name: o.name,
    status: shopifyOrderStatus(o, ackTag),
    currency: o.currency,
    buyer: { name: fullName(o.customer) || name, email: o.email ?? o.customer?.email ?? '' },
    shipping_address: {
      name,
      line1: ship.address1 ?? '',
      city: ship.city ?? '',
      region: ship.province_code ?? '',
      postal_code: ship.zip ?? '',
      country: ship.country_code ?? '',
    },
    items: o.line_items.map((li) => ({
      line_id: String(li.id),
      sku: li.sku ?? '',
      listing_id: li.product_id === null ? null : String(li.product_id),
      title: li.title,
      quantity: li.quantity,
      unit_price: money(li.price),
    })),
    subtotal: money(o.subtotal_price),
    shipping_cost: money(o.total_shipping_price_set?.shop_money?.amount ?? 0),
    total: money(o.total_price),
    created_at: o.created_at,
  };
}

/** One listing per variant: the product's id is the listing id. */
export function mapShopifyListing(p: ShopifyProduct, v: ShopifyVariant): MarketplaceListing {
  return {
    id: String(p.id),
    sku: v.sku ?? '',
    title: p.title,
    price: money(v.price),
    quantity: v.inventory_quantity ?? 0,
    status: p.status === 'active' ? 'active' : 'inactive',
    variant_id: String(v.id),
    inventory_item_id: String(v.inventory_item_id),
    description: p.body_html,
    brand: p.vendor,
    category: p.product_type,
    images: (p.images ?? []).map((i) => i.src),
  };
}

export function mapShopifyProduct(p: ShopifyProduct, v: ShopifyVariant): SupplierProductRecord {
  const variantTitle = v.title && v.title !== 'Default Title' ? ` - ${v.title}` : '';
  return {
    sku: v.sku ?? undefined,
    external_id: String(v.id),
    name: p.title + variantTitle,
    description: p.body_html ?? undefined,
    brand: p.vendor ?? undefined,
    category: p.product_type ?? undefined,
    // A shop read as a supplier sells at its variant price: that price is what Merchflow pays.
    cost_price: money(v.price),
    images: (p.images ?? []).map((i) => i.src),
    barcode: v.barcode ?? undefined,
    weight_kg: typeof v.grams === 'number' ? v.grams / 1000 : undefined,
    stock_quantity: v.inventory_quantity ?? 0,
    inventory_item_id: String(v.inventory_item_id),
    product_id: String(p.id),
    updated_at: p.updated_at,
  };
}

// ---- the adapter ----------------------------------------------------------------------------

interface SkuEntry {
  product_id: number;
  variant_id: number;
  inventory_item_id: number;
}

class ShopifyAdapter implements MarketplaceAdapter, SupplierAdapter {
  private readonly http: PlatformHttp;
  private readonly pageSize: number;
  private readonly maxItems: number;
  private readonly ackTag: string;
  private skuIndex: Promise<Map<string, SkuEntry>> | null = null;
  private location: Promise<number> | null = null;

  constructor(private readonly deps: AdapterDeps) {
    if (!deps.secret) {
      throw new StepError(ErrorCodes.SECRET_NOT_FOUND, `shopify connection ${deps.row.code} needs an Admin API access token: set credentials {"type": "api_key", "secret": "NAME"}`, {
        details: { field: 'credentials.secret' },
      });
    }
    const o = rowHttpOptions(deps.row);
    this.http = new PlatformHttp(deps.client, {
      platform: 'shopify',
      ...o,
      auth: apiKeyAuth(deps.secret, { headerName: 'X-Shopify-Access-Token' }),
      errorText: shopifyErrorText,
    });
    this.pageSize = Math.min(SHOPIFY_MAX_PAGE, o.pageSize ?? SHOPIFY_MAX_PAGE);
    this.maxItems = o.maxItems ?? 1_000_000;
    const tag = deps.row.settings?.acknowledge_tag;
    this.ackTag = typeof tag === 'string' && tag.trim() ? tag.trim() : SHOPIFY_ACK_TAG;
  }

  /** A request that then waits when the leaky bucket is close to full. */
  private async call<T>(method: string, path: string, opts: Parameters<PlatformHttp['request']>[2] = {}) {
    const res = await this.http.request<T>(method, path, opts);
    const limit = /^(\d+)\/(\d+)$/.exec(headerValue(res.headers['x-shopify-shop-api-call-limit']) ?? '');
    if (limit) {
      const used = Number(limit[1]);
      const size = Number(limit[2]);
      const over = used - Math.floor(size * 0.8);
      if (over > 0) await sleep((over / LEAK_PER_SECOND) * 1000, opts.signal);
    }
    return res;
  }

  /** Every page of a list endpoint (`key` names the list in the body), following the Link header. */
  private async *pages<T>(path: string, key: string, query: Record<string, string | number>, opts: ReadOptions = {}): AsyncGenerator<T[]> {
    const max = opts.maxItems ?? this.maxItems;
    let url: string | null = path;
    let first = true;
    let seen = 0;
    let pages = 0;
    while (url && seen < max) {
      const limit = Math.min(opts.pageSize ?? this.pageSize, SHOPIFY_MAX_PAGE);
      // page_info URLs carry their own query: only limit may be added (Shopify refuses filters beside page_info).
      const res: { body: Record<string, T[]>; headers: Record<string, string | string[] | undefined> } = await this.call<Record<string, T[]>>('GET', url, {
        query: first ? { ...query, limit } : {},
        signal: opts.signal,
      });
      const items = res.body?.[key];
      if (!Array.isArray(items)) throw new StepError(ErrorCodes.HTTP_CLIENT_ERROR, `shopify: GET ${path} answered without a "${key}" list: is the endpoint a Shopify Admin API root (…/admin/api/2024-10)?`);
      const take = items.slice(0, max - seen);
      seen += take.length;
      pages++;
      opts.heartbeat?.({ pages, items: seen });
      yield take;
      url = linkNext(res.headers.link);
      first = false;
    }
  }

  // ---- supplier side ----

  async *products(opts: ReadOptions = {}): AsyncIterable<Page<SupplierProductRecord>> {
    for await (const products of this.pages<ShopifyProduct>('/products.json', 'products', {}, opts)) {
      const page: Page<SupplierProductRecord> = { items: [], unmapped: [] };
      for (const p of products) {
        for (const v of p.variants ?? []) {
          if (!v.sku) page.unmapped!.push({ item: { product_id: p.id, variant_id: v.id }, reason: 'the variant has no SKU' });
          else page.items.push(await withFieldMapping(this.deps.row.field_mapping, { product: p, variant: v }, mapShopifyProduct(p, v)));
        }
      }
      yield page;
    }
  }

  async *inventory(opts: ReadOptions = {}): AsyncIterable<Page<SupplierInventoryRecord>> {
    for await (const products of this.pages<ShopifyProduct>('/products.json', 'products', { fields: 'id,variants' }, opts)) {
      const page: Page<SupplierInventoryRecord> = { items: [], unmapped: [] };
      for (const p of products) {
        for (const v of p.variants ?? []) {
          if (!v.sku) page.unmapped!.push({ item: { product_id: p.id, variant_id: v.id }, reason: 'the variant has no SKU' });
          else page.items.push({ sku: v.sku, external_id: String(v.id), quantity: v.inventory_quantity ?? 0 });
        }
      }
      yield page;
    }
  }

  // ---- marketplace side ----

  async *orders(filter: { status?: string }, opts: ReadOptions = {}): AsyncIterable<Page<MarketplaceOrder>> {
    const status = filter.status ?? 'new';
    const query: Record<string, string> =
      status === 'shipped'
        ? { status: 'any', fulfillment_status: 'shipped' }
        : status === 'new' || status === 'acknowledged'
          ? { status: 'open', fulfillment_status: 'unshipped' }
          : { status: 'any' };
    for await (const orders of this.pages<ShopifyOrder>('/orders.json', 'orders', query, opts)) {
      const mapped = orders.filter((o) => !o.cancelled_at).map((o) => mapShopifyOrder(o, this.ackTag));
      yield { items: status === 'all' ? mapped : mapped.filter((o) => o.status === status) };
    }
  }

  async *listings(filter: { sku?: string; status?: string }, opts: ReadOptions = {}): AsyncIterable<Page<MarketplaceListing>> {
    const query: Record<string, string> = {};
    if (filter.status === 'active') query.status = 'active';
    if (filter.status === 'inactive') query.status = 'draft';
    for await (const products of this.pages<ShopifyProduct>('/products.json', 'products', query, opts)) {
      const items: MarketplaceListing[] = [];
      for (const p of products) for (const v of p.variants ?? []) if (v.sku && (filter.sku === undefined || v.sku === filter.sku)) items.push(mapShopifyListing(p, v));
      yield { items };
    }
  }

  private index(signal?: AbortSignal): Promise<Map<string, SkuEntry>> {
    this.skuIndex ??= (async () => {
      const map = new Map<string, SkuEntry>();
      for await (const products of this.pages<ShopifyProduct>('/products.json', 'products', { fields: 'id,variants' }, { signal, maxItems: Number.MAX_SAFE_INTEGER })) {
        for (const p of products) for (const v of p.variants ?? []) if (v.sku) map.set(v.sku, { product_id: p.id, variant_id: v.id, inventory_item_id: v.inventory_item_id });
      }
      return map;
    })();
    this.skuIndex.catch(() => (this.skuIndex = null));
    return this.skuIndex;
  }

  private locationId(signal?: AbortSignal): Promise<number> {
    const configured = Number(this.deps.row.settings?.location_id);
    if (Number.isSafeInteger(configured) && configured > 0) return Promise.resolve(configured);
    this.location ??= (async () => {
      const res = await this.call<{ locations: Array<{ id: number; active: boolean }> }>('GET', '/locations.json', { signal });
      const loc = (res.body.locations ?? []).find((l) => l.active);
      if (!loc) throw new StepError(ErrorCodes.HTTP_CLIENT_ERROR, 'shopify: the shop has no active location to hold inventory; set settings.location_id');
      return loc.id;
    })();
    this.location.catch(() => (this.location = null));
    return this.location;
  }

  private async setLevel(inventoryItemId: number, available: number, opts: WriteOptions): Promise<void> {
    await this.call('POST', '/inventory_levels/set.json', {
      body: { location_id: await this.locationId(opts.signal), inventory_item_id: inventoryItemId, available },
      idempotencyKey: opts.idempotencyKey,
      signal: opts.signal,
    });
  }

  async upsertListing(input: ListingInput, opts: WriteOptions & { idempotencyKey: string }): Promise<{ listing: MarketplaceListing; created: boolean }> {
    const index = await this.index(opts.signal);
    const existing = index.get(input.sku);
    const fields = {
      title: input.title,
      body_html: input.description ?? null,
      vendor: input.brand ?? null,
      product_type: input.category ?? null,
      status: input.status === 'inactive' ? 'draft' : 'active',
    };
    let product: ShopifyProduct;
    let created: boolean;
    if (existing) {
      const res = await this.call<{ product: ShopifyProduct }>('PUT', '/products/{id}.json'.replace('{id}', String(existing.product_id)), {
        body: { product: { id: existing.product_id, ...fields, variants: [{ id: existing.variant_id, price: priceText(input.price) }] } },
        idempotencyKey: opts.idempotencyKey,
        signal: opts.signal,
      });
      product = res.body.product;
      created = false;
    } else {
      const res = await this.call<{ product: ShopifyProduct }>('POST', '/products.json', {
        body: {
          product: {
            ...fields,
            variants: [{ sku: input.sku, price: priceText(input.price), inventory_management: 'shopify' }],
            ...(input.images?.length ? { images: input.images.map((src) => ({ src })) } : {}),
          },
        },
        idempotencyKey: opts.idempotencyKey,
        signal: opts.signal,
      });
      product = res.body.product;
      created = true;
    }
    const variant = product.variants.find((v) => v.sku === input.sku) ?? product.variants[0];
    if (!variant) throw new StepError(ErrorCodes.HTTP_CLIENT_ERROR, `shopify: product ${product.id} came back without a variant for SKU ${input.sku}`);
    index.set(input.sku, { product_id: product.id, variant_id: variant.id, inventory_item_id: variant.inventory_item_id });
    if (input.quantity !== undefined && input.quantity !== null) {
      await this.setLevel(variant.inventory_item_id, input.quantity, { ...opts, idempotencyKey: `${opts.idempotencyKey}:level` });
      variant.inventory_quantity = input.quantity;
    }
    return { listing: mapShopifyListing(product, variant), created };
  }

  async pushInventory(items: Array<{ sku: string; quantity: number }>, opts: WriteOptions = {}): Promise<{ updated: number; not_found: string[] }> {
    const index = await this.index(opts.signal);
    const notFound: string[] = [];
    let updated = 0;
    for (const [i, item] of items.entries()) {
      const entry = index.get(item.sku);
      if (!entry) {
        notFound.push(item.sku);
        continue;
      }
      await this.setLevel(entry.inventory_item_id, item.quantity, { ...opts, idempotencyKey: opts.idempotencyKey ? `${opts.idempotencyKey}:${i}` : undefined });
      updated++;
      opts.heartbeat?.({ done: i + 1, total: items.length });
    }
    return { updated, not_found: notFound };
  }

  private async order(id: string, signal?: AbortSignal): Promise<ShopifyOrder> {
    return (await this.call<{ order: ShopifyOrder }>('GET', `/orders/${encodeURIComponent(id)}.json`, { signal })).body.order;
  }

  async acknowledgeOrder(orderId: string, opts: WriteOptions = {}): Promise<MarketplaceOrder> {
    const order = await this.order(orderId, opts.signal);
    const tags = tagList(order.tags);
    if (tags.includes(this.ackTag)) return mapShopifyOrder(order, this.ackTag);
    const res = await this.call<{ order: ShopifyOrder }>('PUT', `/orders/${encodeURIComponent(orderId)}.json`, {
      body: { order: { id: order.id, tags: [...tags, this.ackTag].join(', ') } },
      idempotencyKey: opts.idempotencyKey,
      signal: opts.signal,
    });
    return mapShopifyOrder(res.body.order, this.ackTag);
  }

  async notifyShipment(orderId: string, shipment: ShipmentNotice, opts: WriteOptions = {}): Promise<MarketplaceOrder> {
    const path = encodeURIComponent(orderId);
    const fos = (await this.call<{ fulfillment_orders: FulfillmentOrder[] }>('GET', `/orders/${path}/fulfillment_orders.json`, { signal: opts.signal })).body.fulfillment_orders ?? [];
    const open = fos.filter((f) => f.status === 'open' || f.status === 'in_progress');
    if (open.length === 0) {
      // Shipped already: the same tracking number is a replay, another one a conflict.
      const done = (await this.call<{ fulfillments: Fulfillment[] }>('GET', `/orders/${path}/fulfillments.json`, { signal: opts.signal })).body.fulfillments ?? [];
      if (done.some((f) => f.tracking_number === shipment.tracking_number && f.status !== 'cancelled')) return mapShopifyOrder(await this.order(orderId, opts.signal), this.ackTag);
      throw new StepError(ErrorCodes.HTTP_CLIENT_ERROR, `shopify: order ${orderId} has nothing left to fulfil${done.length ? ` (shipped with tracking number ${done[0].tracking_number ?? 'none'})` : ''}`, {
        details: { status: 409, platform: 'shopify' },
      });
    }
    await this.call('POST', '/fulfillments.json', {
      body: {
        fulfillment: {
          line_items_by_fulfillment_order: open.map((f) => ({ fulfillment_order_id: f.id })),
          tracking_info: { number: shipment.tracking_number, company: shipment.carrier },
          notify_customer: false,
        },
      },
      idempotencyKey: opts.idempotencyKey,
      signal: opts.signal,
    });
    return mapShopifyOrder(await this.order(orderId, opts.signal), this.ackTag);
  }

  async probe(opts: CallOptions = {}): Promise<ProbeResult> {
    return probeWith(this.http, '/products.json', { limit: 1 }, opts, async (body) => {
      const p = (body as { products?: ShopifyProduct[] } | null)?.products;
      if (!Array.isArray(p)) return { ok: false, reason: 'the answer has no "products" list: is the endpoint a Shopify Admin API root (…/admin/api/2024-10)?' };
      const first = p[0];
      const v = first?.variants?.[0];
      return { ok: true, sample: first && v ? await withFieldMapping(this.deps.row.field_mapping, { product: first, variant: v }, mapShopifyListing(first, v)) : undefined };
    });
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });
}

export const shopifyPlatform: PlatformModule = {
  platform: 'shopify',
  supplier: (deps) => new ShopifyAdapter(deps),
  marketplace: (deps) => new ShopifyAdapter(deps),
};
