import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, startHarness, type Harness } from '@test/support/harness';
import { testExecutors } from '@test/support/executors';
import { lazyExecutors } from '@test/support/deps';
import { historyStats } from '@test/support/history';
import { dataTransformExecutorModule } from '@engine/activities/data_transform';
import { dataValidateExecutorModule } from '@engine/activities/data_validate';

type Output<T = unknown> = { output: T };

const PRODUCTS = [
  { sku: 'LMP-1', name: '  desk   LAMP ', cost_price: '12,50 €', weight: '500 g', qty: 4, brand: 'Acme', released: '05.03.2024' },
  { sku: 'CHR-2', name: 'office chair', cost_price: '€89.00', weight: '7.5 kg', qty: 0, brand: 'Acme', released: 'Mar 1, 2023' },
  { sku: 'TBL-3', name: 'oak table', cost_price: '249', weight: '22 lb', qty: 2, brand: 'Zeta', released: '2022-11-30' },
  { sku: '', name: 'nameless', cost_price: '1', weight: '1 kg', qty: 1, brand: 'Zeta', released: '2020-01-01' },
];

describe(`${dataTransformExecutorModule.type} in workflow runs`, () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({
      executors: [...testExecutors(() => h.dataSource), ...lazyExecutors(() => h, [dataTransformExecutorModule, dataValidateExecutorModule])],
      // A small heap per expression thread, so the memory bomb below hits it quickly.
      env: { EXPRESSION_POOL_MEMORY_MB: '64' },
    });
  });
  after(async () => {
    await h.close();
  });

  it('runs fetch → validate → normalize → map → filter → aggregate, each step reading the one before', async () => {
    const id = await h.createWorkflow({
      config: { min_stock: 1, currency: 'EUR' },
      steps: [
        { key: 'fetch', name: 'fetch', step_type: 'test_echo', config: { output: { products: '$input.products', supplier_id: '$input.supplier_id' } } },
        {
          key: 'validate',
          name: 'validate',
          step_type: 'data_validate',
          config: {
            source_field: 'products',
            validation_rules: [
              { type: 'required', field: 'sku' },
              { type: 'min_value', field: 'qty', min_value: 0 },
            ],
            max_invalid_ratio: 0.5,
          },
        },
        {
          key: 'normalize',
          name: 'normalize',
          step_type: 'data_transform',
          config: {
            transform_type: 'normalize',
            source_field: 'products',
            fields: {
              name: ['trim', 'collapse_whitespace', 'title_case'],
              cost_price: { op: 'currency', default_currency: '$config.currency', currency_field: 'currency' },
              weight: { op: 'weight', to: 'kg' },
              released: 'date',
            },
          },
        },
        {
          key: 'transform',
          name: 'transform',
          step_type: 'data_transform',
          config: {
            transform_type: 'map',
            source_field: 'products',
            mapping_rules: {
              title: 'name',
              price: 'cost_price',
              sku: 'sku',
              'shipping.weight_kg': 'weight',
              stock: { path: 'qty', type: 'integer' },
              brand: 'brand',
              supplier_id: '$input.supplier_id',
              margin_price: { expression: '$round(cost_price * 1.25, 2)' },
              released: 'released',
            },
          },
        },
        {
          key: 'in_stock',
          name: 'in stock',
          step_type: 'data_transform',
          config: { transform_type: 'filter', source_field: 'products', rules: [{ field: 'stock', operator: 'gte', value: '$config.min_stock' }] },
        },
        {
          key: 'by_brand',
          name: 'by brand',
          step_type: 'data_transform',
          config: {
            transform_type: 'aggregate',
            source_field: 'products',
            output_field: 'brands',
            group_by: 'brand',
            aggregations: { products: { op: 'count' }, stock: { op: 'sum', field: 'stock' }, skus: { op: 'collect', field: 'sku' }, heaviest: { op: 'max', field: 'shipping.weight_kg' } },
          },
        },
      ],
    });
    const run = await h.start(id, { supplier_id: 42, products: PRODUCTS });
    const res = await h.wait(run.execution_id);
    assert.equal(res.status, 'completed', String((res.error as Error | undefined)?.message));
    assert.deepEqual((res.result as Output).output, {
      input_count: 2,
      output_count: 2,
      brands: [
        { brand: 'Acme', products: 1, stock: 4, skus: ['LMP-1'], heaviest: 0.5 },
        { brand: 'Zeta', products: 1, stock: 2, skus: ['TBL-3'], heaviest: 9.979 },
      ],
    });

    const steps = Object.fromEntries((await h.executions.steps(run.execution_id)).map((s) => [s.step_key, s]));
    for (const key of ['fetch', 'validate', 'normalize', 'transform', 'in_stock', 'by_brand']) assert.equal(steps[key].status, 'completed', key);
    const { total, valid_count, invalid_count } = steps.validate.output_summary!;
    assert.deepEqual({ total, valid_count, invalid_count }, { total: 4, valid_count: 3, invalid_count: 1 });
    assert.equal(steps.transform.output_summary!.input_count, 3);
    assert.equal(steps.transform.output_summary!.transform_type, 'map');
    assert.equal(steps.in_stock.output_summary!.output_count, 2);
  });

  it('maps items exactly as configured inside a run: nested targets, casts, run references and expressions', async () => {
    const id = await h.createWorkflow({
      config: { markup: 2 },
      steps: [
        { key: 'fetch', name: 'fetch', step_type: 'test_echo', config: { output: '$input.products' } },
        {
          key: 'map',
          name: 'map',
          step_type: 'data_transform',
          config: {
            transform_type: 'map',
            keep_unmapped: true,
            mapping_rules: {
              title: 'name',
              'listing.price': { path: 'cost_price', type: 'number' },
              'listing.sale_price': { expression: '$number($replace(cost_price, ",", ".")) * $config.markup' },
              'listing.currency': { value: 'EUR' },
              label: '${brand}: ${name}',
            },
          },
        },
        {
          key: 'summary',
          name: 'summary',
          step_type: 'data_transform',
          config: { transform_type: 'jsonata', expression: '{"count": $count($), "titles": $.title, "supplier": $input.supplier_id, "fetched": $count($steps.fetch)}' },
        },
      ],
    });
    const run = await h.start(id, { supplier_id: 7, products: PRODUCTS.slice(0, 2).map((p) => ({ ...p, cost_price: p.cost_price.replace(/[€\s]/g, '') })) });
    const res = await h.wait(run.execution_id);
    assert.equal(res.status, 'completed', String((res.error as Error | undefined)?.message));
    assert.deepEqual((res.result as Output).output, { count: 2, titles: ['  desk   LAMP ', 'office chair'], supplier: 7, fetched: 2 });
    const mapped = (await h.executions.steps(run.execution_id)).find((s) => s.step_key === 'map')!;
    assert.equal(mapped.output_summary!.output_count, 2);
  });

  it('claim-checks a 12,000-item output and the next steps read it back', async () => {
    const N = 12_000;
    const id = await h.createWorkflow({
      steps: [
        {
          key: 'generate',
          name: 'generate',
          step_type: 'data_transform',
          timeout_seconds: 120,
          config: {
            transform_type: 'jsonata',
            expression: `[1..${N}].{"sku": "SKU-" & $pad($string($), -6, "0"), "name": "generated product number " & $string($), "cost_price": $string(($ % 97) + 1) & ",99", "qty": $ % 5, "brand": "brand-" & $string($ % 8), "notes": "a long enough description to make every item weigh about two hundred bytes in JSON ......"}`,
          },
        },
        {
          key: 'validate',
          name: 'validate',
          step_type: 'data_validate',
          timeout_seconds: 120,
          config: {
            validation_rules: [
              { type: 'required', field: 'sku' },
              { type: 'pattern', field: 'sku', pattern: '^SKU-\\d{6}$' },
              { type: 'unique', field: 'sku' },
              { type: 'min_value', field: 'qty', min_value: 1 },
            ],
            include_invalid_items: false,
          },
        },
        {
          key: 'transform',
          name: 'transform',
          step_type: 'data_transform',
          timeout_seconds: 120,
          config: {
            transform_type: 'map',
            source_field: 'valid',
            output_field: 'products',
            mapping_rules: { sku: 'sku', title: 'name', price: { path: 'cost_price', type: 'number' }, stock: 'qty', brand: 'brand', notes: 'notes' },
          },
        },
        {
          key: 'totals',
          name: 'totals',
          step_type: 'data_transform',
          timeout_seconds: 120,
          config: {
            transform_type: 'aggregate',
            source_field: 'products',
            aggregations: { products: { op: 'count' }, stock: { op: 'sum', field: 'stock' }, value: { op: 'sum', field: 'price', round: 2 }, brands: { op: 'count', field: 'brand', distinct: true } },
          },
        },
      ],
    });
    const run = await h.start(id);
    const res = await h.wait(run.execution_id);
    assert.equal(res.status, 'completed', String((res.error as Error | undefined)?.message));

    // Every item with qty 0 (one in five) is invalid; the rest flow through.
    const valid = Array.from({ length: N }, (_, i) => i + 1).filter((n) => n % 5 !== 0);
    const expectedValue = valid.reduce((sum, n) => sum + (n % 97) + 1.99, 0);
    const expectedStock = valid.reduce((sum, n) => sum + (n % 5), 0);
    const out = (res.result as Output<{ input_count: number; output_count: number; products: Array<Record<string, number>> }>).output;
    assert.equal(out.input_count, valid.length);
    assert.equal(out.output_count, 1);
    const [totals] = out.products;
    assert.equal(totals.products, valid.length);
    assert.equal(totals.stock, expectedStock);
    assert.equal(totals.brands, 8);
    assert.ok(Math.abs(totals.value - expectedValue) < 0.006, `value ${totals.value}, expected about ${expectedValue}`);

    const steps = Object.fromEntries((await h.executions.steps(run.execution_id)).map((s) => [s.step_key, s]));
    for (const key of ['generate', 'validate', 'transform']) {
      assert.ok(steps[key].output_payload_id, `${key}'s output was claim-checked`);
      const [row] = await h.dataSource.query(`SELECT size_bytes::bigint AS size FROM payloads WHERE id = $1`, [steps[key].output_payload_id]);
      assert.ok(Number(row.size) > 256 * 1024, `${key}'s payload is ${row.size} bytes`);
    }
    assert.equal(steps.totals.output_payload_id, null, 'the small aggregate stays inline');
    assert.deepEqual(
      { total: steps.validate.output_summary!.total, valid: steps.validate.output_summary!.valid_count, invalid: steps.validate.output_summary!.invalid_count },
      { total: N, valid: valid.length, invalid: N - valid.length },
    );
    assert.equal(steps.transform.output_summary!.output_count, valid.length);

    const stats = await historyStats(h.client, run.execution_id);
    const timings = Object.values(steps).map((s) => `${s.step_key} ${s.duration_ms} ms`);
    console.log(`# ${N}-item run: history ${stats.bytes} bytes, ${stats.events} events; ${timings.join(', ')}`);
    assert.ok(stats.bytes < 256 * 1024, `history is ${stats.bytes} bytes`);
  });

  it('fails the runaway $pad expression of the issue with EXPRESSION_LIMIT, at once and without retrying', async () => {
    const id = await h.createWorkflow({
      steps: [
        {
          key: 'runaway',
          name: 'runaway',
          step_type: 'data_transform',
          max_retries: 3,
          retry_delay_seconds: 1,
          config: { transform_type: 'jsonata', expression: '$length($pad("", 100000000, "x"))', timeout_ms: 100 },
        },
      ],
    });
    const run = await h.start(id);
    assert.equal((await h.wait(run.execution_id)).status, 'failed');
    const step = (await h.executions.steps(run.execution_id)).find((s) => s.step_key === 'runaway')!;
    assert.equal(step.error_details?.code, 'EXPRESSION_LIMIT');
    assert.equal(step.attempt, 1, 'a runaway expression is not retried');
    assert.match(step.error_message ?? '', /jsonata expression: .*\$pad width of 100000000 characters is over the limit/);
  });

  it('stops an expression that blocks in one builtin call past its budget, while other steps on the worker run normally', async () => {
    // Backtracks for hours inside one RegExp call: JSONata's own time guard never gets a look in.
    const runawayId = await h.createWorkflow({
      steps: [
        {
          key: 'runaway',
          name: 'runaway',
          step_type: 'data_transform',
          max_retries: 3,
          config: { transform_type: 'jsonata', expression: '$contains("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", /^(a+)+$/)', timeout_ms: 10_000 },
        },
      ],
    });
    const trivialId = await h.createWorkflow({
      steps: [
        { key: 'fetch', name: 'fetch', step_type: 'test_echo', config: { output: [{ a: 1 }, { a: 2 }] } },
        { key: 'map', name: 'map', step_type: 'data_transform', config: { transform_type: 'map', mapping_rules: { b: 'a' } } },
        { key: 'count', name: 'count', step_type: 'data_transform', config: { transform_type: 'jsonata', expression: '$sum(b)', timeout_ms: 100 } },
      ],
    });
    const runaway = await h.start(runawayId);
    const stepOf = async (executionId: string, key: string) => (await h.executions.steps(executionId)).find((s) => s.step_key === key);
    await eventually(async () => (await stepOf(runaway.execution_id, 'runaway'))?.status === 'running', 30_000, 'the runaway step to start');

    // The same worker runs a whole other run, JSONata included, while the runaway expression is still being evaluated.
    const trivial = await h.start(trivialId);
    const done = await h.wait(trivial.execution_id);
    assert.equal(done.status, 'completed', String((done.error as Error | undefined)?.message));
    assert.deepEqual((done.result as Output).output, 3);
    assert.equal((await stepOf(runaway.execution_id, 'runaway'))?.status, 'running', 'the other run finished before the runaway step was stopped');

    const res = await h.wait(runaway.execution_id);
    assert.equal(res.status, 'failed');
    const step = (await stepOf(runaway.execution_id, 'runaway'))!;
    assert.equal(step.error_details?.code, 'EXPRESSION_LIMIT');
    assert.equal(step.attempt, 1);
    assert.match(step.error_message ?? '', /ran past its budget of 10000 ms and was stopped/);
    const trivialSteps = await h.executions.steps(trivial.execution_id);
    console.log(`# during a runaway expression: ${trivialSteps.map((s) => `${s.step_key} ${s.duration_ms} ms`).join(', ')}; runaway step failed after ${step.duration_ms} ms`);
  });

  it('fails a memory bomb with EXPRESSION_LIMIT when its thread runs out of heap, and the worker carries on', async () => {
    // Each item builds and keeps an 8 MB string: the 64 MB heap of this file's pool threads is gone after a few.
    const bomb = '($f := function($s, $n){ $n = 0 ? $s : $f($s & $s, $n - 1) }; $count([1..1000].$uppercase($f("y" & $string($), 22))))';
    const id = await h.createWorkflow({
      steps: [{ key: 'bomb', name: 'bomb', step_type: 'data_transform', max_retries: 3, config: { transform_type: 'jsonata', expression: bomb, timeout_ms: 600_000 } }],
    });
    const run = await h.start(id);
    assert.equal((await h.wait(run.execution_id)).status, 'failed');
    const step = (await h.executions.steps(run.execution_id)).find((s) => s.step_key === 'bomb')!;
    assert.equal(step.error_details?.code, 'EXPRESSION_LIMIT');
    assert.equal(step.attempt, 1);
    assert.match(step.error_message ?? '', /used more than 64 MB of memory and was stopped/);

    // Same worker, same pool (with a new thread): expressions still run.
    const after = await h.createWorkflow({
      steps: [{ key: 'sum', name: 'sum', step_type: 'data_transform', config: { transform_type: 'jsonata', expression: '$sum([1..4])' } }],
    });
    const next = await h.wait((await h.start(after)).execution_id);
    assert.equal(next.status, 'completed');
    assert.equal((next.result as Output).output, 10);
  });

  it('fails a step whose config turns out invalid at run time, without retrying', async () => {
    const id = await h.createWorkflow({
      config: { only_listed: 'yes' },
      steps: [
        { key: 'fetch', name: 'fetch', step_type: 'test_echo', config: { output: [{ a: 1 }] } },
        {
          key: 'filter',
          name: 'filter',
          step_type: 'data_transform',
          max_retries: 3,
          retry_delay_seconds: 1,
          config: { transform_type: 'filter', rules: [{ field: 'listed', operator: 'exists', value: '$config.only_listed' }] },
        },
      ],
    });
    const run = await h.start(id);
    const res = await h.wait(run.execution_id);
    assert.equal(res.status, 'failed');
    const step = (await h.executions.steps(run.execution_id)).find((s) => s.step_key === 'filter')!;
    assert.equal(step.status, 'failed');
    assert.equal(step.attempt, 1, 'configuration errors are not retried');
    assert.equal(step.error_details?.code, 'STEP_CONFIG_INVALID');
    assert.match(step.error_message ?? '', /rules\[0\]\.value: must be true, false or absent for operator .exists./);
  });

  it('fails with STEP_INPUT_INVALID when source_field is not in the input', async () => {
    const id = await h.createWorkflow({
      steps: [
        { key: 'fetch', name: 'fetch', step_type: 'test_echo', config: { output: { items: [] } } },
        { key: 'map', name: 'map', step_type: 'data_transform', max_retries: 2, config: { transform_type: 'map', source_field: 'products', mapping_rules: { a: 'b' } } },
      ],
    });
    const run = await h.start(id);
    assert.equal((await h.wait(run.execution_id)).status, 'failed');
    const step = (await h.executions.steps(run.execution_id)).find((s) => s.step_key === 'map')!;
    assert.equal(step.error_details?.code, 'STEP_INPUT_INVALID');
    assert.equal(step.attempt, 1);
    assert.match(step.error_message ?? '', /the step input at "products" is nothing \(undefined\); expected a list of items \(source_field\): the input's fields are items/);
  });

  it('fails a map over a list of scalars at once, rather than completing with nulls', async () => {
    const id = await h.createWorkflow({
      steps: [
        { key: 'fetch', name: 'fetch', step_type: 'test_echo', config: { output: [3, 4] } },
        { key: 'map', name: 'map', step_type: 'data_transform', max_retries: 2, config: { transform_type: 'map', mapping_rules: { title: 'name' } } },
      ],
    });
    const run = await h.start(id);
    const end = await h.wait(run.execution_id);
    assert.equal(end.status, 'failed');
    const step = (await h.executions.steps(run.execution_id)).find((s) => s.step_key === 'map')!;
    assert.equal(step.error_details?.code, 'STEP_INPUT_INVALID');
    assert.equal(step.attempt, 1, 'not retried');
    assert.match(step.error_message ?? '', /the step input at "\[0\]" is a number; expected an object, since transform_type map reads fields of each item/);
  });

  it('refuses to store a definition with an invalid transform config, naming the step and field', async () => {
    await assert.rejects(
      h.createWorkflow({
        steps: [
          { key: 'fetch', name: 'fetch', step_type: 'test_echo', config: {} },
          { key: 'map', name: 'map', step_type: 'data_transform', config: { transform_type: 'map', mapping_rules: { price: { path: 'cost', type: 'money' } } } },
        ],
      }),
      (err: { code?: string; details?: { issues?: Array<{ step: string; field: string }> } }) => {
        assert.equal(err.code, 'DEFINITION_INVALID');
        assert.deepEqual(
          err.details?.issues?.map((i) => [i.step, i.field]),
          [['map', 'config.mapping_rules.price.type']],
        );
        return true;
      },
    );
  });
});
