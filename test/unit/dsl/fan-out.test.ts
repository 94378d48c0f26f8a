import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  childDefinition,
  childInput,
  childWorkflowId,
  fanOutFailed,
  fanOutLevel,
  fanOutSummary,
  MAX_EXECUTION_ID_LENGTH,
  normalizeFanOut,
  restrictedIds,
} from '@engine/dsl/fan-out';
import { validateDefinition } from '@engine/dsl/validate';
import type { FanOutLevel } from '@engine/dsl/types';

const suppliers: FanOutLevel = { over: 'suppliers', field: 'supplier_id', max_concurrent: 4 };
const marketplaces: FanOutLevel = { over: 'marketplaces', field: 'marketplace_id', max_concurrent: 2 };

describe('fan-out rules', () => {
  it('normalises one level or a list, filling field and max_concurrent', () => {
    assert.deepEqual(normalizeFanOut({ over: 'suppliers' }), [suppliers]);
    assert.deepEqual(normalizeFanOut([{ over: 'suppliers' }, { over: 'marketplaces', max_concurrent: 2 }]), [suppliers, marketplaces]);
    assert.equal(normalizeFanOut(null), null);
    assert.equal(normalizeFanOut([]), null);
  });

  it('fans out at the first level neither the input nor the config names', () => {
    const def = { fan_out: [suppliers, marketplaces], config: { marketplace_id: null } };
    assert.equal(fanOutLevel(def, {}), suppliers);
    assert.equal(fanOutLevel(def, { supplier_id: 3 }), marketplaces);
    assert.equal(fanOutLevel({ ...def, config: { marketplace_id: 2 } }, { supplier_id: 3 }), null);
    assert.equal(fanOutLevel(def, { supplier_id: 3, marketplace_id: 1 }), null);
    assert.equal(fanOutLevel({ fan_out: null, config: {} }, {}), null);
    assert.equal(fanOutLevel({ config: {} }, {}), null, 'versions stored before fan-out have none');
    assert.equal(fanOutLevel({ fan_out: [suppliers], config: {} }, { supplier_id: '' }), suppliers);
  });

  it('derives child ids from the parent id, within the execution id length', () => {
    assert.equal(childWorkflowId('imp-1', suppliers, { id: 3 }), 'imp-1:supplier-3');
    const long = `${'x'.repeat(60)}-${'0'.repeat(36)}`;
    const a = childWorkflowId(long, marketplaces, { id: 12345 });
    assert.ok(a.length <= MAX_EXECUTION_ID_LENGTH, a);
    assert.ok(a.endsWith(':marketplace-12345'));
    assert.equal(childWorkflowId(long, marketplaces, { id: 12345 }), a, 'deterministic');
    assert.notEqual(childWorkflowId(`${long.slice(0, -1)}1`, marketplaces, { id: 12345 }), a, 'two parents never share a child id');
  });

  it('gives the child its row in input and config, and a marketplace its endpoint', () => {
    const target = { id: 9, code: 'b', name: 'B', endpoint: 'http://127.0.0.1:1/b/v1' };
    assert.deepEqual(childInput({ marketplace_ids: [9], note: 'x' }, marketplaces, target), { note: 'x', marketplace_id: 9 });
    assert.deepEqual(childDefinition({ config: { marketplace_id: null, marketplace_url: 'http://127.0.0.1:1/a' } }, marketplaces, target).config, {
      marketplace_id: 9,
      marketplace_url: 'http://127.0.0.1:1/b/v1',
    });
    assert.deepEqual(childDefinition({ config: {} }, suppliers, target).config, { supplier_id: 9 });
    assert.deepEqual(restrictedIds(suppliers, { supplier_ids: [1, 'x', 2.5, 3] }), [1, 3]);
    assert.equal(restrictedIds(suppliers, {}), null);
  });

  it('summarises the children; fails only when all failed', () => {
    const child = (id: number, status: 'completed' | 'failed') => ({ execution_id: `p:supplier-${id}`, kind: 'supplier', id, code: `s${id}`, status, steps: null, failed_items_total: 0, error: status === 'failed' ? 'boom' : null });
    const s = fanOutSummary(suppliers, [child(1, 'completed'), child(2, 'failed')]);
    assert.equal(s.summary, '2 suppliers: 1 completed, 1 failed (supplier 2 s2: boom)');
    assert.equal(fanOutFailed(s.children), false);
    assert.equal(fanOutFailed([child(2, 'failed')]), true);
    assert.equal(fanOutFailed([]), false);
    assert.equal(fanOutSummary(suppliers, []).summary, 'no active suppliers: nothing to run');
  });

  it('refuses a bad fan_out naming the field', () => {
    const base = { code: 'f', name: 'F', steps: [{ key: 'a', name: 'a', step_type: 'x', config: {} }] };
    const issues = validateDefinition({ ...base, fan_out: { over: 'carriers' } }, { x: () => [] });
    assert.ok(issues.some((i) => i.field.startsWith('fan_out')), JSON.stringify(issues));
    const twice = validateDefinition({ ...base, fan_out: [{ over: 'suppliers' }, { over: 'suppliers' }] }, { x: () => [] });
    assert.ok(twice.some((i) => i.field.startsWith('fan_out') && /same table/.test(i.message)), JSON.stringify(twice));
    assert.deepEqual(validateDefinition({ ...base, fan_out: { over: 'marketplaces', max_concurrent: 3 } }, { x: () => [] }), []);
  });
});
