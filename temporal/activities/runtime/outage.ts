import { StepError } from '@engine/activities/shared/errors';
import { unavailableDependency, type Dependency } from '@engine/shared/infra-faults';
import { ErrorCodes } from '@engine/shared/contracts';
import type { Logger } from '@src/logging/logger';

export interface OutageOptions {
  /** How long one outage may be waited out before the attempt fails (0: never wait). */
  budgetMs: number;
  /** Keeps the activity alive while it waits. */
  heartbeat(details?: unknown): void;
  /** Aborted when the activity is cancelled: waiting stops at once. */
  signal: AbortSignal;
  logger: Logger;
  /** First and longest wait between tries; defaults 250 ms and 5 s. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Tells a database socket error from an outside one: only these ports count (none given: any). */
  databasePorts?: number[];
}

/**
 * Rides out infrastructure faults inside one activity attempt. `ride(what, fn)`
 * runs `fn`; when it fails because PostgreSQL or Temporal is unreachable, it
 * waits (with backoff, heartbeating) and runs `fn` again, until it succeeds,
 * fails for another reason, or the outage has lasted longer than the budget.
 * One outage is measured from the first fault since the last success, so the
 * budget is per outage, not per attempt. `fn` must be safe to run again (every
 * step is: Temporal may retry it anyway).
 */
export class OutageRider {
  /** Milliseconds this attempt spent waiting for dependencies. */
  waitedMs = 0;
  /** Faults ridden out, by dependency. */
  readonly faults: Record<Dependency, number> = { database: 0, temporal: 0 };
  private outageSince: number | null = null;

  constructor(private readonly opts: OutageOptions) {}

  async ride<T>(what: string, fn: () => Promise<T>): Promise<T> {
    let delay = this.opts.initialDelayMs ?? 250;
    const maxDelay = this.opts.maxDelayMs ?? 5_000;
    for (;;) {
      try {
        const result = await fn();
        if (this.outageSince !== null) {
          this.opts.logger.info('dependency back, step continues', { during: what, outage_ms: Date.now() - this.outageSince });
          this.outageSince = null;
        }
        return result;
      } catch (err) {
        const dependency = this.classify(err);
        if (!dependency || this.opts.signal.aborted) throw err;
        const now = Date.now();
        this.outageSince ??= now;
        const elapsed = now - this.outageSince;
        if (elapsed >= this.opts.budgetMs) {
          throw new StepError(ErrorCodes.DEPENDENCY_UNAVAILABLE, `${dependency} unavailable for ${Math.round(elapsed / 1000)} s (outage budget ${Math.round(this.opts.budgetMs / 1000)} s) during ${what}: ${firstLine(err)}`, {
            retryable: true,
            details: { dependency, waited_ms: elapsed },
          });
        }
        if (this.faults.database + this.faults.temporal === 0 || elapsed === 0) {
          this.opts.logger.warn('dependency unavailable, waiting without spending a retry', { dependency, during: what, error: firstLine(err) });
        }
        this.faults[dependency] += 1;
        const wait = Math.min(delay, this.opts.budgetMs - elapsed);
        this.opts.heartbeat({ waiting_for: dependency, outage_ms: elapsed });
        await sleep(wait, this.opts.signal);
        this.waitedMs += wait;
        delay = Math.min(delay * 2, maxDelay);
      }
    }
  }

  private classify(err: unknown): Dependency | null {
    const dependency = unavailableDependency(err);
    if (dependency !== 'database' || !this.opts.databasePorts?.length) return dependency;
    // A socket error names its peer: an outside service refusing connections is the step's own failure.
    const port = (err as { port?: unknown }).port;
    return typeof port === 'number' && !this.opts.databasePorts.includes(port) ? null : dependency;
  }
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0].slice(0, 300);
}

/** Waits `ms`, or less when `signal` aborts (the caller then sees the abort on its next call). */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** The port of a postgres:// URL (5432 when it names none); null when it cannot be read. */
export function databasePort(url: string): number | null {
  try {
    const u = new URL(url);
    return u.port ? Number(u.port) : 5432;
  } catch {
    return null;
  }
}
