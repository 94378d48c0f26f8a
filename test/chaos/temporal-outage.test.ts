import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SEARCH_ATTRIBUTES } from '@engine/shared/contracts';
import { assertOutageRidden, call, createReserveWorkflow, eventually, runInput, runThroughOutage, startChaosStack, type ChaosStack, type Stock } from './support';

/**
 * The Temporal server killed (SIGKILL) mid-run and restarted 15 s later on its
 * own database: every run completes and the stock books balance. Meanwhile a
 * start through the API answers 503 DEPENDENCY_UNAVAILABLE within 2 s and,
 * once Temporal is back, no trace of that start exists: no row, no run.
 */
describe('chaos: Temporal server killed and restarted', () => {
  let s: ChaosStack;
  let stock: Stock;

  before(async () => {
    s = await startChaosStack();
    stock = await createReserveWorkflow(s);
  });
  after(async () => s?.close());

  it('runs complete; a start during the outage answers 503 fast and leaves no phantom execution', async () => {
    // The API's Temporal connection is up before the server dies (the harder case: no fresh connect to fail fast).
    assert.equal((await call(s, 'GET', '/health/')).status, 200);
    const code = (await s.h.workflows.get(stock.workflowId)).code;
    const out = await runThroughOutage(s, stock, {
      what: 'Temporal',
      runs: 12,
      direct: 0,
      outageMs: 15_000,
      down: () => s.killTemporal(),
      up: () => s.startTemporal(),
      async duringOutage() {
        const execute = await call(s, 'POST', `/workflows/${stock.workflowId}/execute/`, { input_data: runInput(stock, 999, 0) });
        assert.equal(execute.status, 503, JSON.stringify(execute.body));
        assert.equal(execute.body.code, 'DEPENDENCY_UNAVAILABLE');
        assert.equal(execute.body.details.dependency, 'temporal');
        assert.ok(Number(execute.retryAfter) > 0, 'Retry-After on the 503');
        assert.ok(execute.ms <= 2_000, `execute answered in ${execute.ms} ms`);
        const list = await call(s, 'GET', '/executions/');
        assert.equal(list.status, 200, 'reading the projection needs only the database');
        const health = await call(s, 'GET', '/health/');
        assert.equal(health.status, 503);
        assert.equal(health.body.temporal.status, 'down');
        assert.ok(health.ms <= 2_000, `health answered in ${health.ms} ms`);
        console.log(`# chaos: Temporal down: execute answered ${execute.status} in ${execute.ms} ms, health ${health.status} in ${health.ms} ms`);
      },
    });
    await assertOutageRidden(s, stock, out, { noAttemptSpent: false });

    // One more run through the API once Temporal is back: by the time it completed, a start left over
    // from the outage would have run too. None did: the rows and Temporal know exactly these runs.
    const fresh = await call(s, 'POST', `/workflows/${stock.workflowId}/execute/`, { input_data: runInput(stock, 1000, 0) });
    assert.equal(fresh.status, 202, JSON.stringify(fresh.body));
    assert.equal((await s.h.wait(fresh.body.execution_id)).status, 'completed');
    const rows: Array<{ execution_id: string }> = await s.h.dataSource.query(`SELECT execution_id FROM workflow_executions WHERE workflow_id = $1`, [stock.workflowId]);
    assert.deepEqual(rows.map((r) => r.execution_id).sort(), [...out.ids, fresh.body.execution_id].sort(), 'no row for the start that failed');
    const inTemporal = await eventually(async () => {
      const found: string[] = [];
      for await (const w of s.h.client.workflow.list({ query: `${SEARCH_ATTRIBUTES.workflowCode} = "${code}"` })) found.push(w.workflowId);
      return found.length >= out.ids.length + 1 ? found : null;
    }, 60_000, 'runs visible in Temporal');
    assert.deepEqual(inTemporal.sort(), [...out.ids, fresh.body.execution_id].sort(), 'no run for the start that failed');
  });
});
