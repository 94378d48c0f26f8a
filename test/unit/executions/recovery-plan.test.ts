import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeDefinition } from '@engine/dsl/normalize';
import type { StepInput } from '@engine/dsl/types';
import { changedSteps, itemOrigin, outputShapeIssues, reusePlan, topologicalMain, withItemsAt } from '@src/executions/recovery-plan';

const def = (steps: StepInput[], version = 1, config: Record<string, unknown> = {}) =>
  normalizeDefinition({ code: 'w', name: 'w', steps, config }, { workflow_id: 1, version_id: version, version });

const IMPORT: StepInput[] = [
  { key: 'fetch', name: 'Fetch', step_type: 'data_fetch', config: { source_type: 'http', url: 'http://127.0.0.1/x' } },
  { key: 'validate', name: 'Validate', step_type: 'data_validate', config: { source_field: 'items', validation_rules: [] } },
  { key: 'price', name: 'Price', step_type: 'data_transform', config: { transform_type: 'map', source_field: 'items', mapping_rules: { p: { expression: 'cost * $config.markup' } } } },
  { key: 'translate', name: 'Translate', step_type: 'ai_process', config: { task_type: 'translate', source_field: 'items' } },
  { key: 'list', name: 'List', step_type: 'api_call', config: { url: 'http://127.0.0.1/l', body_mode: 'per_item', items_field: 'items' } },
];

describe('recovery plan', () => {
  it('orders main steps after what they depend on', () => {
    assert.deepEqual(topologicalMain(def(IMPORT)), ['fetch', 'validate', 'price', 'translate', 'list']);
  });

  it('counts a step changed when its config, or the workflow config it reads, differs; not for a new name', () => {
    const v1 = def(IMPORT, 1, { markup: 1.5 });
    const renamed = def(IMPORT.map((s) => (s.key === 'list' ? { ...s, name: 'List them' } : s)), 2, { markup: 1.5 });
    assert.deepEqual([...changedSteps(v1, renamed)], []);
    const markup = def(IMPORT, 3, { markup: 2 });
    assert.deepEqual([...changedSteps(v1, markup)], ['price'], 'only the step reading $config changed');
    const added = def([...IMPORT, { key: 'report', name: 'Report', step_type: 'data_transform', config: { transform_type: 'map', mapping_rules: {} } }], 4, { markup: 1.5 });
    assert.deepEqual([...changedSteps(v1, added)], ['report']);
  });

  it('re-runs a changed step and everything after it, across versions', () => {
    const v1 = def(IMPORT, 1, { markup: 1.5 });
    const v2 = def(IMPORT, 2, { markup: 2 });
    const plan = reusePlan(v1, v2, []);
    assert.deepEqual([...plan.rerun].sort(), ['list', 'price', 'translate']);
    assert.deepEqual(plan.changed, ['price']);
    assert.deepEqual([...reusePlan(v1, v1, ['list']).rerun], ['list']);
  });

  it('finds where a step read its list, looking through skipped steps to the run input', () => {
    const d = def(IMPORT);
    assert.deepEqual(itemOrigin(d, 'list', new Set()), { kind: 'step', step: 'translate', path: ['items'] });
    assert.deepEqual(itemOrigin(d, 'list', new Set(['translate'])), { kind: 'step', step: 'price', path: ['items'] });
    const first = def([{ key: 'v', name: 'v', step_type: 'data_validate', config: { source_field: 'products', validation_rules: [] } }]);
    assert.deepEqual(itemOrigin(first, 'v', new Set()), { kind: 'input', path: ['products'] });
    const byRef = def([...IMPORT, { key: 'again', name: 'again', step_type: 'data_transform', config: { transform_type: 'map', input: '$steps.price', source_field: 'items', mapping_rules: {} } }]);
    assert.deepEqual(itemOrigin(byRef, 'again', new Set()), { kind: 'step', step: 'price', path: ['items'] });
    const expr = def([...IMPORT, { key: 'odd', name: 'odd', step_type: 'data_transform', config: { transform_type: 'map', input: '{{ something }}', mapping_rules: {} } }]);
    assert.throws(() => itemOrigin(expr, 'odd', new Set()), /config\.input/);
  });

  it('puts a list at a path without touching the rest of the value', () => {
    const before = { items: [1, 2, 3], total: 3 };
    assert.deepEqual(withItemsAt(before, ['items'], [2]), { items: [2], total: 3 });
    assert.deepEqual(before.items, [1, 2, 3]);
    assert.deepEqual(withItemsAt(before, [], [2]), [2]);
  });

  it("checks an edited output against the step's output shape, naming the path", () => {
    const d = def(IMPORT);
    const price = d.steps.find((s) => s.key === 'price')!;
    assert.deepEqual(outputShapeIssues(price, { items: [] }, { items: [{ a: 1 }] }), []);
    assert.deepEqual(outputShapeIssues(price, { items: [] }, { items: 'x' }), ['output.items: must be a list of items (the step keeps its items there)']);
    assert.deepEqual(outputShapeIssues(price, { items: [] }, { items: [1] }), ['output.items[0]: must be an object (an item)']);
    assert.deepEqual(outputShapeIssues(price, { items: [] }, [{ a: 1 }]), ["output: must be an object, as the step's output was"]);
    assert.match(outputShapeIssues(price, undefined, 5)[0], /^output: must be a JSON object or list/);
    const list = d.steps.find((s) => s.key === 'list')!;
    assert.deepEqual(outputShapeIssues(list, { results: [], succeeded: 0 }, { succeeded: 1 }), ['output.results: must be a list of items (the step keeps its items there)']);
  });
});
