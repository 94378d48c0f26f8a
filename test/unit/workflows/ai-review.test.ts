/**
 * The interpreter's review of an `ai_process` step's held items, on the
 * time-skipping test server: it waits for a decision per item (signals),
 * merges the decided items back with the real merge, and on a timeout
 * decides the rest by `on_timeout`. With RECORD_HISTORIES=1 the runs are
 * recorded for the replay test.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { WorkflowHandle } from '@temporalio/client';
import { aiReviewQuery, aiReviewSignal, type StepRequest, type StepResult } from '@engine/shared/contracts';
import { FastEnv, Recorder, maybeRecord, runInput, slim, step } from './time-skipping';

const held = (sku: string, index: number) => ({
  sku,
  needs_review: true,
  ai_suggestion: { confidence: 0.4 },
  ai_review: { status: 'pending', key: sku, index, confidence: 0.4, proposal: { sku, title: `${sku} by the AI` } },
});

/** An ai_process step that held B and C of A, B, C, D. */
async function aiStep(req: StepRequest): Promise<StepResult> {
  const output = {
    items: [{ sku: 'A' }, held('B', 1), held('C', 2), { sku: 'D' }],
    ai_process: { held: 2, review: { below_confidence: 0.8, pending: 2, timeout_seconds: 0, on_timeout: 'reject', items_field: 'items' } },
  };
  return { output, attempt: 1, summary: { held: 2, review_pending: 2, step: req.step_key } };
}

const enrich = (review: Record<string, unknown>) => step('enrich', { step_type: 'ai_process', config: { task_type: 'enrich_product', review } });
const waiting = async (handle: WorkflowHandle) => {
  for (;;) {
    const states = await handle.query(aiReviewQuery).catch(() => []);
    if (states[0]?.status === 'waiting') return;
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('interpreter: review of ai_process answers', () => {
  let sut: FastEnv;
  before(async () => {
    sut = await FastEnv.start();
  });
  after(async () => {
    await sut?.close();
  });

  it('waits for a decision on every held item, keeps the first per item, and passes on the approved and edited ones in order', async () => {
    const rec = new Recorder();
    rec.steps.ai_process = aiStep;
    const at = '2026-12-03T08:00:00.000Z';
    const { result, history } = await sut.run(runInput([enrich({ below_confidence: 0.8 }), step('after', { depends_on_steps: ['enrich'] })]), rec, async (handle) => {
      await waiting(handle);
      assert.equal(rec.started('after').length, 0, 'the next step waits for the review');
      await handle.signal(aiReviewSignal, { step_key: 'enrich', key: 'B', decision: 'edit', item: { sku: 'B', title: 'by hand' }, by: 'ops', at });
      // A second decision on B is ignored: the first stands.
      await handle.signal(aiReviewSignal, { step_key: 'enrich', key: 'B', decision: 'reject', by: 'ops', at });
      await handle.signal(aiReviewSignal, { step_key: 'enrich', key: 'C', decision: 'reject', reason: 'wrong', by: 'ops', at });
    });
    assert.equal((result as { status: string }).status, 'completed');
    const input = rec.started('after')[0].input as { items: Array<Record<string, unknown>>; ai_process: { review: Record<string, unknown> } };
    assert.deepEqual(input.items.map((i) => [i.sku, i.title ?? null]), [['A', null], ['B', 'by hand'], ['D', null]]);
    assert.deepEqual(input.ai_process.review, { below_confidence: 0.8, pending: 0, timeout_seconds: 0, on_timeout: 'reject', items_field: 'items', approved: 0, edited: 1, rejected: 1, timed_out: false });
    const enrichRows = rec.rows.filter((r) => r.step_key === 'enrich').map((r) => r.status);
    assert.deepEqual(enrichRows, ['waiting', 'completed']);
    assert.deepEqual(rec.rows.filter((r) => r.step_key === 'enrich').at(-1)?.output_summary?.review, { approved: 0, edited: 1, rejected: 1, timed_out: false });
    maybeRecord('approve-ai-review', history);
  });

  it('decides the items left by on_timeout when the review times out, and takes a rest decision for the others', async () => {
    const rec = new Recorder();
    rec.steps.ai_process = aiStep;
    const { history } = await sut.run(runInput([enrich({ below_confidence: 0.8, timeout_seconds: 3600, on_timeout: 'approve' }), step('after', { depends_on_steps: ['enrich'] })]), rec, async (handle) => {
      await waiting(handle);
      await handle.signal(aiReviewSignal, { step_key: 'enrich', key: 'C', decision: 'reject', by: 'ops', at: '2026-12-03T08:00:00.000Z' });
    });
    const input = rec.started('after')[0].input as { items: Array<Record<string, unknown>> };
    assert.deepEqual(input.items.map((i) => [i.sku, (i.ai_review as { status?: string } | undefined)?.status ?? null]), [['A', null], ['B', 'approved'], ['D', null]]);
    assert.equal(input.items[1].title, 'B by the AI');
    maybeRecord('approve-ai-review-timeout', history);

    const rest = new Recorder();
    rest.steps.ai_process = aiStep;
    await sut.run(runInput([enrich({ below_confidence: 0.8 }), step('after', { depends_on_steps: ['enrich'] })]), rest, async (handle) => {
      await waiting(handle);
      await handle.signal(aiReviewSignal, { step_key: 'enrich', key: 'B', decision: 'approve', by: 'ops', at: '2026-12-03T08:00:00.000Z' });
      await handle.signal(aiReviewSignal, { step_key: 'enrich', rest: true, decision: 'reject', by: 'ops', at: '2026-12-03T08:00:00.000Z' });
    });
    const got = rest.started('after')[0].input as { items: Array<Record<string, unknown>> };
    assert.deepEqual(got.items.map((i) => i.sku), ['A', 'B', 'D']);
  });

  it('times the review of a slim input (what the API starts) out as its stored config says', async () => {
    const rec = new Recorder();
    rec.steps.ai_process = aiStep;
    const input = slim(runInput([enrich({ below_confidence: 0.8, timeout_seconds: 3600, on_timeout: 'approve' }), step('after', { depends_on_steps: ['enrich'] })]), rec);
    const { history } = await sut.run(input, rec, async (handle) => {
      await waiting(handle);
      const states = await handle.query(aiReviewQuery);
      assert.ok(states[0]?.deadline, 'the review has the deadline of its timeout_seconds');
    });
    const got = rec.started('after')[0].input as { items: Array<Record<string, unknown>> };
    assert.deepEqual(got.items.map((i) => [i.sku, (i.ai_review as { status?: string } | undefined)?.status ?? null]), [['A', null], ['B', 'approved'], ['C', 'approved'], ['D', null]]);
    const timer = (history.events ?? []).find((e) => e.timerStartedEventAttributes);
    assert.equal(Number(timer?.timerStartedEventAttributes?.startToFireTimeout?.seconds), 3600);
  });
});
