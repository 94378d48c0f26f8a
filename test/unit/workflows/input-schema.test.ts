import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assertInputMatches, inputProblems, inputSchemaProblem } from '@src/workflows/input-schema';

const supplier = {
  type: 'object',
  properties: {
    supplier_id: { type: 'integer', minimum: 1 },
    mode: { enum: ['full', 'delta'] },
    skus: { type: 'array', items: { type: 'string' } },
  },
  required: ['supplier_id'],
  additionalProperties: false,
};

describe(inputProblems.name, () => {
  it('accepts a matching input, and anything when there is no schema', () => {
    assert.deepEqual(inputProblems(supplier, { supplier_id: 3, mode: 'delta', skus: ['a'] }), []);
    assert.deepEqual(inputProblems(null, 'anything'), []);
  });

  it('names every field that does not match', () => {
    assert.deepEqual(inputProblems(supplier, {}), [{ field: 'input_data.supplier_id', message: 'is required' }]);
    assert.deepEqual(
      inputProblems(supplier, { supplier_id: 'abc', mode: 'weekly', skus: ['a', 7], extra: 1 }).map((p) => `${p.field}: ${p.message}`).sort(),
      [
        'input_data.extra: is not an input this workflow takes',
        'input_data.mode: must be one of "full", "delta"',
        'input_data.skus[1]: must be string',
        'input_data.supplier_id: must be integer',
      ],
    );
  });
});

describe(assertInputMatches.name, () => {
  it('throws a 400 VALIDATION_FAILED with the fields in its details', () => {
    assert.throws(
      () => assertInputMatches(supplier, { supplier_id: 0 }, 'daily_import'),
      (err: { code: string; status: number; message: string; details: { errors: unknown[] } }) => {
        assert.equal(err.code, 'VALIDATION_FAILED');
        assert.equal(err.status, 400);
        assert.match(err.message, /^input_data\.supplier_id: must be >= 1 \(the input schema of workflow daily_import\)$/);
        assert.deepEqual(err.details.errors, [{ field: 'input_data.supplier_id', message: 'must be >= 1' }]);
        return true;
      },
    );
  });
});

describe(inputSchemaProblem.name, () => {
  it('refuses what is not JSON Schema', () => {
    assert.equal(inputSchemaProblem(supplier), null);
    assert.match(inputSchemaProblem({ type: 'nonsense' }) ?? '', /is not a valid JSON Schema: .*type/);
    assert.match(inputSchemaProblem({ properties: { a: { minimum: 'one' } } }) ?? '', /is not a valid JSON Schema/);
  });
});
