import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RunResult } from '@engine/shared/contracts';
import { AI_PROCESS_STEP_TYPE, aiProcessExecutorModule, type AiProcessSummary } from '@engine/activities/ai_process';
import { startHarness, type Harness } from '@test/support/harness';
import { lazyExecutors } from '@test/support/deps';
import { startOpenAIStub, type OpenAIStub, type StubAction } from '@test/support/openai-stub';
import { installSocketGuard, type SocketGuard } from '@test/integration/http/support';

const API_KEY = `sk-test-${Math.random().toString(36).slice(2)}`;
const WRONG_KEY_SECRET = 'AI_TEST_WRONG_KEY';
const WRONG_KEY = `sk-wrong-${Math.random().toString(36).slice(2)}`;

type Item = Record<string, unknown>;
type Output = { products?: Item[]; orders?: Item[]; items?: Item[]; ai_process: AiProcessSummary } & Record<string, unknown>;

describe(aiProcessExecutorModule.type, () => {
  let h: Harness;
  let stub: OpenAIStub;
  let guard: SocketGuard;

  before(async () => {
    guard = installSocketGuard();
    process.env[`MERCHFLOW_SECRET_${WRONG_KEY_SECRET}`] = WRONG_KEY;
    // Items that say so get a low-confidence answer.
    stub = await startOpenAIStub({ apiKey: API_KEY, confidence: (data) => (data.unsure ? 0.4 : 0.95) });
    h = await startHarness({
      executors: lazyExecutors(() => h, [aiProcessExecutorModule]),
      env: { OPENAI_BASE_URL: stub.baseUrl, OPENAI_API_KEY: API_KEY, OPENAI_MODEL: 'stub-model' },
    });
  });
  after(async () => {
    await h.close();
    await stub.close();
    delete process.env[`MERCHFLOW_SECRET_${WRONG_KEY_SECRET}`];
    guard.restore();
    assert.deepEqual(guard.violations, [], 'no socket may reach a non-loopback address');
  });

  const ai = (config: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    key: 'ai',
    name: 'ai',
    step_type: AI_PROCESS_STEP_TYPE,
    config,
    retry_delay_seconds: 1,
    ...extra,
  });

  /** Runs a one-step workflow; `script` queues the stub's answers for its requests. */
  async function run(steps: Array<Record<string, unknown>>, input: unknown, config: Record<string, unknown> = {}, script: StubAction[] = []) {
    stub.script.splice(0, stub.script.length, ...script);
    const firstRequest = stub.requests.length;
    const id = await h.createWorkflow({ steps: steps as never, config } as never);
    const started = await h.start(id, input);
    const res = await h.wait(started.execution_id);
    const stepRows = await h.executions.steps(started.execution_id);
    return {
      executionId: started.execution_id,
      res,
      output: (res.result as RunResult | undefined)?.output as Output,
      step: stepRows.find((s) => s.step_key === 'ai')!,
      requests: () => stub.requests.slice(firstRequest),
    };
  }
  const products = (n: number, extra: (i: number) => Item = () => ({})) =>
    Array.from({ length: n }, (_, i) => ({ sku: `SKU-${i}`, title: `Product ${i}`, ...extra(i) }));

  it("enriches with the specification's config: applies confident results, flags unsure ones, mirrors the input", async () => {
    const input = { supplier_id: 9, products: products(5, (i) => (i === 3 ? { unsure: true, attributes: { colour: 'red' } } : { attributes: { colour: 'red' } })) };
    const r = await run([ai({ task_type: 'enrich_product', source_field: 'products' })], input);
    assert.equal(r.res.status, 'completed', String(r.res.error));
    assert.equal(r.output.supplier_id, 9);
    assert.deepEqual(pick(r.output.ai_process, ['task_type', 'model', 'processed', 'applied', 'flagged', 'failed', 'requests']), {
      task_type: 'enrich_product',
      model: 'stub-model',
      processed: 5,
      applied: 4,
      flagged: 1,
      failed: 0,
      requests: 1,
    });
    const [applied, , , flagged] = r.output.products!;
    assert.equal(applied.description, 'description for Product 0');
    assert.deepEqual(applied.bullet_points, ['bullet_point for Product 0']);
    // The stub names its one suggested attribute after the schema field; the supplier's own attributes are kept.
    assert.deepEqual(applied.attributes, { 'name for Product 0': 'value for Product 0', colour: 'red' });
    assert.deepEqual(applied.ai, { enrich_product: { model: 'stub-model', confidence: 0.95 } });
    assert.equal(applied.needs_review, undefined);
    // A low-confidence answer is not applied: the item keeps its values and carries the suggestion.
    assert.equal(flagged.needs_review, true);
    assert.equal(flagged.description, undefined);
    assert.deepEqual(flagged.attributes, { colour: 'red' });
    assert.equal((flagged.ai_suggestion as Item).confidence, 0.4);
    assert.equal((flagged.ai_suggestion as Item).description, 'description for Product 3');

    const [req] = r.requests();
    assert.equal(req.headers.authorization, `Bearer ${API_KEY}`);
    assert.equal(req.body.model, 'stub-model');
    assert.equal(req.body.response_format?.type, 'json_schema');
    assert.equal(req.body.response_format?.json_schema?.strict, true);
    assert.equal(req.body.response_format?.json_schema?.name, 'enrich_product_results');
    assert.equal(req.items.length, 5);
    assert.equal(r.step.output_summary?.applied, 4);
  });

  it('sends items in batches with bounded concurrency', async () => {
    stub.options.delayMs = 150;
    stub.maxInFlight = 0;
    try {
      const r = await run([ai({ task_type: 'categorize', source_field: 'catalogue.products', categories: ['Shoes', 'Bags'], batch_size: 5, concurrency: 3 })], {
        catalogue: { products: products(23, (i) => ({ title: i % 2 ? `Leather bags ${i}` : `Running shoes ${i}` })) },
      });
      assert.equal(r.res.status, 'completed', String(r.res.error));
      const sizes = r.requests().map((q) => q.items.length).sort((a, b) => b - a);
      assert.deepEqual(sizes, [5, 5, 5, 5, 3]);
      assert.ok(stub.maxInFlight > 1 && stub.maxInFlight <= 3, `in flight at once: ${stub.maxInFlight}`);
      const out = (r.output.catalogue as { products: Item[] }).products;
      assert.equal(out.length, 23);
      assert.deepEqual(out.slice(0, 2).map((p) => [p.sku, p.category]), [['SKU-0', 'Shoes'], ['SKU-1', 'Bags']], 'items keep their order');
      const schema = r.requests()[0].body.response_format!.json_schema!.schema as { properties: { results: { items: { properties: { category: { enum: string[] } } } } } };
      assert.deepEqual(schema.properties.results.items.properties.category.enum, ['Shoes', 'Bags']);
    } finally {
      stub.options.delayMs = 0;
    }
  });

  it('asks once more after invalid output, then records item errors without failing the step', async () => {
    const steps = [ai({ task_type: 'optimize_listing' })];
    const input = products(3);
    const r = await run(steps, input, {}, [{ kind: 'invalid_json' }]);
    assert.equal(r.res.status, 'completed', String(r.res.error));
    assert.equal(r.requests().length, 2);
    assert.deepEqual(pick(r.output.ai_process, ['applied', 'failed']), { applied: 3, failed: 0 });
    assert.equal(r.output.items![0].title, 'Product 0 (ai)');

    const p = await run(steps, input, {}, [{ kind: 'drop_last' }]);
    assert.deepEqual(p.requests().map((q) => q.items.length), [3, 1], 'only the unanswered item is asked again');
    assert.deepEqual(pick(p.output.ai_process, ['applied', 'failed']), { applied: 3, failed: 0 });

    // Every item answered badly twice: with a tolerance of 3 the step completes with failures, each item listed.
    const b = await run([ai({ task_type: 'optimize_listing', max_failed_items: 3 })], input, {}, [{ kind: 'schema_violation' }, { kind: 'schema_violation' }]);
    assert.equal(b.res.status, 'completed');
    assert.equal((b.res.result as RunResult).outcome, 'completed_with_failures');
    assert.equal(b.requests().length, 2);
    assert.deepEqual(pick(b.output.ai_process, ['applied', 'flagged', 'failed']), { applied: 0, flagged: 0, failed: 3 });
    const item = b.output.items![0];
    assert.equal(item.title, 'Product 0', 'a failed item keeps its values');
    assert.match((item.ai_error as { message: string }).message, /does not match the schema at confidence/);
    const failedItems = b.output.ai_process as unknown as { failed_items: Array<{ key: string; code: string; message: string }>; failed_items_total: number };
    assert.equal(failedItems.failed_items_total, 3);
    assert.deepEqual(failedItems.failed_items.map((f) => [f.key, f.code]), [['SKU-0', 'AI_NO_RESULT'], ['SKU-1', 'AI_NO_RESULT'], ['SKU-2', 'AI_NO_RESULT']]);
    assert.equal(b.step.failed_items_total, 3);

    // Without a tolerance, a step where every item failed fails (once: a bad answer is not retried).
    const all = await run(steps, input, {}, [{ kind: 'schema_violation' }, { kind: 'schema_violation' }]);
    assert.equal(all.res.status, 'failed');
    assert.equal(all.step.status, 'failed');
    assert.match(all.step.error_message ?? '', /3 of 3 items failed \(every item failed\)/);
    assert.equal(all.step.failed_items_total, 3);
    assert.equal(all.requests().length, 2);
  });

  it('retries rate limits: in the client with Retry-After, then as a retryable activity failure', async () => {
    const steps = [ai({ task_type: 'categorize', categories: ['Shoes', 'Bags'] }, { max_retries: 2 })];
    const q = await run(steps, products(2), {}, [{ kind: 'status', status: 429, retryAfterSeconds: 1 }]);
    assert.equal(q.res.status, 'completed', String(q.res.error));
    assert.equal(q.requests().length, 2);
    assert.equal(q.step.attempt, 1);

    // Three 429s exhaust the client's own retries: the attempt fails as retryable and the next one succeeds.
    const rateLimited: StubAction = { kind: 'status', status: 429, retryAfterSeconds: 1 };
    const s = await run(steps, products(2), {}, [rateLimited, rateLimited, rateLimited]);
    assert.equal(s.res.status, 'completed', String(s.res.error));
    assert.equal(s.step.attempt, 2);
    assert.equal(s.requests().length, 4);
    assert.equal(s.output.ai_process.applied, 2);
  });

  it('translates into a language from the workflow config and screens orders sending only chosen fields', async () => {
    const t = await run([ai({ task_type: 'translate', target_language: '$config.language' })], [{ sku: 'A', title: 'Red shoe', description: 'Soft leather' }, { sku: 'B', title: 'Bag' }], {
      language: 'de',
    });
    assert.equal(t.res.status, 'completed', String(t.res.error));
    assert.deepEqual(t.output.items![0], { sku: 'A', title: 'Red shoe (ai)', description: 'Soft leather (ai)', language: 'de', ai: { translate: { model: 'stub-model', confidence: 0.95 } } });
    assert.equal(t.output.items![1].description, undefined, 'a field the item lacks stays absent');
    assert.match(t.requests()[0].body.messages[0].content, /into de\b/);

    const orders = [{ order_id: 'O-1', total: 25, country: 'DE', customer_email: 'private@example.com' }];
    const f = await run([ai({ task_type: 'detect_fraud', source_field: 'orders', include_fields: ['order_id', 'total', 'country'], model: 'fraud-model' })], { orders });
    assert.equal(f.res.status, 'completed', String(f.res.error));
    assert.deepEqual(f.requests()[0].items[0].data, { order_id: 'O-1', total: 25, country: 'DE' }, 'fields outside include_fields never leave the worker');
    assert.equal(f.requests()[0].body.model, 'fraud-model');
    assert.deepEqual(f.output.orders![0].fraud_check, { risk_score: 0, is_fraud: false, reasons: ['reason for O-1'], recommended_action: 'approve' });
    assert.equal(f.output.orders![0].customer_email, 'private@example.com');
  });

  it('fails for good on rejected credentials from a secret, without leaking the key', async () => {
    const r = await run([ai({ task_type: 'enrich_product', api_key: { secret: WRONG_KEY_SECRET } }, { max_retries: 3 })], products(1));
    assert.equal(r.res.status, 'failed');
    assert.equal(r.step.error_details?.code, 'AI_AUTH_FAILED');
    assert.equal(r.step.attempt, 1);
    assert.equal(r.requests()[0].headers.authorization, `Bearer ${WRONG_KEY}`);
    assert.equal(JSON.stringify(r.step).includes(WRONG_KEY), false);

    await assert.rejects(
      h.createWorkflow({ steps: [ai({ task_type: 'translate' })] as never }),
      (err: Error & { code?: string }) => err.code === 'DEFINITION_INVALID' && /config\.target_language: is required for translate/.test(err.message),
    );
  });
});

function pick<T extends object>(o: T, keys: Array<keyof T>): Partial<T> {
  return Object.fromEntries(keys.map((k) => [k, o[k]])) as Partial<T>;
}
