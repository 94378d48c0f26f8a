/**
 * The platform modules of branch `shopify` (Shopify and WooCommerce), and
 * the lookup the marketplace paths use: data_fetch's marketplace source, the
 * api_call connector mode and `POST /marketplaces/{id}/test/`.
 *
 * MERGE NOTE: `platforms/index.ts` (branch `adapters`) is the one registry.
 * At merge it lists `shopifyPlatform` and `woocommercePlatform` (exported
 * here as SHOP_PLATFORMS) and its sandbox module replaces
 * `sandboxMarketplaceShim` below; `platformModule()` then reads that registry.
 */
import { StepError } from '@engine/activities/shared/errors';
import { ErrorCodes } from '@engine/shared/contracts';
import { apiErrorCode, connectorOptionsFrom, type CallOptions, type WriteOptions } from '../connector-http';
import { MarketplaceConnector, type ListingInput, type MarketplaceListing } from '../marketplace.connector';
import type { ConnectionPlatform } from '@src/commerce/entities/shared';
import type { AdapterDeps, CarrierAdapter, MarketplaceAdapter, PlatformModule, ProbeResult, SupplierAdapter } from './types';
import { shopifyPlatform } from './shopify';
import { woocommercePlatform } from './woocommerce';

export { shopifyPlatform } from './shopify';
export { woocommercePlatform } from './woocommerce';

/** This branch's modules, for the registry. */
export const SHOP_PLATFORMS: readonly PlatformModule[] = [shopifyPlatform, woocommercePlatform];

/**
 * The sandbox marketplace through MarketplaceConnector, so the connector paths
 * send exactly the requests the templates sent before (POST /listings with
 * its Idempotency-Key, PUT /inventory/{sku}, POST /orders/{id}/acknowledge,
 * POST /orders/{id}/shipment). Temporary: replaced by platforms/sandbox.ts at merge.
 */
const sandboxMarketplaceShim: PlatformModule = {
  platform: 'sandbox',
  marketplace: (deps: AdapterDeps): MarketplaceAdapter => {
    const m = new MarketplaceConnector(deps.client, connectorOptionsFrom(deps.row, deps.secret));
    return {
      async *orders(filter, opts = {}) {
        yield { items: (await m.fetchOrders(filter.status && filter.status !== 'all' ? { status: filter.status } : {}, opts)).items };
      },
      async *listings(filter, opts = {}) {
        yield { items: (await m.fetchListings(filter, opts)).items };
      },
      acknowledgeOrder: (id, opts) => m.acknowledgeOrder(id, opts),
      upsertListing: (input: ListingInput, opts: WriteOptions & { idempotencyKey: string }) => m.createListing(input, opts),
      async pushInventory(items, opts: WriteOptions = {}) {
        if (items.length !== 1) return m.bulkUpdateInventory(items, opts);
        const r = await m.updateInventory(items[0].sku, items[0].quantity, opts);
        return r ? { updated: 1, not_found: [] } : { updated: 0, not_found: [items[0].sku] };
      },
      notifyShipment: (id, shipment, opts) => m.notifyShipment(id, shipment, opts),
      async probe(opts: CallOptions = {}): Promise<ProbeResult> {
        try {
          const res = await m.http.request<{ items?: MarketplaceListing[] }>('GET', m.http.url('/listings'), { query: { limit: 1 }, signal: opts.signal, accept: [401, 403] });
          if (res.status === 401 || res.status === 403) return { reachable: true, authenticated: false, status: res.status, reason: `the endpoint refused the credentials (HTTP ${res.status}) ${apiErrorCode(res.body) ?? ''}`.trim() };
          if (!Array.isArray(res.body?.items)) return { reachable: true, authenticated: true, status: res.status, reason: 'the answer has no "items" list: is this a sandbox marketplace API?' };
          return { reachable: true, authenticated: true, status: res.status, sample: res.body.items[0] };
        } catch (err) {
          const status = (err as { info?: { status?: number } }).info?.status;
          return { reachable: typeof status === 'number', authenticated: typeof status === 'number', status, reason: (err as Error).message };
        }
      },
    };
  },
};

const MODULES = new Map<ConnectionPlatform, PlatformModule>([...SHOP_PLATFORMS, sandboxMarketplaceShim].map((m) => [m.platform, m]));

/** The module of a platform; an unknown one fails for good, naming the field. */
export function platformModule(platform: ConnectionPlatform | string | null | undefined): PlatformModule {
  const m = MODULES.get((platform ?? 'sandbox') as ConnectionPlatform);
  if (!m) throw new StepError(ErrorCodes.STEP_CONFIG_INVALID, `platform ${String(platform)} has no adapter in this build`, { details: { field: 'platform' } });
  return m;
}

function side<K extends 'supplier' | 'marketplace' | 'carrier'>(kind: K, deps: AdapterDeps): ReturnType<NonNullable<PlatformModule[K]>> {
  const m = platformModule(deps.row.platform);
  const factory = m[kind] as ((d: AdapterDeps) => ReturnType<NonNullable<PlatformModule[K]>>) | undefined;
  if (!factory) throw new StepError(ErrorCodes.STEP_CONFIG_INVALID, `platform ${m.platform} has no ${kind} side (connection ${deps.row.code})`, { details: { field: 'platform' } });
  return factory(deps);
}

export const marketplaceAdapter = (deps: AdapterDeps): MarketplaceAdapter => side('marketplace', deps);
export const supplierAdapter = (deps: AdapterDeps): SupplierAdapter => side('supplier', deps);
export const carrierAdapter = (deps: AdapterDeps): CarrierAdapter => side('carrier', deps);
