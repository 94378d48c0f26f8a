import assert from 'node:assert/strict';

/** A parsed JSON answer with its status and headers. */
export interface JsonResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/** Calls the sandbox (loopback only) and parses the JSON answer. */
export async function call<T = any>(
  url: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<JsonResponse<T>> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(url, {
    method: init.method ?? 'GET',
    headers,
    body: init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body),
    signal: init.signal,
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text === '' ? undefined : JSON.parse(text) };
}

/** POST with an `Idempotency-Key`. */
export function postWithKey<T = any>(url: string, key: string, body: unknown, headers: Record<string, string> = {}): Promise<JsonResponse<T>> {
  return call<T>(url, { method: 'POST', body, headers: { 'Idempotency-Key': key, ...headers } });
}

/** The target of a `Link: <...>; rel="next"` header, or null. */
export function nextLink(headers: Headers): string | null {
  return /<([^>]+)>;\s*rel="next"/.exec(headers.get('link') ?? '')?.[1] ?? null;
}

/**
 * Walks a paginated list by following `Link` headers from `firstUrl`,
 * checking on every page that the body agrees with the header.
 */
export async function walkLinks<T>(firstUrl: string, cursorMode: boolean): Promise<{ items: T[]; requests: number }> {
  const items: T[] = [];
  let url: string | null = firstUrl;
  let requests = 0;
  while (url) {
    const res: JsonResponse = await call(url);
    assert.equal(res.status, 200, `GET ${url} -> ${res.status} ${JSON.stringify(res.body)}`);
    requests++;
    items.push(...(res.body.items as T[]));
    const link = nextLink(res.headers);
    const bodyNext = cursorMode ? res.body.next_cursor : res.body.next_page;
    assert.equal(link === null, bodyNext === null, 'Link header and body disagree about a next page');
    if (link) assert.ok(link.includes(cursorMode ? `cursor=${bodyNext}` : `page=${bodyNext}`), `${link} does not lead to ${bodyNext}`);
    url = link;
  }
  return { items, requests };
}

/** A minimal valid listing body for a SKU. */
export function listingBody(sku: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { sku, title: `Listing of ${sku}`, price: 19.99, quantity: 5, ...extra };
}

/** A valid carrier address. */
export const SHIP_TO = { name: 'Ada Lovelace', line1: '1 Main St', city: 'Portland', region: 'OR', postal_code: '97201', country: 'US' };
