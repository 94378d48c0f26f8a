import { randomUUID } from 'node:crypto';
import { HttpError, Router, type ApiRequest, type Reply } from '../http';
import type { Listing, ListingPatch, Order, SandboxState } from '../state';

/**
 * A Shopify-shaped Admin REST API over the sandbox's marketplace state,
 * mounted at `/shopify/admin/api/2024-10`: listings are products with one
 * variant, orders are Shopify orders, shipments are fulfilments. The same
 * listings and orders are visible through `/marketplace/v1` and
 * `/woocommerce/...`.
 *
 * Shopify's shapes: `{ "products": [...] }` lists, `{ "product": {...} }`
 * single resources, errors `{ "errors": "text" | { field: [messages] } }`,
 * cursor pagination by `limit` (≤ 250) and the `page_info` of the `Link`
 * header (a `page_info` request takes no other filter), `X-Shopify-Access-Token`
 * auth, and the leaky bucket (`X-Shopify-Shop-Api-Call-Limit: used/size`,
 * 429 with `Retry-After` when full).
 *
 * Shopify has no order acknowledgement; the sandbox treats the order tag
 * `merchflow-acknowledged` as one (and shows it on orders acknowledged
 * through another shape), so every shape agrees on an order's status.
 */

export const SHOPIFY_API_VERSION = '2024-10';
export const SHOPIFY_ACK_TAG = 'merchflow-acknowledged';
export const SHOPIFY_LOCATION_ID = 68_000_001;
const VARIANT_BASE = 40_000_000;
const INVENTORY_ITEM_BASE = 50_000_000;
const FULFILLMENT_ORDER_BASE = 60_000_000;
const FULFILLMENT_BASE = 70_000_000;
const MAX_LIMIT = 250;

/** An error in Shopify's shape. */
export class ShopifyError extends HttpError {
  constructor(
    status: number,
    readonly errors: unknown,
    headers?: Record<string, string>,
  ) {
    super(status, 'shopify_error', typeof errors === 'string' ? errors : JSON.stringify(errors), { headers });
  }

  override toBody() {
    return { errors: this.errors } as never;
  }
}

/** Shopify's leaky bucket: `size` requests, leaking `leakPerSecond`. */
export class LeakyBucket {
  private level = 0;
  private last = performance.now();

  constructor(readonly size: number, readonly leakPerSecond: number) {
    if (!(size >= 1) || !(leakPerSecond > 0)) throw new RangeError('the Shopify bucket needs size >= 1 and leakPerSecond > 0');
  }

  take(): { ok: true; used: number } | { ok: false; retryAfterSeconds: number } {
    const now = performance.now();
    this.level = Math.max(0, this.level - ((now - this.last) / 1000) * this.leakPerSecond);
    this.last = now;
    if (this.level + 1 > this.size) return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((this.level + 1 - this.size) / this.leakPerSecond)) };
    this.level += 1;
    return { ok: true, used: Math.ceil(this.level) };
  }
}

const num = (id: string): number => Number(id.replace(/^\D+_0*/, '')) || 0;
const listingId = (n: number): string => 'lst_' + String(n).padStart(6, '0');
const orderId = (n: number): string => 'ord_' + String(n).padStart(6, '0');
const money = (n: number): string => n.toFixed(2);

export function shopifyProduct(l: Listing): Record<string, unknown> {
  const n = num(l.id);
  return {
    id: n,
    title: l.title,
    body_html: l.description,
    vendor: l.brand,
    product_type: l.category ?? '',
    handle: l.sku.toLowerCase(),
    status: l.status === 'active' ? 'active' : 'draft',
    tags: '',
    created_at: l.created_at,
    updated_at: l.updated_at,
    images: l.images.map((src, i) => ({ id: n * 100 + i, product_id: n, position: i + 1, src })),
    variants: [
      {
        id: VARIANT_BASE + n,
        product_id: n,
        title: 'Default Title',
        sku: l.sku,
        price: money(l.price),
        inventory_item_id: INVENTORY_ITEM_BASE + n,
        inventory_quantity: l.quantity,
        inventory_management: 'shopify',
        barcode: null,
        grams: 0,
      },
    ],
  };
}

/** Extra tags set through this API, per order (a WeakMap: a reset drops them with the orders). */
const orderTags = new WeakMap<Order, string[]>();

function tagsOf(o: Order): string[] {
  const tags = [...(orderTags.get(o) ?? [])];
  if (o.status !== 'new' && !tags.includes(SHOPIFY_ACK_TAG)) tags.push(SHOPIFY_ACK_TAG);
  return tags;
}

function fulfillmentOf(o: Order): Record<string, unknown> | null {
  if (!o.shipment) return null;
  const n = num(o.id);
  return {
    id: FULFILLMENT_BASE + n,
    order_id: n,
    status: 'success',
    tracking_company: o.shipment.carrier,
    tracking_number: o.shipment.tracking_number,
    tracking_numbers: [o.shipment.tracking_number],
    location_id: SHOPIFY_LOCATION_ID,
    created_at: o.shipment.shipped_at,
  };
}

export function shopifyOrder(o: Order, state: SandboxState): Record<string, unknown> {
  const n = num(o.id);
  const [first, ...rest] = o.buyer.name.split(' ');
  const [sFirst, ...sRest] = o.shipping_address.name.split(' ');
  const fulfillment = fulfillmentOf(o);
  return {
    id: n,
    name: `#${1000 + n}`,
    order_number: 1000 + n,
    email: o.buyer.email,
    created_at: o.created_at,
    updated_at: o.updated_at,
    currency: o.currency,
    financial_status: 'paid',
    fulfillment_status: o.status === 'shipped' ? 'fulfilled' : null,
    cancelled_at: null,
    tags: tagsOf(o).join(', '),
    subtotal_price: money(o.subtotal),
    total_price: money(o.total),
    total_shipping_price_set: { shop_money: { amount: money(o.shipping_cost), currency_code: o.currency } },
    customer: { first_name: first, last_name: rest.join(' '), email: o.buyer.email },
    shipping_address: {
      first_name: sFirst,
      last_name: sRest.join(' '),
      name: o.shipping_address.name,
      address1: o.shipping_address.line1,
      city: o.shipping_address.city,
      province_code: o.shipping_address.region,
      zip: o.shipping_address.postal_code,
      country_code: o.shipping_address.country,
    },
    line_items: o.items.map((li, i) => {
      const listing = state.listingForSku(li.sku);
      const p = listing ? num(listing.id) : null;
      return {
        id: n * 100 + i + 1,
        sku: li.sku,
        title: li.title,
        quantity: li.quantity,
        price: money(li.unit_price),
        product_id: p,
        variant_id: p === null ? null : VARIANT_BASE + p,
      };
    }),
    fulfillments: fulfillment ? [fulfillment] : [],
  };
}

// ---- pagination -------------------------------------------------------------------------

interface PageState {
  offset: number;
  filters: Record<string, string>;
}

function limitOf(req: ApiRequest): number {
  const text = req.query.get('limit');
  if (text === null || text === '') return 50;
  const v = Number(text);
  if (!Number.isInteger(v) || v < 1 || v > MAX_LIMIT) throw new ShopifyError(400, { limit: [`must be an integer from 1 to ${MAX_LIMIT}`] });
  return v;
}

/** The filters of a first request, or those a `page_info` carries (beside which Shopify refuses filters). */
function pageState(req: ApiRequest, filterKeys: string[]): PageState {
  const pageInfo = req.query.get('page_info');
  if (pageInfo === null) {
    const filters: Record<string, string> = {};
    for (const k of filterKeys) {
      const v = req.query.get(k);
      if (v !== null) filters[k] = v;
    }
    return { offset: 0, filters };
  }
  const extra = [...req.query.keys()].filter((k) => !['page_info', 'limit', 'fields'].includes(k));
  if (extra.length > 0) throw new ShopifyError(400, { page_info: [`cannot be combined with ${extra.join(', ')}: a page_info request takes only limit and fields`] });
  try {
    const parsed = JSON.parse(Buffer.from(pageInfo, 'base64url').toString('utf8')) as PageState;
    if (!Number.isInteger(parsed.offset) || parsed.offset < 0 || typeof parsed.filters !== 'object') throw new Error('bad');
    return parsed;
  } catch {
    throw new ShopifyError(400, { page_info: ['is invalid'] });
  }
}

function pageReply<T>(req: ApiRequest, key: string, all: T[], state: PageState, render: (item: T) => Record<string, unknown>): Reply {
  const limit = limitOf(req);
  const slice = all.slice(state.offset, state.offset + limit);
  const fields = req.query.get('fields')?.split(',').map((f) => f.trim()).filter(Boolean);
  const items = slice.map(render).map((o) => (fields?.length ? Object.fromEntries(Object.entries(o).filter(([k]) => fields.includes(k))) : o));
  const links: string[] = [];
  const link = (offset: number, rel: string) => {
    const u = new URL(req.url.origin + req.url.pathname);
    u.searchParams.set('limit', String(limit));
    if (fields?.length) u.searchParams.set('fields', fields.join(','));
    u.searchParams.set('page_info', Buffer.from(JSON.stringify({ offset, filters: state.filters })).toString('base64url'));
    links.push(`<${u.href}>; rel="${rel}"`);
  };
  if (state.offset > 0) link(Math.max(0, state.offset - limit), 'previous');
  if (state.offset + limit < all.length) link(state.offset + limit, 'next');
  return { body: { [key]: items }, headers: links.length ? { Link: links.join(', ') } : {} };
}

// ---- routes -----------------------------------------------------------------------------------

/** The resource object a Shopify write wraps in its body (`{"product": {...}}`), or Shopify's 400. */
async function wrapped(req: ApiRequest, key: string): Promise<Record<string, unknown>> {
  let body: unknown;
  try {
    body = await req.json();
  } catch {
    throw new ShopifyError(400, { error: 'the body is not valid JSON' });
  }
  const v = body && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>)[key] : undefined;
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new ShopifyError(400, { [key]: 'Required parameter missing or invalid' });
  return v as Record<string, unknown>;
}

function productOr404(state: SandboxState, id: string): Listing {
  const listing = state.listings.get(listingId(Number(id)));
  if (!/^\d+$/.test(id) || !listing) throw new ShopifyError(404, 'Not Found');
  return listing;
}

function orderOr404(state: SandboxState, id: string): Order {
  const order = state.orders.get(orderId(Number(id)));
  if (!/^\d+$/.test(id) || !order) throw new ShopifyError(404, 'Not Found');
  return order;
}

function productFields(p: Record<string, unknown>): ListingPatch {
  const patch: ListingPatch = {};
  const errors: Record<string, string[]> = {};
  if (p.title !== undefined) {
    if (typeof p.title !== 'string' || !p.title.trim()) errors.title = ["can't be blank"];
    else patch.title = p.title;
  }
  if (p.body_html !== undefined && p.body_html !== null) patch.description = String(p.body_html);
  if (p.vendor !== undefined && p.vendor !== null) patch.brand = String(p.vendor);
  if (p.product_type !== undefined && p.product_type !== null && p.product_type !== '') patch.category = String(p.product_type);
  if (p.status !== undefined) {
    if (!['active', 'draft', 'archived'].includes(p.status as string)) errors.status = ['is not included in the list'];
    else patch.status = p.status === 'active' ? 'active' : 'inactive';
  }
  if (p.variants !== undefined) {
    const v = Array.isArray(p.variants) ? (p.variants[0] as Record<string, unknown> | undefined) : undefined;
    if (!v || typeof v !== 'object') errors.variants = ['must be a list of variants'];
    else if (v.price !== undefined) {
      const price = Number(v.price);
      if (!Number.isFinite(price) || price <= 0 || price > 1_000_000) errors.price = ['must be greater than 0'];
      else patch.price = price;
    }
  }
  if (p.images !== undefined) {
    const imgs = Array.isArray(p.images) ? p.images : null;
    const srcs = imgs?.map((i) => (i && typeof i === 'object' ? (i as { src?: unknown }).src : undefined));
    if (!srcs || srcs.some((s) => typeof s !== 'string' || !/^https?:\/\//.test(s))) errors.images = ['must be a list of {src: http(s) URL}'];
    else patch.images = srcs as string[];
  }
  if (Object.keys(errors).length > 0) throw new ShopifyError(422, errors);
  return patch;
}

export function shopifyRoutes(state: SandboxState): Router {
  return new Router()
    .on('GET', '/shop.json', () => ({ body: { shop: { id: 1, name: 'Merchflow sandbox shop', currency: 'USD', myshopify_domain: 'sandbox.myshopify.test' } } }))
    .on('GET', '/products.json', (req) => {
      const ps = pageState(req, ['ids', 'status']);
      const ids = ps.filters.ids?.split(',').map((s) => Number(s.trim()));
      const status = ps.filters.status;
      if (status !== undefined && !['active', 'draft', 'archived'].includes(status)) throw new ShopifyError(400, { status: ['must be active, draft or archived'] });
      const all = [...state.listings.values()].filter(
        (l) => (ids === undefined || ids.includes(num(l.id))) && (status === undefined || (status === 'active' ? l.status === 'active' : status === 'draft' && l.status !== 'active')),
      );
      return pageReply(req, 'products', all, ps, shopifyProduct);
    })
    .on('GET', '/products/count.json', () => ({ body: { count: state.listings.size } }))
    .on('GET', '/products/:id.json', (req) => ({ body: { product: shopifyProduct(productOr404(state, req.params.id)) } }))
    .on('POST', '/products.json', async (req) => {
      const p = await wrapped(req, 'product');
      const fields = productFields(p);
      const variant = (Array.isArray(p.variants) ? p.variants[0] : undefined) as Record<string, unknown> | undefined;
      const errors: Record<string, string[]> = {};
      if (!fields.title) errors.title = ["can't be blank"];
      const sku = variant?.sku;
      if (typeof sku !== 'string' || !sku.trim()) errors.sku = ['is required by this sandbox (one listing per SKU)'];
      if (fields.price === undefined) errors.price = ["can't be blank"];
      if (Object.keys(errors).length > 0) throw new ShopifyError(422, errors);
      try {
        const { listing } = state.createListing(`shopify:${randomUUID()}`, { ...fields, sku: sku as string, title: fields.title!, price: fields.price! });
        return { status: 201, body: { product: shopifyProduct(listing) } };
      } catch (err) {
        if (err instanceof HttpError && err.code === 'listing_exists') throw new ShopifyError(422, { sku: [`has already been taken (product ${num(String(err.details.listing_id))})`] });
        if (err instanceof HttpError) throw new ShopifyError(err.status, err.message);
        throw err;
      }
    })
    .on('PUT', '/products/:id.json', async (req) => {
      const listing = productOr404(state, req.params.id);
      const p = await wrapped(req, 'product');
      const variant = (Array.isArray(p.variants) ? p.variants[0] : undefined) as Record<string, unknown> | undefined;
      if (variant?.sku !== undefined && variant.sku !== listing.sku) throw new ShopifyError(422, { sku: ['cannot be changed in this sandbox'] });
      const patch = productFields(p);
      return { body: { product: shopifyProduct(Object.keys(patch).length ? state.updateListing(listing.id, patch) : listing) } };
    })
    .on('GET', '/locations.json', () => ({ body: { locations: [{ id: SHOPIFY_LOCATION_ID, name: 'Sandbox warehouse', active: true, country_code: 'US' }] } }))
    .on('POST', '/inventory_levels/set.json', async (req) => {
      const raw = await req.json().catch(() => null);
      if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new ShopifyError(400, { error: 'the body must be a JSON object' });
      const b = raw as Record<string, unknown>;
      const errors: Record<string, string[]> = {};
      if (b.location_id !== SHOPIFY_LOCATION_ID) errors.location_id = [`must be ${SHOPIFY_LOCATION_ID} (the sandbox's location)`];
      if (!Number.isInteger(b.inventory_item_id)) errors.inventory_item_id = ["can't be blank"];
      if (!Number.isInteger(b.available) || (b.available as number) < 0 || (b.available as number) > 1_000_000) errors.available = ['must be an integer from 0 to 1000000'];
      if (Object.keys(errors).length > 0) throw new ShopifyError(422, errors);
      const listing = state.listings.get(listingId((b.inventory_item_id as number) - INVENTORY_ITEM_BASE));
      if (!listing) throw new ShopifyError(404, 'Not Found');
      const updated = state.setListingQuantity(listing.sku, b.available as number);
      return { body: { inventory_level: { inventory_item_id: b.inventory_item_id, location_id: SHOPIFY_LOCATION_ID, available: updated.quantity, updated_at: updated.updated_at } } };
    })
    .on('GET', '/orders.json', (req) => {
      const ps = pageState(req, ['status', 'fulfillment_status', 'ids']);
      const status = ps.filters.status ?? 'open';
      const fulfillment = ps.filters.fulfillment_status ?? 'any';
      if (!['open', 'closed', 'cancelled', 'any'].includes(status)) throw new ShopifyError(400, { status: ['must be open, closed, cancelled or any'] });
      if (!['shipped', 'partial', 'unshipped', 'unfulfilled', 'any'].includes(fulfillment)) throw new ShopifyError(400, { fulfillment_status: ['must be shipped, partial, unshipped, unfulfilled or any'] });
      const ids = ps.filters.ids?.split(',').map((s) => Number(s.trim()));
      const all = [...state.orders.values()].filter((o) => {
        if (ids && !ids.includes(num(o.id))) return false;
        // Sandbox orders are never closed or cancelled.
        if (status === 'closed' || status === 'cancelled') return false;
        if (fulfillment === 'shipped') return o.status === 'shipped';
        if (fulfillment === 'unshipped' || fulfillment === 'unfulfilled') return o.status !== 'shipped';
        if (fulfillment === 'partial') return false;
        return true;
      });
      return pageReply(req, 'orders', all, ps, (o) => shopifyOrder(o, state));
    })
    .on('GET', '/orders/:id.json', (req) => ({ body: { order: shopifyOrder(orderOr404(state, req.params.id), state) } }))
    .on('PUT', '/orders/:id.json', async (req) => {
      const order = orderOr404(state, req.params.id);
      const o = await wrapped(req, 'order');
      if (o.tags !== undefined) {
        if (typeof o.tags !== 'string') throw new ShopifyError(422, { tags: ['must be a comma-separated string'] });
        const tags = o.tags.split(',').map((t) => t.trim()).filter(Boolean);
        orderTags.set(order, tags.filter((t) => t !== SHOPIFY_ACK_TAG));
        if (tags.includes(SHOPIFY_ACK_TAG)) state.acknowledgeOrder(order.id);
      }
      return { body: { order: shopifyOrder(order, state) } };
    })
    .on('GET', '/orders/:id/fulfillment_orders.json', (req) => {
      const order = orderOr404(state, req.params.id);
      const n = num(order.id);
      return {
        body: {
          fulfillment_orders: [
            {
              id: FULFILLMENT_ORDER_BASE + n,
              order_id: n,
              assigned_location_id: SHOPIFY_LOCATION_ID,
              status: order.status === 'shipped' ? 'closed' : 'open',
              line_items: order.items.map((li, i) => ({
                id: (FULFILLMENT_ORDER_BASE + n) * 10 + i,
                fulfillment_order_id: FULFILLMENT_ORDER_BASE + n,
                line_item_id: n * 100 + i + 1,
                quantity: li.quantity,
                fulfillable_quantity: order.status === 'shipped' ? 0 : li.quantity,
              })),
            },
          ],
        },
      };
    })
    .on('GET', '/orders/:id/fulfillments.json', (req) => {
      const f = fulfillmentOf(orderOr404(state, req.params.id));
      return { body: { fulfillments: f ? [f] : [] } };
    })
    .on('POST', '/fulfillments.json', async (req) => {
      const f = await wrapped(req, 'fulfillment');
      const groups = f.line_items_by_fulfillment_order;
      if (!Array.isArray(groups) || groups.length === 0) throw new ShopifyError(422, { line_items_by_fulfillment_order: ["can't be blank"] });
      const foId = Number((groups[0] as { fulfillment_order_id?: unknown })?.fulfillment_order_id);
      const order = state.orders.get(orderId(foId - FULFILLMENT_ORDER_BASE));
      if (!Number.isInteger(foId) || !order) throw new ShopifyError(404, 'Not Found');
      if (order.status === 'shipped') throw new ShopifyError(422, [`Fulfillment order ${foId} has an unfulfillable status= closed.`]);
      const tracking = (f.tracking_info ?? {}) as { number?: unknown; company?: unknown };
      if (tracking.number !== undefined && typeof tracking.number !== 'string') throw new ShopifyError(422, { 'tracking_info.number': ['must be a string'] });
      // Shopify needs no acknowledgement before a fulfilment; the sandbox state does.
      if (order.status === 'new') state.acknowledgeOrder(order.id);
      state.shipOrder(order.id, { tracking_number: (tracking.number as string | undefined) ?? '', carrier: typeof tracking.company === 'string' ? tracking.company : 'Other' });
      return { status: 201, body: { fulfillment: fulfillmentOf(order) } };
    });
}
