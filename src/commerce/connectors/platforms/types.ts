/**
 * The one connector interface every platform adapter implements (issue 12):
 * a supplier side (products, inventory), a marketplace side (orders and their
 * acknowledgement, listings, inventory push, shipment notices) and a carrier
 * side (labels). An adapter is a small module per platform
 * (`sandbox`, `generic_rest`, `feed`, `shopify`, `woocommerce`) that owns its
 * pagination, auth headers and error mapping, and maps the remote shape to
 * Merchflow's product / inventory / order shapes (see the record types in
 * ../supplier.connector.ts and ../marketplace.connector.ts).
 *
 * Adapters are plain HTTP clients over the SSRF-safe HttpClient: no database,
 * no Temporal. Reads are async iterables of pages, so a caller can stream a
 * catalogue without holding it whole.
 */
import type { HttpClient } from '@engine/activities/shared/http';
import type { ApiCredentials, ConnectionPlatform, ConnectorSettings, RateBudget } from '@src/commerce/entities/shared';
import type { SupplierInventoryRecord, SupplierProductRecord } from '../supplier.connector';
import type { ListingInput, MarketplaceListing, MarketplaceOrder, ShipmentNotice } from '../marketplace.connector';
import type { CallOptions, WriteOptions } from '../connector-http';

/** A connection row as adapters see it (suppliers, marketplaces and carriers share these columns). */
export interface ConnectionRow {
  id: number;
  code: string;
  platform: ConnectionPlatform;
  api_base_url: string;
  credentials: ApiCredentials | null;
  settings: ConnectorSettings | null;
  /** Target field → JSONata expression over one remote item (empty: the platform's default mapping). */
  field_mapping: Record<string, string> | null;
  rate_budget: RateBudget | null;
}

/** What an adapter is built from: the row, its resolved secret value (never logged), and the HTTP client. */
export interface AdapterDeps {
  row: ConnectionRow;
  secret: string | null;
  client: Pick<HttpClient, 'request'>;
}

/** Per read: cancellation, progress, and a cap on items. */
export interface ReadOptions extends CallOptions {
  maxItems?: number;
  pageSize?: number;
}

/** One page of a read, already mapped to Merchflow's shape. */
export interface Page<T> {
  items: T[];
  /** Remote items on this page that could not be mapped (kept for the item ledger). */
  unmapped?: Array<{ item: unknown; reason: string }>;
}

/** What a connection test saw (`POST /{kind}/{id}/test/`). */
export interface ProbeResult {
  reachable: boolean;
  authenticated: boolean;
  /** One remote item mapped to Merchflow's shape, when the read returned one. */
  sample?: unknown;
  /** Why not, when reachable or authenticated is false (or the mapping failed). */
  reason?: string;
  status?: number;
  /** The request the probe made, e.g. `GET https://host/api/products` (no query: it may carry keys). */
  request?: string;
  /** The remote item the sample was mapped from, as received. */
  raw?: unknown;
}

export interface SupplierAdapter {
  products(opts?: ReadOptions): AsyncIterable<Page<SupplierProductRecord>>;
  inventory(opts?: ReadOptions): AsyncIterable<Page<SupplierInventoryRecord>>;
  probe(opts?: CallOptions): Promise<ProbeResult>;
}

export interface MarketplaceAdapter {
  orders(filter: { status?: string }, opts?: ReadOptions): AsyncIterable<Page<MarketplaceOrder>>;
  listings(filter: { sku?: string; status?: string }, opts?: ReadOptions): AsyncIterable<Page<MarketplaceListing>>;
  acknowledgeOrder(orderId: string, opts?: WriteOptions): Promise<MarketplaceOrder>;
  /** Creates the listing of a SKU or updates the one that exists (idempotent per SKU and per key). */
  upsertListing(input: ListingInput, opts: WriteOptions & { idempotencyKey: string }): Promise<{ listing: MarketplaceListing; created: boolean }>;
  pushInventory(items: Array<{ sku: string; quantity: number }>, opts?: WriteOptions): Promise<{ updated: number; not_found: string[] }>;
  notifyShipment(orderId: string, shipment: ShipmentNotice, opts?: WriteOptions): Promise<MarketplaceOrder>;
  probe(opts?: CallOptions): Promise<ProbeResult>;
}

export interface LabelRequest {
  order_id: string;
  ship_to: Record<string, string>;
  service?: string;
  weight_kg?: number;
}

export interface Label {
  id: string;
  tracking_number: string;
  carrier: string;
  label_url?: string;
  [field: string]: unknown;
}

export interface CarrierAdapter {
  createLabel(req: LabelRequest, opts: WriteOptions & { idempotencyKey: string }): Promise<{ label: Label; created: boolean }>;
  voidLabel(labelId: string, opts?: WriteOptions): Promise<Label>;
  probe(opts?: CallOptions): Promise<ProbeResult>;
}

/** One platform's module: the sides it implements (a feed is a supplier only). */
export interface PlatformModule {
  platform: ConnectionPlatform;
  supplier?: (deps: AdapterDeps) => SupplierAdapter;
  marketplace?: (deps: AdapterDeps) => MarketplaceAdapter;
  carrier?: (deps: AdapterDeps) => CarrierAdapter;
}
