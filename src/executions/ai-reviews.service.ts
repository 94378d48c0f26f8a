import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { WorkflowNotFoundError } from '@temporalio/client';
import { ConflictError, NotFoundError, ValidationFailedError } from '@src/common/errors';
import { ExecutionsService } from '@src/executions/executions.service';
import { aiReviewQuery, aiReviewSignal, type AiReviewDecision, type AiReviewState } from '@engine/shared/contracts';

/** One item an ai_process step held for review, with its decision if it has one. */
export interface ReviewItemView {
  key: string;
  index: number;
  confidence: number | null;
  /** The item as the step received it. */
  original: Record<string, unknown>;
  /** The item as it continues if approved: the AI's answer applied. */
  proposal: Record<string, unknown>;
  decision: 'approve' | 'edit' | 'reject' | null;
  /** With edit: the item as it continues. */
  edited: Record<string, unknown> | null;
  reason: string | null;
  decided_by: string | null;
  decided_at: string | null;
  timed_out: boolean;
  applied: boolean;
}

/** The review of one step. */
export interface ReviewView {
  step_key: string;
  /** waiting: decisions are taken; applying / done: the decided items are being or were merged back. */
  status: 'waiting' | 'applying' | 'done';
  total: number;
  decided: number;
  deadline: string | null;
  items: ReviewItemView[];
}

interface ItemRow {
  step_key: string;
  item_key: string;
  item_index: number;
  confidence: number | null;
  original: Record<string, unknown>;
  proposal: Record<string, unknown>;
  decision: ReviewItemView['decision'];
  edited: Record<string, unknown> | null;
  reason: string | null;
  decided_by: string | null;
  decided_at: Date | null;
  timed_out: boolean;
  applied: boolean;
}

/** Items listed per step at most (the rest are decided with approve-all / reject-rest, or by key). */
const MAX_LISTED = 1_000;

/**
 * Reviews of `ai_process` steps' low-confidence answers (their `review`
 * config): what the run waits for, and the operator's decisions. A decision
 * is written to `ai_review_items` (who, when: the audit; the first decision
 * of an item stands) and then signalled to the run, which merges the decided
 * items back into the step's output once every item has one.
 */
@Injectable()
export class AiReviewsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly executions: ExecutionsService,
  ) {}

  async list(id: string): Promise<{ execution_id: string; reviews: ReviewView[] }> {
    const run = await this.executions.get(id);
    const rows: Array<ItemRow & { total: number; decided: number }> = await this.dataSource.query(
      `SELECT * FROM (
         SELECT r.*, count(*) OVER (PARTITION BY step_key)::int AS total, count(decision) OVER (PARTITION BY step_key)::int AS decided,
                row_number() OVER (PARTITION BY step_key ORDER BY item_index) AS n
           FROM ai_review_items r WHERE execution_id = $1) x
        WHERE n <= ${MAX_LISTED} ORDER BY step_key, item_index`,
      [run.execution_id],
    );
    // What the run says of its open reviews (their deadline, and whether it is still taking decisions).
    let live: AiReviewState[] = [];
    if (run.status === 'running' || run.status === 'pending') {
      // Bounded like the progress query: a run busy with queries answers late, and the page polls.
      live = await this.executions.boundedQuery(run.execution_id, aiReviewQuery, []);
    }
    const byStep = new Map<string, ReviewView>();
    for (const r of rows) {
      let view = byStep.get(r.step_key);
      if (!view) {
        const state = live.find((s) => s.step_key === r.step_key);
        view = { step_key: r.step_key, status: r.applied ? 'done' : (state?.status ?? 'waiting'), total: r.total, decided: r.decided, deadline: state?.deadline ?? null, items: [] };
        byStep.set(r.step_key, view);
      }
      if (r.applied) view.status = 'done';
      view.items.push(viewOf(r));
    }
    return { execution_id: run.execution_id, reviews: [...byStep.values()] };
  }

  /** Decides one held item; 409 when it has a decision already or the review is over. */
  async decide(
    id: string,
    stepKey: string,
    key: string,
    body: { decision: 'approve' | 'edit' | 'reject'; item?: Record<string, unknown>; reason?: string | null },
    by: string | null,
  ): Promise<ReviewItemView> {
    if (body.decision === 'edit' && (body.item === undefined || body.item === null || typeof body.item !== 'object' || Array.isArray(body.item))) {
      throw new ValidationFailedError([{ field: 'item', message: 'is required with decision edit: the item as it continues (a JSON object)' }]);
    }
    if (body.decision !== 'edit' && body.item !== undefined) throw new ValidationFailedError([{ field: 'item', message: 'goes with decision edit only' }]);
    const run = await this.open(id);
    const rows: ItemRow[] = returned(await this.dataSource.query(
      `UPDATE ai_review_items SET decision = $4, edited = $5::jsonb, reason = $6, decided_by = $7, decided_at = now()
        WHERE execution_id = $1 AND step_key = $2 AND item_key = $3 AND decision IS NULL AND NOT applied
        RETURNING *`,
      [run, stepKey, key, body.decision, body.decision === 'edit' ? JSON.stringify(body.item) : null, body.reason ?? null, by],
    ));
    if (rows.length === 0) {
      const [existing]: Array<{ decision: string | null; applied: boolean }> = await this.dataSource.query(
        `SELECT decision, applied FROM ai_review_items WHERE execution_id = $1 AND step_key = $2 AND item_key = $3`,
        [run, stepKey, key],
      );
      if (!existing) throw new NotFoundError('Review item', `${stepKey}/${key}`);
      if (existing.applied) throw new ConflictError('REVIEW_CLOSED', `the review of step ${stepKey} is over`, { execution_id: run, step_key: stepKey });
      throw new ConflictError('REVIEW_ITEM_DECIDED', `item ${key} of step ${stepKey} was decided already (${existing.decision})`, { execution_id: run, step_key: stepKey, key });
    }
    const row = rows[0];
    const decision: AiReviewDecision = {
      step_key: stepKey,
      key,
      decision: body.decision,
      ...(body.decision === 'edit' ? { item: body.item } : {}),
      reason: body.reason ?? null,
      by,
      at: new Date(row.decided_at!).toISOString(),
    };
    await this.signal(run, decision, () =>
      this.dataSource.query(`UPDATE ai_review_items SET decision = NULL, edited = NULL, reason = NULL, decided_by = NULL, decided_at = NULL WHERE id = $1`, [
        (row as unknown as { id: string }).id,
      ]),
    );
    return viewOf(row);
  }

  /** Approves every item of the step not decided yet (approve-all), or rejects them (reject-rest); returns how many. */
  async decideRest(id: string, stepKey: string, body: { decision: 'approve' | 'reject'; reason?: string | null }, by: string | null): Promise<{ step_key: string; decision: string; decided: number }> {
    const run = await this.open(id);
    const [known]: Array<{ n: number; applied: boolean }> = await this.dataSource.query(
      `SELECT count(*)::int AS n, bool_or(applied) AS applied FROM ai_review_items WHERE execution_id = $1 AND step_key = $2`,
      [run, stepKey],
    );
    if (!known || known.n === 0) throw new NotFoundError('Review', stepKey);
    if (known.applied) throw new ConflictError('REVIEW_CLOSED', `the review of step ${stepKey} is over`, { execution_id: run, step_key: stepKey });
    const rows: Array<{ id: string; decided_at: Date }> = returned(await this.dataSource.query(
      `UPDATE ai_review_items SET decision = $3, reason = $4, decided_by = $5, decided_at = now()
        WHERE execution_id = $1 AND step_key = $2 AND decision IS NULL AND NOT applied RETURNING id, decided_at`,
      [run, stepKey, body.decision, body.reason ?? null, by],
    ));
    const at = rows[0] ? new Date(rows[0].decided_at).toISOString() : new Date().toISOString();
    await this.signal(run, { step_key: stepKey, decision: body.decision, rest: true, reason: body.reason ?? null, by, at }, () =>
      rows.length > 0
        ? this.dataSource.query(`UPDATE ai_review_items SET decision = NULL, reason = NULL, decided_by = NULL, decided_at = NULL WHERE id = ANY($1::bigint[])`, [rows.map((r) => r.id)])
        : Promise.resolve(),
    );
    return { step_key: stepKey, decision: body.decision, decided: rows.length };
  }

  /** The run's execution id, if it still runs (a finished run takes no decision). */
  private async open(id: string): Promise<string> {
    const run = await this.executions.get(id);
    if (run.status !== 'running' && run.status !== 'pending') {
      throw new ConflictError('EXECUTION_FINISHED', `execution ${run.execution_id} is ${run.status}`, { execution_id: run.execution_id });
    }
    return run.execution_id;
  }

  /** Signals the decision to the run; undoes the recorded decision when the signal cannot be delivered. */
  private async signal(executionId: string, decision: AiReviewDecision, undo: () => Promise<unknown>): Promise<void> {
    try {
      await (await this.executions.handle(executionId)).signal(aiReviewSignal, decision);
    } catch (err) {
      await undo().catch(() => undefined);
      if (err instanceof WorkflowNotFoundError) throw new ConflictError('EXECUTION_FINISHED', `execution ${executionId} is no longer running`, { execution_id: executionId });
      throw err;
    }
  }
}

/** The rows an UPDATE ... RETURNING gave (TypeORM answers `[rows, count]` for an UPDATE on PostgreSQL). */
function returned<T>(result: unknown): T[] {
  return (Array.isArray(result) && Array.isArray(result[0]) ? result[0] : result) as T[];
}

function viewOf(r: ItemRow): ReviewItemView {
  return {
    key: r.item_key,
    index: r.item_index,
    confidence: r.confidence,
    original: r.original,
    proposal: r.proposal,
    decision: r.decision,
    edited: r.edited,
    reason: r.reason,
    decided_by: r.decided_by,
    decided_at: r.decided_at ? new Date(r.decided_at).toISOString() : null,
    timed_out: r.timed_out,
    applied: r.applied,
  };
}
