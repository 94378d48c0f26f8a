/**
 * The interpreter's logic on the time-skipping test server, with inline
 * activities: ordering, conditions, compensation order, retries with backoff,
 * approval timeouts, sibling cancellation, resume. Each scenario takes
 * milliseconds of wall time (timers and backoff are skipped).
 * With RECORD_HISTORIES=1, the scenarios named in `maybeRecord` are written to
 * test/fixtures/histories (new names only), where the replay test keeps them.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { approvalSignal, INTERPRETER_REVISION } from '@engine/shared/contracts';
import type { temporal } from '@temporalio/proto';
import { FastEnv, Recorder, failureType, maybeRecord as record, runInput, slim, step } from './time-skipping';

/** Each step activity's scheduled and completed event ids in a history, by activity id (the step key). */
function activitySpans(history: temporal.api.history.v1.IHistory): Record<string, { scheduled: number; completed: number }> {
  const spans: Record<string, { scheduled: number; completed: number }> = {};
  const keyOf = new Map<number, string>();
  for (const e of history.events ?? []) {
    const id = Number(e.eventId);
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled?.activityId) {
      keyOf.set(id, scheduled.activityId);
      spans[scheduled.activityId] = { scheduled: id, completed: Infinity };
    }
    const completed = e.activityTaskCompletedEventAttributes;
    const key = completed ? keyOf.get(Number(completed.scheduledEventId)) : undefined;
    if (key) spans[key].completed = id;
  }
  return spans;
}

// Every scenario with the runs of before revisions and with the revision new runs get (INTERPRETER_REVISION): the
// same calls, rows and results. Histories of the latter are recorded under `<name>-revision-<n>`.
for (const revision of [undefined, INTERPRETER_REVISION])
describe(`interpreter (time-skipping${revision === undefined ? '' : `, revision ${revision}`})`, () => {
  let sut: FastEnv;
  const maybeRecord = (name: string, history: temporal.api.history.v1.IHistory) => record(revision === undefined ? name : `${name}-revision-${revision}`, history);
  before(async () => {
    sut = await FastEnv.start({ revision });
  });
  after(async () => {
    await sut.close();
  });

  it('runs steps in dependency order, passing each output to its dependents, and parallel groups together', async () => {
    const rec = new Recorder();
    const { result } = await sut.run(
      runInput([
        step('fetch', { config: { output: { n: 1 } } }),
        step('amazon', { order: 2, parallel_group: 'push', can_run_parallel: true, config: { output: 'amazon' } }),
        step('ebay', { order: 2, parallel_group: 'push', can_run_parallel: true, config: { output: 'ebay' } }),

        step('report', { order: 3, config: { output: 'done' } }),
      ]),
      rec,
    );
    assert.equal((result as { status: string }).status, 'completed');
    const order = rec.calls.map((c) => c.step_key);
    assert.equal(order[0], 'fetch');
    assert.deepEqual(new Set(order.slice(1, 3)), new Set(['amazon', 'ebay']));
    assert.equal(order[3], 'report');
    assert.deepEqual(rec.started('amazon')[0].input, { n: 1 });
    assert.deepEqual(rec.started('report')[0].input, { amazon: 'amazon', ebay: 'ebay' });
    assert.equal(rec.finished()?.status, 'completed');
    assert.equal(rec.finished()?.output, 'done');
  });

  it('calls the steps of a stored version by reference (perf-activity-reference), and of an ad-hoc definition with the whole request', async () => {
    const steps = [step('a', { config: { output: { n: 2 } } }), step('b', { config: { output: 'done', read: '$steps.a.n' }, max_retries: 4 })];
    const stored = new Recorder();
    const { result } = await sut.run(runInput(steps, { config: { bulky: 'y'.repeat(300) } }, { n: 2 }), stored);
    assert.equal((result as { status: string }).status, 'completed');
    assert.equal(stored.finished()?.output, 'done');
    // What b reads of a travels with the call; its config does not.
    assert.deepEqual((stored.sent[1] as { steps?: unknown }).steps, { a: { n: 2 } });
    // From revision 2 the step's key is the activity id only.
    const refs = (revision ?? 0) >= 2 ? [{ version_id: 1 }, { version_id: 1 }] : [{ version_id: 1, step_key: 'a' }, { version_id: 1, step_key: 'b' }];
    assert.deepEqual(stored.sent.map((c) => ('step_ref' in c ? c.step_ref : null)), refs);
    assert.ok(stored.sent.every((c) => !JSON.stringify(c).includes('yyyy')));
    assert.deepEqual(stored.started('b')[0].input, { n: 2 });
    const adhoc = new Recorder();
    const input = runInput(steps, {}, { n: 2 });
    await sut.run({ ...input, definition: { ...input.definition, workflow_id: 0, version_id: 0, version: 0 } }, adhoc);
    assert.deepEqual(adhoc.sent.map((c) => ('step_type' in c ? c.step_key : null)), ['a', 'b']);
    assert.equal(adhoc.finished()?.output, 'done');
  });

  it('runs a slim input (what the API starts) by reference with no patch marker, making the same calls as the whole definition', async () => {
    const steps = [
      step('a', { config: { output: { n: 2 }, q: '$input.q', bulky: 'z'.repeat(300) } }),
      step('b', { config: { output: 'skipped' }, condition: { type: 'value_check', path: 'steps.a.n', operator: 'equals', value: 3 } }),
      step('c', { config: { output: 'done', read: '$steps.a.n' }, depends_on_steps: ['a'], max_retries: 4, timeout_seconds: 45 }),
      step('undo', { role: 'compensation', compensates: 'a' }),
    ];
    const whole = new Recorder();
    const full = await sut.run(runInput(steps, { config: { k: 1 } }, { q: 'shoes' }), whole);
    const thin = new Recorder();
    const { result, history } = await sut.run(slim(runInput(steps, { config: { k: 1 } }, { q: 'shoes' }), thin), thin);
    assert.deepEqual((result as { steps: unknown }).steps, (full.result as { steps: unknown }).steps);
    assert.deepEqual(thin.finished()?.output, { b: { n: 2 }, c: 'done' });
    assert.deepEqual(thin.finished()?.output, whole.finished()?.output);
    // The same calls, as sent and as the worker rebuilds them.
    // (A slim input is started at the current revision, which leaves the step key to the activity id.)
    const sameCall = (c: (typeof thin.sent)[number]) => ({ ...c, execution: null, ...('step_ref' in c ? { step_ref: { version_id: c.step_ref.version_id } } : {}) });
    assert.deepEqual(thin.sent.map(sameCall), whole.sent.map(sameCall));
    assert.deepEqual(thin.calls.map((c) => [c.step_key, c.input]), whole.calls.map((c) => [c.step_key, c.input]));
    assert.deepEqual(thin.rows.map((r) => [r.step_key, r.status]), whole.rows.map((r) => [r.step_key, r.status]));
    // No patch marker (nor its search attribute), and no step config in the start event.
    const markers = (history.events ?? []).filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch');
    assert.equal(markers.length, 0);
    assert.equal((full.history.events ?? []).filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch').length, 1);
    assert.ok(!(history.events ?? []).some((e) => e.upsertWorkflowSearchAttributesEventAttributes));
    const start = history.events![0].workflowExecutionStartedEventAttributes!.input!.payloads![0].data!;
    assert.ok(!Buffer.from(start).toString().includes('zzzz'));
    assert.ok(start.length < full.history.events![0].workflowExecutionStartedEventAttributes!.input!.payloads![0].data!.length / 2);
  });

  it('waits on a slim input\'s approval with its timeout, and fails a slim input with no stored version', async () => {
    const rec = new Recorder();
    const { result } = await sut.run(
      slim(runInput([step('review', { step_type: 'approval', config: { timeout_seconds: 3600, on_timeout: 'approve', instructions: 'Look' } }), step('publish')]), rec),
      rec,
    );
    assert.equal((result as { status: string }).status, 'completed');
    assert.deepEqual(rec.started('publish')[0].input, { approved: true, decision: 'approve', timed_out: true, data: null, by: null });
    const bad = new Recorder();
    const input = slim(runInput([step('a')]), bad);
    const { error } = await sut.run({ ...input, definition: { ...input.definition, version_id: 0 } }, bad);
    assert.equal(failureType(error), 'DEFINITION_INVALID');
    assert.equal(bad.calls.length, 0);
  });

  it('skips a step whose condition is false and passes its input through', async () => {
    const rec = new Recorder();
    const { result } = await sut.run(
      runInput(
        [
          step('a', { config: { output: { go: false } } }),
          step('b', { condition: { type: 'value_check', path: 'steps.a.go', operator: 'equals', value: true } }),
          step('c'),
        ],
        {},
      ),
      rec,
    );
    assert.equal((result as { steps: Record<string, { status: string }> }).steps.b.status, 'skipped');
    assert.deepEqual(rec.started('b'), []);
    assert.deepEqual(rec.started('c')[0].input, { go: false });
    assert.ok(rec.rows.some((r) => r.step_key === 'b' && r.status === 'skipped'));
  });

  it('fails the run when a required step\'s condition cannot be evaluated, and starts no other step of its batch', async () => {
    const rec = new Recorder();
    const { error, history } = await sut.run(
      runInput([
        step('first'),
        step('bad', { order: 2, can_run_parallel: true, condition: { type: 'value_check', path: 'steps..step', operator: 'equals', value: 1 } }),
        step('sibling', { order: 2, can_run_parallel: true }),
        step('undo_first', { role: 'compensation', compensates: 'first' }),
      ]),
      rec,
    );
    assert.equal(failureType(error), 'STEP_FAILED', String(error));
    assert.match(String((error as { cause?: Error }).cause?.message), /step "bad" failed: condition: 'steps..step' is not a valid path/);
    assert.deepEqual(rec.started('sibling'), [], 'the sibling of the failed condition must not start');
    const bad = rec.rows.find((r) => r.step_key === 'bad' && r.status === 'failed');
    assert.equal((bad?.error_details as { code?: string } | undefined)?.code, 'BAD_CONDITION');
    assert.deepEqual(rec.calls.map((c) => c.step_key), ['first', 'undo_first']);
    maybeRecord('failing-condition', history);
  });

  it('evaluates a condition that reads into a claim-checked output in the evaluateCondition activity', async () => {
    const rec = new Recorder();
    rec.payloads.set('p1', { ok: true, rows: [1, 2, 3] });
    const ref = { $payload: { id: 'p1', size: 30, sha256: 'test' } };
    const { result, history } = await sut.run(
      runInput([
        step('big', { config: { output: ref } }),
        step('when_ok', { condition: { type: 'value_check', path: 'steps.big.ok', operator: 'equals', value: true } }),
        step('when_not_ok', { order: 2, condition: { type: 'value_check', path: 'steps.big.ok', operator: 'equals', value: false } }),
      ]),
      rec,
    );
    const steps = (result as { steps: Record<string, { status: string }> }).steps;
    assert.equal(steps.when_ok.status, 'completed');
    assert.equal(steps.when_not_ok.status, 'skipped');
    assert.deepEqual(rec.started('when_ok')[0].input, ref, 'the payload ref itself is passed on, not its content');
    maybeRecord('claim-check-condition', history);
  });

  it('compensates in reverse completion order, then runs the on-failure steps by order then key', async () => {
    const rec = new Recorder();
    const { error } = await sut.run(
      runInput([
        step('a', { config: { output: 'A' } }),
        step('b', { config: { output: 'B' } }),
        step('c', { config: { fail: true, non_retryable: true } }),
        step('undo_a', { role: 'compensation', compensates: 'a' }),
        step('undo_b', { role: 'compensation', compensates: 'b' }),
        step('zeta', { role: 'on_failure', order: 50 }),
        step('alpha', { role: 'on_failure', order: 50 }),
      ]),
      rec,
    );
    assert.equal(failureType(error), 'STEP_FAILED');
    assert.deepEqual(rec.calls.map((c) => c.step_key), ['a', 'b', 'c', 'undo_b', 'undo_a', 'alpha', 'zeta']);
    assert.equal(rec.started('undo_b')[0].input, 'B');
    const finished = rec.finished();
    assert.equal(finished?.status, 'failed');
    assert.deepEqual((finished?.error_details as { failed_steps: string[] }).failed_steps, ['c']);
    assert.deepEqual(rec.runs.filter((e) => e.kind === 'finished').length, 1);
  });

  it('retries a failing step with exponential backoff (skipped time), then completes', async () => {
    const rec = new Recorder();
    const { result } = await sut.run(
      runInput([step('flaky', { config: { fail_attempts: 3 }, max_retries: 5, retry_delay_seconds: 10, retry_backoff: 2, max_retry_delay_seconds: 3600 })]),
      rec,
    );
    assert.equal((result as { status: string }).status, 'completed');
    const attempts = rec.started('flaky');
    assert.deepEqual(attempts.map((c) => c.attempt), [1, 2, 3, 4]);
    const gaps = attempts.slice(1).map((c, i) => Math.round((c.at_ms - attempts[i].at_ms) / 1000));
    assert.deepEqual(gaps, [10, 20, 40]);
  });

  it('gives up after max_retries and fails the run with the step\'s error', async () => {
    const rec = new Recorder();
    const { error } = await sut.run(
      runInput([step('broken', { config: { fail: true, code: 'PEER_DOWN' }, max_retries: 2, retry_delay_seconds: 30 })]),
      rec,
    );
    assert.equal(failureType(error), 'STEP_FAILED');
    assert.deepEqual(rec.started('broken').map((c) => c.attempt), [1, 2, 3]);
    const row = rec.rows.find((r) => r.step_key === 'broken' && r.status === 'failed');
    assert.equal((row?.error_details as { code?: string }).code, 'PEER_DOWN');
    assert.equal(row?.attempt, 3);
  });

  it('fails an approval that times out (a day, skipped) with APPROVAL_TIMED_OUT', async () => {
    const rec = new Recorder();
    const { error, history } = await sut.run(
      runInput([
        step('review', { step_type: 'approval', config: { timeout_seconds: 86400 } }),
        step('publish'),
        step('notify', { role: 'on_failure' }),
      ]),
      rec,
    );
    assert.equal(failureType(error), 'STEP_FAILED');
    const row = rec.rows.find((r) => r.step_key === 'review' && r.status === 'failed');
    assert.equal((row?.error_details as { code?: string }).code, 'APPROVAL_TIMED_OUT');
    assert.deepEqual(rec.calls.map((c) => c.step_key), ['notify']);
    maybeRecord('approval-timeout', history);
  });

  it('approves on timeout when the step says so, and continues', async () => {
    const rec = new Recorder();
    const { result } = await sut.run(
      runInput([step('review', { step_type: 'approval', config: { timeout_seconds: 3600, on_timeout: 'approve' } }), step('publish')]),
      rec,
    );
    assert.equal((result as { status: string }).status, 'completed');
    assert.deepEqual(rec.started('publish')[0].input, { approved: true, decision: 'approve', timed_out: true, data: null, by: null });
  });

  it('continues after an approval signal with its data', async () => {
    const rec = new Recorder();
    const { result } = await sut.run(
      runInput([step('review', { step_type: 'approval', config: {} }), step('publish')]),
      rec,
      async (handle) => {
        await handle.signal(approvalSignal, { step_key: 'review', decision: 'approve', data: { price: 10 }, by: 'ops' });
      },
    );
    assert.equal((result as { status: string }).status, 'completed');
    assert.deepEqual((rec.started('publish')[0].input as { data: unknown }).data, { price: 10 });
  });

  it('cancels a running sibling when a required step fails, and compensates what the sibling reported doing', async () => {
    const rec = new Recorder();
    const { error, history } = await sut.run(
      runInput([
        step('slow', { can_run_parallel: true, config: { block: true, partial: { pushed: 2 } }, timeout_seconds: 60 }),
        step('broken', { order: 1, can_run_parallel: true, config: { fail: true, non_retryable: true } }),
        step('undo_slow', { role: 'compensation', compensates: 'slow' }),
      ]),
      rec,
    );
    assert.equal(failureType(error), 'STEP_FAILED');
    const slow = rec.rows.filter((r) => r.step_key === 'slow').at(-1);
    assert.equal(slow?.status, 'cancelled');
    assert.equal(slow?.error_message, 'cancelled: another step failed');
    assert.deepEqual(rec.started('undo_slow')[0].input, { pushed: 2 });
    maybeRecord('sibling-cancellation', history);
  });

  it('resumes a restarted run: restored steps are not run again and their outputs feed the rest', async () => {
    const rec = new Recorder();
    const input = runInput([step('a'), step('b', { condition: { type: 'value_check', path: 'input.never', operator: 'exists' } }), step('c')]);
    input.resume = { from_execution_id: 'earlier-run', completed_outputs: { a: { restored: true } }, skipped_steps: ['b'] };
    const { result, history } = await sut.run(input, rec);
    assert.equal((result as { status: string }).status, 'completed');
    assert.deepEqual(rec.calls.map((c) => c.step_key), ['c']);
    assert.deepEqual(rec.started('c')[0].input, { restored: true });
    assert.ok(rec.rows.some((r) => r.step_key === 'a' && r.status === 'completed' && (r.output_summary as { restored_from?: string }).restored_from === 'earlier-run'));
    maybeRecord('resume', history);
  });

  it('runs a retry of items: the re-wrapped list feeds the step, and its request carries the idempotency root', async () => {
    const rec = new Recorder();
    const input = runInput([step('fetch'), step('list'), step('report')]);
    input.resume = { from_execution_id: 'first-run', completed_outputs: { fetch: { items: [{ sku: 'B' }] } }, skipped_steps: [] };
    input.idempotency_root = 'first-run';
    input.items_subset = true;
    const { result, history } = await sut.run(input, rec);
    assert.equal((result as { status: string }).status, 'completed');
    assert.deepEqual(rec.calls.map((c) => c.step_key), ['list', 'report']);
    const list = rec.started('list')[0];
    assert.deepEqual(list.input, { items: [{ sku: 'B' }] });
    assert.equal(list.idempotency_root, 'first-run');
    assert.equal(list.items_subset, true);
    assert.match(list.idempotency_key, /:list$/);
    assert.doesNotMatch(list.idempotency_key, /^first-run:/, 'the step key of the run itself stays its own');
    maybeRecord('retry-items', history);
  });

  it('runs steps of equal order side by side only when both are marked can_run_parallel; an unmarked one waits', async () => {
    const rec = new Recorder();
    const { result, history } = await sut.run(
      runInput(
        [
          step('prepare', { order: 1, config: { output: 'prepared' } }),
          step('push_a', { order: 2, can_run_parallel: true }),
          step('push_b', { order: 2, can_run_parallel: true }),
          step('zz_audit', { order: 2 }),
          step('report', { order: 3 }),
        ],
        { max_parallel_steps: 5 },
      ),
      rec,
    );
    assert.equal((result as { status: string }).status, 'completed');
    const spans = activitySpans(history);
    // The marked pair overlaps: both were scheduled before either completed.
    assert.ok(spans.push_b.scheduled < spans.push_a.completed && spans.push_a.scheduled < spans.push_b.completed, JSON.stringify(spans));
    // The unmarked step of the same order waits for both, and still reads the previous layer, not its siblings.
    assert.ok(spans.zz_audit.scheduled > spans.push_a.completed && spans.zz_audit.scheduled > spans.push_b.completed, JSON.stringify(spans));
    assert.deepEqual(rec.started('zz_audit')[0].input, 'prepared');
    assert.deepEqual(rec.started('report')[0].input, { push_a: { step: 'push_a' }, push_b: { step: 'push_b' }, zz_audit: { step: 'zz_audit' } });
    const markers = (history.events ?? []).flatMap((e) =>
      Object.values(e.markerRecordedEventAttributes?.details ?? {}).flatMap((d) => (d.payloads ?? []).map((p) => Buffer.from(p.data ?? []).toString())),
    );
    assert.ok(markers.some((m) => m.includes('can-run-parallel-same-order')), `the new ordering is recorded as a patch: ${markers.join(', ')}`);
    maybeRecord('can-run-parallel', history);
  });

  it('serializes two unmarked steps of equal order by key, each reading the run input', async () => {
    const rec = new Recorder();
    const { history } = await sut.run(runInput([step('second_b', { order: 1 }), step('first_a', { order: 1 })], {}, { n: 1 }), rec);
    const spans = activitySpans(history);
    assert.ok(spans.second_b.scheduled > spans.first_a.completed, JSON.stringify(spans));
    assert.deepEqual(rec.started('second_b')[0].input, { n: 1 });
  });

  it('skips an optional step that has no model configured (AI_NOT_CONFIGURED) with the reason, and completes the run', async () => {
    const rec = new Recorder();
    const reason = 'no model configured: set OPENAI_API_KEY on the worker';
    const { result, history } = await sut.run(
      runInput([
        step('fetch', { config: { output: [{ sku: 'A' }] } }),
        step('enrich', { is_optional: true, config: { fail: true, non_retryable: true, code: 'AI_NOT_CONFIGURED', message: reason } }),
        step('store'),
      ]),
      rec,
    );
    assert.equal((result as { status: string }).status, 'completed');
    assert.deepEqual((result as { steps: Record<string, { status: string }> }).steps.enrich, { status: 'skipped' });
    assert.deepEqual(rec.started('store')[0].input, [{ sku: 'A' }], 'the skipped step passes its input through');
    const row = rec.rows.filter((r) => r.step_key === 'enrich').at(-1);
    assert.equal(row?.status, 'skipped');
    assert.equal(row?.error_message, null);
    assert.deepEqual(row?.output_summary, { reason });
    const done = rec.finished();
    assert.equal(done?.status, 'completed');
    maybeRecord('optional-ai-unconfigured', history);
  });

  it('still fails the run when a required step has no model configured', async () => {
    const rec = new Recorder();
    const { error } = await sut.run(runInput([step('enrich', { config: { fail: true, non_retryable: true, code: 'AI_NOT_CONFIGURED' } })]), rec);
    assert.equal(failureType(error), 'STEP_FAILED');
    assert.equal(rec.rows.filter((r) => r.step_key === 'enrich').at(-1)?.status, 'failed');
  });

  it('records any other failure of an optional step as failed', async () => {
    const rec = new Recorder();
    const { result } = await sut.run(runInput([step('enrich', { is_optional: true, config: { fail: true, non_retryable: true, code: 'AI_API_ERROR' } })]), rec);
    assert.deepEqual((result as { steps: Record<string, { status: string }> }).steps.enrich, { status: 'failed' });
  });

  it('fails a step of a type no worker registers at once, non-retryably, with UNKNOWN_STEP_TYPE', async () => {
    const rec = new Recorder();
    const { error, history } = await sut.run(runInput([step('mystery', { step_type: 'no_such_type', max_retries: 5 })]), rec);
    assert.equal(failureType(error), 'STEP_FAILED');
    const row = rec.rows.find((r) => r.step_key === 'mystery' && r.status === 'failed');
    assert.equal((row?.error_details as { code?: string }).code, 'UNKNOWN_STEP_TYPE');
    assert.match(String(row?.error_message), /no executor is registered for step type 'no_such_type'/);
    const attempts = (history.events ?? []).filter((e) => e.activityTaskStartedEventAttributes).map((e) => e.activityTaskStartedEventAttributes!.attempt);
    assert.deepEqual(attempts, [1], 'tried once, not retried');
  });
});
