import { after, before, describe, it } from 'node:test';
import { assertOutageRidden, createReserveWorkflow, outageWaits, runThroughOutage, startChaosStack, type ChaosStack, type Stock } from './support';
import assert from 'node:assert/strict';

/**
 * PostgreSQL stopped for 3 minutes (longer than the old bookkeeping retry
 * profile lasted) with 10 runs in flight and 3 starting meanwhile: every run
 * still completes within the 10-minute outage budget, with no retry spent.
 * Long: run it by name (`npm test -- chaos/postgres-outage-long`).
 */
describe('chaos: PostgreSQL outage of 3 minutes', () => {
  let s: ChaosStack;
  let stock: Stock;

  before(async () => {
    s = await startChaosStack();
    stock = await createReserveWorkflow(s);
  });
  after(async () => s?.close());

  it('every run completes, no reservation leaks, attempts are honest', async () => {
    const out = await runThroughOutage(s, stock, {
      what: 'PostgreSQL',
      runs: 10,
      direct: 3,
      outageMs: 180_000,
      down: () => s.stopPostgres(),
      up: () => s.startPostgres(),
    });
    assert.ok(outageWaits(s) > 0, 'steps met the outage and waited it out');
    await assertOutageRidden(s, stock, out, { noAttemptSpent: true });
  });
});
