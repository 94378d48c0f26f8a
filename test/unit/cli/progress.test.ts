import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { describeSnapshot } from '@src/cli/progress';

describe(describeSnapshot.name, () => {
  const base = { status: 'running', total: 4, completed: 2, failed: 0, skipped: 0, running: [] };

  it('counts failed items beside the steps', () => {
    assert.equal(describeSnapshot({ ...base, failedItems: 3 }), '[############............] 2/4 steps  50%  3 failed items');
    assert.equal(describeSnapshot({ ...base, failedItems: 1 }), '[############............] 2/4 steps  50%  1 failed item');
  });

  it('says nothing of failed items when there are none', () => {
    assert.equal(describeSnapshot({ ...base, failedItems: 0 }), '[############............] 2/4 steps  50%');
    assert.equal(describeSnapshot(base), '[############............] 2/4 steps  50%');
  });
});
