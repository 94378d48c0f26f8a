import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { keyInputs, runMetadata } from '@src/executions/run-metadata';

describe(runMetadata.name, () => {
  it('summarises workflow, trigger and key inputs, leaving secret-looking and nested ones out', () => {
    const sut = runMetadata({
      definition: { name: 'Import', code: 'imp', version: 4, steps: [{ key: 'a', name: 'Fetch', role: 'main' }, { key: 'u', name: 'Undo', role: 'compensation' }] as never },
      executionId: 'imp-1',
      trigger: 'schedule',
      input: { supplier_id: 'acme', supplier_api_key: 'sk-123', marketplace: { id: 1 }, page: 3 },
      publicUrl: 'https://ops.example',
      scheduleId: 7,
    });
    assert.equal(sut.staticSummary, 'Import · schedule · supplier_id=acme');
    assert.match(sut.staticDetails, /version 4/);
    assert.match(sut.staticDetails, /\*\*Steps:\*\* Fetch\n/);
    assert.match(sut.staticDetails, /\(schedule 7\)/);
    assert.match(sut.staticDetails, /\(https:\/\/ops\.example\/orchestration\/admin\/#\/executions\/imp-1\)/);
    assert.ok(!sut.staticDetails.includes('sk-123') && !sut.staticSummary.includes('sk-123'));
  });

  it('keeps at most three fields and shortens long values', () => {
    const out = keyInputs({ supplier_a: 'x'.repeat(100), supplier_b: 1, supplier_c: true, supplier_d: 'd' });
    assert.equal(out.length, 3);
    assert.equal(out[0].length, 'supplier_a='.length + 40);
  });
});
