import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InterceptingCall, Metadata, status, type Interceptor } from '@grpc/grpc-js';
import { Client, Connection } from '@temporalio/client';
import { merchflowDataConverter } from '@engine/codec/data-converter';
import { stepTypeRegistry } from '@engine/activities/registry';
import { ExecutionsService } from '@src/executions/executions.service';
import { AppError } from '@src/common/errors';
import { startHarness, type Harness } from '@test/support/harness';
import { testExecutors } from '@test/support/executors';

const echo = (key: string) => ({ key, name: key, step_type: 'test_echo', config: {} });

/**
 * A start whose answer never arrives in time, as the API sees it when a loaded Temporal server answers after the
 * start's deadline: the client gets DEADLINE_EXCEEDED whatever the server answered. With `reaches` the request
 * reaches the server, which starts the run; without, an empty request goes instead and starts nothing.
 */
function lateStart(reaches: boolean): Interceptor {
  return (options, nextCall) => {
    if (!options.method_definition.path.endsWith('/StartWorkflowExecution')) return new InterceptingCall(nextCall(options));
    return new InterceptingCall(nextCall(options), {
      sendMessage: (message, next) => next(reaches ? message : Buffer.alloc(0)),
      start: (metadata, _listener, next) =>
        next(metadata, {
          onReceiveStatus: (_status, nextStatus) => nextStatus({ code: status.DEADLINE_EXCEEDED, details: 'Deadline exceeded (test: the answer came too late)', metadata: new Metadata() }),
        }),
    });
  };
}

describe('executions: a start that times out', () => {
  let h: Harness;
  const connections: Connection[] = [];
  before(async () => {
    h = await startHarness({ executors: testExecutors(() => h.dataSource) });
  });
  after(async () => {
    for (const c of connections) await c.close();
    await h.close();
  });

  async function executionsWith(interceptor: Interceptor): Promise<ExecutionsService> {
    const connection = await Connection.connect({ address: h.config.temporal.address, interceptors: [interceptor] });
    connections.push(connection);
    const client = new Client({ connection, namespace: h.config.temporal.namespace, dataConverter: merchflowDataConverter(h.config) });
    return new ExecutionsService(h.dataSource, async () => client, h.workflows, stepTypeRegistry(testExecutors(() => h.dataSource)), h.taskQueue, {
      startTimeoutMs: 10_000,
      callTimeoutMs: 10_000,
    });
  }

  it('answers with the run when Temporal took the start after all, keeps its row, and a retry with the key gets the same run', async () => {
    const id = await h.createWorkflow({ steps: [echo('only')] });
    const executions = await executionsWith(lateStart(true));
    const key = `late-${Date.now()}`;
    const run = await executions.start(id, { input_data: { n: 1 }, trigger_type: 'api', idempotency_key: key });
    assert.equal(run.status, 'pending');
    assert.equal(run.workflow.id, id);
    const desc = await h.client.workflow.getHandle(run.execution_id).describe();
    assert.equal(run.temporal_run_id, desc.runId);
    assert.equal((await h.wait(run.execution_id)).status, 'completed');
    const again = await h.start(id, { n: 1 }, { idempotency_key: key });
    assert.equal(again.execution_id, run.execution_id);
    const rows: Array<{ n: string }> = await h.dataSource.query(`SELECT count(*) AS n FROM workflow_executions WHERE idempotency_key = $1`, [key]);
    assert.equal(Number(rows[0].n), 1);
  });

  it('answers 503 and leaves no row when the start never reached Temporal', async () => {
    const id = await h.createWorkflow({ steps: [echo('only')] });
    const executions = await executionsWith(lateStart(false));
    const key = `lost-${Date.now()}`;
    await assert.rejects(
      executions.start(id, { input_data: { n: 1 }, trigger_type: 'api', idempotency_key: key }),
      (err: unknown) => err instanceof AppError && err.status === 503 && err.code === 'DEPENDENCY_UNAVAILABLE',
    );
    const rows: unknown[] = await h.dataSource.query(`SELECT 1 FROM workflow_executions WHERE idempotency_key = $1`, [key]);
    assert.equal(rows.length, 0);
    // The retry the 503 asks for starts the run.
    const retried = await h.start(id, { n: 1 }, { idempotency_key: key });
    assert.equal((await h.wait(retried.execution_id)).status, 'completed');
  });
});
