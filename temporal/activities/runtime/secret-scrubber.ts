import { REDACTED, redactForms, replaceForms, secretForms } from '@engine/activities/shared/secrets';

/** Values shorter than this are not scrubbed worker-wide (a 3-character secret would blank ordinary text). */
export const DEFAULT_SCRUB_MIN_LENGTH = 8;
/** How long a loaded set of secret values is used before it is loaded again. */
export const DEFAULT_SCRUB_TTL_MS = 5_000;

export interface SecretScrubberOptions {
  /** Every secret value the worker could hand out (the encrypted store and MERCHFLOW_SECRET_*). */
  load: () => Promise<string[]>;
  minLength?: number;
  ttlMs?: number;
  /** Told when a reload fails and the previous values stay in use. */
  onStale?: (err: unknown) => void;
  now?: () => number;
}

/**
 * Scrubs every secret value known to the worker from whatever leaves an
 * activity (step outputs, errors, heartbeat details) and from log lines, for
 * every step of every run, not only the step that used a secret: a step that
 * reads back what a remote echoed must not store the value either.
 *
 * The values are loaded from the sources at most once per `ttlMs` (awaited by
 * {@link refresh} before a step's result is scrubbed); values a step resolves
 * are added at once. Only values of at least `minLength` characters are
 * matched. {@link scrub} first looks for any spelling of any value in the
 * JSON text of the result and walks the value only on a hit, so clean
 * results cost one `JSON.stringify` and a substring search per spelling.
 *
 * @example
 * const scrubber = new SecretScrubber({ load: async () => [...storeValues, ...envValues] });
 * await scrubber.refresh();
 * const clean = scrubber.scrub(output);
 */
export class SecretScrubber {
  private readonly minLength: number;
  private readonly ttlMs: number;
  private readonly now: () => number;
  private loaded = new Set<string>();
  private added = new Set<string>();
  private loadedAt = Number.NEGATIVE_INFINITY;
  private loading: Promise<void> | null = null;
  private secrets: string[] = [];
  /** Every spelling of every value, longest first (see `secretForms`). */
  private forms: string[] = [];
  /** Each spelling of each value as it appears inside JSON text, with the value it spells. */
  private probes: Array<{ text: string; secret: string }> = [];
  /** One pattern matching any probe (a single scan of the text, whatever the number of values). */
  private probeRe: RegExp | null = null;

  constructor(private readonly options: SecretScrubberOptions) {
    this.minLength = Math.max(1, options.minLength ?? DEFAULT_SCRUB_MIN_LENGTH);
    this.ttlMs = options.ttlMs ?? DEFAULT_SCRUB_TTL_MS;
    this.now = options.now ?? Date.now;
  }

  /** How many distinct values are scrubbed right now. */
  get size(): number {
    return this.secrets.length;
  }

  /**
   * Reloads the values when they are older than the TTL. A failed reload keeps
   * the previous values (and reports it); a failed first load throws, so the
   * step is retried rather than its result left unscrubbed.
   */
  async refresh(force = false): Promise<void> {
    if (!force && this.now() - this.loadedAt < this.ttlMs) return;
    this.loading ??= (async () => {
      try {
        const values = await this.options.load();
        this.loaded = new Set(values.filter((v) => typeof v === 'string' && v.length >= this.minLength));
        this.loadedAt = this.now();
        this.rebuild();
      } catch (err) {
        if (this.loadedAt === Number.NEGATIVE_INFINITY) throw err;
        this.options.onStale?.(err);
      } finally {
        this.loading = null;
      }
    })();
    await this.loading;
  }

  /** Adds values resolved by a step (kept until the process ends; a rotated secret's old value stays scrubbed). */
  add(values: Iterable<string>): void {
    let changed = false;
    for (const v of values) {
      if (typeof v !== 'string' || v.length < this.minLength || this.added.has(v)) continue;
      this.added.add(v);
      changed = true;
    }
    if (changed) this.rebuild();
  }

  /** A copy of `value` with every known secret replaced by `[REDACTED]` (the value itself when none occurs). */
  scrub<T>(value: T): T {
    return this.scrubWithJson(value).value;
  }

  /**
   * {@link scrub}, and, when the value comes back as it was and was serialised to look for secrets, its
   * `JSON.stringify` text: a caller that stores the value as JSON (the payload store) need not serialise it again.
   */
  scrubWithJson<T>(value: T): { value: T; json?: string } {
    if (this.secrets.length === 0 || value === undefined || value === null) return { value };
    if (typeof value === 'string') return { value: this.scrubText(value) as T };
    let text: string | undefined;
    try {
      text = JSON.stringify(value);
    } catch {
      text = undefined; // cyclic or BigInt: walk it with every value
    }
    // Errors serialise without their message and stack: those are always walked.
    if (text === undefined || value instanceof Error) return { value: redactForms(value, this.forms) };
    if (!this.probeRe || !this.probeRe.test(text)) return { value, json: text };
    // Walk with the spellings of the values that occur only.
    const found = new Set(this.probes.filter((p) => text!.includes(p.text)).map((p) => p.secret));
    return { value: redactForms(value, secretForms(found)) };
  }

  /**
   * Whether the JSON text of a value holds none of the known secrets, nor of `also` (values a step resolved,
   * of any length), in any spelling: the test `scrub` makes before it walks a value, for a caller that has the
   * text already (a page of a paged list). When it is true, `scrub` would give the value back as it is.
   */
  textIsClean(json: string, also?: ReadonlySet<string>): boolean {
    if (this.probeRe && this.secrets.length > 0 && this.probeRe.test(json)) return false;
    if (also && also.size > 0) for (const probe of jsonProbes(also).keys()) if (json.includes(probe)) return false;
    return true;
  }

  /** `text` with every known secret, in any of its spellings, replaced by `[REDACTED]`. */
  scrubText(text: string): string {
    if (this.secrets.length === 0 || typeof text !== 'string' || text.length < this.minLength) return text;
    return replaceForms(text, this.forms);
  }

  private rebuild(): void {
    this.secrets = [...new Set([...this.loaded, ...this.added])];
    this.forms = secretForms(this.secrets);
    const probes = jsonProbes(this.secrets);
    this.probes = [...probes].map(([text, secret]) => ({ text, secret }));
    const escaped = [...probes.keys()].sort((a, b) => b.length - a.length).map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    this.probeRe = escaped.length > 0 ? new RegExp(escaped.join('|')) : null;
  }
}

/** Each spelling of each value (`secretForms`) as it appears inside JSON text, with the value it spells. */
function jsonProbes(secrets: Iterable<string>): Map<string, string> {
  const probes = new Map<string, string>();
  for (const s of secrets) {
    if (typeof s !== 'string' || s === '') continue;
    for (const form of [s, encodeURIComponent(s), new URLSearchParams({ s }).toString().slice(2), JSON.stringify(s).slice(1, -1)]) {
      const probe = JSON.stringify(form).slice(1, -1);
      if (probe !== REDACTED && !probes.has(probe)) probes.set(probe, s);
    }
  }
  return probes;
}
