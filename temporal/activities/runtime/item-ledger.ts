/**
 * The per-item ledger: what an item-wise step did with each of its items.
 *
 * Executors record each item's outcome through `ctx.items` (ok, invalid,
 * failed, skipped, with a reason code and message); the step runner gives
 * every attempt a {@link ItemLedgerSession} that buffers the outcomes and
 * writes each batch of them as ONE row of `item_outcome_batches` (a JSON
 * array, an element per item), in the background while the step runs, and
 * flushes the rest before the step's result is recorded. A row per item
 * would cost an index entry per item: measured, that tripled the time of a
 * 100,000-item validation; a JSON text per batch costs a quarter of what
 * parallel PostgreSQL arrays did (docs/recovery.md). A retried attempt writes new batches; readers take
 * each item's latest outcome (src/executions/execution-items.service.ts).
 *
 * Items that did not go through keep the item itself (scrubbed of secrets and
 * capped in size): what the operator looks at, and what a retry of those items
 * starts from. Nothing of it enters Temporal's history.
 */

/** What happened to one item. */
export type ItemStatus = 'ok' | 'invalid' | 'failed' | 'skipped';

export const ITEM_STATUSES: readonly ItemStatus[] = ['ok', 'invalid', 'failed', 'skipped'];

/** One item's outcome, as an executor records it. */
export interface ItemOutcome {
  /** The item's key: a SKU, an order id, an external id, or its index as a string. */
  key: string;
  /** Position in the step's input list, when there is one. */
  index?: number;
  status: ItemStatus;
  /** Reason code (an error-catalogue code, or a rule name for invalid items). */
  code?: string;
  message?: string;
  /** The item itself; kept only for items that did not go through. */
  item?: unknown;
}

/** What executors see as `ctx.items`. */
export interface ItemRecorder {
  record(outcome: ItemOutcome): void;
}

/** A recorder that keeps nothing: unit tests, and a worker with the ledger turned off. */
export const NO_ITEM_LEDGER: ItemRecorder = { record: () => undefined };

/** What the ledger needs of PostgreSQL: one query function (a TypeORM DataSource or a pg pool). */
export interface LedgerDatabase {
  query(sql: string, params?: unknown[]): Promise<unknown>;
}

export interface ItemLedgerOptions {
  /** Items per batch row (default 2,000). */
  batchRows?: number;
  /** Largest item kept with an outcome, as JSON (default 16 KiB); a larger one keeps a note of its size. */
  maxItemBytes?: number;
}

const MAX_KEY_CHARS = 200;
const MAX_MESSAGE_CHARS = 1_000;
const MAX_CODE_CHARS = 64;

interface Row {
  ref: string;
  key: string;
  index: number | null;
  status: ItemStatus;
  code: string | null;
  message: string | null;
  payload: string | null;
}

const INSERT_SQL = `INSERT INTO item_outcome_batches (execution_id, step_key, attempt, item_count, items, ok_runs) VALUES ($1, $2, $3, $4, $5::json, $6::json)`;

/** Strings without NUL characters: PostgreSQL's JSON text functions refuse `\u0000`. */
const noNul = (s: string) => (s.includes('\0') ? s.replace(/\0/g, '') : s);

/** Opens a ledger session per step attempt; one per worker. */
export class ItemLedgerStore {
  constructor(
    private readonly db: LedgerDatabase,
    private readonly options: ItemLedgerOptions = {},
  ) {}

  /**
   * A session for one attempt of one step. `clean` scrubs secrets from every
   * message and kept item before they are written.
   */
  open(scope: { execution_id: string; step_key: string; attempt: number }, clean: <T>(value: T) => T): ItemLedgerSession {
    return new ItemLedgerSession(this.db, scope, clean, this.options);
  }

  /** Deletes, at most `limit` batches at a time, the ledger of runs that ended more than `days` days ago; returns how many. */
  async deleteExpired(days: number, limit: number): Promise<number> {
    const rows = (await this.db.query(
      `WITH doomed AS (
         SELECT b.id FROM item_outcome_batches b
           JOIN workflow_executions e ON e.execution_id = b.execution_id
          WHERE e.completed_at < now() - make_interval(days => $1::int)
          LIMIT $2)
       DELETE FROM item_outcome_batches WHERE id IN (SELECT id FROM doomed) RETURNING 1`,
      [days, limit],
    )) as unknown[];
    return Array.isArray(rows) ? rows.length : 0;
  }
}

/** Consecutive ok items by index: the first index and each item's key, in order. */
interface OkRun {
  start: number;
  keys: string[];
}

/**
 * The outcomes of one attempt: buffered, written a batch at a time in the
 * background while the step runs, the rest on {@link flush}. A write that
 * fails is reported by `flush` (the step runner rides it through an outage
 * like its other writes).
 *
 * Ok items with an index and nothing to say (the bulk of a step's items) are
 * kept as runs of consecutive indexes, `[first index, [key, key, ...]]`, in
 * the batch's `ok_runs`: one array push per item instead of an object, a map
 * entry and a JSON text each (what made the ledger cost a quarter of a
 * 100,000-item validation; docs/performance.md). Every other outcome is an
 * element of `items` as before.
 */
export class ItemLedgerSession implements ItemRecorder {
  private buffer: Row[] = [];
  private runs: OkRun[] = [];
  /** Outcomes buffered (rows and run entries): a batch is written at `batchRows`. */
  private pending = 0;
  /** The highest index recorded so far: an ok item above it cannot repeat an earlier outcome, so it joins a run. */
  private maxIndex = -1;
  /** Whether a buffered row may repeat an index of a buffered run (a row is always the later outcome then). */
  private overlapping = false;
  private writing: Promise<void> = Promise.resolve();
  private failure: unknown;
  private readonly batchRows: number;
  private readonly maxItemBytes: number;
  /** Outcomes recorded in this attempt, by status. */
  readonly counts: Record<ItemStatus, number> = { ok: 0, invalid: 0, failed: 0, skipped: 0 };

  constructor(
    private readonly db: LedgerDatabase,
    private readonly scope: { execution_id: string; step_key: string; attempt: number },
    private readonly clean: <T>(value: T) => T,
    options: ItemLedgerOptions,
  ) {
    this.batchRows = options.batchRows ?? 2_000;
    this.maxItemBytes = options.maxItemBytes ?? 16 * 1024;
  }

  record(o: ItemOutcome): void {
    this.counts[o.status]++;
    const index = typeof o.index === 'number' && Number.isInteger(o.index) && o.index >= 0 ? o.index : null;
    const key = String(o.key ?? index ?? '').slice(0, MAX_KEY_CHARS);
    if (index !== null && index > this.maxIndex && o.status === 'ok' && !o.code && !o.message) {
      // The common case, kept cheap: an ok item after every item recorded so far.
      this.maxIndex = index;
      const last = this.runs.length > 0 ? this.runs[this.runs.length - 1] : undefined;
      if (last !== undefined && last.start + last.keys.length === index) last.keys.push(key);
      else this.runs.push({ start: index, keys: [key] });
    } else {
      if (index !== null) {
        if (index <= this.maxIndex) this.overlapping = true;
        else this.maxIndex = index;
      }
      this.buffer.push({
        ref: index !== null ? `#${index}` : `k:${key}`,
        key,
        index,
        status: o.status,
        code: o.code ? o.code.slice(0, MAX_CODE_CHARS) : null,
        message: o.message ? o.message.slice(0, MAX_MESSAGE_CHARS) : null,
        payload: o.status === 'ok' || o.item === undefined ? null : this.payloadOf(o.item),
      });
    }
    if (++this.pending >= this.batchRows) this.startWrite();
  }

  /** Writes whatever is buffered and waits for every write of this attempt; throws the first write's failure. */
  async flush(): Promise<void> {
    // A background write that failed put its rows back in the buffer: this flush writes them again.
    this.failure = undefined;
    this.startWrite();
    await this.writing;
    if (this.failure !== undefined) {
      const failure = this.failure;
      this.failure = undefined;
      throw failure;
    }
  }

  private startWrite(): void {
    if (this.pending === 0) return;
    const rows = this.buffer;
    const runs = this.runs;
    const overlapping = this.overlapping;
    const pending = this.pending;
    this.buffer = [];
    this.runs = [];
    this.pending = 0;
    this.overlapping = false;
    this.writing = this.writing.then(() =>
      this.write(rows, runs, overlapping).catch((err: unknown) => {
        // Kept for flush; the outcomes go back so a flush after the outage writes them.
        this.failure ??= err;
        this.buffer = rows.concat(this.buffer);
        this.runs = runs.concat(this.runs);
        this.pending += pending;
        this.overlapping ||= overlapping;
      }),
    );
  }

  private async write(rows: Row[], runs: OkRun[], overlapping: boolean): Promise<void> {
    // An item recorded twice in one batch: its last outcome wins.
    const byRef = new Map<string, Row>();
    for (const r of rows) {
      byRef.delete(r.ref);
      byRef.set(r.ref, r);
    }
    // A row recorded for an index of a run came after it (runs only take indexes above every earlier one): the row wins.
    if (overlapping) runs = withoutIndexes(runs, rows);
    // One JSON array per batch, an array per item: [key, index, status, reason, message, item]. Built as text
    // (the kept items are JSON already): V8 writes it and PostgreSQL only checks it, the cheapest path measured.
    const parts: string[] = [];
    for (const r of byRef.values()) {
      const message = r.message === null ? 'null' : JSON.stringify(noNul(this.clean(r.message)));
      parts.push(`[${JSON.stringify(noNul(r.key))},${r.index === null ? 'null' : r.index},"${r.status}",${r.code === null ? 'null' : JSON.stringify(noNul(r.code))},${message},${r.payload ?? 'null'}]`);
    }
    let okCount = 0;
    const okParts: string[] = [];
    for (const run of runs) {
      okCount += run.keys.length;
      let keys = JSON.stringify(run.keys);
      if (keys.includes('\\u0000')) keys = JSON.stringify(run.keys.map(noNul));
      okParts.push(`[${run.start},${keys}]`);
    }
    const count = parts.length + okCount;
    if (count === 0) return;
    await this.db.query(INSERT_SQL, [
      this.scope.execution_id,
      this.scope.step_key,
      this.scope.attempt,
      count,
      `[${parts.join(',')}]`,
      okParts.length > 0 ? `[${okParts.join(',')}]` : null,
    ]);
  }

  private payloadOf(item: unknown): string | null {
    let text: string | undefined;
    try {
      // Without a replacer (a call per value costs more than the write); again with one only when a NUL is there.
      const cleaned = this.clean(item);
      text = JSON.stringify(cleaned);
      if (text !== undefined && text.includes('\\u0000')) text = JSON.stringify(cleaned, (_k, v: unknown) => (typeof v === 'string' ? noNul(v) : v));
    } catch {
      return JSON.stringify({ $unserializable: true });
    }
    if (text === undefined) return null;
    const bytes = Buffer.byteLength(text);
    return bytes > this.maxItemBytes ? JSON.stringify({ $truncated: true, bytes }) : text;
  }
}

/** The runs without the indexes of `rows`: each run split around them. */
function withoutIndexes(runs: OkRun[], rows: Row[]): OkRun[] {
  const taken = new Set<number>();
  for (const r of rows) if (r.index !== null) taken.add(r.index);
  const out: OkRun[] = [];
  for (const run of runs) {
    let current: OkRun | null = null;
    for (let i = 0; i < run.keys.length; i++) {
      const index = run.start + i;
      if (taken.has(index)) current = null;
      else if (current) current.keys.push(run.keys[i]);
      else out.push((current = { start: index, keys: [run.keys[i]] }));
    }
  }
  return out;
}
