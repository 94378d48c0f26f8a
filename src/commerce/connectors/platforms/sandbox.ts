/**
 * `sandbox`: the bundled sandbox's own API shapes (src/sandbox), all three
 * sides, over the existing connectors. Lists are cursor paginated
 * (`?limit=&cursor=` → `{items, next_cursor}`). With an empty field mapping
 * items pass through as the sandbox sends them.
 */
import type { CallOptions, ConnectorHttp } from '../connector-http';
import { CarrierConnector, type LabelRequest as SandboxLabelRequest } from '../carrier.connector';
import { MarketplaceConnector, type MarketplaceListing, type MarketplaceOrder } from '../marketplace.connector';
import type { SupplierInventoryRecord, SupplierProductRecord } from '../supplier.connector';
import { authRefused, httpOf, MAX_PAGES, probeWith } from './common';
import { FieldMapping, type MapOutcome } from './mapping';
import type { AdapterDeps, CarrierAdapter, Label, MarketplaceAdapter, Page, PlatformModule, ReadOptions, SupplierAdapter } from './types';

/** Walks a sandbox cursor list page by page; 401/403 fail for good, naming the connection. */
async function* cursorPages(deps: AdapterDeps, http: ConnectorHttp, side: string, path: string, query: Record<string, string>, opts: ReadOptions): AsyncGenerator<unknown[]> {
  const pageSize = opts.pageSize ?? http.options.pageSize ?? 500;
  let remaining = opts.maxItems ?? http.options.maxItems ?? Number.POSITIVE_INFINITY;
  let cursor: string | null = null;
  for (let page = 1; page <= MAX_PAGES && remaining > 0; page++) {
    const url = http.url(path);
    const res: { status: number; body: { items?: unknown[]; next_cursor?: string | null } } = await http.request<{ items?: unknown[]; next_cursor?: string | null }>('GET', url, {
      query: { ...query, limit: Math.min(pageSize, remaining), ...(cursor ? { cursor } : {}) },
      signal: opts.signal,
      accept: [401, 403],
    });
    if (res.status === 401 || res.status === 403) throw authRefused(deps.row, side, res.status, `GET ${url}`);
    const items = (Array.isArray(res.body?.items) ? res.body.items : []).slice(0, remaining);
    remaining -= items.length;
    cursor = typeof res.body?.next_cursor === 'string' && res.body.next_cursor !== '' ? res.body.next_cursor : null;
    opts.heartbeat?.({ page, items: items.length, has_more: cursor !== null });
    yield items;
    if (!cursor || items.length === 0) return;
  }
}

async function* mapped<T>(pages: AsyncIterable<unknown[]>, mapping: FieldMapping, map: (item: unknown) => Promise<MapOutcome<T>>): AsyncGenerator<Page<T>> {
  for await (const items of pages) yield mapping.page(items, map);
}

function supplier(deps: AdapterDeps): SupplierAdapter {
  const http = httpOf(deps);
  const mapping = () => FieldMapping.compile(deps.row.field_mapping, deps.row.code);
  return {
    products(opts: ReadOptions = {}) {
      const m = mapping();
      return mapped<SupplierProductRecord>(cursorPages(deps, http, 'supplier', '/products', {}, opts), m, (i) => m.product(i));
    },
    inventory(opts: ReadOptions = {}) {
      const m = mapping();
      return mapped<SupplierInventoryRecord>(cursorPages(deps, http, 'supplier', '/inventory', {}, opts), m, (i) => m.inventory(i));
    },
    probe(opts: CallOptions = {}) {
      const m = mapping();
      return probeWith(deps.row, () => listOne(http, '/products', opts), m.empty ? undefined : (i) => m.apply(i));
    },
  };
}

/** One item of a list, whatever the status (the probe judges it). */
async function listOne(http: ConnectorHttp, path: string, opts: CallOptions) {
  const url = http.url(path);
  const res = await http.request<{ items?: unknown[] }>('GET', url, { query: { limit: 1 }, signal: opts.signal, accept: [400, 401, 403, 404, 405, 409, 410, 422] });
  return { request: `GET ${url}`, status: res.status, items: res.status < 300 ? (Array.isArray(res.body?.items) ? res.body.items : []) : undefined };
}

function marketplace(deps: AdapterDeps): MarketplaceAdapter {
  const http = httpOf(deps);
  const connector = new MarketplaceConnector(deps.client, http.options);
  const passthrough = <T>(pages: AsyncIterable<unknown[]>): AsyncGenerator<Page<T>> =>
    (async function* () {
      for await (const items of pages) yield { items: items as T[] };
    })();
  const defined = (o: Record<string, string | undefined>) => Object.fromEntries(Object.entries(o).filter((e): e is [string, string] => e[1] !== undefined));
  return {
    orders: (filter, opts = {}) => passthrough<MarketplaceOrder>(cursorPages(deps, http, 'marketplace', '/orders', defined(filter), opts)),
    listings: (filter, opts = {}) => passthrough<MarketplaceListing>(cursorPages(deps, http, 'marketplace', '/listings', defined(filter), opts)),
    acknowledgeOrder: (id, opts) => connector.acknowledgeOrder(id, opts),
    upsertListing: (input, opts) => connector.createListing(input, opts),
    // One SKU (the per-item writes of the templates): PUT /inventory/{sku} under the step's key; several: the bulk endpoint.
    async pushInventory(items, opts = {}) {
      if (items.length !== 1) return connector.bulkUpdateInventory(items, opts);
      const r = await connector.updateInventory(items[0].sku, items[0].quantity, opts);
      return r ? { updated: 1, not_found: [] } : { updated: 0, not_found: [items[0].sku] };
    },
    notifyShipment: (id, shipment, opts) => connector.notifyShipment(id, shipment, opts),
    probe: (opts = {}) => probeWith(deps.row, () => listOne(http, '/listings', opts)),
  };
}

function carrier(deps: AdapterDeps): CarrierAdapter {
  const http = httpOf(deps);
  const connector = new CarrierConnector(deps.client, http.options);
  return {
    async createLabel(req, opts) {
      const label = await connector.createLabel(req as unknown as SandboxLabelRequest, opts);
      return { label: label as Label, created: true };
    },
    voidLabel: async (id, opts) => (await connector.voidLabel(id, opts)) as Label,
    probe: (opts = {}) =>
      probeWith(
        deps.row,
        async () => {
          // A carrier has no list: asking for a label that cannot exist passes auth and answers 404.
          const url = http.url('/labels/merchflow-connection-test');
          const res = await http.request('GET', url, { signal: opts.signal, accept: [400, 401, 403, 404, 405, 422] });
          return { request: `GET ${url}`, status: res.status };
        },
        undefined,
        { notFoundIsOk: true },
      ),
  };
}

export const sandboxPlatform: PlatformModule = { platform: 'sandbox', supplier, marketplace, carrier };
