import { mulberry32, type Rng } from './prng';

/** A token-bucket rate limit: `requestsPerSecond` sustained, `burst` at once. */
export interface RateLimit {
  requestsPerSecond: number;
  burst: number;
}

/** A token bucket refilled continuously from a monotonic clock. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly limit: RateLimit,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(limit.requestsPerSecond > 0) || !(limit.burst >= 1)) {
      throw new RangeError('rate limit needs requestsPerSecond > 0 and burst >= 1');
    }
    this.tokens = limit.burst;
    this.last = this.now();
  }

  /** Takes a token; when none is left, returns the whole seconds to wait (the `Retry-After` value). */
  take(): { ok: true; remaining: number } | { ok: false; retryAfterSeconds: number } {
    const now = this.now();
    this.tokens = Math.min(this.limit.burst, this.tokens + ((now - this.last) / 1000) * this.limit.requestsPerSecond);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return { ok: true, remaining: Math.floor(this.tokens) };
    }
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - this.tokens) / this.limit.requestsPerSecond)) };
  }
}

/** Injected faults: fractions of API requests that fail with a 5xx or hang. */
export interface FaultConfig {
  /** Fraction in [0, 1] of requests answered 500, 502 or 503 before any state change (default 0). */
  errorRate?: number;
  /** Fraction in [0, 1] of requests that never answer (until `hangMs`, then 504) (default 0). */
  timeoutRate?: number;
  /** Seed of the fault sequence, so a run's faults are reproducible (default 1). */
  seed?: number;
  /** How long a hung request is held before a 504 (default 30,000 ms); clients time out first. */
  hangMs?: number;
}

/** What the injector decided for one request. */
export type FaultDecision = { kind: 'none' } | { kind: 'error'; status: 500 | 502 | 503 } | { kind: 'hang'; ms: number };

const ERROR_STATUSES = [500, 502, 503] as const;

/**
 * Draws fault decisions from a seeded sequence: with the same config and the
 * same request order, the same requests fail.
 */
export class FaultInjector {
  private config!: Required<FaultConfig>;
  private rng!: Rng;

  constructor(config: FaultConfig = {}) {
    this.configure(config);
  }

  /** Replaces the configuration and restarts the sequence from its seed. */
  configure(config: FaultConfig): void {
    const next: Required<FaultConfig> = {
      errorRate: config.errorRate ?? 0,
      timeoutRate: config.timeoutRate ?? 0,
      seed: config.seed ?? 1,
      hangMs: config.hangMs ?? 30_000,
    };
    for (const key of ['errorRate', 'timeoutRate'] as const) {
      if (!(next[key] >= 0 && next[key] <= 1)) throw new RangeError(`${key} must be in [0, 1], got ${next[key]}`);
    }
    if (next.errorRate + next.timeoutRate > 1) throw new RangeError('errorRate + timeoutRate must not exceed 1');
    this.config = next;
    this.rng = mulberry32(next.seed);
  }

  get current(): Readonly<Required<FaultConfig>> {
    return this.config;
  }

  decide(): FaultDecision {
    const { errorRate, timeoutRate } = this.config;
    if (errorRate === 0 && timeoutRate === 0) return { kind: 'none' };
    const u = this.rng();
    if (u < errorRate) return { kind: 'error', status: ERROR_STATUSES[Math.floor(this.rng() * ERROR_STATUSES.length)] };
    if (u < errorRate + timeoutRate) return { kind: 'hang', ms: this.config.hangMs };
    return { kind: 'none' };
  }
}
