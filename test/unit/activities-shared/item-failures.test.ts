import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { errorCode, type StepError } from '@engine/activities/shared/errors';
import { ItemFailures, MAX_FAILED_ITEMS_IN_DETAILS, MAX_LISTED_FAILED_ITEMS, failedItemsOf, policyBreach } from '@engine/activities/shared/item-failures';

describe(ItemFailures.name, () => {
  it('lists the first failed items by input position, bounded, and counts every one by code', () => {
    const sut = new ItemFailures();
    // Added out of order, as concurrent requests finish.
    for (let i = 3 * MAX_LISTED_FAILED_ITEMS - 1; i >= 0; i--) sut.add({ key: `k${i}`, index: i, code: i % 2 ? 'HTTP_STATUS' : 'HTTP_CLIENT_ERROR', message: 'x'.repeat(2000) });
    const report = sut.report();
    assert.equal(report.failed_items_total, 3 * MAX_LISTED_FAILED_ITEMS);
    assert.equal(report.failed_items.length, MAX_LISTED_FAILED_ITEMS);
    assert.deepEqual(report.failed_items.slice(0, 3).map((f) => f.key), ['k0', 'k1', 'k2']);
    assert.deepEqual(report.failed_items_by_code, { HTTP_STATUS: 150, HTTP_CLIENT_ERROR: 150 });
    assert.ok(report.failed_items[0].message.length <= 500, 'long messages are cut');
  });

  it('reports nothing failed as an empty list, and enforces nothing', () => {
    const sut = new ItemFailures();
    assert.deepEqual(sut.report(), { failed_items: [], failed_items_total: 0, failed_items_by_code: {} });
    sut.enforce(0, {});
    sut.enforce(10, { max_failed_items: 0 });
  });

  it('throws ITEMS_FAILED with the items in its details; retryable when some item failed transiently', () => {
    const sut = new ItemFailures();
    sut.add({ key: 'A', index: 0, code: 'HTTP_CLIENT_ERROR', message: 'refused', status: 422 });
    assert.throws(() => sut.enforce(1, {}, 'listings'), (e: unknown) => {
      const f = e as StepError;
      assert.equal(errorCode(e), 'ITEMS_FAILED');
      assert.equal(f.message, '1 of 1 listings failed (every item failed): A: refused');
      assert.equal(f.nonRetryable, true);
      assert.deepEqual(f.info, {
        processed: 1,
        failed_items_total: 1,
        failed_items_by_code: { HTTP_CLIENT_ERROR: 1 },
        failed_items: [{ key: 'A', index: 0, code: 'HTTP_CLIENT_ERROR', message: 'refused', status: 422 }],
      });
      return true;
    });
    sut.add({ key: 'B', index: 1, code: 'HTTP_STATUS', message: '503' }, { retryable: true });
    assert.throws(() => sut.enforce(2, {}), (e: unknown) => (e as StepError).nonRetryable === false);
    assert.doesNotThrow(() => sut.enforce(3, {}), 'two of three failed: completed with failures');
    assert.throws(() => sut.enforce(3, { max_failed_items: 1 }), (e: unknown) => (e as StepError).info.max_failed_items === 1);
  });
});

describe(policyBreach.name, () => {
  it('fails when every item failed by default, or when more than max_failed_items failed', () => {
    assert.equal(policyBreach(0, 0, {}), null);
    assert.equal(policyBreach(0, 5, { max_failed_items: 0 }), null);
    assert.equal(policyBreach(1, 1000, {}), null);
    assert.equal(policyBreach(3, 3, {}), 'every item failed');
    assert.equal(policyBreach(3, 3, { max_failed_items: 3 }), null, 'an explicit tolerance overrides the default');
    assert.equal(policyBreach(1, 1000, { max_failed_items: 0 }), 'more than max_failed_items 0');
  });
});

describe(failedItemsOf.name, () => {
  it('reads the count and the first items from an output or a failure detail', () => {
    const items = Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, code: 'C', message: 'm' }));
    assert.deepEqual(failedItemsOf({ results: [], failed_items: items, failed_items_total: 250 }), { total: 250, items: items.slice(0, MAX_FAILED_ITEMS_IN_DETAILS) });
    assert.deepEqual(failedItemsOf({ failed_items: [{ key: 'a', code: 'C', message: 'm' }, { junk: true }] }), { total: 2, items: [{ key: 'a', code: 'C', message: 'm' }] });
    assert.equal(failedItemsOf({ results: [] }), null);
    assert.equal(failedItemsOf([1, 2]), null);
    assert.equal(failedItemsOf(null), null);
  });
});
