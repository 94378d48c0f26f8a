/**
 * Walking a paginated JSON API: page numbers, cursors, or `Link: rel="next"`
 * URLs. Used by the `data_fetch` executor and, programmatically, by the
 * commerce connectors through {@link fetchPaginated}.
 */
import { StepError } from '@engine/activities/shared/errors';
import type { AuthProvider, HttpBody, HttpClient, RetryPolicy } from '@engine/activities/shared/http';
import { readPath } from '@engine/activities/shared/template';
import { ErrorCodes } from '@engine/shared/contracts';

/** Resolved pagination settings. */
export interface PaginationSettings {
  type?: 'none' | 'page' | 'cursor' | 'link';
  page_param?: string;
  size_param?: string;
  page_size?: number;
  start_page?: number;
  cursor_param?: string;
  cursor_path?: string;
  items_path?: string;
  has_more_path?: string;
  total_pages_path?: string;
  next_url_path?: string;
  max_pages?: number;
  max_items?: number;
}

/** Defaults of pagination settings. */
export const PAGINATION_DEFAULTS = {
  type: 'none',
  page_param: 'page',
  size_param: 'per_page',
  start_page: 1,
  cursor_param: 'cursor',
  cursor_path: 'next_cursor',
  max_pages: 100,
  max_items: 100_000,
} as const;

export interface FetchPaginatedOptions {
  url: string;
  /** GET (default) or POST (sent with `body` on every page). */
  method?: string;
  headers?: Record<string, string>;
  /** Set on the first URL (every URL for page and cursor pagination); replaces parameters of the same name. */
  query?: Record<string, string>;
  body?: HttpBody;
  auth?: AuthProvider;
  /** Hosts credentials may go to (allow-list syntax); see HttpRequestOptions.credentialsHosts. */
  credentialsHosts?: readonly string[];
  credentialHeaders?: readonly string[];
  /** Resolved secret values used in headers, query or body, scrubbed from error messages. */
  secrets?: readonly string[];
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  pagination?: PaginationSettings;
  /** Cursor of the first page (cursor pagination), e.g. the one stored by an earlier incremental fetch. */
  startCursor?: string | null;
}

export interface FetchPaginatedContext {
  signal?: AbortSignal;
  /** Called after every page with `{page, items, has_more}`. */
  heartbeat?: (details: unknown) => void;
}

export interface FetchPaginatedResult {
  items: unknown[];
  count: number;
  /** Requests made (pages fetched). */
  pages: number;
  /** Where a further fetch would continue (page number, cursor or URL) when max_pages/max_items stopped the walk; null when the source was exhausted. */
  next_cursor: string | null;
  /** Cursor pagination: the cursor to start from next time to see only what came after this fetch. */
  resume_cursor: string | null;
  /** True when max_pages or max_items stopped the walk before the end. */
  truncated: boolean;
}

type Client = Pick<HttpClient, 'request'>;

/**
 * Parses an RFC 8288 `Link` header into relation → URL (first one wins).
 * Relations may be quoted, unquoted or space-separated lists.
 *
 * @example parseLinkHeader('<https://a/p2>; rel="next", <https://a/p9>; rel="last"') // { next: 'https://a/p2', last: 'https://a/p9' }
 */
export function parseLinkHeader(header: string | readonly string[] | undefined | null): Record<string, string> {
  const text = Array.isArray(header) ? header.join(', ') : ((header as string | undefined) ?? '');
  const out: Record<string, string> = {};
  let i = text.indexOf('<');
  while (i >= 0) {
    const close = text.indexOf('>', i);
    if (close < 0) break;
    const url = text.slice(i + 1, close).trim();
    // Parameters run to the next comma outside quotes (a title may hold commas).
    let j = close + 1;
    let quoted = false;
    for (; j < text.length; j++) {
      if (text[j] === '"') quoted = !quoted;
      else if (text[j] === ',' && !quoted) break;
    }
    const rel = /(?:^|;)\s*rel\s*=\s*(?:"([^"]*)"|([^;\s]+))/i.exec(text.slice(close + 1, j));
    const rels = (rel?.[1] ?? rel?.[2] ?? '').toLowerCase().split(/\s+/).filter(Boolean);
    for (const r of rels) if (!(r in out)) out[r] = url;
    i = text.indexOf('<', j);
  }
  return out;
}

/** The items of one page: at `itemsPath`, or the body itself when it is a list. `null` at the path reads as no items. */
export function extractItems(body: unknown, itemsPath: string | undefined): unknown[] {
  const value = itemsPath ? readPath(body, itemsPath) : body;
  if (Array.isArray(value)) return value;
  if (itemsPath && value === null) return [];
  throw new StepError(
    ErrorCodes.INVALID_RESPONSE,
    itemsPath
      ? `the response has no list at items_path ${JSON.stringify(itemsPath)} (found ${value === undefined ? 'nothing' : typeof value})`
      : `the response is ${body === null ? 'null' : typeof body}, not a list: set pagination.items_path`,
    { details: { items_path: itemsPath ?? null } },
  );
}

/** A cursor read from a response: strings and finite numbers; anything else (or '') is no cursor. */
export function cursorAt(body: unknown, path: string): string | null {
  const v = readPath(body, path);
  if (typeof v === 'string' && v !== '') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return null;
}

/**
 * The latest of the items' `field` values (for an `updated_since` watermark):
 * timestamps compared as times, numbers as numbers. Null when no item has one.
 */
export function latestValue(items: readonly unknown[], field: string): string | null {
  let best: { text: string; time: number | null; num: number | null } | null = null;
  for (const item of items) {
    const v = readPath(item, field);
    if (typeof v !== 'string' && typeof v !== 'number') continue;
    const text = String(v);
    if (text === '') continue;
    const num = typeof v === 'number' ? v : null;
    const time = typeof v === 'string' && !/^\d+(\.\d+)?$/.test(v) ? Date.parse(v) : null;
    const cand = { text, time: time !== null && !Number.isNaN(time) ? time : null, num: num ?? (/^\d+(\.\d+)?$/.test(text) ? Number(text) : null) };
    if (!best) {
      best = cand;
      continue;
    }
    const later =
      cand.time !== null && best.time !== null ? cand.time > best.time : cand.num !== null && best.num !== null ? cand.num > best.num : cand.text > best.text;
    if (later) best = cand;
  }
  return best?.text ?? null;
}

/** `url` with `params` set (replacing parameters of the same name). */
export function withQuery(url: string, params: Record<string, string | number | undefined>): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new StepError(ErrorCodes.INVALID_URL, `invalid URL ${JSON.stringify(url.split('?')[0].slice(0, 200))}`);
  }
  for (const [k, v] of Object.entries(params)) if (v !== undefined) u.searchParams.set(k, String(v));
  return u.toString();
}

/**
 * Fetches every page of a paginated JSON API and returns the items in order.
 *
 * - `page`: `page_param` counts up from `start_page` (with `size_param=page_size`);
 *   stops on an empty or short page, at `total_pages_path`, or when `has_more_path` is false.
 * - `cursor`: `cursor_param` carries the cursor read from `cursor_path`; stops when
 *   there is no new cursor, on an empty page, or when `has_more_path` is false.
 * - `link`: follows `Link: <...>; rel="next"` (or the URL at `next_url_path`), resolved against the page's URL.
 * - `none`: one request.
 *
 * Every request goes through `client` (SSRF checks, retries, Retry-After).
 * `max_pages` and `max_items` bound the walk; `next_cursor` then says where to continue.
 *
 * @example
 * const { items } = await fetchPaginated(client, {
 *   url: 'https://supplier.example/api/products',
 *   auth: apiKeyAuth(key),
 *   pagination: { type: 'cursor', cursor_path: 'meta.next', items_path: 'data' },
 * }, { signal, heartbeat });
 */
export async function fetchPaginated(client: Client, options: FetchPaginatedOptions, ctx: FetchPaginatedContext = {}): Promise<FetchPaginatedResult> {
  const d = PAGINATION_DEFAULTS;
  const p = options.pagination ?? {};
  const type = p.type ?? 'none';
  const maxPages = p.max_pages ?? d.max_pages;
  const maxItems = p.max_items ?? d.max_items;
  const method = (options.method ?? 'GET').toUpperCase();
  const sizeParams: Record<string, number | undefined> = p.page_size !== undefined ? { [p.size_param ?? d.size_param]: p.page_size } : {};

  const items: unknown[] = [];
  let pages = 0;
  let page = p.start_page ?? d.start_page;
  let cursor: string | null = options.startCursor ?? null;
  let resume: string | null = cursor;
  let nextUrl: string | null = null;
  let continueAt: string | null = null;
  let truncated = false;
  const seen = new Set<string>();
  const seenCursors = new Set<string>(cursor !== null ? [cursor] : []);

  for (;;) {
    if (ctx.signal?.aborted) throw new StepError(ErrorCodes.HTTP_ABORTED, 'the fetch was cancelled');
    let url: string;
    if (type === 'page') url = withQuery(options.url, { ...options.query, [p.page_param ?? d.page_param]: page, ...sizeParams });
    else if (type === 'cursor') url = withQuery(options.url, { ...options.query, ...sizeParams, ...(cursor !== null ? { [p.cursor_param ?? d.cursor_param]: cursor } : {}) });
    else if (type === 'link' && nextUrl !== null) url = nextUrl;
    else url = withQuery(options.url, { ...options.query, ...(type === 'link' ? sizeParams : {}) });
    seen.add(url);

    const res = await client.request(method, url, {
      headers: options.headers,
      body: method === 'POST' ? options.body : undefined,
      auth: options.auth,
      credentialsHosts: options.credentialsHosts,
      credentialHeaders: options.credentialHeaders,
      secrets: options.secrets,
      timeoutMs: options.timeoutMs,
      // Fetching is a read, also when a search API wants POST: safe to repeat.
      retry: { ...options.retry, ...(method === 'POST' ? { retryNonIdempotent: true } : {}) },
      signal: ctx.signal,
    });
    pages++;
    const pageItems = extractItems(res.body, p.items_path);
    const room = maxItems - items.length;
    const cut = pageItems.length > room;
    items.push(...(cut ? pageItems.slice(0, room) : pageItems));
    const hasMore = p.has_more_path ? readPath(res.body, p.has_more_path) : undefined;
    const saysNoMore = hasMore === false;

    // Whether the source has more, and where the next request would go.
    let more = false;
    let next: string | null = null;
    if (type === 'page') {
      const total = p.total_pages_path ? Number(readPath(res.body, p.total_pages_path)) : NaN;
      const pagesSeen = page - (p.start_page ?? d.start_page) + 1;
      more =
        pageItems.length > 0 &&
        !saysNoMore &&
        !(p.page_size !== undefined && pageItems.length < p.page_size) &&
        !(Number.isFinite(total) && pagesSeen >= total);
      next = cut ? String(page) : String(page + 1);
      page++;
    } else if (type === 'cursor') {
      const nc = cursorAt(res.body, p.cursor_path ?? d.cursor_path);
      // Next time, start after what this fetch returned; a page cut short is fetched again.
      resume = cut ? cursor : (nc ?? cursor);
      more = pageItems.length > 0 && !saysNoMore && nc !== null && !seenCursors.has(nc);
      next = cut ? cursor : nc;
      cursor = nc;
      if (nc !== null) seenCursors.add(nc);
    } else if (type === 'link') {
      const raw = p.next_url_path ? cursorAt(res.body, p.next_url_path) : (parseLinkHeader(res.headers.link as string | string[] | undefined).next ?? null);
      let resolved: string | null = null;
      if (raw !== null) {
        try {
          resolved = new URL(raw, res.url).toString();
        } catch {
          throw new StepError(ErrorCodes.INVALID_RESPONSE, 'the next-page link is not a valid URL');
        }
      }
      more = resolved !== null && !saysNoMore && !seen.has(resolved);
      next = cut ? url : resolved;
      nextUrl = resolved;
    }

    ctx.heartbeat?.({ page: pages, items: items.length, has_more: more });
    if (cut || (more && (items.length >= maxItems || pages >= maxPages))) {
      truncated = true;
      continueAt = next;
      break;
    }
    if (!more) break;
  }
  return { items, count: items.length, pages, next_cursor: continueAt, resume_cursor: type === 'cursor' ? resume : null, truncated };
}
