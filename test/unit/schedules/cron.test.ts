import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cronProblem, cronTiming, cronTimingProblem } from '@src/schedules/cron';

const NOW = new Date('2026-12-02T11:00:00Z');
const sut = (expr: string, tz = 'UTC') => {
  assert.equal(cronProblem(expr), null, `${expr} is valid`);
  return cronTiming(expr, tz, NOW);
};

describe(cronTiming.name, () => {
  it('finds the shortest gap between firings', () => {
    const cases: Array<[string, number]> = [
      ['* * * * * * *', 1],
      ['*/10 * * * * * *', 10],
      ['0,1 0 0 1 1 * *', 1],
      ['* * * * *', 60],
      ['*/15 * * * *', 900],
      ['0 3 * * *', 86_400],
      ['30 2 * * MON-FRI', 86_400],
      ['0 0 * * 0', 7 * 86_400],
      ['0 0 1 * *', 28 * 86_400],
      ['0 0 1 1 *', 365 * 86_400],
      ['59 23 * * *', 86_400],
      ['0,59 23 * * *', 59 * 60],
      ['58 23 31 12 *', 365 * 86_400],
      ['0 12 29 2 *', 4 * 365 * 86_400 + 86_400],
      ['@hourly', 3600],
      ['@daily', 86_400],
      ['@every 1s', 1],
      ['@every 90m', 5400],
      ['@every 1d/3h', 86_400],
    ];
    for (const [expr, gap] of cases) assert.equal(sut(expr).minGapSeconds, gap, expr);
  });

  it('ANDs day-of-month and day-of-week, as Temporal does', () => {
    // Friday the 13th: months apart, never "every Friday or every 13th".
    const friday13 = sut('0 0 13 * FRI');
    assert.ok(friday13.firesAgain);
    assert.ok(friday13.minGapSeconds! >= 28 * 86_400, String(friday13.minGapSeconds));
    assert.equal(sut('0 0 31 2 MON').firesAgain, false);
  });

  it('knows expressions that never fire again', () => {
    for (const expr of ['0 0 31 2 *', '0 0 30 2 *', '0 0 31 4,6,9,11 *', '0 0 1 1 * 2020', '0 0 0 1 1 * 1999-2025', '0 0 29 2 * 2027']) {
      assert.equal(sut(expr).firesAgain, false, expr);
    }
    for (const expr of ['0 0 29 2 *', '0 0 1 1 * 2027', '0 30 9 * * MON-FRI 2030', '0 0 31 * *', '0 0 1 1 * 2999']) {
      assert.equal(sut(expr).firesAgain, true, expr);
    }
    // Later today still counts; earlier today does not.
    assert.equal(sut('0 12 2 12 * 2026').firesAgain, true);
    assert.equal(sut('0 10 2 12 * 2026').firesAgain, false);
    assert.equal(sut('0 10 2 12 * 2026', 'America/Los_Angeles').firesAgain, true, 'it is 03:00 in Los Angeles');
  });
});

describe(cronTimingProblem.name, () => {
  it('names what is wrong: too frequent (with both intervals) or never firing', () => {
    assert.match(cronTimingProblem('* * * * * * *', 'UTC', 60, NOW) ?? '', /fires every 1 second at times; .* once every 1 minute/);
    assert.match(cronTimingProblem('@every 30s', 'UTC', 60, NOW) ?? '', /30 seconds/);
    assert.match(cronTimingProblem('0 0 31 2 *', 'UTC', 60, NOW) ?? '', /never fires/);
    assert.equal(cronTimingProblem('* * * * *', 'UTC', 60, NOW), null);
    assert.match(cronTimingProblem('*/5 * * * *', 'UTC', 600, NOW) ?? '', /5 minutes.*10 minutes/);
    assert.equal(cronTimingProblem('0 3 * * *', 'UTC', 86_400, NOW), null);
  });
});
