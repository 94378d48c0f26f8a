import { createHash } from 'node:crypto';
import { brotliCompress, brotliDecompress, brotliDecompressSync, constants as zlibConstants, gunzip, gunzipSync, gzip } from 'node:zlib';
import { promisify } from 'node:util';
import { getHeapStatistics } from 'node:v8';
import type { DataSource } from 'typeorm';
import { isPagedRef, isPayloadRef, type PagedRef, type PayloadRef } from '@engine/dsl/types';
import { StepError } from '@engine/activities/shared/errors';
import { ErrorCodes } from '@engine/shared/contracts';

export interface PayloadStoreOptions {
  /** Outputs whose JSON is larger than this go to the store (PAYLOAD_THRESHOLD_BYTES). */
  thresholdBytes: number;
  /** Bound of the in-memory cache, in bytes of JSON (PAYLOAD_CACHE_BYTES); 0 turns it off. */
  cacheBytes?: number;
  /**
   * Bound of the handoff, in bytes of JSON (PAYLOAD_HANDOFF_BYTES); 0 turns it off. Outputs too large for the
   * cache that this worker just wrote are kept here for the run's next step (see `Handoff`).
   */
  handoffBytes?: number;
  /** How long a handed-off output waits for its reader (default HANDOFF_MS). */
  handoffMs?: number;
  /** Who compresses what is written (PAYLOAD_COMPRESSION, see `PayloadCompression`); default `auto`. */
  compression?: PayloadCompression | 'auto';
  /** Items in one page of a paged list (ITEM_PAGE_SIZE, see `pageWriter`); default DEFAULT_PAGE_ITEMS. */
  pageItems?: number;
  /** A paged list this worker writes stays in the handoff while its JSON is at most this many bytes (default `pagedHandoffDefault()`: an eighth of the heap limit). */
  pagedHandoffBytes?: number;
}

/**
 * A list written page by page (`PayloadStore.pageWriter`): items go in as
 * they are produced, each full page is stored (at most two on their way at
 * once), and the writer never holds more than a page and the pages in flight.
 */
export interface PageWriter {
  /** Adds items; waits when two pages are already being written. */
  push(items: readonly unknown[]): Promise<void>;
  /**
   * Adds `items`, the items of page `page` of the paged list `source` but those at `dropped` (indexes within
   * that page, ascending), as one page of this list that refers to the source page instead of holding the
   * items again (`PageView`): no JSON of them is made, scrubbed, compressed or written. What is buffered goes
   * first, as a page of its own. Where the writer may not refer (`PageWriterOptions.mayRefer`), the same as `push(items)`.
   */
  pushSubset(source: PagedRef, page: number, items: readonly unknown[], dropped: readonly number[]): Promise<void>;
  /** Stores what is left: the list itself when it fit in one page (stored by the step's output like any value), else a paged reference. */
  finish(): Promise<unknown[] | PayloadRef>;
  /** Items pushed so far. */
  readonly count: number;
}

/**
 * Who compresses a stored output. `postgres`: the JSON text goes to the `body`
 * column and TOAST compresses it, cheaply with lz4. `worker`: the worker
 * compresses it with brotli at quality 1 (in libuv's thread pool, off the
 * event loop) into the `data` column, behind a 4-byte mark (`BROTLI_MARK`).
 * `worker-gzip`: gzip level 1 instead, what `worker` wrote before brotli
 * (for a rollout alongside workers of earlier builds, which read gzip only).
 * `auto` (the default) picks `postgres` where the `body` column uses lz4 and
 * `worker` where the server was built without it (TOAST's pglz took 3.8-4.2 s
 * to store 57.7 MB of products, against 0.7-1.6 s of gzip plus 0.2-0.4 s for
 * its 9.7 MB; brotli at quality 1 compresses a page of products 2.3 times as
 * fast as gzip level 1, 11 % smaller, and decompresses as fast:
 * docs/performance.md). Every kind of row loads.
 */
export type PayloadCompression = 'postgres' | 'worker' | 'worker-gzip';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);
const brotliAsync = promisify(brotliCompress);
const unbrotliAsync = promisify(brotliDecompress);

/** What starts a brotli row of the `data` column (gzip starts with 0x1f 0x8b; brotli has no magic of its own). */
const BROTLI_MARK = Buffer.from([0x00, 0x62, 0x72, 0x01]);

/** Compresses a row's JSON for the `data` column: brotli at quality 1 behind its mark, or gzip level 1. */
async function compress(text: Buffer | string, codec: 'brotli' | 'gzip'): Promise<Buffer> {
  if (codec === 'gzip') return gzipAsync(text, { level: 1 });
  const input = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  const body = await brotliAsync(input, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 1, [zlibConstants.BROTLI_PARAM_SIZE_HINT]: input.length } });
  return Buffer.concat([BROTLI_MARK, body]);
}

function isBrotliRow(data: Buffer): boolean {
  return data.length >= BROTLI_MARK.length && data.subarray(0, BROTLI_MARK.length).equals(BROTLI_MARK);
}

/** The JSON text of a `data` column value, gzip or brotli (`compress`). */
async function decompress(data: Buffer): Promise<string> {
  return (isBrotliRow(data) ? await unbrotliAsync(data.subarray(BROTLI_MARK.length)) : await gunzipAsync(data)).toString('utf8');
}

/** `decompress`, synchronously: for tools and tests that read `payloads` rows themselves. */
export function payloadDataText(data: Buffer): string {
  return (isBrotliRow(data) ? brotliDecompressSync(data.subarray(BROTLI_MARK.length)) : gunzipSync(data)).toString('utf8');
}

/** What one offload is: the step's output, the partial output a failed attempt left, or the output after an AI review. */
export type PayloadKind = 'output' | 'partial' | 'review';
import type { WorkerMetrics } from '@engine/observability/worker-metrics';

/**
 * The claim-check store. Outputs larger than the threshold are written to the
 * `payloads` table (JSON text, or gzip bytes: `PayloadCompression`) and travel through
 * workflow history as a small reference; executors get the value back without
 * knowing.
 *
 * Costs chosen by measurement (docs/performance.md): the id is derived from the
 * execution, step, kind and attempt (no hash of the content); the JSON is
 * compressed by PostgreSQL where it has lz4, else gzipped by the worker off
 * its event loop (`PayloadCompression`).
 * The cache keeps recently used values, bounded by bytes of JSON. An output
 * too large for it is handed off instead (`Handoff`): kept until the next
 * output of the same run is offloaded, or for HANDOFF_MS, so the step that
 * reads it next on this worker skips the SELECT and the parse.
 */
export class PayloadStore {
  private readonly cache: ByteLru<unknown>;
  private readonly handoff: Handoff;
  private readonly compressionOption: PayloadCompression | 'auto';
  private compressionChoice: Promise<PayloadCompression> | null = null;
  private readonly thresholdBytes: number;
  /** Reads in progress, by payload id. */
  private readonly loading = new Map<string, Promise<unknown>>();
  /** Items in one page of a paged list. */
  readonly pageItems: number;
  private readonly pagedHandoffBytes: number;

  constructor(
    private readonly dataSource: DataSource,
    options: PayloadStoreOptions | number,
    private readonly metrics?: Pick<WorkerMetrics, 'payloadWritten' | 'payloadRead'>,
  ) {
    const o = typeof options === 'number' ? { thresholdBytes: options } : options;
    this.thresholdBytes = o.thresholdBytes;
    this.cache = new ByteLru(o.cacheBytes ?? DEFAULT_CACHE_BYTES);
    this.handoff = new Handoff(o.handoffBytes ?? DEFAULT_HANDOFF_BYTES, o.handoffMs ?? HANDOFF_MS);
    this.compressionOption = o.compression ?? 'auto';
    this.pageItems = Math.max(1, o.pageItems ?? DEFAULT_PAGE_ITEMS);
    this.pagedHandoffBytes = Math.min(o.pagedHandoffBytes ?? pagedHandoffDefault(), this.handoff.maxBytes);
  }

  /** Who compresses this worker's writes: the option, or for `auto` what the `body` column's compression says (asked once). */
  compression(): Promise<PayloadCompression> {
    if (this.compressionOption !== 'auto') return Promise.resolve(this.compressionOption);
    this.compressionChoice ??= this.dataSource
      .query(`SELECT attcompression::text AS c FROM pg_attribute WHERE attrelid = 'payloads'::regclass AND attname = 'body'`)
      .then((rows: Array<{ c: string | null }>): PayloadCompression => (rows[0]?.c === 'l' ? 'postgres' : 'worker'))
      .catch((err: unknown) => {
        // Asked again by the next write (an outage is ridden out by the caller).
        this.compressionChoice = null;
        throw err;
      });
    return this.compressionChoice;
  }

  /**
   * Returns the value itself when small, else stores it and returns a reference. `at.json`: the value's
   * `JSON.stringify` text when the caller has it already (the step runner's secret scrub made it).
   */
  async offload(executionId: string, stepKey: string, value: unknown, at: { kind?: PayloadKind; attempt?: number; json?: string } = {}): Promise<unknown> {
    // A run's earlier outputs have been read by the step that wrote this one (steps run one after the other,
    // or a later step reads them again from PostgreSQL): the handoff lets go of them, but for this step's own pages.
    this.handoff.release(executionId, stepKey);
    if (value === undefined) return null;
    const json = at.json ?? JSON.stringify(value);
    // JSON is ASCII but for non-ASCII text: its length is the byte size unless that text is there.
    const size = Buffer.byteLength(json);
    if (size <= this.thresholdBytes) return value;
    // Deterministic id: the same attempt writing again (after an outage) reuses its row instead of orphaning one.
    const id = uuidFrom(`${executionId}\u0000${stepKey}\u0000${at.kind ?? 'output'}\u0000${at.attempt ?? 1}`);
    await this.write(id, executionId, stepKey, json, size);
    const ref: PayloadRef = { $payload: { id, size } };
    if (Array.isArray(value)) ref.$payload.items = value.length;
    if (size <= this.cache.maxBytes) this.remember(ref, value);
    else this.handoff.set(executionId, stepKey, id, value, size);
    return ref;
  }

  /** Writes one row of JSON (text, or gzipped by the worker: `compression()`); the same id again replaces it. */
  private async write(id: string, executionId: string, stepKey: string, json: string, size: number, encoded?: Buffer): Promise<void> {
    const compression = await this.compression();
    if (compression !== 'postgres') {
      const data = await compress(encoded ?? json, compression === 'worker-gzip' ? 'gzip' : 'brotli');
      await this.dataSource.query(
        `INSERT INTO payloads (id, execution_id, step_key, size_bytes, data) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data, size_bytes = EXCLUDED.size_bytes, body = NULL, sha256 = NULL`,
        [id, executionId, stepKey, size, data],
      );
    } else {
      await this.dataSource.query(
        `INSERT INTO payloads (id, execution_id, step_key, size_bytes, body) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (id) DO UPDATE SET body = EXCLUDED.body, size_bytes = EXCLUDED.size_bytes, data = NULL, sha256 = NULL`,
        [id, executionId, stepKey, size, json],
      );
    }
    this.metrics?.payloadWritten(size);
  }

  /**
   * A writer of one list of a step's output, page by page (`pageItems` items a
   * page, one `payloads` row each): an item-wise step hands its results over
   * as it makes them instead of holding the whole list, so its memory is
   * bounded by the page size, not the catalogue. `field` names the list
   * within the output (`items`, `invalid`). A list that ends within its first
   * page is returned as it is. Pages are kept for the run's next step on this
   * worker (the handoff) while the whole list is at most `pagedHandoffBytes`
   * of JSON; a longer list is read back page by page.
   */
  pageWriter(executionId: string, stepKey: string, at: PageWriterOptions): PageWriter {
    const id = uuidFrom(`${executionId}\u0000${stepKey}\u0000items:${at.field}\u0000${at.attempt ?? 1}`);
    let buffer: unknown[] = [];
    let pages = 0;
    let count = 0;
    let size = 0;
    const handedOff: string[] = [];
    let keep = this.pagedHandoffBytes > 0;
    const inFlight: Array<Promise<void>> = [];
    /** Keeps a page for the next step on this worker while the list is short enough (`bytes`: its JSON, or an estimate of it). */
    const handOff = (pageId: string, page: readonly unknown[], bytes: number): void => {
      size += bytes;
      if (keep && size <= this.pagedHandoffBytes) {
        this.handoff.set(executionId, stepKey, pageId, page, bytes, true);
        handedOff.push(pageId);
      } else if (keep) {
        // Too long to keep: the reader reads every page back (a list is kept whole or not at all).
        keep = false;
        for (const p of handedOff.splice(0)) this.handoff.drop(p);
      }
    };
    const send = async (written: Promise<void>): Promise<void> => {
      // A failed write is the step's failure when it is awaited (below, or at finish), never an unhandled rejection meanwhile.
      written.catch(() => undefined);
      inFlight.push(written);
      // At most two pages on their way: the third waits for the first.
      if (inFlight.length > 2) await inFlight.shift();
    };
    const flush = async (): Promise<void> => {
      let page = buffer;
      buffer = [];
      const pageId = pageIdOf(id, pages++);
      let json = JSON.stringify(page);
      // Scrubbed of secrets page by page, as the runner scrubs a whole output: the text is searched first (what
      // SecretScrubber.scrub does before it walks a value), the page copied and stringified again only on a hit.
      if (at.clean && !(at.isClean?.(json) ?? false)) {
        const cleaned = at.clean(page);
        if (cleaned !== page) {
          page = cleaned;
          json = JSON.stringify(page);
        }
      }
      // One UTF-8 encoding of the text, for its size and for what is written.
      const encoded = Buffer.from(json, 'utf8');
      handOff(pageId, page, encoded.length);
      await send(this.write(pageId, executionId, stepKey, json, encoded.length, encoded));
    };
    const writeView = async (source: PagedRef, k: number, items: readonly unknown[], dropped: readonly number[]): Promise<void> => {
      const pageId = pageIdOf(id, pages++);
      const view: PageView = { $view: { id: source.$payload.id, page: k, ...(dropped.length > 0 ? { drop: [...dropped] } : {}) } };
      const json = JSON.stringify(view);
      // The items' JSON is not made: estimated from the source list's (its bytes per item), for the handoff's bound and the reference.
      handOff(pageId, items, Math.ceil((source.$payload.size / Math.max(1, source.$payload.items)) * items.length));
      await send(this.write(pageId, executionId, stepKey, json, Buffer.byteLength(json)));
    };
    // A view may refer only to a list of this run: payloads go with their run (retention, deletion), so a view of
    // another run's pages (a restart reuses the first run's outputs) would break once that run's payloads go.
    const ofThisRun = new Map<string, Promise<boolean>>();
    const sameRun = (source: PagedRef): Promise<boolean> => {
      let known = ofThisRun.get(source.$payload.id);
      if (!known) {
        known = this.dataSource
          .query(`SELECT execution_id FROM payloads WHERE id = $1`, [pageIdOf(source.$payload.id, 0)])
          .then((rows: Array<{ execution_id: string }>) => rows[0]?.execution_id === executionId, () => false);
        ofThisRun.set(source.$payload.id, known);
      }
      return known;
    };
    const push = async (items: readonly unknown[]): Promise<void> => {
      for (const item of items) {
        // A full page goes once the next item comes: a list of exactly one page stays a plain list.
        if (buffer.length >= this.pageItems) await flush();
        buffer.push(item);
        count++;
      }
    };
    return {
      get count() {
        return count;
      },
      push,
      pushSubset: async (source, k, items, dropped) => {
        if (!(at.mayRefer?.() ?? false) || !isPagedRef(source) || !(await sameRun(source))) return push(items);
        if (items.length === 0) return;
        if (buffer.length > 0) await flush();
        await writeView(source, k, items, dropped);
        count += items.length;
      },
      finish: async () => {
        // One page or less: the list itself, which the runner scrubs and stores with the output.
        if (pages === 0) return buffer;
        if (buffer.length > 0) await flush();
        await Promise.all(inFlight.splice(0));
        return { $payload: { id, size, items: count, pages } };
      },
    };
  }

  /**
   * The items of a list page by page: a plain array is one page; a paged
   * reference (`pageWriter`) yields its pages in order, reading the next while
   * the caller works on this one. Anything else is not a list: undefined.
   */
  pagesOf(value: unknown): AsyncIterable<readonly unknown[]> | undefined {
    if (Array.isArray(value)) {
      return (async function* () {
        yield value;
      })();
    }
    if (!isPagedRef(value)) return undefined;
    const { id, pages } = value.$payload;
    const loadPage = (k: number) => this.loadPage(id, k);
    return (async function* () {
      let next: Promise<unknown> | null = pages > 0 ? loadPage(0) : null;
      for (let k = 0; k < pages; k++) {
        const page = await next!;
        next = k + 1 < pages ? loadPage(k + 1) : null;
        // A rejected read-ahead the caller stopped before is not an unhandled rejection.
        next?.catch(() => undefined);
        if (!Array.isArray(page)) throw new StepError(ErrorCodes.PAYLOAD_NOT_FOUND, `page ${k} of payload ${id} is not a list`);
        yield page;
      }
    })();
  }

  private async loadPage(id: string, k: number, depth = 0): Promise<unknown> {
    const pageId = pageIdOf(id, k);
    const kept = this.handoff.get(pageId);
    if (kept !== undefined) return kept;
    const page = await this.readJson(pageId, `page ${k} of payload ${id}`);
    if (!isPageView(page)) return page;
    // A page that refers to a page of another list (`PageWriter.pushSubset`): that page, but the dropped items.
    if (depth >= MAX_VIEW_DEPTH) throw new StepError(ErrorCodes.PAYLOAD_NOT_FOUND, `page ${k} of payload ${id} refers to pages ${MAX_VIEW_DEPTH} deep`);
    const source = await this.loadPage(page.$view.id, page.$view.page, depth + 1);
    if (!Array.isArray(source)) throw new StepError(ErrorCodes.PAYLOAD_NOT_FOUND, `page ${page.$view.page} of payload ${page.$view.id} is not a list`);
    const drop = page.$view.drop;
    if (!drop || drop.length === 0) return source;
    const dropped = new Set(drop);
    return source.filter((_, i) => !dropped.has(i));
  }

  async load(ref: PayloadRef): Promise<unknown> {
    const id = ref.$payload.id;
    const cached = this.cache.get(id) ?? this.handoff.get(id);
    if (cached !== undefined) return cached;
    // One read and one parse for callers that ask at the same time (a step whose input is also a `$steps`
    // reference of its config asks twice at once), and one copy in memory, even when the value is too large to cache.
    const loading = this.loading.get(id);
    if (loading) return loading;
    const read = this.read(ref).finally(() => this.loading.delete(id));
    this.loading.set(id, read);
    return read;
  }

  private async read(ref: PayloadRef): Promise<unknown> {
    const value = isPagedRef(ref) ? await this.readAllPages(ref) : await this.readJson(ref.$payload.id, `payload ${ref.$payload.id}`);
    this.remember(ref, value);
    return value;
  }

  /** A paged list asked for whole (a step that does not work page by page): its pages, one after the other. */
  private async readAllPages(ref: PagedRef): Promise<unknown[]> {
    const all: unknown[] = [];
    for await (const page of this.pagesOf(ref)!) for (const item of page) all.push(item);
    return all;
  }

  private async readJson(id: string, what: string): Promise<unknown> {
    const rows: Array<{ body: string | null; data: Buffer | null }> = await this.dataSource.query(`SELECT body, data FROM payloads WHERE id = $1`, [id]);
    if (rows.length === 0) throw new StepError(ErrorCodes.PAYLOAD_NOT_FOUND, `${what} not found (deleted with its run, or past PAYLOAD_RETENTION_DAYS)`);
    const { body, data } = rows[0];
    const json = body ?? (await decompress(data!));
    this.metrics?.payloadRead(json.length);
    return JSON.parse(json);
  }

  /**
   * Replaces payload refs by their content. Refs stand for a whole step output
   * (or the run input), at the top or one level down (an input keyed by step),
   * and paged lists for a list of an output, one level further: objects are
   * walked that deep, lists never (no need to walk large item lists). With
   * `keepPaged`, paged lists stay references, for a step that reads them page
   * by page (`pagesOf`).
   */
  async hydrate(value: unknown, opts: { keepPaged?: boolean } = {}, depth = 0): Promise<unknown> {
    if (isPayloadRef(value)) {
      if (opts.keepPaged && isPagedRef(value)) return value;
      // A whole output read back may hold paged lists of its own.
      return depth < HYDRATE_DEPTH ? this.hydrate(await this.load(value), opts, depth + 1) : this.load(value);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value) || depth >= HYDRATE_DEPTH) return value;
    let out: Record<string, unknown> | null = null;
    for (const [k, v] of Object.entries(value)) {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) continue;
      const h = await this.hydrate(v, opts, depth + 1);
      if (h !== v) (out ??= { ...(value as Record<string, unknown>) })[k] = h;
    }
    return out ?? value;
  }

  /** Bytes of JSON the cache holds now. */
  get cachedBytes(): number {
    return this.cache.bytes;
  }

  /** Bytes of JSON the handoff holds now. */
  get handedOffBytes(): number {
    return this.handoff.bytes;
  }

  /**
   * Deletes the payloads of runs that ended more than `days` ago, at most
   * `limit` rows a call (so one call never holds locks for long); returns how
   * many it deleted. A restart from such a run can no longer reuse their outputs.
   */
  async deleteExpired(days: number, limit = 1000): Promise<number> {
    if (days <= 0) return 0;
    // A SELECT over the DELETE: TypeORM answers a bare DELETE ... RETURNING with [rows, count].
    const [{ n }]: Array<{ n: number }> = await this.dataSource.query(
      `WITH gone AS (
         DELETE FROM payloads WHERE id IN (
           SELECT p.id FROM payloads p JOIN workflow_executions e ON e.execution_id = p.execution_id
           WHERE e.completed_at < now() - make_interval(days => $1) LIMIT $2)
         RETURNING 1)
       SELECT count(*)::int AS n FROM gone`,
      [days, limit],
    );
    return n;
  }

  private remember(ref: PayloadRef, value: unknown): void {
    this.cache.set(ref.$payload.id, value, ref.$payload.size);
  }
}

/** Where a page writer's list goes and how its pages are scrubbed. */
export interface PageWriterOptions {
  /** The list's name within the output (`items`, `invalid`). */
  field: string;
  attempt?: number;
  /** A page without secrets: the page itself, or a copy with them redacted (the step runner's scrub). */
  clean?: <T>(page: T) => T;
  /**
   * Whether a page's JSON text holds no secret (`SecretScrubber.textIsClean`): then the page is written as it
   * is, without `clean` (which would stringify it again to search it). Without it, every page goes through `clean`.
   */
  isClean?: (json: string) => boolean;
  /**
   * Whether `pushSubset` may write a page that refers to a page of another list: that page was scrubbed when it
   * was written, and the reference stores no item. The step runner allows it while the step has resolved no
   * secret of its own (those are redacted whatever their length, which the source page's scrub may not have done).
   */
  mayRefer?: () => boolean;
}

/**
 * A stored page that refers to page `page` of the paged list `id` (a step's input, stored before the step
 * ran), without the items at the indexes `drop`: a validation's valid items, stored without their JSON.
 */
export interface PageView {
  $view: { id: string; page: number; drop?: number[] };
}

function isPageView(value: unknown): value is PageView {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const v = (value as { $view?: unknown }).$view as PageView['$view'] | undefined;
  return typeof v === 'object' && v !== null && typeof v.id === 'string' && typeof v.page === 'number';
}

/** How many views a page may go through to its items (a view of a view: a validation of a validation's output); views refer to lists written before them, so this only stops a corrupt row. */
const MAX_VIEW_DEPTH = 64;

/** How deep `hydrate` looks for refs: steps -> output -> list. */
const HYDRATE_DEPTH = 3;

/** Default page of a paged list (ITEM_PAGE_SIZE). */
export const DEFAULT_PAGE_ITEMS = 5_000;

/**
 * Default bound of a paged list kept for the next step on the same worker: an
 * eighth of the V8 heap limit, in bytes of JSON (as objects a list takes 3-4
 * times its JSON). The heap limit follows the machine's memory, a container's
 * limit or `--max-old-space-size`: a worker given 256 MiB keeps lists of up to
 * 32 MiB (a 1,000,000-product import stays within 512 MiB of RSS), one on a
 * large machine keeps a 100,000-product import's lists whole (none read back).
 */
export function pagedHandoffDefault(): number {
  return Math.floor(getHeapStatistics().heap_size_limit / 8);
}

function pageIdOf(listId: string, k: number): string {
  return uuidFrom(`${listId}\u0000page\u0000${k}`);
}

/** Default bound of the payload cache: 64 MiB of JSON (about 3-5 times that as JavaScript objects). */
export const DEFAULT_CACHE_BYTES = 64 * 1024 * 1024;

/** Default bound of the handoff: 256 MiB of JSON, a few outputs of 100,000 products. */
export const DEFAULT_HANDOFF_BYTES = 256 * 1024 * 1024;

/** How long a handed-off output is kept for its reader: longer than the gap between two steps of a run. */
export const HANDOFF_MS = 30_000;

/**
 * Outputs too large for the cache, kept by the worker that wrote them until
 * the same run offloads its next output (the step that read them has ended)
 * or for `ttlMs`, bounded by bytes of JSON (the oldest out first). An
 * item-wise step's input is the previous step's output, written a moment
 * before by this worker: handing it over skips a SELECT of its whole text and
 * a JSON.parse (and the garbage of both), without keeping it longer than the
 * step that reads it needs it. A reader on another worker reads PostgreSQL as
 * before. The reader gets the writer's object, as from the cache: executors
 * never change their input.
 */
export class Handoff {
  private readonly entries = new Map<string, { executionId: string; stepKey: string; page: boolean; value: unknown; size: number; at: number }>();
  bytes = 0;

  constructor(
    readonly maxBytes: number,
    readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** `page`: a page of a paged list the step is writing (kept when the step's own output is offloaded). */
  set(executionId: string, stepKey: string, id: string, value: unknown, size: number, page = false): void {
    this.delete(id);
    this.expire();
    if (size > this.maxBytes) return;
    this.entries.set(id, { executionId, stepKey, page, value, size, at: this.now() });
    this.bytes += size;
    // Oldest first (insertion order).
    for (const key of this.entries.keys()) {
      if (this.bytes <= this.maxBytes) break;
      this.delete(key);
    }
    this.schedule();
  }

  get(id: string): unknown {
    this.expire();
    return this.entries.get(id)?.value;
  }

  /** Lets go of every output of `executionId` but the pages `pagesOf` wrote (its own lists, written before its output). */
  release(executionId: string, pagesOf?: string): void {
    for (const [id, e] of this.entries) if (e.executionId === executionId && !(e.page && e.stepKey === pagesOf)) this.delete(id);
  }

  /** Lets go of one entry. */
  drop(id: string): void {
    this.delete(id);
  }

  get size(): number {
    return this.entries.size;
  }

  private delete(id: string): void {
    const e = this.entries.get(id);
    if (!e) return;
    this.entries.delete(id);
    this.bytes -= e.size;
  }

  private expire(): void {
    const now = this.now();
    for (const [id, e] of this.entries) if (now - e.at >= this.ttlMs) this.delete(id);
  }

  private timer: NodeJS.Timeout | null = null;

  /** Expires what nobody read, even when the worker stays idle (the timer does not keep the process alive). */
  private schedule(): void {
    if (this.timer || this.entries.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.expire();
      this.schedule();
    }, this.ttlMs);
    this.timer.unref();
  }
}

/** A least-recently-used map bounded by the total size of its values (sizes given by the caller). */
export class ByteLru<V> {
  private readonly entries = new Map<string, { value: V; size: number }>();
  bytes = 0;

  constructor(readonly maxBytes: number) {}

  get(key: string): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    // Most recently used last.
    this.entries.delete(key);
    this.entries.set(key, e);
    return e.value;
  }

  set(key: string, value: V, size: number): void {
    const old = this.entries.get(key);
    if (old) {
      this.entries.delete(key);
      this.bytes -= old.size;
    }
    // A value larger than the whole cache is not kept at all.
    if (size > this.maxBytes) return;
    this.entries.set(key, { value, size });
    this.bytes += size;
    for (const [k, e] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(k);
      this.bytes -= e.size;
    }
  }

  get size(): number {
    return this.entries.size;
  }
}

function uuidFrom(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
