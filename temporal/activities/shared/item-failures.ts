/**
 * Items that failed after their retries, the same way in every executor that
 * processes items: listed in the step's output (`failed_items`, bounded, with
 * `failed_items_total` and counts by code), counted by the step runner into
 * the projection, and turned into a step failure (`ITEMS_FAILED`) when too
 * many failed. A step's success is never reported for items it did not do.
 *
 * Invalid items (data_validate, `on_invalid: "skip"`) are a business result,
 * not failures: they are counted as `invalid` and never listed here.
 */
import { z } from 'zod';
import { StepError } from '@engine/activities/shared/errors';
import { ErrorCodes } from '@engine/shared/contracts';

/** How many failed items a step's output lists (the total is always counted). */
export const MAX_LISTED_FAILED_ITEMS = 100;
/** How many a failure's details and the projection carry. */
export const MAX_FAILED_ITEMS_IN_DETAILS = 20;
const MAX_MESSAGE_CHARS = 500;

/** One item that failed after its retries. */
export interface FailedItem {
  /** The item's key (`item_key_field`, a SKU, an id) or its index as a string. */
  key: string;
  /** Position in the step's input list, when there is one. */
  index?: number;
  /** Reason code (`HTTP_STATUS`, `HTTP_CLIENT_ERROR`, `AI_NO_RESULT`, ...). */
  code: string;
  message: string;
  /** HTTP status of the last answer, for calls. */
  status?: number;
}

/** What a step's output carries about its failed items. */
export interface FailedItemsReport {
  /** The first failed items by input position, at most {@link MAX_LISTED_FAILED_ITEMS}. */
  failed_items: FailedItem[];
  /** Every failed item, listed or not. */
  failed_items_total: number;
  /** Failed items per reason code. */
  failed_items_by_code: Record<string, number>;
}

/** A step's tolerance for failed items (config field `max_failed_items`). */
export interface ItemFailurePolicy {
  /**
   * The step fails when more items than this failed. Unset: the step fails
   * only when every item failed; otherwise it completes with failures.
   * `0`: any failed item fails the step.
   */
  max_failed_items?: number;
}

/** The config field schema: a non-negative integer (or a reference to one, in a definition). */
export const maxFailedItemsSchema = z.number({ error: 'must be a whole number of items, 0 or more' }).int({ message: 'must be a whole number of items, 0 or more' }).min(0, { message: 'must be a whole number of items, 0 or more' });

/**
 * Collects failed items while a step runs (concurrently or not) and reports
 * them in input order, bounded.
 *
 * @example
 * const failures = new ItemFailures();
 * failures.add({ key: 'SKU-1', index: 0, code: ErrorCodes.HTTP_STATUS, message: 'POST /listings responded 503', status: 503 }, { retryable: true });
 * failures.enforce(items.length, { max_failed_items: 10 }, 'listings');
 * return { ...result, ...failures.report() };
 */
export class ItemFailures {
  private listed: FailedItem[] = [];
  private total = 0;
  private transient = 0;
  private readonly byCode: Record<string, number> = {};

  add(item: FailedItem, opts: { retryable?: boolean } = {}): void {
    this.total++;
    if (opts.retryable) this.transient++;
    this.byCode[item.code] = (this.byCode[item.code] ?? 0) + 1;
    this.listed.push({ ...item, message: truncate(item.message) });
    if (this.listed.length > 2 * MAX_LISTED_FAILED_ITEMS) this.trim();
  }

  get count(): number {
    return this.total;
  }

  report(): FailedItemsReport {
    this.trim();
    return { failed_items: [...this.listed], failed_items_total: this.total, failed_items_by_code: { ...this.byCode } };
  }

  /**
   * Throws `ITEMS_FAILED` when the failed items break the policy: more than
   * `max_failed_items`, or (without it) every one of `processed` items. It
   * is retryable when some item failed for a transient reason (a step retry
   * re-sends the items, under the same idempotency keys).
   */
  enforce(processed: number, policy: ItemFailurePolicy, what = 'items'): void {
    const reason = policyBreach(this.total, processed, policy);
    if (reason === null) return;
    const report = this.report();
    const sample = report.failed_items.slice(0, 3).map((f) => `${f.key}: ${f.message}`).join('; ');
    throw new StepError(ErrorCodes.ITEMS_FAILED, `${this.total} of ${processed} ${what} failed (${reason})${sample ? `: ${sample}` : ''}${this.total > 3 ? '; …' : ''}`, {
      retryable: this.transient > 0,
      details: {
        processed,
        failed_items_total: report.failed_items_total,
        failed_items_by_code: report.failed_items_by_code,
        failed_items: report.failed_items.slice(0, MAX_FAILED_ITEMS_IN_DETAILS),
        ...(policy.max_failed_items !== undefined ? { max_failed_items: policy.max_failed_items } : {}),
      },
    });
  }

  private trim(): void {
    this.listed.sort((a, b) => (a.index ?? Number.MAX_SAFE_INTEGER) - (b.index ?? Number.MAX_SAFE_INTEGER));
    if (this.listed.length > MAX_LISTED_FAILED_ITEMS) this.listed = this.listed.slice(0, MAX_LISTED_FAILED_ITEMS);
  }
}

/**
 * Why `failed` of `processed` items break the policy, or null when they do not.
 *
 * @example policyBreach(3, 3, {}) // 'every item failed'
 * @example policyBreach(1, 1000, {}) // null: the step completes with failures
 */
export function policyBreach(failed: number, processed: number, policy: ItemFailurePolicy): string | null {
  if (failed <= 0) return null;
  if (policy.max_failed_items !== undefined) {
    return failed > policy.max_failed_items ? `more than max_failed_items ${policy.max_failed_items}` : null;
  }
  return failed >= processed ? 'every item failed' : null;
}

/**
 * The failed items a step reported, read from its output or from the details
 * of its `ITEMS_FAILED` failure: what the step runner projects. Null when the
 * value says nothing about failed items.
 */
export function failedItemsOf(value: unknown): { total: number; items: FailedItem[] } | null {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return null;
  const v = value as { failed_items?: unknown; failed_items_total?: unknown };
  const listed = Array.isArray(v.failed_items) ? (v.failed_items as unknown[]) : null;
  const items = listed?.filter(isFailedItem) ?? null;
  const total = typeof v.failed_items_total === 'number' ? v.failed_items_total : listed?.length;
  if (total === undefined) return null;
  return { total, items: (items ?? []).slice(0, MAX_FAILED_ITEMS_IN_DETAILS) };
}

/**
 * A key for an item without a configured key field: its `sku`, `external_id`,
 * `id` or `key`, else its index.
 *
 * @example itemKeyGuess({ sku: 'A-1', title: 'x' }, 4) // 'A-1'
 */
export function itemKeyGuess(item: unknown, index: number): string {
  if (item && typeof item === 'object' && !Array.isArray(item)) {
    const o = item as Record<string, unknown>;
    for (const field of ['sku', 'external_id', 'id', 'key']) {
      const v = o[field];
      if ((typeof v === 'string' && v !== '') || (typeof v === 'number' && Number.isFinite(v))) return String(v).slice(0, 200);
    }
  }
  return String(index);
}

function isFailedItem(v: unknown): v is FailedItem {
  return !!v && typeof v === 'object' && typeof (v as FailedItem).key === 'string' && typeof (v as FailedItem).code === 'string';
}

function truncate(text: string): string {
  return text.length > MAX_MESSAGE_CHARS ? `${text.slice(0, MAX_MESSAGE_CHARS - 1)}…` : text;
}
