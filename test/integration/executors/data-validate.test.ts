import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { defaultPayloadConverter } from '@temporalio/common';
import { startHarness, type Harness } from '@test/support/harness';
import { testExecutors } from '@test/support/executors';
import { lazyExecutors } from '@test/support/deps';
import { dataTransformExecutorModule } from '@engine/activities/data_transform';
import { dataValidateExecutorModule } from '@engine/activities/data_validate';

type Output<T = unknown> = { output: T };

const PRODUCTS = [
  { sku: 'LMP-1', price: 12.5, cost_price: 8, condition: 'new', email: 'sales@acme.example' },
  { sku: 'CHR-2', price: 0, cost_price: 40, condition: 'new' },
  { sku: 'LMP-1', price: 19, cost_price: 9, condition: 'used' },
  { sku: 'tbl-3', price: 249, cost_price: 300, condition: 'refurbished' },
  { price: 5, cost_price: 1, condition: 'new', email: 'not-an-email' },
];

/** The details of the activity failure recorded in the run's history. */
async function activityFailureDetails(h: Harness, executionId: string): Promise<Record<string, unknown> | null> {
  const history = await h.history(executionId);
  for (const event of history.events ?? []) {
    const failure = event.activityTaskFailedEventAttributes?.failure;
    const payload = failure?.applicationFailureInfo?.details?.payloads?.[0];
    if (payload) return defaultPayloadConverter.fromPayload(payload as never) as Record<string, unknown>;
  }
  return null;
}

describe(`${dataValidateExecutorModule.type} in workflow runs`, () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({
      executors: [...testExecutors(() => h.dataSource), ...lazyExecutors(() => h, [dataValidateExecutorModule, dataTransformExecutorModule])],
    });
  });
  after(async () => {
    await h.close();
  });

  it('splits valid and invalid items with their reasons, and the next step reads the valid ones', async () => {
    const id = await h.createWorkflow({
      config: { min_price: 0.01, conditions: ['new', 'used'] },
      steps: [
        { key: 'fetch', name: 'fetch', step_type: 'test_echo', config: { output: { products: '$input.products' } } },
        {
          key: 'validate',
          name: 'validate',
          step_type: 'data_validate',
          config: {
            source_field: 'products',
            validation_rules: [
              { type: 'required', field: 'sku' },
              { type: 'min_value', field: 'price', min_value: '$config.min_price' },
              { type: 'pattern', field: 'sku', pattern: '^[A-Z]{3}-\\d+$' },
              { type: 'enum', field: 'condition', values: '$config.conditions' },
              { type: 'type', field: 'email', expected: 'email' },
              { type: 'unique', field: 'sku' },
              { type: 'custom', expression: 'price >= cost_price', message: 'price is below cost' },
            ],
          },
        },
        { key: 'count', name: 'count', step_type: 'data_transform', config: { transform_type: 'jsonata', expression: '{"skus": products.sku, "invalid": invalid.index}' } },
      ],
    });
    const run = await h.start(id, { products: PRODUCTS });
    const res = await h.wait(run.execution_id);
    assert.equal(res.status, 'completed', String((res.error as Error | undefined)?.message));
    assert.deepEqual((res.result as Output).output, { skus: 'LMP-1', invalid: [1, 2, 3, 4] });

    const step = (await h.executions.steps(run.execution_id)).find((s) => s.step_key === 'validate')!;
    assert.equal(step.output_summary!.total, 5);
    assert.equal(step.output_summary!.valid_count, 1);
    assert.equal(step.output_summary!.invalid_count, 4);

    // The full reasons travel in the validate step's output.
    const fetchRun = await h.start(
      await h.createWorkflow({
        config: { min_price: 0.01, conditions: ['new', 'used'] },
        steps: [
          { key: 'validate', name: 'validate', step_type: 'data_validate', config: { validation_rules: [{ type: 'unique', field: 'sku' }, { type: 'custom', expression: 'price >= cost_price', message: 'price is below cost' }, { type: 'required', field: 'sku' }] } },
        ],
      }),
      PRODUCTS,
    );
    const out = ((await h.wait(fetchRun.execution_id)).result as Output<{ invalid: Array<{ index: number; errors: unknown[] }> }>).output;
    assert.deepEqual(
      out.invalid.map((x) => [x.index, x.errors]),
      [
        [1, [{ field: null, rule: 'custom', message: 'price is below cost' }]],
        [2, [{ field: 'sku', rule: 'unique', message: 'sku "LMP-1" duplicates item 0' }]],
        [3, [{ field: null, rule: 'custom', message: 'price is below cost' }]],
        [4, [{ field: 'sku', rule: 'required', message: 'sku is required' }]],
      ],
    );
  });

  it('fails the run when too many items are invalid: VALIDATION_FAILED, not retried, later steps never run', async () => {
    const id = await h.createWorkflow({
      steps: [
        { key: 'fetch', name: 'fetch', step_type: 'test_echo', config: { output: '$input.products' } },
        {
          key: 'validate',
          name: 'validate',
          step_type: 'data_validate',
          max_retries: 3,
          retry_delay_seconds: 1,
          config: {
            validation_rules: [
              { type: 'required', field: 'sku' },
              { type: 'min_value', field: 'price', min_value: 0.01 },
            ],
            max_invalid_ratio: 0.2,
          },
        },
        { key: 'transform', name: 'transform', step_type: 'data_transform', config: { transform_type: 'map', mapping_rules: { title: 'name' } } },
      ],
    });
    const run = await h.start(id, { products: PRODUCTS });
    const res = await h.wait(run.execution_id);
    assert.equal(res.status, 'failed');

    const steps = await h.executions.steps(run.execution_id);
    const validate = steps.find((s) => s.step_key === 'validate')!;
    assert.equal(validate.status, 'failed');
    assert.equal(validate.attempt, 1, 'a validation failure is not retried');
    assert.equal(validate.error_details?.code, 'VALIDATION_FAILED');
    assert.match(validate.error_message ?? '', /2 of 5 items are invalid \(more than max_invalid_ratio 0.2\); first: item 1: price must be at least 0.01/);
    assert.equal(steps.find((s) => s.step_key === 'transform'), undefined, 'the next step never started');
    const row = await h.executions.get(run.execution_id);
    assert.equal(row.status, 'failed');
    assert.match(row.error_message ?? '', /step "validate" failed: 2 of 5 items are invalid/);

    const details = await activityFailureDetails(h, run.execution_id);
    assert.ok(details, 'the failure carries details');
    assert.equal(details.code, 'VALIDATION_FAILED');
    assert.equal(details.total, 5);
    assert.equal(details.invalid_count, 2);
    assert.equal(details.max_invalid_ratio, 0.2);
    assert.deepEqual((details.first_invalid as Array<{ index: number }>).map((x) => x.index), [1, 4]);
  });

  it('fail_on_invalid fails on a single invalid item; an optional validate step lets the run go on', async () => {
    const steps = (optional: boolean) => [
      { key: 'fetch', name: 'fetch', step_type: 'test_echo', config: { output: '$input.products' } },
      { key: 'validate', name: 'validate', step_type: 'data_validate', is_optional: optional, config: { validation_rules: [{ type: 'required', field: 'sku' }], fail_on_invalid: true } },
      { key: 'after', name: 'after', step_type: 'test_inspect', config: {} },
    ];
    const strict = await h.start(await h.createWorkflow({ steps: steps(false) }), { products: PRODUCTS });
    assert.equal((await h.wait(strict.execution_id)).status, 'failed');
    const lenient = await h.start(await h.createWorkflow({ steps: steps(true) }), { products: PRODUCTS });
    const res = await h.wait(lenient.execution_id);
    assert.equal(res.status, 'completed');
    assert.equal((res.result as Output<{ items: number }>).output.items, 5, 'the failed optional step passed its input through');
    const validate = (await h.executions.steps(lenient.execution_id)).find((s) => s.step_key === 'validate')!;
    assert.equal(validate.status, 'failed');
    assert.equal(validate.error_details?.code, 'VALIDATION_FAILED');
  });

  it('validates a claim-checked batch of 15,000 items and fails it over the threshold', async () => {
    const N = 15_000;
    const id = await h.createWorkflow({
      steps: [
        {
          key: 'generate',
          name: 'generate',
          step_type: 'data_transform',
          timeout_seconds: 120,
          config: {
            transform_type: 'jsonata',
            // Every 7th item has no price: 2142 of 15000 invalid (14.3%).
            expression: `[1..${N}].{"sku": "SKU-" & $string($), "price": $ % 7 = 0 ? null : $ % 50 + 0.5, "title": "generated product with a title long enough to weigh something " & $string($)}`,
          },
        },
        {
          key: 'validate',
          name: 'validate',
          step_type: 'data_validate',
          timeout_seconds: 120,
          config: { validation_rules: [{ type: 'required', field: 'price' }, { type: 'unique', field: 'sku' }], max_invalid_ratio: 0.1, include_invalid_items: false },
        },
      ],
    });
    const run = await h.start(id);
    const res = await h.wait(run.execution_id);
    assert.equal(res.status, 'failed');
    const steps = Object.fromEntries((await h.executions.steps(run.execution_id)).map((s) => [s.step_key, s]));
    assert.ok(steps.generate.output_payload_id, 'the generated batch was claim-checked');
    assert.equal(steps.validate.error_details?.code, 'VALIDATION_FAILED');
    const invalid = Math.floor(N / 7);
    assert.match(steps.validate.error_message ?? '', new RegExp(`${invalid} of ${N} items are invalid \\(more than max_invalid_ratio 0.1\\)`));
    const details = await activityFailureDetails(h, run.execution_id);
    assert.equal(details?.invalid_ratio, Math.round((invalid / N) * 10_000) / 10_000);
  });

  it('stops the step when a custom rule runs past its budget, naming the rule and the item', async () => {
    const id = await h.createWorkflow({
      steps: [
        { key: 'fetch', name: 'fetch', step_type: 'test_echo', config: { output: [{ s: 'aaaa' }, { s: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!' }, { s: 'a' }] } },
        {
          key: 'validate',
          name: 'validate',
          step_type: 'data_validate',
          max_retries: 3,
          // One RegExp call that backtracks for hours on the second item; the default budget of a custom rule is 1000 ms.
          config: { validation_rules: [{ type: 'required', field: 's' }, { type: 'custom', expression: '$contains(s, /^(a+)+$/)' }] },
        },
      ],
    });
    const run = await h.start(id);
    assert.equal((await h.wait(run.execution_id)).status, 'failed');
    const step = (await h.executions.steps(run.execution_id)).find((s) => s.step_key === 'validate')!;
    assert.equal(step.error_details?.code, 'EXPRESSION_LIMIT');
    assert.equal(step.attempt, 1);
    assert.match(step.error_message ?? '', /validation_rules\[1\] \(item 1\): expression .* ran past its budget of 1000 ms and was stopped/);
  });
});
