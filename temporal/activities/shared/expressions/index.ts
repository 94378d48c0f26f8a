/**
 * Expressions of the executors, evaluated in the worker's expression pool
 * (see `pool.ts`): one shared pool per process, sized by the configuration,
 * and {@link ExpressionChunks} to stream a long list through it chunk by chunk.
 */
import { appConfig } from '@src/config/config';
import { ExpressionError } from '@engine/dsl/expressions';
import { ExpressionPool, type ExpressionPoolOptions, type ExpressionRequest } from './pool';
import type { ExpressionTaskResult } from './protocol';

export { ExpressionPool, ExpressionStopped, hardLimitMs, type ExpressionPoolOptions, type ExpressionRequest } from './pool';

const pools = new Map<string, ExpressionPool>();

/**
 * The process's expression pool for these options (by default the
 * configuration's EXPRESSION_POOL_THREADS and EXPRESSION_POOL_MEMORY_MB),
 * started on first use and shared by every executor that asks for the same.
 */
export function expressionPool(options: ExpressionPoolOptions = appConfig().expressions): ExpressionPool {
  const key = `${options.threads}:${options.memoryMb}`;
  let pool = pools.get(key);
  if (!pool) pools.set(key, (pool = new ExpressionPool({ threads: options.threads, memoryMb: options.memoryMb })));
  return pool;
}

/** Stops the process's expression pools (the worker calls this once it has stopped) and says how many there were; a later use starts new ones. */
export async function closeExpressionPools(): Promise<number> {
  const all = [...pools.values()];
  pools.clear();
  await Promise.all(all.map((p) => p.close()));
  return all.length;
}

/** Run variables an expression can read: only those it names are sent to the threads (`$eval` can name any, so it gets all). */
export function usedBindings(sources: readonly string[], bindings: Record<string, unknown>): Record<string, unknown> {
  if (sources.some((s) => s.includes('$eval'))) return bindings;
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(bindings)) {
    const named = new RegExp(`\\$${name}(?![A-Za-z0-9_])`);
    if (sources.some((s) => named.test(s))) out[name] = value;
  }
  return out;
}

/** The evaluations of one chunk, read by item and expression. */
export class ChunkOutcome {
  private readonly failures = new Map<number, ExpressionError>();

  constructor(
    private readonly result: ExpressionTaskResult,
    /** Index of the chunk's first item in the whole list. */
    readonly from: number,
    private readonly width: number,
  ) {
    for (const f of result.failures) this.failures.set(f.at, new ExpressionError(f.code, f.message, f.jsonataCode, f.position));
  }

  /** The error of expression `e` on item `i` (an index in the whole list), or null when it has a value. */
  failure(i: number, e: number): ExpressionError | null {
    return this.failures.get((i - this.from) * this.width + e) ?? null;
  }

  /** The value of expression `e` on item `i`; undefined for a failed evaluation. */
  value(i: number, e: number): unknown {
    return this.result.values[(i - this.from) * this.width + e];
  }
}

/** What {@link ExpressionChunks} evaluates. */
export interface ChunkedEvaluation extends Pick<ExpressionRequest, 'sources' | 'timeoutMs' | 'stopOn'> {
  items: readonly unknown[];
  bindings: Record<string, unknown>;
  /** Items per task (and between two progress reports of the caller). */
  chunkSize: number;
  /** Stops the chunks in flight when aborted (a cancelled step). */
  signal?: AbortSignal;
}

/**
 * Evaluates expressions over a long list in chunks, one pool task per chunk,
 * with up to one chunk per pool thread in flight, so the caller works on one
 * chunk's values while the next ones are evaluated. Take the chunks in order
 * and close the stream when done (or on failure: chunks still in flight are
 * stopped).
 *
 * @example
 * const chunks = new ExpressionChunks({ sources: ['price * 2'], items, bindings: {}, timeoutMs: 1000, stopOn: 'any', chunkSize: 1000 });
 * try { for (let from = 0; from < items.length; from += 1000) use(await chunks.take(from)); } finally { chunks.close(); }
 */
export class ExpressionChunks {
  private readonly pending = new Map<number, Promise<ChunkOutcome>>();
  private readonly controller = new AbortController();
  private next = 0;
  private readonly ahead: number;
  private readonly bindings: Record<string, unknown>;

  constructor(
    private readonly job: ChunkedEvaluation,
    private readonly pool: ExpressionPool = expressionPool(),
  ) {
    this.ahead = Math.max(1, pool.options.threads);
    this.bindings = usedBindings(job.sources, job.bindings);
    this.cancel = () => this.controller.abort(job.signal?.reason);
    if (job.signal?.aborted) this.cancel();
    else job.signal?.addEventListener('abort', this.cancel, { once: true });
  }

  private readonly cancel: () => void;

  /** The outcome of the chunk that starts at item `from`. @throws ExpressionStopped when the pool stopped it. */
  async take(from: number): Promise<ChunkOutcome> {
    while (this.next <= from || (this.pending.size < this.ahead && this.next < this.job.items.length)) this.submit();
    const outcome = this.pending.get(from);
    if (!outcome) throw new Error(`no chunk starts at item ${from}`);
    this.pending.delete(from);
    return outcome;
  }

  /** Stops the chunks still in flight. */
  close(): void {
    this.job.signal?.removeEventListener('abort', this.cancel);
    if (this.pending.size > 0) this.controller.abort();
    for (const p of this.pending.values()) p.catch(() => undefined);
    this.pending.clear();
  }

  private submit(): void {
    const from = this.next;
    const to = Math.min(this.job.items.length, from + Math.max(1, this.job.chunkSize));
    this.next = to;
    const { sources, timeoutMs, stopOn } = this.job;
    const request: ExpressionRequest = { sources: [...sources], items: this.job.items.slice(from, to), offset: from, bindings: this.bindings, timeoutMs, stopOn };
    const outcome = this.pool.run(request, this.controller.signal).then((result) => new ChunkOutcome(result, from, sources.length));
    // Handled when taken; until then a rejection is not unhandled.
    outcome.catch(() => undefined);
    this.pending.set(from, outcome);
  }
}

/**
 * Evaluates one expression once, in the pool: for expressions over a whole
 * input (transform_type jsonata).
 *
 * @throws ExpressionError (`EXPRESSION_INVALID`, `EXPRESSION_LIMIT`, `EXPRESSION_FAILED`).
 */
export async function evaluateInPool(
  source: string,
  data: unknown,
  bindings: Record<string, unknown>,
  timeoutMs: number,
  pool = expressionPool(),
  signal?: AbortSignal,
): Promise<unknown> {
  const request: ExpressionRequest = { sources: [source], items: [data], offset: 0, bindings: usedBindings([source], bindings), timeoutMs, stopOn: 'any' };
  const outcome = new ChunkOutcome(await pool.run(request, signal), 0, 1);
  const failed = outcome.failure(0, 0);
  if (failed) throw failed;
  return outcome.value(0, 0);
}

export { ExpressionError };
