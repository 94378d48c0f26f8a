import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isPayloadRef } from '@engine/dsl/types';

describe('isPayloadRef', () => {
  it('recognises a claim-check reference', () => {
    assert.equal(isPayloadRef({ $payload: { id: 'a', size: 1, sha256: 'x' } }), true);
    assert.equal(isPayloadRef({ id: 'a' }), false);
  });
});
