import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ExecutionItemsService } from '@src/executions/execution-items.service';
import { assertCompleted, count, createShop, rows, runWorkflow, startCommerceEnv, stepOutputs, type CommerceEnv, type Shop } from './support';

const PRODUCTS = 10_000;

/**
 * A 10,000-product import where 10 % of the supplier's records are invalid:
 * the catalogue in one page (ITEM_PAGE_SIZE 10,000), and in ten
 * (1,000), where fetch, validate, transform and store work page by page.
 */
for (const pageSize of [10_000, 1_000]) describe(`product import: 10,000 products, 10 % invalid, pages of ${pageSize}`, () => {
  let env: CommerceEnv;
  let shop: Shop;

  before(async () => {
    env = await startCommerceEnv([{ products: PRODUCTS, invalidRate: 0.1, seed: 5 }], { env: { ITEM_PAGE_SIZE: String(pageSize) } });
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

    // Page by page: each item-wise step's lists are paged references, one payload row a page.
    const raw = await stepOutputs(h, run.executionId, { keepPaged: true });
    const pagesOf = (v: unknown) => (v as { $payload?: { pages?: number; items?: number } } | null)?.$payload;
    if (pageSize < PRODUCTS) {
      assert.deepEqual(pagesOf(raw.fetch_products.items), { ...pagesOf(raw.fetch_products.items), pages: 10, items: PRODUCTS });
      assert.equal(pagesOf(raw.validate_products.items)?.items, PRODUCTS - invalid);
      assert.equal(pagesOf(raw.validate_products.invalid), undefined, '1,000 invalid items fit in one page: a plain list');
      assert.equal(pagesOf(raw.transform_products.items)?.pages, 9);
      assert.equal(run.steps.fetch_products.output_summary?.items_count, PRODUCTS, 'the summary counts a paged list');
    } else {
      for (const step of ['fetch_products', 'validate_products', 'transform_products']) assert.ok(Array.isArray(raw[step].items), `${step}: one page, a plain list`);
    }
    // The ledger numbers items across pages: 9,000 ok and 1,000 invalid at validation, each index once.
    const items = new ExecutionItemsService(h.dataSource, h.executions);
    const counts = await items.counts(run.executionId, { step: 'validate_products' });
    assert.deepEqual({ ok: counts.by_status.ok, invalid: counts.by_status.invalid }, { ok: PRODUCTS - invalid, invalid });
    const stored = await items.counts(run.executionId, { step: 'store_products' });
    assert.equal(stored.by_status.ok, PRODUCTS - invalid, 'store records each valid product as stored');

    // The same catalogue again: everything unchanged, across pages too.
    const again = await runWorkflow(h, shop.workflow.product_import, { supplier_id: shop.supplierId });
    assertCompleted(again, 'second import');
    assert.match((again.result?.output as { message: string }).message, /0 new, 0 updated, 9000 unchanged, 1000 invalid/);
  });
});
