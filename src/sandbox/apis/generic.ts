import { HttpError, invalid, queryInt, Router, type ApiRequest, type Reply } from '../http';
import type { SupplierProduct } from '../catalogue';
import type { SandboxState } from '../state';

/** A product in the generic REST shape: other field names and nesting than the sandbox supplier's own. */
export interface GenericItem {
  id: string;
  /** Absent on products with the `missing_sku` defect. */
  product_code?: string;
  title: string;
  summary: string;
  maker: string;
  group: string;
  /** `amount` is absent on `missing_cost_price` products. */
  price: { amount?: number; currency: string };
  weight: { value: number; unit: 'kg' };
  pictures: Array<{ url: string }>;
  ean: string;
  on_hand: number;
  modified: string;
}

export interface GenericStock {
  id: string;
  product_code?: string;
  on_hand: number;
}

/** The pagination styles, one per path prefix. */
export const GENERIC_STYLES = ['offset', 'page', 'cursor', 'link'] as const;
type Style = (typeof GENERIC_STYLES)[number];

const MAX_LIMIT = 1000;

export function toGenericItem(p: SupplierProduct): GenericItem {
  const item: GenericItem = {
    id: p.external_id,
    product_code: p.sku,
    title: p.name,
    summary: p.description,
    maker: p.brand,
    group: p.category,
    price: { amount: p.cost_price, currency: p.currency },
    weight: { value: p.weight_kg, unit: 'kg' },
    pictures: p.images.map((url) => ({ url })),
    ean: p.barcode,
    on_hand: p.stock_quantity,
    modified: p.updated_at,
  };
  if (item.product_code === undefined) delete item.product_code;
  if (item.price.amount === undefined) delete item.price.amount;
  return item;
}

function encodeToken(prefix: string, offset: number): string {
  return Buffer.from(`${prefix}:${offset}`).toString('base64url');
}

function decodeToken(prefix: string, field: string, token: string): number {
  const m = new RegExp(`^${prefix}:(\\d+)$`).exec(Buffer.from(token, 'base64url').toString('utf8'));
  if (!m) throw invalid(field, 'is not a token this API issued');
  return Number(m[1]);
}

/**
 * One page of `total` items in the generic shape `{ data: { <key>: [...] }, meta: {...} }`,
 * paginated the way `style` says:
 * - offset: `?offset=&limit=`, meta `{offset, limit, total}`;
 * - page: `?page=&per_page=` (1-based), meta `{page, per_page, total, total_pages}`;
 * - cursor: `?cursor=&limit=`, meta `{next_cursor}` (null on the last page);
 * - link: `?per_page=` then the URL of `Link: <…>; rel="next"` (a `page_token`), meta `{count}`.
 */
function genericPage<T>(req: ApiRequest, style: Style, key: string, total: number, slice: (start: number, end: number) => T[]): Reply {
  const next = new URL(req.url);
  const body = (start: number, end: number, meta: Record<string, unknown>) => ({ data: { [key]: slice(start, end) }, meta });
  switch (style) {
    case 'offset': {
      const limit = queryInt(req.query, 'limit', 50, 1, MAX_LIMIT);
      const offset = queryInt(req.query, 'offset', 0, 0, Number.MAX_SAFE_INTEGER);
      const start = Math.min(offset, total);
      return { body: body(start, Math.min(total, start + limit), { offset, limit, total }) };
    }
    case 'page': {
      const perPage = queryInt(req.query, 'per_page', 50, 1, MAX_LIMIT);
      const page = queryInt(req.query, 'page', 1, 1, Number.MAX_SAFE_INTEGER);
      const start = Math.min(total, (page - 1) * perPage);
      return { body: body(start, Math.min(total, start + perPage), { page, per_page: perPage, total, total_pages: Math.ceil(total / perPage) }) };
    }
    case 'cursor': {
      const limit = queryInt(req.query, 'limit', 50, 1, MAX_LIMIT);
      const cursor = req.query.get('cursor');
      const start = cursor ? Math.min(total, decodeToken('c', 'cursor', cursor)) : 0;
      const end = Math.min(total, start + limit);
      return { body: body(start, end, { next_cursor: end < total ? encodeToken('c', end) : null }) };
    }
    case 'link': {
      const perPage = queryInt(req.query, 'per_page', 50, 1, MAX_LIMIT);
      const token = req.query.get('page_token');
      const start = token ? Math.min(total, decodeToken('p', 'page_token', token)) : 0;
      const end = Math.min(total, start + perPage);
      const reply: Reply = { body: body(start, end, { count: end - start }) };
      if (end < total) {
        next.searchParams.set('page_token', encodeToken('p', end));
        next.searchParams.set('per_page', String(perPage));
        reply.headers = { Link: `<${next.href}>; rel="next"` };
      }
      return reply;
    }
  }
}

/**
 * A generic JSON REST supplier, mounted at `/generic/v1`: the same catalogue
 * as the supplier API in another shape (`product_code`, `title`,
 * `price.amount`, ... under `data.products`), paginated in the style its
 * path names: `/{offset|page|cursor|link}/products` and `/{style}/stock`.
 */
export function genericRoutes(state: SandboxState): Router {
  const { catalogue } = state;
  const styleOf = (req: ApiRequest): Style => {
    const style = req.params.style as Style;
    if (!GENERIC_STYLES.includes(style)) throw new HttpError(404, 'not_found', `no pagination style ${style}; use ${GENERIC_STYLES.join(', ')}`);
    return style;
  };
  const range = <T>(start: number, end: number, item: (i: number) => T): T[] => {
    const out: T[] = [];
    for (let i = start; i < end; i++) out.push(item(i));
    return out;
  };
  return new Router()
    .on('GET', '/:style/products', (req) =>
      genericPage(req, styleOf(req), 'products', catalogue.size, (start, end) => range(start, end, (i) => toGenericItem(catalogue.product(i, state.stockOf(i))))),
    )
    .on('GET', '/:style/stock', (req) =>
      genericPage(req, styleOf(req), 'stock', catalogue.size, (start, end) =>
        range(start, end, (i): GenericStock => {
          const s: GenericStock = { id: catalogue.externalIdOf(i), product_code: catalogue.skuOf(i), on_hand: state.stockOf(i) };
          if (catalogue.defectOf(i) === 'missing_sku') delete s.product_code;
          return s;
        }),
      ),
    );
}
