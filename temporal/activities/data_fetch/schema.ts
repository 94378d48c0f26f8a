import { z } from 'zod';
import { defineStepConfig } from '@engine/activities/runtime/executor';
import { PAGINATION_DEFAULTS, type PaginationSettings } from '@engine/activities/shared/pagination';

export type { PaginationSettings };
import type { ConfigValidator } from '@engine/dsl/types';
import { LEGACY_AUTH_KEYS, headersSchema, pathSchema, querySchema, retrySchema, timeoutSchema, urlSchema, validateAuth, type RetryConfig } from '@engine/activities/shared/http-config';
import { intIn, refOr, type SchemaMode } from '@engine/activities/shared/zod';
import { zodIssues, type ConfigIssue } from '@engine/activities/shared/config-issues';

export const DATA_FETCH_SOURCE_TYPES = ['source_data', 'http', 'supplier', 'marketplace'] as const;
export type DataFetchSourceType = (typeof DATA_FETCH_SOURCE_TYPES)[number];

/** Defaults of a `data_fetch` step. */
export const DATA_FETCH_DEFAULTS = {
  limit: 1000,
  order_by: 'id',
  output: 'raw_data',
  timeout_seconds: 30,
  pagination: PAGINATION_DEFAULTS,
  incremental: { param: 'updated_since', field: 'updated_at' },
} as const;

export const SOURCE_DATA_ORDER_BY = ['id', '-id', 'created_at', '-created_at', 'updated_at', '-updated_at'] as const;

/** Keys for stored cursors: `supplier-42-products`. */
export const INCREMENTAL_KEY_PATTERN = /^[A-Za-z0-9_.:/-]{1,200}$/;

const nonEmpty = z.string({ error: 'must be a string' }).min(1, { message: 'may not be empty' });
const isoTimestamp = z.string({ error: 'must be an ISO 8601 timestamp' }).refine((s) => !Number.isNaN(Date.parse(s)), { message: 'must be an ISO 8601 timestamp' });
const oneOrMany = (one: z.ZodType, what: string) =>
  z.union([one, z.array(one, { error: `must be ${what} or a list of them` }).min(1, { message: 'may not be an empty list' }).max(10_000)], {
    error: `must be ${what} or a list of them`,
  });

// ---------------------------------------------------------------- source_data

const sourceDataValueShape = (mode: SchemaMode) => ({
  filters: z
    .strictObject(
      {
        source_type: refOr(mode, oneOrMany(nonEmpty, 'a string'), 'a string or a list of strings').optional(),
        status: refOr(mode, oneOrMany(nonEmpty, 'a string'), 'a string or a list of strings').optional(),
        supplier_id: refOr(mode, oneOrMany(intIn(0, 2_147_483_647), 'an integer id'), 'an integer id or a list of them').optional(),
        marketplace_id: refOr(mode, oneOrMany(intIn(0, 2_147_483_647), 'an integer id'), 'an integer id or a list of them').optional(),
        external_ids: refOr(mode, z.array(nonEmpty, { error: 'must be a list of strings' }).max(10_000), 'a list of strings').optional(),
        execution_id: refOr(mode, nonEmpty, 'a string').optional(),
        since: refOr(mode, isoTimestamp, 'an ISO 8601 timestamp').optional(),
      },
      { error: 'must be an object of filters' },
    )
    .optional(),
  supplier_id: refOr(mode, intIn(0, 2_147_483_647), 'an integer id').optional(),
  marketplace_id: refOr(mode, intIn(0, 2_147_483_647), 'an integer id').optional(),
  limit: refOr(mode, intIn(1, 100_000), 'an integer from 1 to 100000').optional(),
  order_by: z.enum(SOURCE_DATA_ORDER_BY, { error: `must be one of ${SOURCE_DATA_ORDER_BY.join(', ')}` }).optional(),
  output: z.enum(['raw_data', 'rows'], { error: 'must be "raw_data" or "rows"' }).optional(),
  incremental: z.strictObject({ key: nonEmpty }, { error: 'must be an object: {"key": "..."}' }).optional(),
});

/** Resolved source_data settings. */
export interface SourceDataSettings {
  filters?: {
    source_type?: string | string[];
    status?: string | string[];
    supplier_id?: number | number[];
    marketplace_id?: number | number[];
    external_ids?: string[];
    execution_id?: string;
    since?: string;
  };
  supplier_id?: number;
  marketplace_id?: number;
  limit?: number;
  order_by?: (typeof SOURCE_DATA_ORDER_BY)[number];
  output?: 'raw_data' | 'rows';
  incremental?: { key: string };
}

export const sourceDataRuntimeSchema = z.object(sourceDataValueShape('runtime'));

const sourceDataSchema = z
  .strictObject({
    source_type: z.literal('source_data').describe('rows of the source_data table'),
    fetch_type: z.string().optional(),
    ...sourceDataValueShape('definition'),
  })
  .superRefine((c, ctx) => {
    if (c.incremental && c.order_by !== undefined && c.order_by !== 'updated_at') {
      ctx.addIssue({ code: 'custom', path: ['order_by'], message: 'an incremental fetch reads in updated_at order; leave order_by unset or "updated_at"' });
    }
    if (c.supplier_id !== undefined && c.filters?.supplier_id !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['supplier_id'], message: 'give supplier_id either here or in filters, not both' });
    }
    if (c.marketplace_id !== undefined && c.filters?.marketplace_id !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['marketplace_id'], message: 'give marketplace_id either here or in filters, not both' });
    }
  });

// ---------------------------------------------------------------- http

const paginationShape = (mode: SchemaMode) => ({
  type: z.enum(['none', 'page', 'cursor', 'link'], { error: 'must be "none", "page", "cursor" or "link"' }).optional(),
  page_param: nonEmpty.optional(),
  size_param: nonEmpty.optional(),
  page_size: refOr(mode, intIn(1, 10_000), 'an integer from 1 to 10000').optional(),
  start_page: refOr(mode, intIn(0, 1_000_000), 'an integer from 0').optional(),
  cursor_param: nonEmpty.optional(),
  cursor_path: pathSchema.optional(),
  items_path: pathSchema.optional(),
  has_more_path: pathSchema.optional(),
  total_pages_path: pathSchema.optional(),
  next_url_path: pathSchema.optional(),
  max_pages: refOr(mode, intIn(1, 10_000), 'an integer from 1 to 10000').optional(),
  max_items: refOr(mode, intIn(1, 1_000_000), 'an integer from 1 to 1000000').optional(),
});

const httpValueShape = (mode: SchemaMode) => ({
  method: refOr(mode, z.enum(['GET', 'POST', 'get', 'post'], { error: 'must be GET or POST' }), 'GET or POST').optional(),
  timeout_seconds: timeoutSchema(mode).optional(),
  retry: retrySchema(mode).optional(),
  pagination: z.strictObject(paginationShape(mode), { error: 'must be an object: {type, ...}' }).optional(),
  incremental: z
    .strictObject(
      {
        key: nonEmpty,
        mode: z.enum(['cursor', 'updated_since'], { error: 'must be "cursor" or "updated_since"' }).optional(),
        param: nonEmpty.optional(),
        field: pathSchema.optional(),
      },
      { error: 'must be an object: {"key": "...", "mode": "cursor" | "updated_since"}' },
    )
    .optional(),
});


/** Resolved HTTP source settings. */
export interface HttpSourceSettings {
  method?: string;
  timeout_seconds?: number;
  retry?: RetryConfig;
  pagination?: PaginationSettings;
  incremental?: { key: string; mode?: 'cursor' | 'updated_since'; param?: string; field?: string };
}

export const httpRuntimeSchema = z.object(httpValueShape('runtime'));


// ---------------------------------------------------------------- supplier / marketplace connectors

/** What each connector source can fetch. */
export const CONNECTOR_FETCH_TYPES = { supplier: ['products', 'inventory'], marketplace: ['orders', 'listings'] } as const;

const connectorValueShape = (mode: SchemaMode) => ({
  supplier_id: refOr(mode, intIn(1, 2_147_483_647), 'an integer id').optional(),
  marketplace_id: refOr(mode, intIn(1, 2_147_483_647), 'an integer id').optional(),
  /** orders: `new` (default), `acknowledged`, `shipped`, or `all`; listings: `active`, `inactive` or `all` (default). */
  status: refOr(mode, z.enum(['new', 'acknowledged', 'shipped', 'active', 'inactive', 'all'], { error: 'must be new, acknowledged, shipped, active, inactive or all' }), 'a status').optional(),
  max_items: refOr(mode, intIn(1, 10_000_000), 'an integer from 1 to 10000000').optional(),
  page_size: refOr(mode, intIn(1, 10_000), 'an integer from 1 to 10000').optional(),
  timeout_seconds: timeoutSchema(mode).optional(),
  retry: retrySchema(mode).optional(),
});

/** Resolved connector settings. */
export interface ConnectorSourceSettings {
  supplier_id?: number;
  marketplace_id?: number;
  status?: 'new' | 'acknowledged' | 'shipped' | 'active' | 'inactive' | 'all';
  max_items?: number;
  page_size?: number;
  timeout_seconds?: number;
  retry?: RetryConfig;
}

export const connectorRuntimeSchema = z.object(connectorValueShape('runtime'));

const connectorSchema = z
  .strictObject({
    source_type: z.enum(['supplier', 'marketplace']).describe('a commerce connector (its row gives URL, credentials and paging)'),
    fetch_type: z.string({ error: 'is required' }).describe('supplier: products or inventory; marketplace: orders or listings'),
    ...connectorValueShape('definition'),
  })
  .superRefine((c, ctx) => {
    const allowed = CONNECTOR_FETCH_TYPES[c.source_type] as readonly string[];
    if (!allowed.includes(c.fetch_type)) {
      ctx.addIssue({ code: 'custom', path: ['fetch_type'], message: `must be one of ${allowed.join(', ')} for a ${c.source_type} source` });
    }
    const idField = c.source_type === 'supplier' ? 'supplier_id' : 'marketplace_id';
    const other = c.source_type === 'supplier' ? 'marketplace_id' : 'supplier_id';
    if (c[idField] === undefined) ctx.addIssue({ code: 'custom', path: [idField], message: `is required: the ${c.source_type} to fetch from (an id or a reference like "$input.${idField}")` });
    if (c[other] !== undefined) ctx.addIssue({ code: 'custom', path: [other], message: `does not apply to a ${c.source_type} source` });
    if (c.status !== undefined && typeof c.status === 'string' && !c.status.startsWith('$')) {
      const ok = c.fetch_type === 'orders' ? ['new', 'acknowledged', 'shipped', 'all'] : c.fetch_type === 'listings' ? ['active', 'inactive', 'all'] : [];
      if (!ok.includes(c.status)) ctx.addIssue({ code: 'custom', path: ['status'], message: ok.length ? `must be one of ${ok.join(', ')} for ${c.fetch_type}` : `does not apply to ${c.fetch_type}` });
    }
  });

const httpSchema = z
  .strictObject({
    source_type: z.enum(['http', 'supplier', 'marketplace']).describe('a paginated JSON API (a connector source with a url is one too)'),
    fetch_type: z.string().optional(),
    supplier_id: z.unknown().optional(),
    marketplace_id: z.unknown().optional(),
    url: urlSchema.describe('http(s) URL of the first page'),
    headers: headersSchema.optional(),
    query: querySchema.optional(),
    body: z.unknown().optional(),
    auth: z.unknown().optional().describe('as for api_call, secrets by reference'),
    ...Object.fromEntries(LEGACY_AUTH_KEYS.map((k) => [k, z.unknown().optional()])),
    ...httpValueShape('definition'),
  })
  .superRefine((c, ctx) => {
    const type = c.pagination?.type ?? 'none';
    if (c.incremental?.mode === 'cursor' && type !== 'cursor') {
      ctx.addIssue({ code: 'custom', path: ['incremental', 'mode'], message: '"cursor" needs pagination.type "cursor"' });
    }
    if (c.body !== undefined && typeof c.method === 'string' && !c.method.startsWith('$') && c.method.toUpperCase() !== 'POST') {
      ctx.addIssue({ code: 'custom', path: ['body'], message: 'is only sent with method POST' });
    }
    if (c.pagination?.next_url_path !== undefined && type !== 'link') {
      ctx.addIssue({ code: 'custom', path: ['pagination', 'next_url_path'], message: 'is only used with pagination.type "link"' });
    }
  });

/**
 * Validates a `data_fetch` step config. `source_type` picks the source:
 *
 * `"source_data"`: rows of the source_data table (bound parameters only).
 * - `filters`: `{source_type, status, supplier_id, marketplace_id, external_ids, execution_id, since}`;
 *   each a value or a list (`since` is an ISO timestamp compared with `updated_at`).
 *   `supplier_id` / `marketplace_id` may also sit at the top level, as in the specification.
 * - `limit` [1000, at most 100000], `order_by` ["id"; `-` for descending: "-updated_at"],
 *   `output` ["raw_data": the records' raw_data; "rows": whole rows].
 * - `incremental: {key}`: only rows updated after the last fetch with this key (watermark on updated_at, id).
 *
 * `"http"`: a paginated JSON API, through the SSRF-safe client.
 * - `url` (required), `method` [POST when `body` is given, else GET; POST sends `body`], `headers`, `query`, `auth`, `timeout_seconds` [30], `retry`
 *   as for `api_call`.
 * - `pagination` [type "none"]: `{type: "page"|"cursor"|"link"|"none", page_param ["page"], size_param ["per_page"],
 *   page_size, start_page [1], cursor_param ["cursor"], cursor_path ["next_cursor"], items_path (default: the body is
 *   the list), has_more_path, total_pages_path, next_url_path (link: read the next URL from the body instead of the
 *   `Link: <...>; rel="next"` header), max_pages [100], max_items [100000]}`.
 * - `incremental`: `{key, mode: "cursor" (resume from the stored cursor; default with cursor pagination) |
 *   "updated_since" (send the stored watermark as query `param` ["updated_since"], taken from item `field`
 *   ["updated_at"])}`.
 *
 * `"supplier"` / `"marketplace"`: the commerce connectors. The row (`suppliers` / `marketplaces`) gives the API base
 * URL, credentials (by secret name) and paging settings.
 * - `supplier_id` with `fetch_type` `"products"` or `"inventory"`; `marketplace_id` with `"orders"` (`status`
 *   ["new"]: new, acknowledged, shipped or all) or `"listings"` (`status`: active, inactive or all);
 * - `max_items` [the row's settings, else 1000000], `page_size` [the row's, else 500], `timeout_seconds`, `retry`.
 * With an explicit `url` such a step behaves as `"http"` instead (`fetch_type` and the ids are then only labels).
 *
 * Values may be references (`"$input.supplier_id"`); they are checked again once resolved.
 *
 * @example { "source_type": "supplier", "fetch_type": "products", "supplier_id": "$input.supplier_id" }
 * @example { "source_type": "source_data", "filters": { "source_type": "supplier_product", "status": "new", "supplier_id": "$input.supplier_id" }, "limit": 500 }
 * @example
 * {
 *   "source_type": "http",
 *   "url": "https://supplier.example/api/products",
 *   "auth": { "type": "api_key", "key": { "secret": "SUPPLIER_KEY" } },
 *   "pagination": { "type": "cursor", "cursor_param": "after", "cursor_path": "meta.next", "items_path": "data", "page_size": 100 },
 *   "incremental": { "key": "supplier-$input.supplier_id-products" }
 * }
 */
export const validateDataFetchConfig: ConfigValidator = (config) => {
  const type = config.source_type;
  if (!DATA_FETCH_SOURCE_TYPES.includes(type as DataFetchSourceType)) {
    return [{ field: 'source_type', message: `must be one of ${DATA_FETCH_SOURCE_TYPES.join(', ')}` }];
  }
  if ((type === 'supplier' || type === 'marketplace') && config.url === undefined) {
    const parsed = connectorSchema.safeParse(config);
    return parsed.success ? [] : zodIssues(parsed.error);
  }
  const issues: ConfigIssue[] = [];
  if (type === 'source_data') {
    const parsed = sourceDataSchema.safeParse(config);
    if (!parsed.success) issues.push(...zodIssues(parsed.error));
    return issues;
  }
  const parsed = httpSchema.safeParse(config);
  if (!parsed.success) issues.push(...zodIssues(parsed.error));
  issues.push(...validateAuth(config));
  return issues;
};

/** Step type id of `data_fetch`. */
export const DATA_FETCH_STEP_TYPE = 'data_fetch';

/** What editors are shown: one shape per source (`source_type` picks it; a connector source with a `url` is an HTTP one). */
const publishedSchema = z.union([sourceDataSchema, connectorSchema, httpSchema]);

/** The `data_fetch` step type as the API knows it: its id, config validator and schema. */
export const dataFetchConfig = defineStepConfig(DATA_FETCH_STEP_TYPE, validateDataFetchConfig, { schema: publishedSchema });
