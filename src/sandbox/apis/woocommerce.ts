import { randomUUID } from 'node:crypto';
import { HttpError, Router, type ApiRequest, type Reply } from '../http';
import type { Listing, ListingPatch, Order, SandboxState } from '../state';

/**
 * A WooCommerce-shaped REST API (v3) over the sandbox's marketplace state,
 * mounted at `/woocommerce/wp-json/wc/v3`: listings are simple products,
 * orders WooCommerce orders (`new` = `pending`, `acknowledged` =
 * `processing`, `shipped` = `completed`).
 *
 * WooCommerce's shapes: bare JSON arrays for lists with `X-WP-Total` /
 * `X-WP-TotalPages` and a `Link` header, `page` / `per_page` (≤ 100),
 * errors `{ code, message, data: { status } }`, Basic auth with the consumer
 * key and secret, or the `consumer_key` / `consumer_secret` query parameters.
 *
 * Completing an order ships it: the tracking number and carrier come from the
 * order's `_merchflow_tracking_number` / `_merchflow_tracking_carrier` meta
 * data (sent in the same request), and orders shipped through another shape
 * show them there.
 */

export const WOO_TRACKING_KEY = '_merchflow_tracking_number';
export const WOO_CARRIER_KEY = '_merchflow_tracking_carrier';
const MAX_PER_PAGE = 100;

/** An error in WooCommerce's shape. */
export class WooError extends HttpError {
  constructor(status: number, code: string, message: string, readonly data: Record<string, unknown> = {}) {
    super(status, code, message);
  }

  override toBody() {
    return { code: this.code, message: this.message, data: { status: this.status, ...this.data } } as never;
  }
}

const num = (id: string): number => Number(id.replace(/^\D+_0*/, '')) || 0;
const listingId = (n: number): string => 'lst_' + String(n).padStart(6, '0');
const orderId = (n: number): string => 'ord_' + String(n).padStart(6, '0');
const money = (n: number): string => n.toFixed(2);
/** WooCommerce's `*_gmt` dates carry no zone. */
const gmt = (iso: string): string => iso.replace(/\.\d+Z$|Z$/, '');

const WOO_STATUS: Record<Order['status'], string> = { new: 'pending', acknowledged: 'processing', shipped: 'completed' };

export function wooProduct(l: Listing): Record<string, unknown> {
  const n = num(l.id);
  return {
    id: n,
    name: l.title,
    slug: l.sku.toLowerCase(),
    type: 'simple',
    status: l.status === 'active' ? 'publish' : 'draft',
    sku: l.sku,
    price: money(l.price),
    regular_price: money(l.price),
    sale_price: '',
    description: l.description ?? '',
    manage_stock: true,
    stock_quantity: l.quantity,
    stock_status: l.quantity > 0 ? 'instock' : 'outofstock',
    images: l.images.map((src, i) => ({ id: n * 100 + i, src })),
    categories: l.category ? [{ id: 1, name: l.category, slug: l.category.toLowerCase().replace(/\W+/g, '-') }] : [],
    date_created_gmt: gmt(l.created_at),
    date_modified_gmt: gmt(l.updated_at),
    meta_data: [],
  };
}

/** Meta data set through this API, per order (a WeakMap: a reset drops it with the orders). */
const orderMeta = new WeakMap<Order, Array<{ key: string; value: unknown }>>();
const orderNotes = new WeakMap<Order, Array<Record<string, unknown>>>();

function metaOf(o: Order): Array<{ id: number; key: string; value: unknown }> {
  const meta = (orderMeta.get(o) ?? []).filter((m) => m.key !== WOO_TRACKING_KEY && m.key !== WOO_CARRIER_KEY);
  if (o.shipment) meta.push({ key: WOO_TRACKING_KEY, value: o.shipment.tracking_number }, { key: WOO_CARRIER_KEY, value: o.shipment.carrier });
  return meta.map((m, i) => ({ id: i + 1, ...m }));
}

export function wooOrder(o: Order, state: SandboxState): Record<string, unknown> {
  const n = num(o.id);
  const [first, ...rest] = o.buyer.name.split(' ');
  const [sFirst, ...sRest] = o.shipping_address.name.split(' ');
  const a = o.shipping_address;
  return {
    id: n,
    number: String(n),
    status: WOO_STATUS[o.status],
    currency: o.currency,
    date_created_gmt: gmt(o.created_at),
    date_modified_gmt: gmt(o.updated_at),
    total: money(o.total),
    shipping_total: money(o.shipping_cost),
    billing: { first_name: first, last_name: rest.join(' '), email: o.buyer.email, address_1: a.line1, city: a.city, state: a.region, postcode: a.postal_code, country: a.country },
    shipping: { first_name: sFirst, last_name: sRest.join(' '), address_1: a.line1, city: a.city, state: a.region, postcode: a.postal_code, country: a.country },
    line_items: o.items.map((li, i) => {
      const listing = state.listingForSku(li.sku);
      return {
        id: n * 100 + i + 1,
        name: li.title,
        product_id: listing ? num(listing.id) : 0,
        variation_id: 0,
        quantity: li.quantity,
        sku: li.sku,
        price: li.unit_price,
        subtotal: money(li.unit_price * li.quantity),
        total: money(li.unit_price * li.quantity),
      };
    }),
    meta_data: metaOf(o),
  };
}

function intParam(req: ApiRequest, key: string, fallback: number, max: number): number {
  const text = req.query.get(key);
  if (text === null || text === '') return fallback;
  const v = Number(text);
  if (!Number.isInteger(v) || v < 1 || v > max) throw new WooError(400, 'rest_invalid_param', `Invalid parameter(s): ${key}`, { params: { [key]: `${key} must be between 1 (inclusive) and ${max} (inclusive)` } });
  return v;
}

function pageReply<T>(req: ApiRequest, all: T[], render: (item: T) => unknown): Reply {
  const perPage = intParam(req, 'per_page', 10, MAX_PER_PAGE);
  const page = intParam(req, 'page', 1, Number.MAX_SAFE_INTEGER);
  const totalPages = Math.ceil(all.length / perPage);
  const items = all.slice((page - 1) * perPage, page * perPage).map(render);
  const headers: Record<string, string> = { 'X-WP-Total': String(all.length), 'X-WP-TotalPages': String(totalPages) };
  const links: string[] = [];
  const link = (p: number, rel: string) => {
    const u = new URL(req.url.href);
    // Credentials given in the query are never echoed into a Link header.
    u.searchParams.delete('consumer_key');
    u.searchParams.delete('consumer_secret');
    u.searchParams.set('page', String(p));
    links.push(`<${u.href}>; rel="${rel}"`);
  };
  if (page > 1 && page - 1 <= totalPages) link(page - 1, 'prev');
  if (page < totalPages) link(page + 1, 'next');
  if (links.length) headers.Link = links.join(', ');
  return { body: items, headers };
}

async function body(req: ApiRequest): Promise<Record<string, unknown>> {
  const b = await req.json();
  if (typeof b !== 'object' || b === null || Array.isArray(b)) throw new WooError(400, 'rest_invalid_json', 'The request body must be a JSON object.');
  return b as Record<string, unknown>;
}

function productOr404(state: SandboxState, id: string | number): Listing {
  const listing = /^\d+$/.test(String(id)) ? state.listings.get(listingId(Number(id))) : undefined;
  if (!listing) throw new WooError(404, 'woocommerce_rest_product_invalid_id', 'Invalid ID.');
  return listing;
}

function orderOr404(state: SandboxState, id: string): Order {
  const order = /^\d+$/.test(id) ? state.orders.get(orderId(Number(id))) : undefined;
  if (!order) throw new WooError(404, 'woocommerce_rest_shop_order_invalid_id', 'Invalid ID.');
  return order;
}

function productPatch(b: Record<string, unknown>): ListingPatch {
  const patch: ListingPatch = {};
  const bad = (param: string, message: string) => new WooError(400, 'rest_invalid_param', `Invalid parameter(s): ${param}`, { params: { [param]: message } });
  if (b.name !== undefined) {
    if (typeof b.name !== 'string' || !b.name.trim()) throw bad('name', 'name must be a non-empty string');
    patch.title = b.name;
  }
  for (const key of ['regular_price', 'price'] as const) {
    if (b[key] === undefined) continue;
    const price = typeof b[key] === 'string' ? Number(b[key]) : NaN;
    if (!Number.isFinite(price) || price <= 0 || price > 1_000_000) throw bad(key, `${key} must be a string holding a price above 0`);
    patch.price = price;
  }
  if (b.description !== undefined) patch.description = String(b.description);
  if (b.status !== undefined) {
    if (!['publish', 'draft', 'pending', 'private'].includes(b.status as string)) throw bad('status', 'status is not one of publish, draft, pending, private');
    patch.status = b.status === 'publish' ? 'active' : 'inactive';
  }
  if (b.stock_quantity !== undefined && b.stock_quantity !== null) {
    if (!Number.isInteger(b.stock_quantity) || (b.stock_quantity as number) < 0 || (b.stock_quantity as number) > 1_000_000) throw bad('stock_quantity', 'stock_quantity must be an integer from 0 to 1000000');
    patch.quantity = b.stock_quantity as number;
  }
  if (b.images !== undefined) {
    const srcs = Array.isArray(b.images) ? b.images.map((i) => (i && typeof i === 'object' ? (i as { src?: unknown }).src : undefined)) : null;
    if (!srcs || srcs.some((s) => typeof s !== 'string' || !/^https?:\/\//.test(s))) throw bad('images', 'images must be a list of {src: http(s) URL}');
    patch.images = srcs as string[];
  }
  if (b.categories !== undefined && Array.isArray(b.categories) && b.categories[0] && typeof (b.categories[0] as { name?: unknown }).name === 'string') {
    patch.category = (b.categories[0] as { name: string }).name;
  }
  return patch;
}

export function woocommerceRoutes(state: SandboxState): Router {
  const update = (l: Listing, patch: ListingPatch): Listing => (Object.keys(patch).length ? state.updateListing(l.id, patch) : l);
  return new Router()
    .on('GET', '/products', (req) => {
      const skus = req.query.get('sku')?.split(',').map((s) => s.trim()).filter(Boolean);
      const status = req.query.get('status') ?? 'any';
      if (!['any', 'publish', 'draft', 'pending', 'private'].includes(status)) throw new WooError(400, 'rest_invalid_param', 'Invalid parameter(s): status');
      const all = [...state.listings.values()].filter(
        (l) => (!skus || skus.includes(l.sku)) && (status === 'any' || (status === 'publish' ? l.status === 'active' : l.status !== 'active')),
      );
      return pageReply(req, all, wooProduct);
    })
    .on('GET', '/products/:id', (req) => ({ body: wooProduct(productOr404(state, req.params.id)) }))
    .on('POST', '/products', async (req) => {
      const b = await body(req);
      const patch = productPatch(b);
      if (typeof b.sku !== 'string' || !b.sku.trim()) throw new WooError(400, 'rest_invalid_param', 'Invalid parameter(s): sku', { params: { sku: 'this sandbox needs a SKU (one listing per SKU)' } });
      if (!patch.title) throw new WooError(400, 'rest_invalid_param', 'Invalid parameter(s): name', { params: { name: 'name is required' } });
      if (patch.price === undefined) throw new WooError(400, 'rest_invalid_param', 'Invalid parameter(s): regular_price', { params: { regular_price: 'this sandbox needs a price' } });
      const existing = state.listingForSku(b.sku);
      if (existing) throw new WooError(400, 'product_invalid_sku', 'Invalid or duplicated SKU.', { resource_id: num(existing.id), unique_sku: b.sku });
      try {
        const { listing } = state.createListing(`woocommerce:${randomUUID()}`, { ...patch, sku: b.sku, title: patch.title, price: patch.price });
        return { status: 201, body: wooProduct(listing) };
      } catch (err) {
        if (err instanceof HttpError) throw new WooError(err.status, `woocommerce_rest_${err.code}`, err.message);
        throw err;
      }
    })
    .on('PUT', '/products/:id', async (req) => {
      const listing = productOr404(state, req.params.id);
      const b = await body(req);
      if (b.sku !== undefined && b.sku !== listing.sku) throw new WooError(400, 'product_invalid_sku', 'this sandbox cannot change a SKU');
      return { body: wooProduct(update(listing, productPatch(b))) };
    })
    .on('POST', '/products/batch', async (req) => {
      const b = await body(req);
      if (b.create !== undefined || b.delete !== undefined) throw new WooError(400, 'rest_invalid_param', 'this sandbox supports batch update only');
      const items = b.update;
      if (!Array.isArray(items) || items.length === 0) throw new WooError(400, 'rest_invalid_param', 'Invalid parameter(s): update');
      if (items.length > 100) throw new WooError(413, 'woocommerce_rest_request_entity_too_large', 'Unable to accept more than 100 items for this request.');
      // Each entry stands alone, as in WooCommerce: a bad one answers its error, the others apply.
      const out = items.map((item) => {
        try {
          const e = item as Record<string, unknown>;
          return wooProduct(update(productOr404(state, e.id as number), productPatch(e)));
        } catch (err) {
          if (!(err instanceof HttpError)) throw err;
          return { id: (item as { id?: unknown })?.id ?? 0, error: { code: err.code, message: err.message, data: { status: err.status } } };
        }
      });
      return { body: { update: out } };
    })
    .on('GET', '/orders', (req) => {
      const wanted = (req.query.get('status') ?? 'any').split(',').map((s) => s.trim());
      const known = ['any', 'pending', 'processing', 'on-hold', 'completed', 'cancelled', 'refunded', 'failed', 'trash'];
      const unknown = wanted.find((s) => !known.includes(s));
      if (unknown) throw new WooError(400, 'rest_invalid_param', 'Invalid parameter(s): status', { params: { status: `${unknown} is not a WooCommerce order status` } });
      const all = [...state.orders.values()].filter((o) => wanted.includes('any') || wanted.includes(WOO_STATUS[o.status]));
      return pageReply(req, all, (o) => wooOrder(o, state));
    })
    .on('GET', '/orders/:id', (req) => ({ body: wooOrder(orderOr404(state, req.params.id), state) }))
    .on('PUT', '/orders/:id', async (req) => {
      const order = orderOr404(state, req.params.id);
      const b = await body(req);
      if (b.meta_data !== undefined) {
        if (!Array.isArray(b.meta_data) || b.meta_data.some((m) => !m || typeof (m as { key?: unknown }).key !== 'string')) {
          throw new WooError(400, 'rest_invalid_param', 'Invalid parameter(s): meta_data', { params: { meta_data: 'meta_data must be a list of {key, value}' } });
        }
        const meta = [...(orderMeta.get(order) ?? [])];
        for (const m of b.meta_data as Array<{ key: string; value: unknown }>) {
          const at = meta.findIndex((x) => x.key === m.key);
          if (at >= 0) meta[at] = { key: m.key, value: m.value };
          else meta.push({ key: m.key, value: m.value });
        }
        orderMeta.set(order, meta);
      }
      if (b.status !== undefined) {
        const status = b.status;
        if (status === 'processing') state.acknowledgeOrder(order.id);
        else if (status === 'completed') {
          if (order.status === 'new') state.acknowledgeOrder(order.id);
          const meta = orderMeta.get(order) ?? [];
          const tracking = meta.find((m) => m.key === WOO_TRACKING_KEY)?.value;
          const carrier = meta.find((m) => m.key === WOO_CARRIER_KEY)?.value;
          try {
            state.shipOrder(order.id, { tracking_number: typeof tracking === 'string' ? tracking : 'manual', carrier: typeof carrier === 'string' ? carrier : 'unknown' });
          } catch (err) {
            if (err instanceof HttpError) throw new WooError(err.status, `woocommerce_rest_${err.code}`, err.message);
            throw err;
          }
        } else if (status !== WOO_STATUS[order.status]) {
          throw new WooError(400, 'rest_invalid_param', `this sandbox moves orders to processing or completed only, not ${String(status)}`);
        }
      }
      return { body: wooOrder(order, state) };
    })
    .on('GET', '/orders/:id/notes', (req) => ({ body: orderNotes.get(orderOr404(state, req.params.id)) ?? [] }))
    .on('POST', '/orders/:id/notes', async (req) => {
      const order = orderOr404(state, req.params.id);
      const b = await body(req);
      if (typeof b.note !== 'string' || !b.note.trim()) throw new WooError(400, 'rest_missing_callback_param', 'Missing parameter(s): note');
      const notes = orderNotes.get(order) ?? [];
      const note = { id: notes.length + 1, author: 'WooCommerce', date_created_gmt: gmt(new Date().toISOString()), note: b.note, customer_note: b.customer_note === true };
      notes.push(note);
      orderNotes.set(order, notes);
      return { status: 201, body: note };
    });
}
