import { StepError } from '@engine/activities/shared/errors';
import type { HttpClient } from '@engine/activities/shared/http';
import { apiErrorCode, ConnectorHttp, type CallOptions, type ConnectorOptions, type WriteOptions } from './connector-http';
import type { FetchResult } from './supplier.connector';
import { ErrorCodes } from '@engine/shared/contracts';

export interface ListingInput {
  sku: string;
  title: string;
  price: number;
  currency?: string;
  quantity?: number;
  description?: string;
  images?: string[];
  category?: string;
  brand?: string;
  status?: 'active' | 'inactive';
}

/** A marketplace listing (fields beyond these are kept). */
export interface MarketplaceListing {
  id: string;
  sku: string;
  title: string;
  price: number;
  quantity: number;
  status: string;
  [field: string]: unknown;
}

/** A marketplace order in the sandbox's shape. */
export interface MarketplaceOrder {
  id: string;
  status: string;
  currency: string;
  buyer: { name: string; email: string };
  shipping_address: Record<string, string>;
  items: Array<{ line_id: string; sku: string; listing_id: string | null; title: string; quantity: number; unit_price: number }>;
  subtotal: number;
  shipping_cost: number;
  total: number;
  created_at: string;
  [field: string]: unknown;
}

export interface ShipmentNotice {
  tracking_number: string;
  carrier: string;
  label_id?: string;
}

/** Most SKUs one bulk inventory request carries (the sandbox's limit). */
export const BULK_INVENTORY_CHUNK = 500;

/**
 * A marketplace API: listings (idempotent creation), available quantities,
 * and orders with acknowledgement and shipment notification. Writes carry an
 * Idempotency-Key when given one, so a retry never creates a second listing
 * or shipment.
 */
export class MarketplaceConnector {
  readonly http: ConnectorHttp;

  constructor(client: Pick<HttpClient, 'request'>, options: ConnectorOptions) {
    this.http = new ConnectorHttp(client, options);
  }

  /**
   * Creates a listing. When the SKU is already listed under another key (409
   * `listing_exists`), returns that listing instead: creating is idempotent
   * per SKU as well as per key.
   */
  async createListing(input: ListingInput, opts: WriteOptions & { idempotencyKey: string }): Promise<{ listing: MarketplaceListing; created: boolean }> {
    const res = await this.http.request<MarketplaceListing | { error: { listing_id?: string } }>('POST', this.http.url('/listings'), {
      body: input as unknown as Record<string, unknown>,
      idempotencyKey: opts.idempotencyKey,
      signal: opts.signal,
      accept: [409],
    });
    if (res.status === 409 && apiErrorCode(res.body) === 'listing_exists') {
      const id = (res.body as { error: { listing_id?: string } }).error.listing_id;
      if (id) return { listing: await this.getListing(id, opts), created: false };
    }
    if (res.status === 409) throw new StepError(ErrorCodes.HTTP_CLIENT_ERROR, `POST /listings answered 409 ${apiErrorCode(res.body) ?? ''}`, { details: { status: 409 } });
    return { listing: res.body as MarketplaceListing, created: res.status === 201 };
  }

  async getListing(id: string, opts: CallOptions = {}): Promise<MarketplaceListing> {
    return (await this.http.request<MarketplaceListing>('GET', this.http.url('/listings/{id}', { id }), { signal: opts.signal })).body;
  }

  async updateListing(id: string, patch: Partial<Omit<ListingInput, 'sku'>>, opts: WriteOptions = {}): Promise<MarketplaceListing> {
    const res = await this.http.request<MarketplaceListing>('PATCH', this.http.url('/listings/{id}', { id }), {
      body: patch as Record<string, unknown>,
      idempotencyKey: opts.idempotencyKey,
      signal: opts.signal,
    });
    return res.body;
  }

  async fetchListings(filter: { sku?: string; status?: string } = {}, opts: CallOptions & { maxItems?: number } = {}): Promise<FetchResult<MarketplaceListing>> {
    const r = await this.http.list('/listings', definedOnly(filter), opts);
    return { items: r.items as MarketplaceListing[], count: r.count, pages: r.pages, truncated: r.truncated };
  }

  /** Sets the available quantity of a listed SKU; null when the SKU has no listing there. */
  async updateInventory(sku: string, quantity: number, opts: WriteOptions = {}): Promise<{ sku: string; listing_id: string; quantity: number } | null> {
    const res = await this.http.request<{ sku: string; listing_id: string; quantity: number }>('PUT', this.http.url('/inventory/{sku}', { sku }), {
      body: { quantity },
      idempotencyKey: opts.idempotencyKey,
      signal: opts.signal,
      accept: [404],
    });
    return res.status === 404 ? null : res.body;
  }

  /** Sets many quantities, in chunks of {@link BULK_INVENTORY_CHUNK}; returns how many SKUs were updated and which were not listed. */
  async bulkUpdateInventory(items: Array<{ sku: string; quantity: number }>, opts: WriteOptions = {}): Promise<{ updated: number; not_found: string[] }> {
    let updated = 0;
    const notFound: string[] = [];
    for (let i = 0; i < items.length; i += BULK_INVENTORY_CHUNK) {
      const chunk = items.slice(i, i + BULK_INVENTORY_CHUNK);
      const res = await this.http.request<{ results: Array<{ sku: string; status: string }>; updated: number }>('POST', this.http.url('/inventory'), {
        body: { items: chunk },
        idempotencyKey: opts.idempotencyKey ? `${opts.idempotencyKey}:${i / BULK_INVENTORY_CHUNK}` : undefined,
        signal: opts.signal,
      });
      updated += res.body.updated;
      for (const r of res.body.results) if (r.status === 'not_found') notFound.push(r.sku);
      opts.heartbeat?.({ done: Math.min(i + BULK_INVENTORY_CHUNK, items.length), total: items.length });
    }
    return { updated, not_found: notFound };
  }

  /** Orders, by default the new ones. */
  async fetchOrders(filter: { status?: string } = { status: 'new' }, opts: CallOptions & { maxItems?: number } = {}): Promise<FetchResult<MarketplaceOrder>> {
    const r = await this.http.list('/orders', definedOnly(filter), opts);
    return { items: r.items as MarketplaceOrder[], count: r.count, pages: r.pages, truncated: r.truncated };
  }

  /** Acknowledges an order (acknowledging again is a no-op on the marketplace). */
  async acknowledgeOrder(id: string, opts: WriteOptions = {}): Promise<MarketplaceOrder> {
    return (await this.http.request<MarketplaceOrder>('POST', this.http.url('/orders/{id}/acknowledge', { id }), { idempotencyKey: opts.idempotencyKey, signal: opts.signal })).body;
  }

  /** Tells the marketplace an order shipped; the same tracking number again is a no-op, another one a 409. */
  async notifyShipment(id: string, shipment: ShipmentNotice, opts: WriteOptions = {}): Promise<MarketplaceOrder> {
    const res = await this.http.request<MarketplaceOrder>('POST', this.http.url('/orders/{id}/shipment', { id }), {
      body: shipment as unknown as Record<string, unknown>,
      idempotencyKey: opts.idempotencyKey,
      signal: opts.signal,
    });
    return res.body;
  }
}

function definedOnly(o: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(o).filter((e): e is [string, string] => e[1] !== undefined));
}
