/**
 * `generic_rest`: a supplier behind any JSON REST API. Per connection
 * (`settings`): where the products and the stock levels are
 * (`products_path`, `inventory_path`), where the list sits in an answer
 * (`items_path`, e.g. `data.products`), how it pages (`pagination.style`:
 * `page`, `cursor`, `link` (a `Link: <…>; rel="next"` header) or `offset`,
 * with the parameter names), and the JSONata `field_mapping` from the remote
 * item to Merchflow's product / stock record. Auth: the row's credentials
 * (bearer, api_key header, basic). 401/403 fail for good naming the
 * connection; 429 waits out Retry-After and 5xx are retried (HttpClient).
 */
import { StepError } from '@engine/activities/shared/errors';
import { cursorAt, extractItems, parseLinkHeader } from '@engine/activities/shared/pagination';
import { readPath } from '@engine/activities/shared/template';
import { ErrorCodes } from '@engine/shared/contracts';
import type { CallOptions, ConnectorHttp } from '../connector-http';
import type { SupplierInventoryRecord, SupplierProductRecord } from '../supplier.connector';
import { authRefused, httpOf, MAX_PAGES, probeWith } from './common';
import { FieldMapping, type MapOutcome } from './mapping';
import type { AdapterDeps, Page, PlatformModule, ReadOptions, SupplierAdapter } from './types';

export const PAGINATION_STYLES = ['page', 'cursor', 'link', 'offset', 'none'] as const;
export type PaginationStyle = (typeof PAGINATION_STYLES)[number];

/** `settings.pagination` of a generic_rest connection. */
export interface GenericPagination {
  style: PaginationStyle;
  /** page: the page number parameter (default `page`). */
  page_param?: string;
  /** page: the first page's number (default 1). */
  start_page?: number;
  /** The page size parameter (default `per_page` for page and link, `limit` for cursor and offset). */
  size_param?: string;
  /** cursor: the request parameter (default `cursor`) and where the next cursor is in the answer (default `next_cursor`). */
  cursor_param?: string;
  cursor_path?: string;
  /** offset: the offset parameter (default `offset`). */
  offset_param?: string;
  /** page/offset: where the answer says how many pages / items there are (else a short or empty page ends the walk). */
  total_pages_path?: string;
  total_path?: string;
}

/** `settings` of a generic_rest connection. */
export interface GenericRestSettings {
  products_path?: string;
  inventory_path?: string;
  /** Where the list is in an answer (dot path); default: the answer itself when it is a list, else `items`. */
  items_path?: string;
  /** The same for the inventory answer (default `items_path`). */
  inventory_items_path?: string;
  pagination?: GenericPagination;
  /** Fixed query parameters sent with every request (never credentials). */
  query?: Record<string, string>;
  page_size?: number;
}

export const GENERIC_REST_DEFAULTS = { products_path: '/products', inventory_path: '/inventory', page_size: 100 } as const;

function settingsOf(deps: AdapterDeps): GenericRestSettings {
  return (deps.row.settings ?? {}) as GenericRestSettings;
}

function itemsOf(body: unknown, itemsPath: string | undefined): unknown[] {
  if (itemsPath) return extractItems(body, itemsPath);
  if (Array.isArray(body)) return body;
  return extractItems(body, 'items');
}

function numberAt(body: unknown, path: string | undefined): number | null {
  if (!path) return null;
  const v = readPath(body, path);
  const n = typeof v === 'string' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) ? n : null;
}

/** Walks one list to its last page (or `maxItems`), yielding the remote items of each page. */
export async function* walk(deps: AdapterDeps, http: ConnectorHttp, path: string, itemsPath: string | undefined, opts: ReadOptions): AsyncGenerator<unknown[]> {
  const s = settingsOf(deps);
  const p: GenericPagination = s.pagination ?? { style: 'none' };
  const style = p.style;
  const size = opts.pageSize ?? http.options.pageSize ?? GENERIC_REST_DEFAULTS.page_size;
  const sizeParam = p.size_param ?? (style === 'cursor' || style === 'offset' ? 'limit' : 'per_page');
  let remaining = opts.maxItems ?? http.options.maxItems ?? Number.POSITIVE_INFINITY;
  let url = http.url(path);
  let pageNo = p.start_page ?? 1;
  let cursor: string | null = null;
  let offset = 0;
  for (let n = 1; n <= MAX_PAGES && remaining > 0; n++) {
    let query: Record<string, string | number> | undefined = { ...(s.query ?? {}) };
    if (style === 'page') Object.assign(query, { [p.page_param ?? 'page']: pageNo, [sizeParam]: size });
    else if (style === 'cursor') Object.assign(query, { [sizeParam]: size }, cursor ? { [p.cursor_param ?? 'cursor']: cursor } : {});
    else if (style === 'offset') Object.assign(query, { [p.offset_param ?? 'offset']: offset, [sizeParam]: size });
    else if (style === 'link') query = n === 1 ? Object.assign(query, { [sizeParam]: size }) : undefined; // the next URL carries everything
    const res = await http.request('GET', url, { query, signal: opts.signal, accept: [401, 403] });
    if (res.status === 401 || res.status === 403) throw authRefused(deps.row, 'supplier', res.status, `GET ${url.split('?')[0]}`);
    let items: unknown[];
    try {
      items = itemsOf(res.body, itemsPath);
    } catch (err) {
      throw new StepError(ErrorCodes.INVALID_RESPONSE, `supplier ${deps.row.code}: GET ${url.split('?')[0]}: ${(err as Error).message} (settings.items_path)`, { details: { field: 'settings.items_path' } });
    }
    const got = items.length;
    if (items.length > remaining) items = items.slice(0, remaining);
    remaining -= items.length;
    let more: boolean;
    if (style === 'page') {
      const totalPages = numberAt(res.body, p.total_pages_path);
      more = totalPages !== null ? pageNo - (p.start_page ?? 1) + 1 < totalPages : got >= size && got > 0;
      pageNo++;
    } else if (style === 'offset') {
      offset += got;
      const total = numberAt(res.body, p.total_path);
      more = total !== null ? offset < total : got >= size && got > 0;
    } else if (style === 'cursor') {
      cursor = cursorAt(res.body, p.cursor_path ?? 'next_cursor');
      more = cursor !== null && got > 0;
    } else if (style === 'link') {
      const next = parseLinkHeader(res.headers.link).next;
      more = next !== undefined && got > 0;
      if (next) url = new URL(next, res.url).href;
    } else more = false;
    opts.heartbeat?.({ page: n, items: items.length, has_more: more });
    yield items;
    if (!more) return;
  }
}

async function* mapped<T>(pages: AsyncIterable<unknown[]>, mapping: FieldMapping, map: (item: unknown) => Promise<MapOutcome<T>>): AsyncGenerator<Page<T>> {
  for await (const items of pages) yield mapping.page(items, map);
}

function supplier(deps: AdapterDeps): SupplierAdapter {
  const s = settingsOf(deps);
  const http = httpOf(deps);
  const mapping = () => FieldMapping.compile(deps.row.field_mapping, deps.row.code);
  const productsPath = s.products_path ?? GENERIC_REST_DEFAULTS.products_path;
  return {
    products(opts: ReadOptions = {}) {
      const m = mapping();
      return mapped<SupplierProductRecord>(walk(deps, http, productsPath, s.items_path, opts), m, (i) => m.product(i));
    },
    inventory(opts: ReadOptions = {}) {
      const m = mapping();
      return mapped<SupplierInventoryRecord>(walk(deps, http, s.inventory_path ?? GENERIC_REST_DEFAULTS.inventory_path, s.inventory_items_path ?? s.items_path, opts), m, (i) => m.inventory(i));
    },
    probe(opts: CallOptions = {}) {
      const m = mapping();
      return probeWith(
        deps.row,
        async () => {
          const url = http.url(productsPath);
          const p = s.pagination ?? { style: 'none' };
          const sizeParam = p.size_param ?? (p.style === 'cursor' || p.style === 'offset' ? 'limit' : 'per_page');
          const res = await http.request('GET', url, {
            query: { ...(s.query ?? {}), ...(p.style === 'none' ? {} : { [sizeParam]: 1 }) },
            signal: opts.signal,
            accept: [400, 401, 403, 404, 405, 410, 422],
          });
          return { request: `GET ${url}`, status: res.status, items: res.status < 300 ? itemsOf(res.body, s.items_path) : undefined };
        },
        (i) => m.product(i),
      );
    },
  };
}

export const genericRestPlatform: PlatformModule = { platform: 'generic_rest', supplier };
