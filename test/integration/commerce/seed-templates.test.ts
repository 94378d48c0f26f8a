import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { COMMERCE_TEMPLATES } from '@src/commerce/templates';
import { createWorkflowFromTemplate } from '@src/workflows/templates';
import { seedSandboxCommerce } from '@src/commerce/seed';
import { startHarness, type Harness } from '@test/support/harness';

/** The seed and create_workflow_from_template against the real database (no runs). */
describe('commerce seed and templates', () => {
  let h: Harness;
  const tag = `s${randomUUID().replace(/-/g, '').slice(0, 10)}`;

  before(async () => {
    h = await startHarness({ startWorker: false });
  });
  after(async () => h?.close());

  it('creates a stored, editable workflow from a template, its code derived from the name', async () => {
    const name = `Daily Product Import ${tag}`;
    const { workflow, definition } = await createWorkflowFromTemplate('product_import', { name, description: 'Import from all suppliers', created_by: 'ops' }, { workflows: h.workflows });
    assert.equal(workflow.code, `daily_product_import_${tag}`);
    assert.deepEqual([workflow.name, workflow.description, workflow.workflow_type, workflow.created_by], [name, 'Import from all suppliers', 'product_import', 'ops']);
    assert.deepEqual(
      definition.steps.map((s) => s.key),
      COMMERCE_TEMPLATES.product_import.steps.map((s) => s.key),
    );
    const twin = await createWorkflowFromTemplate('product_import', { name }, { workflows: h.workflows });
    assert.equal(twin.workflow.code, `daily_product_import_${tag}_2`, 'a taken code gets a suffix');

    const edited = await h.workflows.update(workflow.id, { config: { ...definition.config, enable_ai_enrichment: true } });
    assert.equal(edited.definition.version, 2);
    assert.equal(edited.definition.config.enable_ai_enrichment, true);
    assert.equal(COMMERCE_TEMPLATES.product_import.config.enable_ai_enrichment, false, 'the template is untouched');
    await assert.rejects(createWorkflowFromTemplate('nope', { name: 'x' }, { workflows: h.workflows }), (e: { code?: string }) => e.code === 'TEMPLATE_NOT_FOUND');
  });

  it('seeds a supplier, a marketplace and the four workflows once, and follows the sandbox when it moves', async () => {
    const opts = { workflows: h.workflows, aiEnabled: false, supplierCode: `${tag}_s`, marketplaceCode: `${tag}_m`, carrierCode: `${tag}_c`, workflowCodePrefix: `${tag}_` };
    const first = await seedSandboxCommerce(h.dataSource, { sandboxUrl: 'http://127.0.0.1:4010', ...opts });
    assert.deepEqual(
      first.workflows.map((w) => [w.code, w.status]),
      Object.values(COMMERCE_TEMPLATES).map((t) => [`${tag}_${t.code}`, 'created']),
    );
    const [supplier] = await h.dataSource.query(`SELECT * FROM suppliers WHERE id = $1`, [first.supplier_id]);
    assert.equal(supplier.api_base_url, 'http://127.0.0.1:4010/supplier/v1');
    const orders = await h.workflows.definition(first.workflows.find((w) => w.template === 'order_processing')!.id);
    assert.deepEqual(
      [orders.definition.config.marketplace_id, orders.definition.config.marketplace_url, orders.definition.config.carrier_id],
      [first.marketplace_id, 'http://127.0.0.1:4010/marketplace/v1', first.carrier_id],
    );
    const [carrier] = await h.dataSource.query(`SELECT code, api_base_url, is_active FROM carriers WHERE id = $1`, [first.carrier_id]);
    assert.deepEqual(carrier, { code: `${tag}_c`, api_base_url: 'http://127.0.0.1:4010/carrier/v1', is_active: true });

    const again = await seedSandboxCommerce(h.dataSource, { sandboxUrl: 'http://127.0.0.1:4010', ...opts });
    assert.deepEqual([again.supplier_id, again.marketplace_id, again.carrier_id], [first.supplier_id, first.marketplace_id, first.carrier_id]);
    assert.ok(again.workflows.every((w) => w.status === 'unchanged'));

    const moved = await seedSandboxCommerce(h.dataSource, { sandboxUrl: 'http://127.0.0.1:4999/', ...opts });
    assert.deepEqual(
      moved.workflows.map((w) => w.status),
      ['unchanged', 'updated', 'updated', 'updated'],
      'product import reads the supplier row; the others name the marketplace URL',
    );
    const listing = await h.workflows.definition(moved.workflows.find((w) => w.template === 'listing_creation')!.id);
    assert.equal(listing.definition.version, 2);
    assert.equal(listing.definition.config.marketplace_url, 'http://127.0.0.1:4999/marketplace/v1');
    const [m] = await h.dataSource.query(`SELECT api_base_url FROM marketplaces WHERE id = $1`, [first.marketplace_id]);
    assert.equal(m.api_base_url, 'http://127.0.0.1:4999/marketplace/v1');
    const [c] = await h.dataSource.query(`SELECT api_base_url FROM carriers WHERE id = $1`, [first.carrier_id]);
    assert.equal(c.api_base_url, 'http://127.0.0.1:4999/carrier/v1');
  });
});
