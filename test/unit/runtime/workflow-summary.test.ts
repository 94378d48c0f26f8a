/**
 * What a step's result carries of its summary (temporal/activities/runtime/step-runner.ts
 * `workflowSummary`): only what the interpreter reads; the step row keeps the whole summary.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { workflowSummary } from '@engine/activities/runtime/step-runner';

describe('workflowSummary', () => {
  it('keeps the failed items count, and nothing else of an ordinary step', () => {
    assert.deepEqual(workflowSummary({ ok: true, step: 'a', count: 3 }), {});
    assert.deepEqual(workflowSummary({ count: 10, failed_items: 2 }), { failed_items: 2 });
  });

  it('keeps the whole summary of a step holding items for review (shown on its waiting row)', () => {
    const held = { task_type: 'enrich_product', processed: 4, held: 2, review_pending: 2, failed_items: 1 };
    assert.deepEqual(workflowSummary(held), held);
    assert.deepEqual(workflowSummary({ held: 0, review_pending: 0 }), {});
  });
});
