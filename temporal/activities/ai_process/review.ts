/**
 * The review of an `ai_process` step's low-confidence answers
 * (`review.below_confidence`): the step holds those items in its output, in
 * their places, each with the AI's proposal (`ai_review`); the interpreter
 * waits for an operator's decisions and then runs {@link applyReview}, which
 * merges the decided items back: approved ones as the AI proposed, edited
 * ones as the operator wrote them, rejected ones dropped (skipped in the
 * ledger with the reason).
 *
 * Two activities, bound in the worker with the data source, the payload store
 * and the ledger: `openAiReview` lists the held items in `ai_review_items`
 * (what the API and the admin UI show, and where decisions are audited), and
 * `applyAiReview` merges the decisions the run received.
 */
import type { DataSource } from 'typeorm';
import { isPlainObject } from '@engine/dsl/references';
import type { AiReviewDecision, AiReviewRequest, AiReviewVerdict } from '@engine/shared/contracts';
import type { PayloadStore } from '@engine/activities/runtime/payload-store';
import type { ItemLedgerStore, ItemOutcome } from '@engine/activities/runtime/item-ledger';

/** What the step's review report (`ai_process.review`) says. */
export interface ReviewReport {
  below_confidence: number;
  pending: number;
  timeout_seconds: number;
  on_timeout: 'approve' | 'reject';
  /** Where the item list is in the output: `items`, or the step's `source_field`. */
  items_field: string;
}

/** One item held for review, as it sits in the step's output. */
export interface HeldItem {
  key: string;
  index: number;
  confidence: number | null;
  original: Record<string, unknown>;
  proposal: Record<string, unknown>;
}

/** What became of one held item. */
export interface ReviewOutcome {
  key: string;
  index: number;
  verdict: AiReviewVerdict;
  by: string | null;
  at: string | null;
  reason: string | null;
  timed_out: boolean;
  original: Record<string, unknown>;
}

const getPath = (value: unknown, path: string): unknown => path.split('.').reduce<unknown>((v, k) => (isPlainObject(v) ? v[k] : undefined), value);

function setPath(obj: Record<string, unknown>, path: string[], value: unknown): Record<string, unknown> {
  const [head, ...rest] = path;
  if (rest.length === 0) return { ...obj, [head]: value };
  const child = isPlainObject(obj[head]) ? (obj[head] as Record<string, unknown>) : {};
  return { ...obj, [head]: setPath(child, rest, value) };
}

/** The review report of an `ai_process` output, or null when it holds nothing for review. */
export function reviewReportOf(output: unknown): ReviewReport | null {
  const report = isPlainObject(output) && isPlainObject(output.ai_process) ? output.ai_process.review : undefined;
  return isPlainObject(report) && typeof report.pending === 'number' ? (report as unknown as ReviewReport) : null;
}

/** The items an `ai_process` output holds for review, in order. */
export function heldItems(output: unknown): HeldItem[] {
  const report = reviewReportOf(output);
  if (!report) return [];
  const list = getPath(output, report.items_field);
  if (!Array.isArray(list)) return [];
  const held: HeldItem[] = [];
  for (const item of list) {
    if (!isPlainObject(item) || !isPlainObject(item.ai_review) || item.ai_review.status !== 'pending') continue;
    const { ai_review: r, needs_review: _n, ai_suggestion: _s, ...original } = item;
    held.push({
      key: String(r.key),
      index: Number(r.index),
      confidence: typeof r.confidence === 'number' ? r.confidence : null,
      original,
      proposal: isPlainObject(r.proposal) ? r.proposal : original,
    });
  }
  return held;
}

/**
 * Merges the decisions into the output: each held item becomes its proposal
 * (approve), the operator's item (edit) or nothing (reject); an item nobody
 * decided gets the `rest` decision if one came, else `undecided`. Pure.
 */
export function applyReview(
  output: unknown,
  decisions: readonly AiReviewDecision[],
  undecided: AiReviewVerdict,
  timedOut: boolean,
): { output: unknown; outcomes: ReviewOutcome[] } {
  const report = reviewReportOf(output);
  if (!report) return { output, outcomes: [] };
  const list = getPath(output, report.items_field);
  if (!Array.isArray(list)) return { output, outcomes: [] };
  // The first decision of an item stands; the first `rest` decision covers the items left.
  const byKey = new Map<string, AiReviewDecision>();
  let rest: AiReviewDecision | null = null;
  for (const d of decisions) {
    if (d.rest) rest ??= d;
    else if (d.key !== undefined && !byKey.has(d.key)) byKey.set(d.key, d);
  }
  const outcomes: ReviewOutcome[] = [];
  const items: unknown[] = [];
  for (const item of list) {
    if (!isPlainObject(item) || !isPlainObject(item.ai_review) || item.ai_review.status !== 'pending') {
      items.push(item);
      continue;
    }
    const { ai_review: r, needs_review: _n, ai_suggestion: _s, ...original } = item;
    const key = String(r.key);
    const d = byKey.get(key) ?? rest;
    const verdict: AiReviewVerdict = d ? (d.decision === 'edit' && !isPlainObject(d.item) ? 'approve' : d.decision) : undecided;
    const by = d?.by ?? null;
    const at = d?.at ?? null;
    const reviewed = { by, at, decision: verdict, ...(d ? {} : { timed_out: timedOut }) };
    if (verdict === 'approve') {
      const proposal = isPlainObject(r.proposal) ? r.proposal : original;
      items.push({ ...proposal, ai_review: { status: 'approved', confidence: r.confidence ?? null, ...reviewed } });
    } else if (verdict === 'edit') {
      items.push({ ...(d!.item as Record<string, unknown>), ai_review: { status: 'edited', confidence: r.confidence ?? null, ...reviewed } });
    }
    outcomes.push({
      key,
      index: Number(r.index),
      verdict,
      by,
      at,
      reason: d?.reason ?? (d ? null : timedOut ? 'no decision before the review timed out' : 'no decision'),
      timed_out: !d && timedOut,
      original,
    });
  }
  const counts = { approved: 0, edited: 0, rejected: 0 };
  for (const o of outcomes) counts[o.verdict === 'approve' ? 'approved' : o.verdict === 'edit' ? 'edited' : 'rejected']++;
  const ai = { ...(output as { ai_process: Record<string, unknown> }).ai_process, review: { ...report, pending: 0, ...counts, timed_out: timedOut } };
  const merged = setPath(output as Record<string, unknown>, report.items_field.split('.'), items);
  return { output: { ...merged, ai_process: ai }, outcomes };
}

/** The ledger entry of one review outcome: ok (approved, edited) or skipped (rejected, with the reason). */
export function ledgerEntryOf(o: ReviewOutcome): ItemOutcome {
  const who = `${o.by ? ` by ${o.by}` : ''}${o.at ? ` at ${o.at}` : ''}`;
  if (o.verdict === 'reject') {
    return { key: o.key, index: o.index, status: 'skipped', code: o.timed_out ? 'AI_REVIEW_TIMED_OUT' : 'AI_REJECTED', message: `rejected${who}${o.reason ? `: ${o.reason}` : ''}`, item: o.original };
  }
  return { key: o.key, index: o.index, status: 'ok', code: o.verdict === 'edit' ? 'AI_EDITED' : 'AI_APPROVED', message: `${o.verdict === 'edit' ? 'edited' : 'approved'}${who}${o.timed_out ? ' (review timed out)' : ''}` };
}

/** The review activities of the worker. */
export function buildAiReviewActivities(deps: { dataSource: DataSource; payloads: PayloadStore; ledger?: ItemLedgerStore; clean: <T>(value: T) => T }) {
  return {
    /** Lists the items a step holds in `ai_review_items` (again on a retry: the rows stay as they are). */
    async openAiReview(req: { execution_id: string; step_key: string; output: unknown }): Promise<{ pending: number }> {
      const held = heldItems(await deps.payloads.hydrate(req.output));
      for (let start = 0; start < held.length; start += 1000) {
        const batch = held.slice(start, start + 1000).map((h) => deps.clean(h));
        await deps.dataSource.query(
          `INSERT INTO ai_review_items (execution_id, step_key, item_key, item_index, confidence, original, proposal)
           SELECT $1, $2, x.key, x.idx, x.confidence, x.original, x.proposal
             FROM unnest($3::text[], $4::int[], $5::float8[], $6::jsonb[], $7::jsonb[]) AS x(key, idx, confidence, original, proposal)
           ON CONFLICT (execution_id, step_key, item_key) DO NOTHING`,
          [
            req.execution_id,
            req.step_key,
            batch.map((h) => h.key),
            batch.map((h) => h.index),
            batch.map((h) => h.confidence),
            batch.map((h) => JSON.stringify(h.original)),
            batch.map((h) => JSON.stringify(h.proposal)),
          ],
        );
      }
      return { pending: held.length };
    },

    /**
     * Merges the decisions into the step's output, records each held item's
     * end in the ledger (a later batch of the same attempt: it wins over the
     * pending entry) and in `ai_review_items`, and returns the new output (a
     * payload ref when large, as step outputs are).
     */
    async applyAiReview(req: AiReviewRequest): Promise<{ output: unknown; summary: Record<string, unknown> }> {
      const { output, outcomes } = applyReview(await deps.payloads.hydrate(req.output), req.decisions, req.undecided, req.timed_out);
      if (deps.ledger) {
        const session = deps.ledger.open({ execution_id: req.execution_id, step_key: req.step_key, attempt: req.attempt }, deps.clean);
        for (const o of outcomes) session.record(ledgerEntryOf(o));
        await session.flush();
      }
      // What the run applied is the record (a decision the API took after the review closed never reached it);
      // items decided by nobody (a timeout) get theirs too.
      if (outcomes.length > 0) {
        await deps.dataSource.query(
          `UPDATE ai_review_items r SET applied = true, timed_out = x.timed_out,
                  decision = x.decision, reason = x.reason, decided_by = x.by, decided_at = COALESCE(x.at::timestamptz, now()),
                  edited = CASE WHEN x.decision = 'edit' THEN r.edited END
             FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bool[]) AS x(key, decision, reason, by, at, timed_out)
            WHERE r.execution_id = $1 AND r.step_key = $2 AND r.item_key = x.key`,
          [
            req.execution_id,
            req.step_key,
            outcomes.map((o) => o.key),
            outcomes.map((o) => o.verdict),
            outcomes.map((o) => o.reason),
            outcomes.map((o) => o.by),
            outcomes.map((o) => o.at),
            outcomes.map((o) => o.timed_out),
          ],
        );
      }
      const stored = await deps.payloads.offload(req.execution_id, req.step_key, output, { kind: 'review', attempt: req.attempt });
      const counts = { approved: 0, edited: 0, rejected: 0 };
      for (const o of outcomes) counts[o.verdict === 'approve' ? 'approved' : o.verdict === 'edit' ? 'edited' : 'rejected']++;
      return { output: stored, summary: { review: { ...counts, timed_out: req.timed_out } } };
    },
  };
}
