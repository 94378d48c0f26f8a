import {
  Router,
  idempotentReply,
  asObject,
  invalid,
  optionalEnum,
  optionalNumber,
  optionalString,
  optionalStringArray,
  paginate,
  requiredNumber,
  requiredObjectArray,
  requiredString,
  idempotencyKey,
} from '../http';
import { LISTING_STATUSES, ORDER_STATUSES, type Listing, type ListingPatch, type SandboxState } from '../state';

/** Most SKUs one bulk inventory request may carry. */
export const MAX_BULK_INVENTORY = 500;

const QUANTITY = { integer: true, min: 0, max: 1_000_000 } as const;

/**
 * Marketplace API, mounted at `/marketplace/v1`: listings (idempotent
 * creation), available quantities, and orders with acknowledgement and
 * shipment notification.
 */
export function marketplaceRoutes(state: SandboxState): Router {
  return new Router()
    .on('POST', '/listings', async (req) => {
      const key = idempotencyKey(req, true)!;
      const body = asObject(await req.json());
      const fields = listingFields(body);
      const { listing, created } = state.createListing(key, {
        ...fields,
        sku: requiredString(body, 'sku'),
        title: fields.title ?? requiredString(body, 'title'),
        price: fields.price ?? requiredNumber(body, 'price'),
      });
      return idempotentReply(listing, created, 201);
    })
    .on('GET', '/listings', (req) => {
      const sku = req.query.get('sku');
      const status = req.query.get('status');
      if (status !== null && !(LISTING_STATUSES as readonly string[]).includes(status)) throw invalid('status', `must be one of ${LISTING_STATUSES.join(', ')}`);
      const listings = [...state.listings.values()].filter((l) => (sku === null || l.sku === sku) && (status === null || l.status === status));
      return paginate(req, listings.length, (start, end) => listings.slice(start, end));
    })
    .on('GET', '/listings/:id', (req) => ({ body: state.listing(req.params.id) }))
    .on('PATCH', '/listings/:id', async (req) => {
      const body = asObject(await req.json());
      if ('sku' in body) throw invalid('sku', 'cannot be changed; create a new listing');
      const patch = listingFields(body);
      if (Object.values(patch).every((v) => v === undefined)) throw invalid('body', 'names no field to update');
      return { body: state.updateListing(req.params.id, patch) };
    })
    .on('PUT', '/inventory/:sku', async (req) => {
      const quantity = requiredNumber(asObject(await req.json()), 'quantity', QUANTITY);
      return { body: inventoryResult(state.setListingQuantity(req.params.sku, quantity)) };
    })
    .on('POST', '/inventory', async (req) => {
      const entries = requiredObjectArray(asObject(await req.json()), 'items', MAX_BULK_INVENTORY);
      // Validate every entry before applying any, so a bad request changes nothing.
      const updates = entries.map((entry, i) => ({
        sku: requiredString(entry, 'sku', `items[${i}].`),
        quantity: requiredNumber(entry, 'quantity', QUANTITY, `items[${i}].`),
      }));
      const results = updates.map(({ sku, quantity }) =>
        state.listingForSku(sku) ? { ...inventoryResult(state.setListingQuantity(sku, quantity)), status: 'updated' } : { sku, status: 'not_found' },
      );
      const updated = results.filter((r) => r.status === 'updated').length;
      return { body: { results, updated, not_found: results.length - updated } };
    })
    .on('GET', '/orders', (req) => {
      const status = req.query.get('status');
      if (status !== null && !(ORDER_STATUSES as readonly string[]).includes(status)) throw invalid('status', `must be one of ${ORDER_STATUSES.join(', ')}`);
      const orders = [...state.orders.values()].filter((o) => status === null || o.status === status);
      return paginate(req, orders.length, (start, end) => orders.slice(start, end));
    })
    .on('GET', '/orders/:id', (req) => ({ body: state.order(req.params.id) }))
    .on('POST', '/orders/:id/acknowledge', (req) => {
      const { order, changed } = state.acknowledgeOrder(req.params.id);
      return idempotentReply(order, changed);
    })
    .on('POST', '/orders/:id/shipment', async (req) => {
      const body = asObject(await req.json());
      const { order, changed } = state.shipOrder(req.params.id, {
        tracking_number: requiredString(body, 'tracking_number'),
        carrier: requiredString(body, 'carrier'),
        label_id: optionalString(body, 'label_id'),
      });
      return idempotentReply(order, changed, 201);
    });
}

/** The listing fields shared by create and update, each optional here; create then insists on its required ones. */
function listingFields(body: Record<string, unknown>): ListingPatch {
  const currency = optionalString(body, 'currency');
  if (currency !== undefined && !/^[A-Z]{3}$/.test(currency)) throw invalid('currency', 'must be a three-letter ISO code such as USD');
  const images = optionalStringArray(body, 'images');
  images?.forEach((url, i) => {
    if (!/^https?:\/\//.test(url)) throw invalid(`images[${i}]`, 'must be an http(s) URL');
  });
  return {
    title: optionalString(body, 'title'),
    description: optionalString(body, 'description'),
    price: optionalNumber(body, 'price', { exclusiveMin: 0, max: 1_000_000 }),
    currency,
    quantity: optionalNumber(body, 'quantity', QUANTITY),
    status: optionalEnum(body, 'status', LISTING_STATUSES),
    images,
    category: optionalString(body, 'category'),
    brand: optionalString(body, 'brand'),
  };
}

function inventoryResult(listing: Listing): { sku: string; listing_id: string; quantity: number; updated_at: string } {
  return { sku: listing.sku, listing_id: listing.id, quantity: listing.quantity, updated_at: listing.updated_at };
}
