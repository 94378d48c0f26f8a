import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { validateDefinition } from '@engine/dsl/validate';
import { normalizeDefinition } from '@engine/dsl/normalize';
import { effectiveDependencies } from '@engine/dsl/graph';
import { stepTypeRegistry } from '@engine/activities/registry';
import { COMMERCE_TEMPLATES, findTemplate, templateDefinition, type TemplateDefinition } from '@src/commerce/templates';

const registry = stepTypeRegistry();
const main = (t: TemplateDefinition) => t.steps.filter((s) => (s.role ?? 'main') === 'main');

/** The step lists of the specification's "Predefined Workflows", in order. */
const SPEC: Record<string, string[]> = {
  product_import: [
    'Fetch products from supplier API',
    'Validate product data',
    'Transform to standard format',
    'AI enrichment',
    'Create source data records',
    'Update supplier statistics',
    'Send completion notification',
  ],
  listing_creation: [
    'Fetch products ready for listing',
    'Validate marketplace requirements',
    'Optimize listings with AI',
    'Calculate pricing with markup',
    'Translate content',
    'Create marketplace listings via API',
    'Store listing records',
    'Update product status',
  ],
  inventory_sync: [
    'Fetch current inventory from suppliers',
    'Validate inventory data',
    'Update internal inventory records',
    'Calculate available quantities',
    'Filter items needing updates',
    'Update marketplace inventory via APIs',
    'Update inventory tracking records',
    'Check for low stock items',
    'Send low stock alerts',
    'Log sync summary',
  ],
  order_processing: [
    'Fetch new orders from marketplaces',
    'Validate order data',
    'Check inventory availability',
    'Validate inventory allocation',
    'Fraud detection',
    'Reserve inventory',
    'Create internal order records',
    'Acknowledge orders with marketplace',
    'Check auto-ship eligibility',
    'Generate shipping labels',
    'Update order status',
    'Notify marketplace of shipment',
    'Send processing notifications',
  ],
};

describe('COMMERCE_TEMPLATES', () => {
  it('has the four predefined workflows, installed as <name>_template with their workflow type', () => {
    assert.deepEqual(Object.keys(COMMERCE_TEMPLATES).sort(), Object.keys(SPEC).sort());
    for (const [name, t] of Object.entries(COMMERCE_TEMPLATES)) {
      assert.equal(t.code, `${name}_template`);
      assert.equal(t.workflow_type, name);
      assert.ok(t.description.length > 20);
    }
  });

  for (const [name, steps] of Object.entries(SPEC)) {
    it(`${name} has exactly the specification's steps, in order, and validates`, () => {
      const t = COMMERCE_TEMPLATES[name];
      assert.deepEqual(
        main(t).map((s) => s.name),
        steps,
      );
      assert.deepEqual(validateDefinition(t, registry), []);
      const def = normalizeDefinition(t);
      const orders = def.steps.filter((s) => s.role === 'main').map((s) => s.order);
      assert.deepEqual(orders, [...orders].sort((a, b) => a - b), 'orders follow the list');
    });
  }

  it('marks the AI steps the specification calls optional as optional, and gates the AI steps on config switches', () => {
    const step = (t: string, key: string) => COMMERCE_TEMPLATES[t].steps.find((s) => s.key === key)!;
    assert.equal(step('product_import', 'enrich_products').is_optional, true);
    assert.equal(step('listing_creation', 'translate_content').is_optional, true);
    assert.equal(step('order_processing', 'detect_fraud').is_optional, true);
    assert.equal(step('listing_creation', 'optimize_listings').is_optional ?? false, false, 'optimisation is not optional in the specification');
    // The specification's conditional example, as written.
    assert.deepEqual(step('product_import', 'enrich_products').condition, {
      type: 'value_check',
      path: 'workflow.config.enable_ai_enrichment',
      value: true,
      operator: 'equals',
    });
    const optional = Object.values(COMMERCE_TEMPLATES).flatMap((t) => main(t).filter((s) => s.is_optional).map((s) => s.key));
    assert.deepEqual(optional.sort(), ['detect_fraud', 'enrich_products', 'translate_content']);
  });

  it('runs the marketplace updates of inventory sync side by side (the specification\'s parallel example)', () => {
    const t = COMMERCE_TEMPLATES.inventory_sync;
    const group = t.steps.filter((s) => s.parallel_group === 'marketplace_updates');
    assert.deepEqual(
      group.map((s) => [s.key, s.can_run_parallel]),
      [
        ['push_inventory', true],
        ['update_inventory_tracking', true],
      ],
    );
    const deps = effectiveDependencies(normalizeDefinition(t));
    assert.ok(!deps.update_inventory_tracking.includes('push_inventory') && !deps.push_inventory.includes('update_inventory_tracking'), 'neither waits for the other');
    assert.ok(deps.check_low_stock.includes('push_inventory') && deps.check_low_stock.includes('update_inventory_tracking'));
  });

  it('gives order processing its saga: release for the reservation, fail for the records, void for the labels, and a failure notification', () => {
    const t = COMMERCE_TEMPLATES.order_processing;
    const comp = Object.fromEntries(t.steps.filter((s) => s.role === 'compensation').map((s) => [s.compensates, s.config]));
    assert.deepEqual(Object.keys(comp).sort(), ['create_order_records', 'generate_labels', 'reserve_inventory']);
    assert.equal(comp.reserve_inventory.operation, 'release_reservations');
    assert.equal(comp.create_order_records.operation, 'fail_orders');
    const onFailure = t.steps.filter((s) => s.role === 'on_failure');
    assert.deepEqual(
      onFailure.map((s) => [s.step_type, s.config?.type, s.config?.channel]),
      [['notification', 'channel', '${config.failures_channel}']],
    );
    // Routed by channel name from the workflow's config; the empty default logs.
    assert.equal(t.config.failures_channel, '');
    assert.equal(COMMERCE_TEMPLATES.inventory_sync.steps.find((s) => s.role === 'compensation')?.compensates, 'update_inventory_tracking');
  });

  it('finds templates by name or code and copies them into independent definitions', () => {
    assert.equal(findTemplate('order_processing_template')?.name, 'order_processing');
    assert.equal(findTemplate('product_import')?.template.code, 'product_import_template');
    assert.equal(findTemplate('nope'), null);
    const def = templateDefinition(COMMERCE_TEMPLATES.product_import, { code: 'x', config: { enable_ai_enrichment: true } });
    assert.equal(def.config?.enable_ai_enrichment, true);
    assert.equal(def.config?.imported_product_status, 'ready_for_listing');
    (def.steps[0].config as Record<string, unknown>).supplier_id = 9;
    assert.equal(COMMERCE_TEMPLATES.product_import.steps[0].config?.supplier_id, '$input.supplier_id', 'the template is not changed through a copy');
  });
});

describe('business idempotency keys', () => {
  it('every outside call of the predefined workflows carries a key built from the entity and the effect, never the run', () => {
    const keys: Record<string, string> = {};
    for (const t of Object.values(COMMERCE_TEMPLATES)) {
      for (const step of t.steps.filter((s) => s.step_type === 'api_call')) {
        const key = (step.config as { idempotency_key?: unknown }).idempotency_key;
        assert.equal(typeof key, 'string', `${t.code} ${step.key} has an idempotency_key`);
        assert.doesNotMatch(key as string, /execution/, `${t.code} ${step.key}: no run id in the key`);
        keys[step.key] = key as string;
      }
    }
    assert.deepEqual(keys, {
      create_listings: 'listing:${config.marketplace_id}:$sku:$listing_generation',
      push_inventory: 'inventory:${config.marketplace_id}:$sku:$sync_generation:$available',
      acknowledge_orders: 'order:${config.marketplace_id}:$external_id:ack',
      generate_labels: 'order:${config.marketplace_id}:$external_id:label',
      notify_shipments: 'order:${config.marketplace_id}:$order_external_id:shipment',
      void_labels: 'label:$label_id:void',
    });
  });
});
