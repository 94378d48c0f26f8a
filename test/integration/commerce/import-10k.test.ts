import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assertCompleted, count, createShop, rows, runWorkflow, startCommerceEnv, stepOutputs, type CommerceEnv, type Shop } from './support';

const PRODUCTS = 10_000;

/** A 10,000-product import where 10 % of the supplier's records are invalid. */
describe('product import: 10,000 products, 10 % invalid', () => {
  let env: CommerceEnv;
  let shop: Shop;

  before(async () => {
    env = await startCommerceEnv([{ products: PRODUCTS, invalidRate: 0.1, seed: 5 }]);
    shop = await createShop(env.h, env.sandboxes[0]);
  });
  after(async () => env?.close());

  it('stores the valid products, reports every invalid one with its reasons, and keeps the history small', async () => {
    const { h } = env;
    const catalogue = shop.sandbox.catalogue;
    const run = await runWorkflow(h, shop.workflow.product_import, { supplier_id: shop.supplierId });
    assertCompleted(run, 'import');
    const invalid = catalogue.invalidCount;
    assert.equal(invalid, 1000);

    assert.equal(await count(h.dataSource, `SELECT count(*) AS n FROM products WHERE supplier_id = $1`, [shop.supplierId]), PRODUCTS - invalid);
    assert.equal(await count(h.dataSource, `SELECT count(*) AS n FROM source_data WHERE supplier_id = $1 AND source_name = $2`, [shop.supplierId, shop.supplierCode]), PRODUCTS - invalid);
    const [supplier] = await rows(h.dataSource, `SELECT * FROM suppliers WHERE id = $1`, [shop.supplierId]);
    assert.equal(supplier.products_total, PRODUCTS - invalid);
    assert.equal(supplier.last_import_imported, PRODUCTS - invalid);
    assert.equal(supplier.last_import_invalid, invalid);
    assert.equal(supplier.last_import_errors.length, 100, 'the first 100 invalid records are kept on the supplier');

    // The projection: counts per step.
    assert.deepEqual(
      { total: run.steps.validate_products.output_summary?.total, valid: run.steps.validate_products.output_summary?.valid_count, invalid: run.steps.validate_products.output_summary?.invalid_count },
      { total: PRODUCTS, valid: PRODUCTS - invalid, invalid },
    );
    assert.equal(run.steps.store_products.output_summary?.inserted, PRODUCTS - invalid);
    assert.match((run.result?.output as { message: string }).message, /9000 new, 0 updated, 0 unchanged, 1000 invalid/);

    // Every invalid record is reported with the reason its defect gives.
    const outputs = await stepOutputs(h, run.executionId);
    assert.equal(outputs.update_supplier_statistics.invalid, invalid);
    assert.equal(outputs.update_supplier_statistics.invalid_items.length, 100);
    const report: Array<{ external_id: string; errors: Array<{ field: string; message: string }> }> = outputs.validate_products.invalid.map(
      (e: { item: { external_id: string }; errors: Array<{ field: string; message: string }> }) => ({ external_id: e.item.external_id, errors: e.errors }),
    );
    assert.equal(report.length, invalid);
    const expected: Record<string, RegExp> = {
      missing_sku: /SKU is missing/,
      empty_name: /name is empty/,
      missing_cost_price: /cost price is missing/,
      negative_cost_price: /cost price must be positive/,
    };
    const byExternal = new Map<string, number>();
    for (let i = 0; i < PRODUCTS; i++) byExternal.set(catalogue.externalIdOf(i), i);
    const seen = new Set<string>();
    for (const r of report) {
      const index = byExternal.get(r.external_id)!;
      const defect = catalogue.defectOf(index)!;
      assert.ok(defect, `${r.external_id} is one of the invalid products`);
      assert.ok(r.errors.some((e) => expected[defect].test(e.message)), `${r.external_id} (${defect}): ${JSON.stringify(r.errors)}`);
      seen.add(defect);
    }
    assert.deepEqual([...seen].sort(), Object.keys(expected).sort(), 'every kind of defect occurs');

    // Large outputs went to the payload store: the history holds references, not 10,000 products.
    const history = await h.client.workflow.getHandle(run.executionId).fetchHistory();
    const size = JSON.stringify(history).length;
    assert.ok(size < 300_000, `history is ${size} bytes`);
  });
});
