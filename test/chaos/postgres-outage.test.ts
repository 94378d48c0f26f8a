import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assertOutageRidden, call, createReserveWorkflow, outageWaits, runInput, runThroughOutage, startChaosStack, type ChaosStack, type Stock } from './support';

/**
 * PostgreSQL stopped for 30 s while 15 reserve-heavy runs are in flight (each
 * one's step querying the database when it goes) and 3 more start (straight
 * through Temporal, as schedules do): the steps and the interpreter's
 * bookkeeping wait it out without spending a retry, every run completes, the
 * stock books balance, the step rows show the attempts Temporal really ran.
 * Meanwhile the API answers 503 with Retry-After within 2 s.
 */
describe('chaos: PostgreSQL outage of 30 s', () => {
  let s: ChaosStack;
  let stock: Stock;

  before(async () => {
    s = await startChaosStack();
    stock = await createReserveWorkflow(s);
  });
  after(async () => s?.close());

  it('every run completes, no reservation leaks, attempts are honest; the API answers 503 + Retry-After meanwhile', async () => {
    const out = await runThroughOutage(s, stock, {
      what: 'PostgreSQL',
      runs: 15,
      direct: 3,
      outageMs: 30_000,
      down: () => s.stopPostgres(),
      up: () => s.startPostgres(),
      async duringOutage() {
        const list = await call(s, 'GET', '/executions/');
        assert.equal(list.status, 503, JSON.stringify(list.body));
        assert.equal(list.body.code, 'DEPENDENCY_UNAVAILABLE');
        assert.equal(list.body.details.dependency, 'database');
        assert.ok(Number(list.retryAfter) > 0, 'Retry-After on the 503');
        assert.ok(list.ms <= 2_000, `list answered in ${list.ms} ms`);

        const execute = await call(s, 'POST', `/workflows/${stock.workflowId}/execute/`, { input_data: runInput(stock, 999, 0) });
        assert.equal(execute.status, 503, JSON.stringify(execute.body));
        assert.equal(execute.body.code, 'DEPENDENCY_UNAVAILABLE');
        assert.ok(Number(execute.retryAfter) > 0, 'Retry-After on the 503');
        assert.ok(execute.ms <= 2_000, `execute answered in ${execute.ms} ms`);

        const health = await call(s, 'GET', '/health/');
        assert.equal(health.status, 503);
        assert.equal(health.body.database.status, 'down');
        assert.equal(health.body.temporal.status, 'up');
        console.log(`# chaos: PostgreSQL down: list answered ${list.status} in ${list.ms} ms, execute ${execute.status} in ${execute.ms} ms, Retry-After ${list.retryAfter}`);
      },
    });
    assert.ok(outageWaits(s) > 0, 'steps met the outage and waited it out');
    await assertOutageRidden(s, stock, out, { noAttemptSpent: true });
    assert.equal((await call(s, 'GET', '/executions/')).status, 200, 'the API is back');
  });
});
