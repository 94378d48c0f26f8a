/**
 * Listing creation on a deployment with no AI model (no OPENAI_API_KEY on the
 * worker): with translation switched on, the optional translate step is
 * skipped with the reason and every product is still listed; the run
 * completes and reads as fully done.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { aiStepsWithoutKey } from '@src/executions/preflight';
import { assertCompleted, count, createShop, runWorkflow, startCommerceEnv, type CommerceEnv, type Shop } from './support';

const PRODUCTS = 12;

describe('listing creation without a model', () => {
  let env: CommerceEnv;
  let shop: Shop;

  before(async () => {
    env = await startCommerceEnv([{ products: PRODUCTS, seed: 23 }], { model: false });
    shop = await createShop(env.h, env.sandboxes[0], { config: { listing_creation: { enable_translation: true } } });
  });
  after(async () => env?.close());

  it('skips the optional translation with the reason, lists every product and completes at full progress', async () => {
    const { h } = env;
    assertCompleted(await runWorkflow(h, shop.workflow.product_import, { supplier_id: shop.supplierId }), 'product import');
    const run = await runWorkflow(h, shop.workflow.listing_creation);
    assertCompleted(run, 'listing creation');
    assert.equal(run.steps.optimize_listings.status, 'skipped', 'optimisation is off');
    assert.equal(run.steps.translate_content.status, 'skipped');
    assert.equal(run.steps.translate_content.error_message, null);
    assert.match(String(run.steps.translate_content.output_summary?.reason), /^no model configured: set OPENAI_API_KEY/);
    assert.equal(await count(h.dataSource, `SELECT count(*) AS n FROM products WHERE supplier_id = $1 AND status = 'listed'`, [shop.supplierId]), PRODUCTS);
    // The progress bar is full: every main step is done, completed or skipped.
    const row = await h.executions.get(run.executionId);
    assert.equal(row.completed_steps + row.skipped_steps, row.total_steps, JSON.stringify(row));
    assert.equal(row.skipped_steps, 2);
  });

  it('refuses before the run (preflight) when the required optimisation step is switched on without a model', async () => {
    const { definition } = await env.h.workflows.definition(shop.workflow.listing_creation);
    assert.deepEqual(aiStepsWithoutKey({ ...definition, config: { ...definition.config, enable_ai_optimization: true } }, {}, false), ['optimize_listings']);
    assert.deepEqual(aiStepsWithoutKey(definition, {}, false), [], 'translation is optional: not refused');
  });
});
