import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eventually } from '@test/support/harness';
import { startOpenAIStub, type OpenAIStub } from '@test/support/openai-stub';
import { startApi, uniqueCode, type ApiHarness } from './support';
import { runCli } from '@test/support/cli';

const API_KEY = 'sk-review-test';


interface ReviewItem {
  key: string;
  index: number;
  confidence: number | null;
  original: Record<string, unknown>;
  proposal: Record<string, unknown>;
  decision: string | null;
  edited: Record<string, unknown> | null;
  reason: string | null;
  decided_by: string | null;
  decided_at: string | null;
  timed_out: boolean;
  applied: boolean;
}
interface Review {
  step_key: string;
  status: string;
  total: number;
  decided: number;
  deadline: string | null;
  items: ReviewItem[];
}
interface LedgerItem {
  step_key: string;
  item_key: string;
  item_index: number;
  status: string;
  reason_code: string | null;
  message: string | null;
}

/** Six products; the stub answers those marked `unsure` with confidence 0.4, the others with 0.95. */
const PRODUCTS = [
  { sku: 'A', title: 'Shoe' },
  { sku: 'B', title: 'Bag', unsure: true },
  { sku: 'C', title: 'Belt', unsure: true },
  { sku: 'D', title: 'Hat' },
  { sku: 'E', title: 'Scarf', unsure: true },
  { sku: 'F', title: 'Sock', unsure: true },
];

describe('AI output behind a human: the review of ai_process answers', () => {
  let api: ApiHarness;
  let stub: OpenAIStub;

  before(async () => {
    stub = await startOpenAIStub({ apiKey: API_KEY, confidence: (data) => (data.unsure ? 0.4 : 0.95) });
    const env = { OPENAI_BASE_URL: stub.baseUrl, OPENAI_API_KEY: API_KEY, OPENAI_MODEL: 'stub-model' };
    api = await startApi({ env, workerEnv: env });
  });
  after(async () => {
    await api?.close();
    await stub?.close();
  });

  /** Starts a run of enrich (held below 0.8) -> after (echoes what it got); returns its id. */
  async function start(review: Record<string, unknown>): Promise<string> {
    const code = uniqueCode('review');
    const steps = [
      { key: 'enrich', name: 'Enrich', step_type: 'ai_process', config: { task_type: 'enrich_product', source_field: 'products', review } },
      { key: 'after', name: 'After', step_type: 'test_echo', config: {}, depends_on_steps: ['enrich'] },
    ];
    const wf = await api.request<{ id: number }>('POST', '/workflows/', { body: { code, name: code, steps } });
    assert.equal(wf.status, 201, wf.text);
    const run = await api.request<{ execution_id: string }>('POST', `/workflows/${wf.body.id}/execute/`, { body: { input_data: { products: PRODUCTS } } });
    assert.equal(run.status, 202, run.text);
    return run.body.execution_id;
  }

  const reviewsOf = async (id: string) => (await api.request<{ reviews: Review[] }>('GET', `/executions/${id}/reviews/`)).body.reviews;
  const finished = (id: string) =>
    eventually(async () => {
      const r = await api.request<{ status: string; output_data: unknown }>('GET', `/executions/${id}/`);
      return r.body.status === 'completed' || r.body.status === 'failed' ? r.body : null;
    }, 30_000, `run ${id} ends`);
  const ledgerOf = async (id: string) =>
    (await api.request<{ results: LedgerItem[] }>('GET', `/executions/${id}/items/?step=enrich&page_size=100`)).body.results.map((i) => [i.item_key, i.status, i.reason_code]);

  it('holds the low-confidence items; approve, edit and reject one by one, reject the rest; downstream sees exactly the approved and edited', async () => {
    const id = await start({ below_confidence: 0.8 });
    const [review] = await eventually(async () => {
      const r = await reviewsOf(id);
      return r.length === 1 && r[0].status === 'waiting' ? r : null;
    }, 30_000, 'the review opens');
    assert.equal(review.step_key, 'enrich');
    assert.deepEqual(review.items.map((i) => [i.key, i.index, i.confidence]), [['B', 1, 0.4], ['C', 2, 0.4], ['E', 4, 0.4], ['F', 5, 0.4]]);
    // The operator sees the original and what the AI proposes.
    const b = review.items[0];
    assert.deepEqual(b.original, PRODUCTS[1]);
    assert.equal((b.proposal.ai as Record<string, { reviewed: boolean }>).enrich_product.reviewed, true);
    assert.equal(b.proposal.sku, 'B');
    // The run waits: the step shows waiting and the next step has not run.
    const run = await api.request<{ status: string; steps: Array<{ step_key: string; status: string }> }>('GET', `/executions/${id}/`);
    assert.equal(run.body.status, 'running');
    assert.deepEqual(run.body.steps.map((s) => [s.step_key, s.status]), [['enrich', 'waiting'], ['after', 'pending']]);
    // Until decided, the ledger says the held items wait.
    assert.deepEqual((await ledgerOf(id)).filter(([, , code]) => code === 'AI_REVIEW_PENDING').map(([k]) => k), ['B', 'C', 'E', 'F']);

    const decide = (key: string, body: Record<string, unknown>) => api.request<ReviewItem & { code?: string; message?: string }>('POST', `/executions/${id}/reviews/enrich/items/${key}/`, { body });
    const approved = await decide('B', { decision: 'approve' });
    assert.equal(approved.status, 202, approved.text);
    assert.equal(approved.body.decision, 'approve');
    assert.match(approved.body.decided_by ?? '', /^key:test-admin-/);
    const noItem = await decide('C', { decision: 'edit' });
    assert.equal(noItem.status, 400);
    assert.match(noItem.text, /item/);
    assert.equal((await decide('C', { decision: 'edit', item: { sku: 'C', title: 'Belt (fixed by hand)' } })).status, 202);
    assert.equal((await decide('E', { decision: 'reject', reason: 'wrong brand' })).status, 202);
    // The first decision stands; an unknown item is a 404; a viewer may not decide.
    const again = await decide('B', { decision: 'reject' });
    assert.equal(again.status, 409);
    assert.equal(again.body.code, 'REVIEW_ITEM_DECIDED');
    assert.equal((await decide('Z', { decision: 'approve' })).status, 404);
    const viewer = await api.request('POST', `/executions/${id}/reviews/enrich/items/F/`, { body: { decision: 'approve' }, key: api.keys.viewer });
    assert.equal(viewer.status, 403);
    const rest = await api.request<{ decided: number }>('POST', `/executions/${id}/reviews/enrich/rest/`, { body: { decision: 'reject', reason: 'not worth it' } });
    assert.equal(rest.status, 202, rest.text);
    assert.equal(rest.body.decided, 1);

    const done = await finished(id);
    assert.equal(done.status, 'completed');
    // The next step got the confident items, the approved proposal and the edited item, in their order; E and F are gone.
    const got = (done.output_data as { input: { products: Array<Record<string, unknown>> } }).input.products;
    assert.deepEqual(got.map((p) => p.sku), ['A', 'B', 'C', 'D']);
    assert.equal(got[2].title, 'Belt (fixed by hand)');
    assert.equal((got[1].ai_review as { status: string }).status, 'approved');
    assert.equal((got[1].ai as Record<string, { confidence: number }>).enrich_product.confidence, 0.4);
    assert.equal(got[1].needs_review, undefined);

    // The ledger: approved and edited ok, rejected skipped with the reason and who.
    assert.deepEqual(await ledgerOf(id), [
      ['A', 'ok', null],
      ['B', 'ok', 'AI_APPROVED'],
      ['C', 'ok', 'AI_EDITED'],
      ['D', 'ok', null],
      ['E', 'skipped', 'AI_REJECTED'],
      ['F', 'skipped', 'AI_REJECTED'],
    ]);
    const skipped = await api.request<{ results: LedgerItem[] }>('GET', `/executions/${id}/items/?status=skipped`);
    assert.match(skipped.body.results[0].message ?? '', /^rejected by key:test-admin-\d+ at .*: wrong brand$/);
    assert.match(skipped.body.results[1].message ?? '', /not worth it$/);

    // The audit: every item decided, by whom and when, and applied.
    const [closed] = await reviewsOf(id);
    assert.equal(closed.status, 'done');
    assert.deepEqual(closed.items.map((i) => [i.key, i.decision, i.applied, i.timed_out]), [
      ['B', 'approve', true, false],
      ['C', 'edit', true, false],
      ['E', 'reject', true, false],
      ['F', 'reject', true, false],
    ]);
    assert.ok(closed.items.every((i) => i.decided_by?.startsWith('key:test-admin-') && i.decided_at));
    assert.deepEqual(closed.items[1].edited, { sku: 'C', title: 'Belt (fixed by hand)' });
    const late = await decide('F', { decision: 'approve' });
    assert.equal(late.status, 409);
  });

  it('decides the items nobody decided when the review times out (on_timeout approve)', async () => {
    const id = await start({ below_confidence: 0.8, timeout_seconds: 2, on_timeout: 'approve' });
    await eventually(async () => ((await reviewsOf(id))[0]?.status === 'waiting' ? true : null), 30_000, 'the review opens');
    const rejected = await api.request('POST', `/executions/${id}/reviews/enrich/items/E/`, { body: { decision: 'reject', reason: 'no' } });
    assert.equal(rejected.status, 202, `${rejected.text} ${api.logLines.slice(-3).join('\n')}`);
    const done = await finished(id);
    assert.equal(done.status, 'completed');
    const got = (done.output_data as { input: { products: Array<Record<string, unknown>> } }).input.products;
    assert.deepEqual(got.map((p) => p.sku), ['A', 'B', 'C', 'D', 'F']);
    const [closed] = await reviewsOf(id);
    assert.deepEqual(closed.items.map((i) => [i.key, i.decision, i.timed_out]), [
      ['B', 'approve', true],
      ['C', 'approve', true],
      ['E', 'reject', false],
      ['F', 'approve', true],
    ]);
    const items = await api.request<{ results: LedgerItem[] }>('GET', `/executions/${id}/items/?step=enrich&q=timed`);
    assert.deepEqual(items.body.results.map((i) => [i.item_key, i.reason_code]), [['B', 'AI_APPROVED'], ['C', 'AI_APPROVED'], ['F', 'AI_APPROVED']]);
  });

  it('decides from the CLI: lists the held items, approves one over the API, rejects the rest directly', async () => {
    const id = await start({ below_confidence: 0.8 });
    await eventually(async () => ((await reviewsOf(id))[0]?.status === 'waiting' ? true : null), 30_000, 'the review opens');
    const listed = await runCli(['executions', 'review', id]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /step enrich: waiting, 0 of 4 decided/);
    assert.match(listed.stdout, /B\s+1\s+0\.4\s+\(waiting\)/);
    const bad = await runCli(['executions', 'review', id, '--step', 'enrich', '--item', 'C', '--edit', '[1]']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /--edit must be a JSON object/);
    const approved = await runCli(['executions', 'review', id, '--step', 'enrich', '--item', 'B', '--approve', '--api-url', api.base], { MERCHFLOW_API_KEY: api.keys.operator });
    assert.equal(approved.code, 0, approved.stderr);
    assert.match(approved.stdout, /B: approve \(by key:test-operator-/);
    const rest = await runCli(['executions', 'review', id, '--step', 'enrich', '--reject-rest', '--reason', 'from the CLI']);
    assert.equal(rest.code, 0, rest.stderr);
    assert.match(rest.stdout, /rejected 3 item\(s\) of step enrich/);
    const done = await finished(id);
    const got = (done.output_data as { input: { products: Array<Record<string, unknown>> } }).input.products;
    assert.deepEqual(got.map((p) => p.sku), ['A', 'B', 'D']);
  });

  it('refuses a review config that is not well formed, naming the field', async () => {
    const code = uniqueCode('review');
    const steps = [{ key: 'enrich', name: 'Enrich', step_type: 'ai_process', config: { task_type: 'enrich_product', review: { below_confidence: 2 } } }];
    const wf = await api.request('POST', '/workflows/', { body: { code, name: code, steps } });
    assert.equal(wf.status, 400);
    assert.match(wf.text, /review\.below_confidence/);
  });
});
