/**
 * `feed`: a supplier feed file over HTTP(S), read as a stream and parsed into
 * pages of `pageSize` items, so a 100,000-row feed never sits whole in memory:
 *
 * - `format: "csv"`: a header row names the columns (`header_row: false` plus
 *   `columns: [...]` when it has none), `delimiter` (default `,`), `encoding`
 *   (any WHATWG label: `utf-8`, `latin1`, `windows-1252`, `utf-16le`, ...);
 *   a malformed row is reported as unmapped, the rest goes on;
 * - `format: "jsonl"`: one JSON object per line;
 * - `format: "xml"`: each element at `item_path` (e.g. `catalog/product`, the
 *   end of the element path) is one item: child elements become fields (text,
 *   or objects when they have children or attributes; repeated ones become
 *   lists), attributes become `@name` fields.
 *
 * CSV and XML values are strings: cast them in the field mapping
 * (`"cost_price": "$number(cost)"`). The products feed is the connection's
 * endpoint (plus `products_path`); stock levels come from `inventory_path`
 * or, without it, the same feed mapped for `quantity`.
 */
import { pipeline, Transform, type Readable } from 'node:stream';
import { createInterface } from 'node:readline';
import { parse as parseCsv } from 'csv-parse';
import { SaxesParser } from 'saxes';
import { StepError } from '@engine/activities/shared/errors';
import { ErrorCodes } from '@engine/shared/contracts';
import type { CallOptions, ConnectorHttp } from '../connector-http';
import type { SupplierInventoryRecord, SupplierProductRecord } from '../supplier.connector';
import { authRefused, httpOf, probeWith } from './common';
import { FieldMapping, type MapOutcome } from './mapping';
import type { AdapterDeps, Page, PlatformModule, ReadOptions, SupplierAdapter } from './types';

export const FEED_FORMATS = ['csv', 'jsonl', 'xml'] as const;
export type FeedFormat = (typeof FEED_FORMATS)[number];

/** `settings` of a feed connection. */
export interface FeedSettings {
  format: FeedFormat;
  /** Appended to the endpoint for the products feed (default: the endpoint itself). */
  products_path?: string;
  /** The stock feed, if separate (default: the products feed). */
  inventory_path?: string;
  /** Text encoding of the file (default `utf-8`; a UTF-8 BOM is skipped). */
  encoding?: string;
  /** csv: the field separator, one character (default `,`). */
  delimiter?: string;
  /** csv: whether the first row names the columns (default true). */
  header_row?: boolean;
  /** csv without a header row: the column names. */
  columns?: string[];
  /** xml: the item element path, e.g. `catalog/products/product` or just `product`. */
  item_path?: string;
  page_size?: number;
  /** Most bytes read from the feed (default: no limit; the read streams). */
  max_bytes?: number;
}

export const FEED_DEFAULTS = { page_size: 500, encoding: 'utf-8', delimiter: ',' } as const;

/** One parsed record, or a part of the file that could not be read as one. */
type Parsed = { item: unknown } | { bad: unknown; reason: string };

function settingsOf(deps: AdapterDeps): FeedSettings {
  return (deps.row.settings ?? {}) as unknown as FeedSettings;
}

/** Decodes bytes to text in the feed's encoding, chunk by chunk (a character split across chunks is kept whole). */
function decoder(encoding: string): Transform {
  const d = new TextDecoder(encoding, { fatal: false, ignoreBOM: false });
  return new Transform({
    decodeStrings: true,
    transform(chunk: Buffer, _enc, done) {
      done(null, d.decode(chunk, { stream: true }));
    },
    flush(done) {
      done(null, d.decode());
    },
  });
}

/** `source` through `stages`, errors of any stage ending the last one. */
function chain(source: Readable, ...stages: Transform[]): Transform {
  const last = stages[stages.length - 1];
  pipeline([source, ...stages], () => undefined);
  return last;
}

async function* csvRecords(body: Readable, s: FeedSettings): AsyncGenerator<Parsed> {
  const skipped: Parsed[] = [];
  const parser = parseCsv({
    delimiter: s.delimiter ?? FEED_DEFAULTS.delimiter,
    columns: s.header_row === false ? s.columns : true,
    bom: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    on_skip: (err, raw) => {
      skipped.push({ bad: raw ?? null, reason: `csv line ${err?.lines ?? '?'}: ${err?.message ?? 'malformed row'}` });
      return undefined;
    },
  });
  const out = chain(body, decoder(s.encoding ?? FEED_DEFAULTS.encoding), parser);
  for await (const record of out) {
    while (skipped.length > 0) yield skipped.shift()!;
    yield { item: record };
  }
  while (skipped.length > 0) yield skipped.shift()!;
}

async function* jsonLines(body: Readable, s: FeedSettings): AsyncGenerator<Parsed> {
  const text = chain(body, decoder(s.encoding ?? FEED_DEFAULTS.encoding));
  const lines = createInterface({ input: text, crlfDelay: Number.POSITIVE_INFINITY });
  let n = 0;
  try {
    for await (const line of lines) {
      n++;
      const trimmed = line.trim();
      if (trimmed === '') continue;
      try {
        yield { item: JSON.parse(trimmed) };
      } catch (err) {
        yield { bad: trimmed.slice(0, 1000), reason: `line ${n}: not JSON (${(err as Error).message})` };
      }
    }
  } finally {
    lines.close();
    text.destroy();
  }
}

interface XmlNode {
  attrs: Record<string, string>;
  children: Map<string, XmlNode[]>;
  text: string;
}

function xmlValue(node: XmlNode): unknown {
  const attrs = Object.entries(node.attrs);
  if (node.children.size === 0 && attrs.length === 0) return node.text.trim();
  const out: Record<string, unknown> = {};
  for (const [k, v] of attrs) out[`@${k}`] = v;
  for (const [name, list] of node.children) out[name] = list.length === 1 ? xmlValue(list[0]) : list.map(xmlValue);
  if (node.text.trim() !== '') out['#text'] = node.text.trim();
  return out;
}

async function* xmlItems(body: Readable, s: FeedSettings, connection: string): AsyncGenerator<Parsed> {
  const path = (s.item_path ?? '').split('/').filter(Boolean);
  if (path.length === 0) throw new StepError(ErrorCodes.STEP_CONFIG_INVALID, `feed ${connection}: settings.item_path is required for xml feeds`, { details: { field: 'settings.item_path' } });
  const parser = new SaxesParser();
  const names: string[] = [];
  /** The open elements inside the current item (the item first); empty outside items. */
  const open: XmlNode[] = [];
  const ready: Parsed[] = [];
  const atItem = () => names.length >= path.length && path.every((p, i) => names[names.length - path.length + i] === p);
  parser.on('opentag', (tag) => {
    names.push(tag.name);
    const attrs: Record<string, string> = {};
    for (const [k, v] of Object.entries(tag.attributes)) attrs[k] = typeof v === 'string' ? v : String((v as { value?: unknown }).value ?? '');
    if (open.length > 0) {
      const node: XmlNode = { attrs, children: new Map(), text: '' };
      const parent = open[open.length - 1];
      const list = parent.children.get(tag.name) ?? [];
      list.push(node);
      parent.children.set(tag.name, list);
      open.push(node);
    } else if (atItem()) open.push({ attrs, children: new Map(), text: '' });
  });
  const onText = (t: string) => {
    if (open.length > 0) open[open.length - 1].text += t;
  };
  parser.on('text', onText);
  parser.on('cdata', onText);
  parser.on('closetag', () => {
    names.pop();
    const node = open.pop();
    if (node && open.length === 0) ready.push({ item: xmlValue(node) });
  });
  let failure: Error | null = null;
  parser.on('error', (err) => {
    failure ??= err;
  });
  const text = chain(body, decoder(s.encoding ?? FEED_DEFAULTS.encoding));
  try {
    for await (const chunk of text) {
      parser.write(String(chunk));
      if (failure) break;
      while (ready.length > 0) yield ready.shift()!;
    }
    if (!failure) parser.close();
    while (ready.length > 0) yield ready.shift()!;
  } finally {
    text.destroy();
  }
  if (failure) throw new StepError(ErrorCodes.INVALID_RESPONSE, `feed ${connection}: the XML is malformed: ${(failure as Error).message.slice(0, 300)}`);
}

/** Opens the feed at `path` as a byte stream; 401/403 fail for good naming the connection. */
async function openFeed(deps: AdapterDeps, http: ConnectorHttp, path: string | undefined, signal?: AbortSignal): Promise<{ url: string; status: number; body: Readable | null }> {
  const url = path ? http.url(path) : http.baseUrl;
  const s = settingsOf(deps);
  const res = await http.request('GET', url, { signal, accept: [401, 403, 404], responseType: 'stream', maxResponseBytes: s.max_bytes });
  return { url, status: res.status, body: res.status < 300 ? (res.body as Readable) : null };
}

/** The records of the feed at `path`. */
async function* records(deps: AdapterDeps, http: ConnectorHttp, path: string | undefined, signal?: AbortSignal): AsyncGenerator<Parsed> {
  const feed = await openFeed(deps, http, path, signal);
  if (feed.status === 401 || feed.status === 403) throw authRefused(deps.row, 'supplier', feed.status, `GET ${feed.url}`);
  if (!feed.body) throw new StepError(ErrorCodes.HTTP_CLIENT_ERROR, `feed ${deps.row.code}: GET ${feed.url} answered ${feed.status}: check the endpoint and settings.products_path / inventory_path`, { details: { status: feed.status } });
  yield* parseFeed(deps, feed.url, feed.body);
}

/** The records of an opened feed body, in the connection's format; the body is closed when the reader stops. */
async function* parseFeed(deps: AdapterDeps, url: string, body: Readable): AsyncGenerator<Parsed> {
  const s = settingsOf(deps);
  const feed = { url };
  try {
    if (s.format === 'csv') yield* csvRecords(body, s);
    else if (s.format === 'jsonl') yield* jsonLines(body, s);
    else if (s.format === 'xml') yield* xmlItems(body, s, deps.row.code);
    else throw new StepError(ErrorCodes.STEP_CONFIG_INVALID, `feed ${deps.row.code}: settings.format must be csv, jsonl or xml`, { details: { field: 'settings.format' } });
  } catch (err) {
    if (err instanceof StepError) throw err;
    throw new StepError(ErrorCodes.INVALID_RESPONSE, `feed ${deps.row.code}: GET ${feed.url}: ${(err as Error).message.slice(0, 300)}`, { retryable: (err as { code?: string }).code === 'ECONNRESET' });
  } finally {
    body.destroy();
  }
}

/** Groups mapped records into pages of `pageSize`, stopping at `maxItems`. */
async function* pages<T>(source: AsyncIterable<Parsed>, map: (item: unknown) => Promise<MapOutcome<T>>, opts: ReadOptions, pageSize: number): AsyncGenerator<Page<T>> {
  let remaining = opts.maxItems ?? Number.POSITIVE_INFINITY;
  let page: Page<T> = { items: [] };
  let n = 0;
  const flush = () => {
    const out = page;
    page = { items: [] };
    n++;
    opts.heartbeat?.({ page: n, items: out.items.length, unmapped: out.unmapped?.length ?? 0 });
    return out;
  };
  if (remaining <= 0) return;
  for await (const r of source) {
    if ('bad' in r) (page.unmapped ??= []).push({ item: r.bad, reason: r.reason });
    else {
      const m = await map(r.item);
      if (m.ok) {
        page.items.push(m.value);
        remaining--;
      } else (page.unmapped ??= []).push({ item: r.item, reason: m.reason });
    }
    if (page.items.length + (page.unmapped?.length ?? 0) >= pageSize || remaining <= 0) {
      yield flush();
      if (remaining <= 0) return;
    }
  }
  if (page.items.length > 0 || page.unmapped) yield flush();
}

function supplier(deps: AdapterDeps): SupplierAdapter {
  const s = settingsOf(deps);
  const http = httpOf(deps);
  const mapping = () => FieldMapping.compile(deps.row.field_mapping, deps.row.code);
  const pageSize = (opts: ReadOptions) => opts.pageSize ?? s.page_size ?? FEED_DEFAULTS.page_size;
  const maxItems = (opts: ReadOptions) => ({ ...opts, maxItems: opts.maxItems ?? http.options.maxItems });
  return {
    products(opts: ReadOptions = {}) {
      const m = mapping();
      return pages<SupplierProductRecord>(records(deps, http, s.products_path, opts.signal), (i) => m.product(i), maxItems(opts), pageSize(opts));
    },
    inventory(opts: ReadOptions = {}) {
      const m = mapping();
      return pages<SupplierInventoryRecord>(records(deps, http, s.inventory_path ?? s.products_path, opts.signal), (i) => m.inventory(i), maxItems(opts), pageSize(opts));
    },
    probe(opts: CallOptions = {}) {
      const m = mapping();
      return probeWith(
        deps.row,
        async () => {
          const feed = await openFeed(deps, http, s.products_path, opts.signal);
          const request = `GET ${feed.url}`;
          if (!feed.body) return { request, status: feed.status };
          // The first record only: stopping early closes the stream.
          for await (const r of parseFeed(deps, feed.url, feed.body)) {
            if ('bad' in r) throw new StepError(ErrorCodes.INVALID_RESPONSE, `the first record could not be read: ${r.reason}`, { details: { status: feed.status } });
            return { request, status: feed.status, items: [r.item] };
          }
          return { request, status: feed.status, items: [] };
        },
        (i) => m.product(i),
      );
    },
  };
}

export const feedPlatform: PlatformModule = { platform: 'feed', supplier };
