/**
 * WooCommerce REST API v3 adapter (issue 12), marketplace and supplier sides.
 *
 * - Endpoint: the store's `…/wp-json/wc/v3` root (the sandbox serves one at
 *   `/woocommerce/wp-json/wc/v3`).
 * - Auth: the connection's secret holds `consumer_key:consumer_secret`
 *   (credentials `{"type": "api_key", "secret": NAME}`), sent as HTTP Basic
 *   auth; `settings.auth: "query"` sends them as the `consumer_key` /
 *   `consumer_secret` query parameters instead (for servers that drop the
 *   Authorization header; only over HTTPS on a real store).
 * - Pagination: `page` / `per_page` (max 100), to `X-WP-TotalPages`.
 * - Products: simple products, one per SKU (`sku`, `price`/`regular_price`,
 *   `stock_quantity` with `manage_stock`). Variable products are reported as
 *   unmapped (their variations are not read). Listings are upserted by SKU
 *   (`GET products?sku=`, then `PUT products/{id}` or `POST products`).
 * - Inventory push: `POST products/batch` with `update: [{id, manage_stock: true, stock_quantity}]`
 *   (100 per request), after one `products?sku=a,b,…` lookup per chunk.
 * - Orders: Merchflow's statuses map onto WooCommerce's: `new` = `pending`
 *   (`settings.new_status` to change it, e.g. `on-hold`), `acknowledged` =
 *   `processing` (acknowledging sets it), `shipped` = `completed`.
 * - Shipment notice: the order is set `completed` with the tracking number
 *   and carrier in `meta_data` (`_merchflow_tracking_number`,
 *   `_merchflow_tracking_carrier`), then a customer note says so
 *   (`POST orders/{id}/notes`). The same tracking number again is a no-op;
 *   another one is refused (not retried).
 */
import { StepError } from '@engine/activities/shared/errors';
import { basicAuth } from '@engine/activities/shared/http';
import { ErrorCodes } from '@engine/shared/contracts';
import type { SupplierInventoryRecord, SupplierProductRecord } from '../supplier.connector';
import type { ListingInput, MarketplaceListing, MarketplaceOrder, ShipmentNotice } from '../marketplace.connector';
import type { CallOptions, WriteOptions } from '../connector-http';
import type { AdapterDeps, MarketplaceAdapter, Page, PlatformModule, ProbeResult, ReadOptions, SupplierAdapter } from './types';
import { headerValue, money, PlatformHttp, priceText, probeWith, rowHttpOptions, withFieldMapping } from './rest-support';

export const WOO_MAX_PAGE = 100;
export const WOO_TRACKING_KEY = '_merchflow_tracking_number';
export const WOO_CARRIER_KEY = '_merchflow_tracking_carrier';

export interface WooProduct {
  id: number;
  name: string;
  type: string;
  status: string;
  sku: string;
  price: string;
  regular_price: string;
  description?: string;
  manage_stock: boolean;
  stock_quantity: number | null;
  images?: Array<{ src: string }>;
  categories?: Array<{ name: string }>;
  date_modified_gmt?: string;
}

interface WooAddress {
  first_name?: string;
  last_name?: string;
  address_1?: string;
  city?: string;
  state?: string;
  postcode?: string;
  country?: string;
  email?: string;
}

export interface WooOrder {
  id: number;
  number?: string;
  status: string;
  currency: string;
  date_created_gmt: string;
  total: string;
  shipping_total: string;
  billing: WooAddress;
  shipping: WooAddress;
  line_items: Array<{ id: number; name: string; product_id: number; quantity: number; sku: string; price: number | string; subtotal: string }>;
  meta_data: Array<{ id?: number; key: string; value: unknown }>;
}

/** WooCommerce's error body: `{ code, message, data: { status } }`. */
export function wooErrorText(body: unknown): string {
  const b = body as { code?: unknown; message?: unknown } | null;
  if (b && typeof b.message === 'string') return typeof b.code === 'string' ? `${b.code}: ${b.message}` : b.message;
  return typeof body === 'string' ? body.slice(0, 200) : 'error';
}

const name = (a: WooAddress | undefined): string => [a?.first_name, a?.last_name].filter(Boolean).join(' ');

/** WooCommerce status ↔ Merchflow status. */
export function wooStatusOf(status: string, newStatus = 'pending'): string {
  if (status === newStatus) return 'new';
  if (status === 'processing') return 'acknowledged';
  if (status === 'completed') return 'shipped';
  return status;
}

export function mapWooOrder(o: WooOrder, newStatus = 'pending'): MarketplaceOrder {
  const tracking = o.meta_data?.find((m) => m.key === WOO_TRACKING_KEY)?.value;
  const carrier = o.meta_data?.find((m) => m.key === WOO_CARRIER_KEY)?.value;
  const subtotal = money(o.line_items.reduce((s, li) => s + money(li.subtotal), 0));
  return {
    id: String(o.id),
    number: o.number ?? String(o.id),
    status: wooStatusOf(o.status, newStatus),
    woocommerce_status: o.status,
    currency: o.currency,
    buyer: { name: name(o.billing), email: o.billing?.email ?? '' },
    shipping_address: {
      name: name(o.shipping) || name(o.billing),
      line1: o.shipping?.address_1 ?? '',
      city: o.shipping?.city ?? '',
      region: o.shipping?.state ?? '',
      postal_code: o.shipping?.postcode ?? '',
      country: o.shipping?.country ?? '',
    },
    items: o.line_items.map((li) => ({
      line_id: String(li.id),
      sku: li.sku ?? '',
      listing_id: li.product_id ? String(li.product_id) : null,
      title: li.name,
      quantity: li.quantity,
      unit_price: money(li.price),
    })),
    subtotal,
    shipping_cost: money(o.shipping_total),
    total: money(o.total),
    created_at: /Z$|[+-]\d\d:\d\d$/.test(o.date_created_gmt) ? o.date_created_gmt : `${o.date_created_gmt}Z`,
    shipment: typeof tracking === 'string' ? { tracking_number: tracking, carrier: typeof carrier === 'string' ? carrier : '' } : null,
  };
}

export function mapWooListing(p: WooProduct): MarketplaceListing {
  return {
    id: String(p.id),
    sku: p.sku,
    title: p.name,
    price: money(p.price || p.regular_price),
    quantity: p.stock_quantity ?? 0,
    status: p.status === 'publish' ? 'active' : 'inactive',
    description: p.description ?? null,
    images: (p.images ?? []).map((i) => i.src),
    category: p.categories?.[0]?.name ?? null,
  };
}

export function mapWooProduct(p: WooProduct): SupplierProductRecord {
  return {
    sku: p.sku || undefined,
    external_id: String(p.id),
    name: p.name,
    description: p.description,
    // A store read as a supplier sells at its price: that price is what Merchflow pays.
    cost_price: money(p.price || p.regular_price),
    images: (p.images ?? []).map((i) => i.src),
    category: p.categories?.[0]?.name,
    stock_quantity: p.stock_quantity ?? 0,
    updated_at: p.date_modified_gmt,
  };
}

class WooCommerceAdapter implements MarketplaceAdapter, SupplierAdapter {
  private readonly http: PlatformHttp;
  private readonly pageSize: number;
  private readonly maxItems: number;
  private readonly newStatus: string;

  constructor(private readonly deps: AdapterDeps) {
    const secret = deps.secret ?? '';
    const sep = secret.indexOf(':');
    if (sep <= 0 || sep === secret.length - 1) {
      throw new StepError(ErrorCodes.SECRET_NOT_FOUND, `woocommerce connection ${deps.row.code} needs its secret to hold "consumer_key:consumer_secret" (credentials.secret names it)`, {
        details: { field: 'credentials.secret' },
      });
    }
    const key = secret.slice(0, sep);
    const consumerSecret = secret.slice(sep + 1);
    const o = rowHttpOptions(deps.row);
    const queryAuth = deps.row.settings?.auth === 'query';
    this.http = new PlatformHttp(deps.client, {
      platform: 'woocommerce',
      ...o,
      ...(queryAuth ? { authQuery: { consumer_key: key, consumer_secret: consumerSecret } } : { auth: basicAuth(key, consumerSecret) }),
      errorText: wooErrorText,
    });
    this.pageSize = Math.min(WOO_MAX_PAGE, o.pageSize ?? WOO_MAX_PAGE);
    this.maxItems = o.maxItems ?? 1_000_000;
    const ns = deps.row.settings?.new_status;
    this.newStatus = typeof ns === 'string' && ns ? ns : 'pending';
  }

  private async *pages<T>(path: string, query: Record<string, string | number>, opts: ReadOptions = {}): AsyncGenerator<T[]> {
    const max = opts.maxItems ?? this.maxItems;
    const perPage = Math.min(opts.pageSize ?? this.pageSize, WOO_MAX_PAGE);
    let seen = 0;
    for (let page = 1; seen < max; page++) {
      const res = await this.http.request<T[]>('GET', path, { query: { ...query, page, per_page: perPage }, signal: opts.signal });
      if (!Array.isArray(res.body)) throw new StepError(ErrorCodes.HTTP_CLIENT_ERROR, `woocommerce: GET ${path} did not answer a list: is the endpoint a WooCommerce REST root (…/wp-json/wc/v3)?`);
      const take = res.body.slice(0, max - seen);
      seen += take.length;
      opts.heartbeat?.({ pages: page, items: seen });
      if (take.length > 0) yield take;
      const totalPages = Number(headerValue(res.headers['x-wp-totalpages']));
      if (res.body.length === 0 || (Number.isFinite(totalPages) ? page >= totalPages : res.body.length < perPage)) return;
    }
  }

  async *products(opts: ReadOptions = {}): AsyncIterable<Page<SupplierProductRecord>> {
    for await (const products of this.pages<WooProduct>('/products', {}, opts)) {
      const page: Page<SupplierProductRecord> = { items: [], unmapped: [] };
      for (const p of products) {
        if (p.type === 'variable') page.unmapped!.push({ item: { id: p.id, sku: p.sku }, reason: 'a variable product: its variations are not read' });
        else if (!p.sku) page.unmapped!.push({ item: { id: p.id, name: p.name }, reason: 'the product has no SKU' });
        else page.items.push(await withFieldMapping(this.deps.row.field_mapping, p, mapWooProduct(p)));
      }
      yield page;
    }
  }

  async *inventory(opts: ReadOptions = {}): AsyncIterable<Page<SupplierInventoryRecord>> {
    for await (const products of this.pages<WooProduct>('/products', {}, opts)) {
      const page: Page<SupplierInventoryRecord> = { items: [], unmapped: [] };
      for (const p of products) {
        if (!p.sku) page.unmapped!.push({ item: { id: p.id, name: p.name }, reason: 'the product has no SKU' });
        else if (!p.manage_stock) page.unmapped!.push({ item: { id: p.id, sku: p.sku }, reason: 'the product does not manage stock (manage_stock false)' });
        else page.items.push({ sku: p.sku, external_id: String(p.id), quantity: p.stock_quantity ?? 0 });
      }
      yield page;
    }
  }

  async *orders(filter: { status?: string }, opts: ReadOptions = {}): AsyncIterable<Page<MarketplaceOrder>> {
    const status = filter.status ?? 'new';
    const woo = status === 'new' ? this.newStatus : status === 'acknowledged' ? 'processing' : status === 'shipped' ? 'completed' : status === 'all' ? 'any' : status;
    for await (const orders of this.pages<WooOrder>('/orders', { status: woo }, opts)) yield { items: orders.map((o) => mapWooOrder(o, this.newStatus)) };
  }

  async *listings(filter: { sku?: string; status?: string }, opts: ReadOptions = {}): AsyncIterable<Page<MarketplaceListing>> {
    const query: Record<string, string> = {};
    if (filter.sku) query.sku = filter.sku;
    if (filter.status === 'active') query.status = 'publish';
    if (filter.status === 'inactive') query.status = 'draft';
    for await (const products of this.pages<WooProduct>('/products', query, opts)) yield { items: products.filter((p) => p.sku).map(mapWooListing) };
  }

  /** Products of these SKUs (one request per 100). */
  private async bySku(skus: string[], signal?: AbortSignal): Promise<Map<string, WooProduct>> {
    const out = new Map<string, WooProduct>();
    for (let i = 0; i < skus.length; i += WOO_MAX_PAGE) {
      const chunk = skus.slice(i, i + WOO_MAX_PAGE);
      const res = await this.http.request<WooProduct[]>('GET', '/products', { query: { sku: chunk.join(','), per_page: WOO_MAX_PAGE }, signal });
      for (const p of res.body ?? []) if (p.sku) out.set(p.sku, p);
    }
    return out;
  }

  async upsertListing(input: ListingInput, opts: WriteOptions & { idempotencyKey: string }): Promise<{ listing: MarketplaceListing; created: boolean }> {
    const fields: Record<string, unknown> = {
      name: input.title,
      regular_price: priceText(input.price),
      status: input.status === 'inactive' ? 'draft' : 'publish',
      ...(input.description !== undefined && input.description !== null ? { description: input.description } : {}),
      ...(input.quantity !== undefined && input.quantity !== null ? { manage_stock: true, stock_quantity: input.quantity } : {}),
    };
    const existing = (await this.bySku([input.sku], opts.signal)).get(input.sku);
    if (existing) {
      const res = await this.http.request<WooProduct>('PUT', `/products/${existing.id}`, { body: fields, idempotencyKey: opts.idempotencyKey, signal: opts.signal });
      return { listing: mapWooListing(res.body), created: false };
    }
    const res = await this.http.request<WooProduct | { code?: string; data?: { resource_id?: number } }>('POST', '/products', {
      body: { ...fields, type: 'simple', sku: input.sku, ...(input.images?.length ? { images: input.images.map((src) => ({ src })) } : {}) },
      idempotencyKey: opts.idempotencyKey,
      signal: opts.signal,
      accept: [400],
    });
    if (res.status === 400) {
      // Created meanwhile (by a concurrent run, or an attempt whose answer was lost): WooCommerce refuses the duplicate SKU.
      const b = res.body as { code?: string; data?: { resource_id?: number } };
      if (b.code === 'product_invalid_sku' || b.code === 'woocommerce_rest_product_not_created') {
        const again = (await this.bySku([input.sku], opts.signal)).get(input.sku);
        if (again) return { listing: mapWooListing(again), created: false };
      }
      throw new StepError(ErrorCodes.HTTP_CLIENT_ERROR, `woocommerce: POST /products responded 400: ${wooErrorText(res.body)}`, { details: { status: 400, platform: 'woocommerce' } });
    }
    return { listing: mapWooListing(res.body as WooProduct), created: true };
  }

  async pushInventory(items: Array<{ sku: string; quantity: number }>, opts: WriteOptions = {}): Promise<{ updated: number; not_found: string[] }> {
    const notFound: string[] = [];
    let updated = 0;
    for (let i = 0; i < items.length; i += WOO_MAX_PAGE) {
      const chunk = items.slice(i, i + WOO_MAX_PAGE);
      const products = await this.bySku(chunk.map((c) => c.sku), opts.signal);
      const update = chunk.flatMap((c) => {
        const p = products.get(c.sku);
        if (!p) notFound.push(c.sku);
        return p ? [{ id: p.id, manage_stock: true, stock_quantity: c.quantity }] : [];
      });
      if (update.length === 0) continue;
      const res = await this.http.request<{ update?: Array<{ id: number; error?: { message?: string } }> }>('POST', '/products/batch', {
        body: { update },
        idempotencyKey: opts.idempotencyKey ? `${opts.idempotencyKey}:${i / WOO_MAX_PAGE}` : undefined,
        signal: opts.signal,
      });
      const failed = (res.body.update ?? []).filter((u) => u.error);
      if (failed.length > 0) {
        throw new StepError(ErrorCodes.HTTP_CLIENT_ERROR, `woocommerce: products/batch refused ${failed.length} update(s): ${failed[0].error?.message ?? 'error'}`, { details: { platform: 'woocommerce' } });
      }
      updated += update.length;
      opts.heartbeat?.({ done: Math.min(i + WOO_MAX_PAGE, items.length), total: items.length });
    }
    return { updated, not_found: notFound };
  }

  private async order(id: string, signal?: AbortSignal): Promise<WooOrder> {
    return (await this.http.request<WooOrder>('GET', `/orders/${encodeURIComponent(id)}`, { signal })).body;
  }

  async acknowledgeOrder(orderId: string, opts: WriteOptions = {}): Promise<MarketplaceOrder> {
    const order = await this.order(orderId, opts.signal);
    if (order.status !== this.newStatus) return mapWooOrder(order, this.newStatus);
    const res = await this.http.request<WooOrder>('PUT', `/orders/${encodeURIComponent(orderId)}`, { body: { status: 'processing' }, idempotencyKey: opts.idempotencyKey, signal: opts.signal });
    return mapWooOrder(res.body, this.newStatus);
  }

  async notifyShipment(orderId: string, shipment: ShipmentNotice, opts: WriteOptions = {}): Promise<MarketplaceOrder> {
    const order = await this.order(orderId, opts.signal);
    const existing = order.meta_data?.find((m) => m.key === WOO_TRACKING_KEY)?.value;
    if (existing === shipment.tracking_number) return mapWooOrder(order, this.newStatus);
    if (existing !== undefined && existing !== null && existing !== '') {
      throw new StepError(ErrorCodes.HTTP_CLIENT_ERROR, `woocommerce: order ${orderId} already shipped with tracking number ${String(existing)}`, { details: { status: 409, platform: 'woocommerce' } });
    }
    const path = `/orders/${encodeURIComponent(orderId)}`;
    const res = await this.http.request<WooOrder>('PUT', path, {
      body: {
        status: 'completed',
        meta_data: [
          { key: WOO_TRACKING_KEY, value: shipment.tracking_number },
          { key: WOO_CARRIER_KEY, value: shipment.carrier },
        ],
      },
      idempotencyKey: opts.idempotencyKey,
      signal: opts.signal,
    });
    await this.http.request('POST', `${path}/notes`, {
      body: { note: `Shipped with ${shipment.carrier}, tracking number ${shipment.tracking_number}.`, customer_note: true },
      idempotencyKey: opts.idempotencyKey ? `${opts.idempotencyKey}:note` : undefined,
      signal: opts.signal,
    });
    return mapWooOrder(res.body, this.newStatus);
  }

  async probe(opts: CallOptions = {}): Promise<ProbeResult> {
    return probeWith(this.http, '/products', { per_page: 1 }, opts, async (body) => {
      if (!Array.isArray(body)) return { ok: false, reason: 'the answer is not a list: is the endpoint a WooCommerce REST root (…/wp-json/wc/v3)?' };
      const first = body[0] as WooProduct | undefined;
      return { ok: true, sample: first ? await withFieldMapping(this.deps.row.field_mapping, first, mapWooListing(first)) : undefined };
    });
  }
}

export const woocommercePlatform: PlatformModule = {
  platform: 'woocommerce',
  supplier: (deps) => new WooCommerceAdapter(deps),
  marketplace: (deps) => new WooCommerceAdapter(deps),
};
