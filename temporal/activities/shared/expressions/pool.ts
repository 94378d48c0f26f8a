/**
 * JSONata off the event loop: a piscina pool of worker threads, each with a
 * heap limit, and a watchdog that stops a thread whose evaluation runs past
 * its budget. A runaway expression (`$pad("", 1e8, "x")` is one builtin call,
 * which JSONata's own time guard cannot interrupt) then costs its step an
 * `EXPRESSION_LIMIT` failure and one thread restart, while the worker's other
 * steps keep running on the main event loop.
 */
import path from 'node:path';
import { Piscina } from 'piscina';
import { ExpressionError } from '@engine/dsl/expressions';
import { STATE, type ExpressionTask, type ExpressionTaskResult } from './protocol';

/** Size and limits of a pool. */
export interface ExpressionPoolOptions {
  /** Threads evaluating at once. */
  threads: number;
  /** Heap limit of each thread (V8 old generation), in MB. */
  memoryMb: number;
}

/** One chunk to evaluate: see {@link ExpressionTask}. */
export type ExpressionRequest = Omit<ExpressionTask, 'state' | 'epoch'>;

/** A pooled evaluation stopped from outside its thread (over time or memory): it names the evaluation that was running. */
export class ExpressionStopped extends ExpressionError {
  constructor(
    message: string,
    /** Item index (in the whole list, `offset` included) whose evaluation was stopped. */
    readonly item: number,
    /** Which of the task's expressions. */
    readonly expression: number,
  ) {
    super('EXPRESSION_LIMIT', message);
    this.name = 'ExpressionStopped';
  }
}

/** Wall-clock time past the budget before a thread is stopped: JSONata's own guard gets the first chance (no thread restart). */
export function hardLimitMs(timeoutMs: number): number {
  return timeoutMs + Math.min(1000, Math.max(25, Math.round(timeoutMs / 10)));
}

/** How often the watchdog looks at a running task. */
const watchEvery = (timeoutMs: number): number => Math.min(250, Math.max(5, Math.round(timeoutMs / 10)));

const abbreviate = (s: string): string => (s.length > 80 ? `${s.slice(0, 77)}...` : s);

/**
 * A pool of JSONata threads.
 *
 * @example
 * const pool = new ExpressionPool({ threads: 2, memoryMb: 256 });
 * const { values } = await pool.run({ sources: ['price * 2'], items: [{ price: 3 }], offset: 0, bindings: {}, timeoutMs: 1000, stopOn: 'any' });
 * // values: [6]
 */
export class ExpressionPool {
  private readonly piscina: Piscina;
  private closed = false;

  constructor(readonly options: ExpressionPoolOptions) {
    this.piscina = new Piscina({
      filename: path.join(__dirname, 'thread.js'),
      minThreads: options.threads,
      maxThreads: options.threads,
      concurrentTasksPerWorker: 1,
      idleTimeout: 60_000,
      resourceLimits: { maxOldGenerationSizeMb: options.memoryMb },
    });
  }

  /** Threads running or ready. */
  get threadCount(): number {
    return this.piscina.threads.length;
  }

  /**
   * Evaluates one chunk on a pool thread. An evaluation that runs past
   * {@link hardLimitMs} of `timeoutMs`, or a thread that runs out of heap,
   * rejects with {@link ExpressionStopped} (`EXPRESSION_LIMIT`); the thread is
   * replaced. Aborting `signal` stops the task (and its thread, when it runs).
   */
  async run(request: ExpressionRequest, signal?: AbortSignal): Promise<ExpressionTaskResult> {
    if (this.closed) throw new Error('the expression pool is shut down');
    const state = new Int32Array(new SharedArrayBuffer(STATE.length * Int32Array.BYTES_PER_ELEMENT));
    const epoch = Date.now();
    const controller = new AbortController();
    const hardMs = hardLimitMs(request.timeoutMs);
    let overran = false;
    const watchdog = setInterval(() => {
      if (Atomics.load(state, STATE.busy) !== 1) return;
      if (Date.now() - epoch - Atomics.load(state, STATE.startedAt) <= hardMs) return;
      overran = true;
      controller.abort();
    }, watchEvery(request.timeoutMs));
    const forward = () => controller.abort(signal?.reason);
    signal?.addEventListener('abort', forward, { once: true });
    try {
      if (signal?.aborted) throw signal.reason;
      return (await this.piscina.run({ ...request, state, epoch } satisfies ExpressionTask, { signal: controller.signal })) as ExpressionTaskResult;
    } catch (err) {
      // Cancelled by the caller: its reason (Temporal's cancellation), not the pool's AbortError.
      if (signal?.aborted) throw signal.reason ?? err;
      const at = Atomics.load(state, STATE.at);
      const n = Math.max(1, request.sources.length);
      const item = request.offset + Math.floor(at / n);
      const source = abbreviate(request.sources[at % n] ?? '');
      if (overran) {
        throw new ExpressionStopped(`expression ${JSON.stringify(source)} ran past its budget of ${request.timeoutMs} ms and was stopped`, item, at % n);
      }
      if ((err as { code?: unknown }).code === 'ERR_WORKER_OUT_OF_MEMORY') {
        throw new ExpressionStopped(`expression ${JSON.stringify(source)} used more than ${this.options.memoryMb} MB of memory and was stopped`, item, at % n);
      }
      throw err;
    } finally {
      clearInterval(watchdog);
      signal?.removeEventListener('abort', forward);
    }
  }

  /** Stops every thread; tasks still queued or running are rejected. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.piscina.close({ force: true });
  }
}
