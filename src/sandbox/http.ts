import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline, Readable } from 'node:stream';

/**
 * The small HTTP toolkit the sandbox APIs share: errors, routing, JSON
 * bodies, field validation and pagination. Built on `node:http` alone so the
 * sandbox starts in milliseconds.
 */

/** The JSON body of every sandbox error: `{ error: { code, message, field? } }`. */
export interface ErrorBody {
  error: { code: string; message: string; field?: string; [extra: string]: unknown };
}

/** An error that becomes an HTTP answer; `field` names the offending input for 400s. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: { field?: string; headers?: Record<string, string>; [extra: string]: unknown } = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }

  toBody(): ErrorBody {
    const { headers: _headers, ...extra } = this.details;
    return { error: { code: this.code, message: this.message, ...extra } };
  }
}

/** A 400 naming the field that failed. */
export function invalid(field: string, message: string): HttpError {
  return new HttpError(400, 'validation_error', `${field}: ${message}`, { field });
}

/** A 404 for a missing resource. */
export function notFound(what: string, id: string): HttpError {
  return new HttpError(404, 'not_found', `${what} ${id} not found`);
}

/** What a route handler returns; `body` is serialised as JSON unless `raw` is given. */
export interface Reply {
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
  raw?: { contentType: string; data: string | Buffer };
  /** A body produced chunk by chunk (sent chunked, with backpressure), so a large answer costs no big buffer. */
  stream?: { contentType: string; chunks: () => AsyncIterable<string | Buffer> | Iterable<string | Buffer> };
}

/** A parsed request as handlers see it. */
export interface ApiRequest {
  method: string;
  /** Path below the API prefix, e.g. `/listings/lst_000001`. */
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  /** Absolute URL of the request, used to build `Link` headers. */
  url: URL;
  /** Reads and parses the JSON body (cached); `{}` when the body is empty. */
  json(): Promise<unknown>;
}

export type Handler = (req: ApiRequest) => Reply | Promise<Reply>;

interface Route {
  method: string;
  pattern: RegExp;
  names: string[];
  handler: Handler;
  open: boolean;
}

/** Route options. */
export interface RouteOptions {
  /** Served without auth, rate limit, latency or faults, like files behind a CDN (images, label documents). */
  open?: boolean;
}

/** Method + path-template routing (`/orders/:id/acknowledge`); answers 404 and 405 as JSON. */
export class Router {
  private readonly routes: Route[] = [];

  on(method: string, template: string, handler: Handler, options: RouteOptions = {}): this {
    const names: string[] = [];
    const source = template.replace(/:([a-z_]+)/g, (_m, name: string) => {
      names.push(name);
      return '([^/]+)';
    });
    this.routes.push({ method, pattern: new RegExp(`^${source}/?$`), names, handler, open: options.open ?? false });
    return this;
  }

  /** Finds the handler for a request, or throws the 404/405 to answer. */
  resolve(method: string, path: string): { handler: Handler; params: Record<string, string>; open: boolean } {
    const allowed: string[] = [];
    for (const route of this.routes) {
      const match = route.pattern.exec(path);
      if (!match) continue;
      if (route.method !== method) {
        allowed.push(route.method);
        continue;
      }
      const params: Record<string, string> = {};
      try {
        route.names.forEach((name, i) => (params[name] = decodeURIComponent(match[i + 1])));
      } catch {
        throw new HttpError(400, 'invalid_path', `malformed percent-encoding in ${path}`);
      }
      return { handler: route.handler, params, open: route.open };
    }
    if (allowed.length > 0) {
      throw new HttpError(405, 'method_not_allowed', `${method} is not allowed on ${path}`, { headers: { Allow: allowed.join(', ') } });
    }
    throw new HttpError(404, 'not_found', `no route ${method} ${path}`);
  }
}

/** Bodies above this are refused (413): nothing the sandbox accepts is that large. */
const MAX_BODY_BYTES = 5 * 1024 * 1024;

/** Reads a JSON body; empty means `{}`, malformed JSON is a 400 on `body`. */
export async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, 'payload_too_large', `body exceeds ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw invalid('body', 'is not valid JSON');
  }
}

/** Writes a reply; JSON unless the reply carries raw data. */
export function sendReply(res: ServerResponse, reply: Reply): void {
  const headers: Record<string, string> = { ...reply.headers };
  if (reply.stream) {
    headers['Content-Type'] = reply.stream.contentType;
    res.writeHead(reply.status ?? 200, headers);
    pipeline(Readable.from(reply.stream.chunks()), res, () => undefined);
    return;
  }
  let data: string | Buffer;
  if (reply.raw) {
    headers['Content-Type'] = reply.raw.contentType;
    data = reply.raw.data;
  } else {
    headers['Content-Type'] = 'application/json; charset=utf-8';
    data = reply.body === undefined ? '' : JSON.stringify(reply.body);
  }
  headers['Content-Length'] = String(Buffer.byteLength(data));
  res.writeHead(reply.status ?? 200, headers);
  res.end(data);
}

/**
 * The reply of an idempotent action: `changedStatus` when this request changed
 * state, else 200 with `Idempotent-Replayed: true` so clients can tell a replay.
 */
export function idempotentReply(body: unknown, changed: boolean, changedStatus = 200): Reply {
  return changed ? { status: changedStatus, body } : { status: 200, body, headers: { 'Idempotent-Replayed': 'true' } };
}

/** Turns any thrown value into a reply; unexpected errors become a 500 without internals. */
export function errorReply(err: unknown): Reply {
  if (err instanceof HttpError) return { status: err.status, body: err.toBody(), headers: err.details.headers };
  return { status: 500, body: { error: { code: 'internal_error', message: 'unexpected sandbox error' } } };
}

// ---- field validation -------------------------------------------------------

/** The `Idempotency-Key` header, validated; `undefined` when absent and not required. */
export function idempotencyKey(req: ApiRequest, required: boolean): string | undefined {
  const value = req.headers['idempotency-key'];
  const key = Array.isArray(value) ? value[0] : value;
  if (key === undefined || key.trim() === '') {
    if (required) throw invalid('Idempotency-Key', 'header is required');
    return undefined;
  }
  if (key.length > 255) throw invalid('Idempotency-Key', 'must be at most 255 characters');
  return key;
}

/** A JSON object body, or a 400 on `field`. */
export function asObject(value: unknown, field = 'body'): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(field, 'must be a JSON object');
  return value as Record<string, unknown>;
}

/** Reads `obj[key]` as a non-empty string. `path` prefixes the field name in errors (e.g. `items[2]`). */
export function requiredString(obj: Record<string, unknown>, key: string, path = ''): string {
  const value = obj[key];
  if (typeof value !== 'string' || value.trim() === '') throw invalid(path + key, 'is required and must be a non-empty string');
  return value;
}

export function optionalString(obj: Record<string, unknown>, key: string, path = ''): string | undefined {
  return obj[key] === undefined || obj[key] === null ? undefined : requiredString(obj, key, path);
}

/** Reads a finite number, optionally bounded (`min` inclusive, `exclusiveMin` for strict). */
export function requiredNumber(
  obj: Record<string, unknown>,
  key: string,
  opts: { min?: number; exclusiveMin?: number; max?: number; integer?: boolean } = {},
  path = '',
): number {
  const value = obj[key];
  const field = path + key;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid(field, 'is required and must be a number');
  if (opts.integer && !Number.isInteger(value)) throw invalid(field, 'must be an integer');
  if (opts.min !== undefined && value < opts.min) throw invalid(field, `must be >= ${opts.min}`);
  if (opts.exclusiveMin !== undefined && value <= opts.exclusiveMin) throw invalid(field, `must be > ${opts.exclusiveMin}`);
  if (opts.max !== undefined && value > opts.max) throw invalid(field, `must be <= ${opts.max}`);
  return value;
}

export function optionalNumber(
  obj: Record<string, unknown>,
  key: string,
  opts: { min?: number; exclusiveMin?: number; max?: number; integer?: boolean } = {},
  path = '',
): number | undefined {
  return obj[key] === undefined || obj[key] === null ? undefined : requiredNumber(obj, key, opts, path);
}

export function optionalBoolean(obj: Record<string, unknown>, key: string, path = ''): boolean | undefined {
  const value = obj[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw invalid(path + key, 'must be a boolean');
  return value;
}

export function optionalStringArray(obj: Record<string, unknown>, key: string, path = ''): string[] | undefined {
  const value = obj[key];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw invalid(path + key, 'must be an array of strings');
  return value as string[];
}

/** Reads one of a fixed set of strings. */
export function optionalEnum<T extends string>(obj: Record<string, unknown>, key: string, allowed: readonly T[], path = ''): T | undefined {
  const value = optionalString(obj, key, path);
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw invalid(path + key, `must be one of ${allowed.join(', ')}`);
  return value as T;
}

/** Reads a non-empty array of objects, at most `max` long. */
export function requiredObjectArray(obj: Record<string, unknown>, key: string, max: number): Record<string, unknown>[] {
  const value = obj[key];
  if (!Array.isArray(value) || value.length === 0) throw invalid(key, 'is required and must be a non-empty array');
  if (value.length > max) throw invalid(key, `must have at most ${max} entries`);
  return value.map((item, i) => asObject(item, `${key}[${i}]`));
}

/** A positive integer query parameter, or its default. */
export function queryInt(query: URLSearchParams, key: string, fallback: number, min: number, max: number): number {
  const text = query.get(key);
  if (text === null || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) throw invalid(key, `must be an integer in [${min}, ${max}]`);
  return value;
}

// ---- pagination ---------------------------------------------------------------

/** Default and maximum page sizes of every list endpoint. */
export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;

/** Page-number pagination body: `?page=` (1-based) and `?page_size=`. */
export interface PageBody<T> {
  items: T[];
  page: number;
  page_size: number;
  total: number;
  total_pages: number;
  next_page: number | null;
}

/** Cursor pagination body: `?cursor=` (opaque, from `next_cursor`) and `?limit=`. */
export interface CursorBody<T> {
  items: T[];
  limit: number;
  total: number;
  next_cursor: string | null;
}

/**
 * Serves one page of a list of `total` items, fetched by `slice(start, end)`.
 * Cursor mode when `cursor` or `limit` is in the query, page mode otherwise;
 * both answer a `Link: <...>; rel="next"` header while more items remain.
 */
export function paginate<T>(req: ApiRequest, total: number, slice: (start: number, end: number) => T[]): Reply {
  const cursorMode = req.query.has('cursor') || req.query.has('limit');
  const next = new URL(req.url);
  if (cursorMode) {
    const limit = queryInt(req.query, 'limit', DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE);
    const cursor = req.query.get('cursor');
    const start = cursor ? decodeCursor(cursor) : 0;
    const end = Math.min(total, start + limit);
    const nextCursor = end < total ? encodeCursor(end) : null;
    const body: CursorBody<T> = { items: slice(start, end), limit, total, next_cursor: nextCursor };
    if (nextCursor === null) return { body };
    next.searchParams.set('cursor', nextCursor);
    next.searchParams.set('limit', String(limit));
    return { body, headers: { Link: `<${next.href}>; rel="next"` } };
  }
  const pageSize = queryInt(req.query, 'page_size', DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE);
  const page = queryInt(req.query, 'page', 1, 1, Number.MAX_SAFE_INTEGER);
  const totalPages = Math.ceil(total / pageSize);
  const start = Math.min(total, (page - 1) * pageSize);
  const end = Math.min(total, start + pageSize);
  const nextPage = page < totalPages ? page + 1 : null;
  const body: PageBody<T> = { items: slice(start, end), page, page_size: pageSize, total, total_pages: totalPages, next_page: nextPage };
  if (nextPage === null) return { body };
  next.searchParams.set('page', String(nextPage));
  next.searchParams.set('page_size', String(pageSize));
  return { body, headers: { Link: `<${next.href}>; rel="next"` } };
}

/** Cursors are opaque to clients; they carry the offset of the next item. */
function encodeCursor(offset: number): string {
  return Buffer.from(`o:${offset}`).toString('base64url');
}

function decodeCursor(cursor: string): number {
  const match = /^o:(\d+)$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) throw invalid('cursor', 'is not a cursor this API issued');
  return Number(match[1]);
}
