/**
 * Shared rate budgets (issue 12 item 5): a connection's `rate_budget`
 * (`requests_per_second`, `burst`, `max_concurrent`) holds across every run
 * and every worker process, because the state lives in PostgreSQL, which all
 * of them already share:
 *
 * - a token bucket per connection (`rate_budget_buckets`), taken with ONE
 *   statement per request: it refills the bucket from the time elapsed,
 *   takes a token and returns how long the caller must wait for it (a
 *   reservation: tokens may go below zero, so waiters queue in arrival order
 *   instead of racing for each new token);
 * - `blocked_until`, set by {@link RateBudgets.penalise} when the remote
 *   answers 429 with Retry-After: every caller waits until it passes, and the
 *   bucket restarts empty;
 * - `max_concurrent` as leases (`rate_budget_leases`, one row per slot with
 *   an expiry), so a killed worker's lease lapses on its own.
 *
 * The budget itself is read from the connection's row inside the same
 * statement, so `PATCH /suppliers/{id}/` applies to the next request without
 * a restart. See docs/rate-budgets.md for the design and its measured cost.
 *
 * @example
 * const budgets = rateBudgetsFor(dataSource);
 * const release = await budgets.acquire(connectionKey('supplier', 3), signal);
 * try { await send(); } finally { release(); }
 */
import { randomUUID } from 'node:crypto';
import type { HttpClient, RequestGate } from '@engine/activities/shared/http';
import { StepError } from '@engine/activities/shared/errors';
import { ErrorCodes } from '@engine/shared/contracts';

/** The tables whose rows carry a `rate_budget`. */
export const CONNECTION_TABLES = { supplier: 'suppliers', marketplace: 'marketplaces', carrier: 'carriers' } as const;
export type ConnectionKind = keyof typeof CONNECTION_TABLES;

/** `supplier:3`: how budgets name a connection. */
export function connectionKey(kind: ConnectionKind, id: number): string {
  return `${kind}:${id}`;
}

export function parseConnectionKey(key: string): { kind: ConnectionKind; id: number } {
  const m = /^(supplier|marketplace|carrier):([1-9][0-9]{0,9})$/.exec(key);
  if (!m) throw new RangeError(`not a connection key: ${JSON.stringify(key)} (expected supplier:<id>, marketplace:<id> or carrier:<id>)`);
  return { kind: m[1] as ConnectionKind, id: Number(m[2]) };
}

/** Releases a concurrency lease; calling it again does nothing. */
export type BudgetRelease = () => void;

/** What connectors and platform adapters call around each request to a connection. */
export interface RateBudgets {
  /**
   * Waits until one request to the connection may go: a token of its rate,
   * no 429 block in force, and a concurrency slot when it has `max_concurrent`.
   * Rejects with `HTTP_ABORTED` when `signal` aborts. `holdMs`: the longest
   * the request may take (its lease lapses a little after, should the process die).
   */
  acquire(connectionKey: string, signal?: AbortSignal, opts?: { holdMs?: number }): Promise<BudgetRelease>;
  /** The remote answered 429 with Retry-After: nobody calls the connection for `retryAfterMs` (capped at {@link MAX_PENALTY_MS}). */
  penalise(connectionKey: string, retryAfterMs: number): Promise<void>;
}

/** The longest a Retry-After blocks a connection: a remote asking for a day does not stop every run for a day. */
export const MAX_PENALTY_MS = 10 * 60_000;
/** A lease outlives its request's timeout by this much before it counts as abandoned. */
const LEASE_MARGIN_MS = 5_000;
const DEFAULT_HOLD_MS = 30_000;
/** A caller waking this much later than its reserved token was due takes a new place in the queue instead. */
const LATE_MS = 50;

/** The number-typed fields of a connection's `rate_budget` (anything else counts as unset). */
const budgetField = (name: string, cast: string) =>
  `CASE WHEN jsonb_typeof(rate_budget->'${name}') = 'number' AND (rate_budget->>'${name}')::float8 > 0 THEN (rate_budget->>'${name}')::${cast} END`;

/**
 * Takes one token: refill by elapsed time (capped at burst), minus one. Blocked
 * (a 429 in force): takes nothing and returns the time left. A connection with
 * no requests_per_second keeps a full bucket (only blocks and leases apply).
 */
function takeSql(table: string): string {
  const refill = `LEAST(EXCLUDED.burst, b.tokens + GREATEST(0, EXTRACT(EPOCH FROM (EXCLUDED.updated_at - b.updated_at))) * EXCLUDED.rate)`;
  const blocked = `(b.blocked_until IS NOT NULL AND b.blocked_until > EXCLUDED.updated_at)`;
  return `
    WITH cfg AS (
      SELECT ${budgetField('requests_per_second', 'float8')} AS rate,
             ${budgetField('burst', 'float8')} AS burst,
             ${budgetField('max_concurrent', 'int')} AS max_concurrent
      FROM ${table} WHERE id = $2
    )
    INSERT INTO rate_budget_buckets AS b (connection_key, tokens, updated_at, granted, rate, burst, max_concurrent)
    SELECT $1, GREATEST(1, COALESCE(burst, rate, 1)) - CASE WHEN rate IS NULL THEN 0 ELSE 1 END, clock_timestamp(), true,
           rate, GREATEST(1, COALESCE(burst, rate, 1)), max_concurrent
    FROM cfg
    ON CONFLICT (connection_key) DO UPDATE SET
      tokens = CASE WHEN ${blocked} THEN b.tokens WHEN EXCLUDED.rate IS NULL THEN EXCLUDED.burst ELSE ${refill} - 1 END,
      granted = NOT ${blocked},
      updated_at = GREATEST(b.updated_at, EXCLUDED.updated_at),
      rate = EXCLUDED.rate, burst = EXCLUDED.burst, max_concurrent = EXCLUDED.max_concurrent
    RETURNING granted, max_concurrent,
      CASE WHEN NOT granted THEN GREATEST(1, EXTRACT(EPOCH FROM (blocked_until - clock_timestamp())) * 1000)
           WHEN rate IS NULL OR tokens >= 0 THEN 0
           ELSE -tokens / rate * 1000 END AS wait_ms`;
}

/**
 * The first free concurrency slot counting from a random one ($5), so racing
 * callers rarely collide, or null when all are held. The scan stops at the
 * first free slot: its cost grows with the leases held, not with max_concurrent.
 */
function leaseSql(table: string): string {
  return `
    WITH cfg AS (SELECT ${budgetField('max_concurrent', 'int')} AS m FROM ${table} WHERE id = $2),
    free AS (
      SELECT (i + $5::int) % cfg.m AS s FROM cfg, generate_series(0, cfg.m - 1) i
      WHERE NOT EXISTS (SELECT 1 FROM rate_budget_leases l WHERE l.connection_key = $1 AND l.slot = (i + $5::int) % cfg.m AND l.expires_at > clock_timestamp())
      LIMIT 1
    ),
    ins AS (
      INSERT INTO rate_budget_leases AS l (connection_key, slot, holder, expires_at)
      SELECT $1, s, $3, clock_timestamp() + $4 * interval '1 millisecond' FROM free
      ON CONFLICT (connection_key, slot) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
        WHERE l.expires_at <= clock_timestamp()
      RETURNING slot
    )
    SELECT (SELECT m FROM cfg) AS max_concurrent, (SELECT slot FROM ins) AS slot`;
}

const PENALISE_SQL = `
  INSERT INTO rate_budget_buckets AS b (connection_key, tokens, updated_at, blocked_until, granted)
  VALUES ($1, 0, clock_timestamp() + $2 * interval '1 millisecond', clock_timestamp() + $2 * interval '1 millisecond', false)
  ON CONFLICT (connection_key) DO UPDATE SET
    blocked_until = GREATEST(COALESCE(b.blocked_until, EXCLUDED.blocked_until), EXCLUDED.blocked_until),
    tokens = 0,
    updated_at = GREATEST(b.updated_at, EXCLUDED.updated_at)`;

const REFUND_SQL = `UPDATE rate_budget_buckets SET tokens = LEAST(COALESCE(burst, 1), tokens + 1) WHERE connection_key = $1 AND rate IS NOT NULL`;

const BLOCKED_SQL = `SELECT GREATEST(0, EXTRACT(EPOCH FROM (blocked_until - clock_timestamp())) * 1000) AS wait_ms FROM rate_budget_buckets WHERE connection_key = $1`;

interface Db {
  query(sql: string, params?: unknown[]): Promise<unknown>;
}

/**
 * {@link RateBudgets} over PostgreSQL. One per DataSource is enough (see
 * {@link rateBudgetsFor}); it keeps no state but which connections have a
 * `max_concurrent` (to take the lease before the token).
 */
export class PgRateBudgets implements RateBudgets {
  /** Connections seen with a max_concurrent: their lease is taken first, so a token is never spent while waiting for a slot. */
  private readonly leased = new Set<string>();

  constructor(
    private readonly db: Db,
    private readonly opts: { leasePollMs?: number; leaseMarginMs?: number } = {},
  ) {}

  async acquire(key: string, signal?: AbortSignal, opts: { holdMs?: number } = {}): Promise<BudgetRelease> {
    const { kind, id } = parseConnectionKey(key);
    const table = CONNECTION_TABLES[kind];
    const holdMs = Math.max(1_000, opts.holdMs ?? DEFAULT_HOLD_MS);
    let release: BudgetRelease = () => {};
    let leased = false;
    let late = 0;
    try {
      if (this.leased.has(key)) {
        release = await this.lease(key, table, id, holdMs, signal);
        leased = true;
      }
      for (;;) {
        throwIfAborted(signal);
        const rows = (await this.db.query(takeSql(table), [key, id])) as Array<{ granted: boolean; max_concurrent: number | null; wait_ms: number | string }>;
        const row = rows[0];
        if (!row) return release; // no such connection (deleted): nothing to enforce
        if (row.max_concurrent !== null) this.leased.add(key);
        else this.leased.delete(key);
        const waitMs = Number(row.wait_ms);
        if (!row.granted) {
          await sleep(waitMs, signal);
          continue;
        }
        if (waitMs > 0) {
          const due = Date.now() + waitMs;
          try {
            await sleep(waitMs, signal);
          } catch (err) {
            // Cancelled while waiting for a reserved token: hand it back, so later callers do not wait for it.
            await this.db.query(REFUND_SQL, [key]).catch(() => {});
            throw err;
          }
          // A 429 that arrived while this caller waited for its token holds it back too.
          const blocked = (await this.db.query(BLOCKED_SQL, [key])) as Array<{ wait_ms: number | string | null }>;
          if (Number(blocked[0]?.wait_ms ?? 0) > 0) continue;
          // Woken much later than its token was due (a stalled process): going now would bunch up with the
          // requests due now, so it queues again (a few times at most; the late token is simply not used).
          if (Date.now() - due > LATE_MS && late++ < 3) continue;
        }
        break;
      }
      if (!leased && this.leased.has(key)) release = await this.lease(key, table, id, holdMs, signal);
      return release;
    } catch (err) {
      release();
      throw err;
    }
  }

  async penalise(key: string, retryAfterMs: number): Promise<void> {
    parseConnectionKey(key);
    if (!(retryAfterMs > 0)) return;
    await this.db.query(PENALISE_SQL, [key, Math.min(MAX_PENALTY_MS, Math.ceil(retryAfterMs))]);
  }

  /** Polls for a free slot (backing off from 10 to 200 ms); the release deletes the lease row if it is still this holder's. */
  private async lease(key: string, table: string, id: number, holdMs: number, signal?: AbortSignal): Promise<BudgetRelease> {
    const holder = randomUUID();
    let pause = this.opts.leasePollMs ?? 10;
    for (;;) {
      throwIfAborted(signal);
      const rows = (await this.db.query(leaseSql(table), [key, id, holder, holdMs + (this.opts.leaseMarginMs ?? LEASE_MARGIN_MS), Math.floor(Math.random() * 1_000_000)])) as Array<{ max_concurrent: number | null; slot: number | null }>;
      const row = rows[0];
      if (!row || row.max_concurrent === null) {
        this.leased.delete(key);
        return () => {};
      }
      if (row.slot !== null) {
        let done = false;
        const slot = row.slot;
        return () => {
          if (done) return;
          done = true;
          // Best effort: a lease whose delete fails lapses at its expiry.
          this.db.query(`DELETE FROM rate_budget_leases WHERE connection_key = $1 AND slot = $2 AND holder = $3`, [key, slot, holder]).catch(() => {});
        };
      }
      await sleep(pause * (0.5 + Math.random()), signal);
      pause = Math.min(200, pause * 2);
    }
  }
}

const perDataSource = new WeakMap<object, PgRateBudgets>();

/** The one {@link PgRateBudgets} of a DataSource (the worker's executors share it). */
export function rateBudgetsFor(dataSource: Db): PgRateBudgets {
  let budgets = perDataSource.get(dataSource);
  if (!budgets) perDataSource.set(dataSource, (budgets = new PgRateBudgets(dataSource)));
  return budgets;
}

/** The HttpClient gate of one connection: every attempt (retries included) acquires, every 429/503 Retry-After penalises. */
export function budgetGate(budgets: RateBudgets, keys: string | readonly string[]): RequestGate {
  const list = typeof keys === 'string' ? [keys] : [...keys];
  return {
    async enter(signal, holdMs) {
      const releases: BudgetRelease[] = [];
      try {
        for (const key of list) releases.push(await budgets.acquire(key, signal, { holdMs }));
      } catch (err) {
        for (const r of releases) r();
        throw err;
      }
      return () => releases.forEach((r) => r());
    },
    async penalise(retryAfterMs) {
      await Promise.all(list.map((key) => budgets.penalise(key, retryAfterMs)));
    },
  };
}

/**
 * `client` with the connection's budget applied to every request: what a
 * platform adapter wraps its AdapterDeps.client in (ConnectorHttp does it
 * for the sandbox connectors).
 */
export function budgetedClient(client: Pick<HttpClient, 'request'>, budgets: RateBudgets, key: string): Pick<HttpClient, 'request'> {
  const gate = budgetGate(budgets, key);
  return { request: (method, url, options) => client.request(method, url, { ...options, gate }) };
}

function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new StepError(ErrorCodes.HTTP_ABORTED, 'the call was cancelled while waiting for its rate budget');
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new StepError(ErrorCodes.HTTP_ABORTED, 'the call was cancelled while waiting for its rate budget'));
    const onAbort = () => {
      clearTimeout(timer);
      reject(new StepError(ErrorCodes.HTTP_ABORTED, 'the call was cancelled while waiting for its rate budget'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** How long {@link ConnectionDirectory} trusts its list of connection URLs. */
const DIRECTORY_TTL_MS = 5_000;

/**
 * Which connection a URL belongs to, for steps that call an API by URL
 * (`api_call`): the active suppliers, marketplaces and carriers whose
 * `api_base_url` is a prefix of the URL (same origin, whole path segments),
 * the longest prefix winning; several connections with that same base URL
 * all apply. Cached for a few seconds.
 *
 * @example await directory.match('http://127.0.0.1:4010/marketplace/v1/orders/o-1/acknowledge') // ['marketplace:1']
 */
export class ConnectionDirectory {
  private cache: { at: number; rows: Array<{ key: string; origin: string; path: string }> } | null = null;
  private loading: Promise<Array<{ key: string; origin: string; path: string }>> | null = null;

  constructor(private readonly db: Db) {}

  async match(url: string): Promise<string[]> {
    const rows = await this.rows();
    // No connections: nothing to match (and no URL to parse, once per request of a per-item step).
    if (rows.length === 0) return [];
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      return [];
    }
    let best = -1;
    let keys: string[] = [];
    for (const r of rows) {
      if (r.origin !== target.origin) continue;
      if (!(r.path === '' || target.pathname === r.path || target.pathname.startsWith(r.path + '/'))) continue;
      if (r.path.length > best) {
        best = r.path.length;
        keys = [r.key];
      } else if (r.path.length === best) keys.push(r.key);
    }
    return keys;
  }

  private async rows(): Promise<Array<{ key: string; origin: string; path: string }>> {
    if (this.cache && Date.now() - this.cache.at < DIRECTORY_TTL_MS) return this.cache.rows;
    this.loading ??= this.load().finally(() => (this.loading = null));
    return this.loading;
  }

  private async load(): Promise<Array<{ key: string; origin: string; path: string }>> {
    const found = (await this.db.query(
      (Object.entries(CONNECTION_TABLES) as Array<[ConnectionKind, string]>)
        .map(([kind, table]) => `SELECT '${kind}' AS kind, id, api_base_url FROM ${table} WHERE is_active`)
        .join(' UNION ALL '),
    )) as Array<{ kind: ConnectionKind; id: number; api_base_url: string }>;
    const rows: Array<{ key: string; origin: string; path: string }> = [];
    for (const f of found) {
      try {
        const u = new URL(f.api_base_url);
        rows.push({ key: connectionKey(f.kind, f.id), origin: u.origin, path: u.pathname.replace(/\/+$/, '') });
      } catch {
        // A row whose URL does not parse matches nothing.
      }
    }
    this.cache = { at: Date.now(), rows };
    return rows;
  }
}

const directories = new WeakMap<object, ConnectionDirectory>();

/** The one {@link ConnectionDirectory} of a DataSource. */
export function connectionDirectoryFor(dataSource: Db): ConnectionDirectory {
  let d = directories.get(dataSource);
  if (!d) directories.set(dataSource, (d = new ConnectionDirectory(dataSource)));
  return d;
}
