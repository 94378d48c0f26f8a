import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseRetryAfter, backoffDelay, DEFAULT_RETRY_POLICY } from '@engine/activities/shared/http';

describe(parseRetryAfter.name, () => {
  const now = Date.parse('2025-01-01T00:00:00Z');

  it('reads delta-seconds', () => {
    assert.equal(parseRetryAfter('0', now), 0);
    assert.equal(parseRetryAfter('3', now), 3000);
    assert.equal(parseRetryAfter(' 120 ', now), 120_000);
    assert.equal(parseRetryAfter('1.5', now), 1500);
    assert.equal(parseRetryAfter(['2', '9'], now), 2000);
  });

  it('reads an HTTP date relative to now, past dates as 0', () => {
    assert.equal(parseRetryAfter('Wed, 01 Jan 2025 00:00:30 GMT', now), 30_000);
    assert.equal(parseRetryAfter('Tue, 31 Dec 2024 23:59:00 GMT', now), 0);
  });

  it('ignores missing and malformed values', () => {
    for (const v of [undefined, null, '', '-1', 'soon', '1e3', '0x10']) assert.equal(parseRetryAfter(v, now), undefined, String(v));
  });
});

describe(backoffDelay.name, () => {
  it('grows exponentially up to the cap', () => {
    const policy = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 100, factor: 2, maxDelayMs: 1000, jitter: false };
    assert.deepEqual([0, 1, 2, 3, 4, 10].map((i) => backoffDelay(policy, i)), [100, 200, 400, 800, 1000, 1000]);
  });

  it('jitters within [delay/2, delay]', () => {
    const policy = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 100, factor: 2, maxDelayMs: 1000, jitter: true };
    assert.equal(backoffDelay(policy, 1, () => 0), 100);
    assert.equal(backoffDelay(policy, 1, () => 0.999999), 200);
  });
});
