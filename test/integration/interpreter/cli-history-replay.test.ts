/**
 * A history exported by the Temporal CLI (`temporal workflow show --output json`)
 * replays with `historyFromJSON` + `Worker.runReplayHistory`. This broke when two
 * copies of protobufjs were installed (`TypeError: type must be a Type`); the
 * `overrides` entry in package.json keeps a single copy.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { Worker } from '@temporalio/worker';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { startHarness, type Harness } from '@test/support/harness';
import { testExecutors } from '@test/support/executors';
import { merchflowDataConverter } from '@engine/codec/data-converter';

const bundle = path.resolve(__dirname, '..', '..', '..', 'workflow-bundle.js');
const run = promisify(execFile);

describe('replay of a history exported by the Temporal CLI', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ executors: testExecutors(() => h.dataSource) });
  });
  after(async () => {
    await h.close();
  });

  it('exports a finished run with `temporal workflow show --output json` and replays it', async () => {
    const id = await h.createWorkflow({
      steps: [
        { key: 'a', name: 'a', step_type: 'test_echo', config: { output: { n: '$input.n' } } },
        { key: 'b', name: 'b', step_type: 'test_echo', config: { output: { n: '$steps.a.n' } } },
      ] as never,
    });
    const started = await h.start(id, { n: 3 });
    assert.equal((await h.wait(started.execution_id)).status, 'completed');

    const { stdout } = await run('temporal', [
      'workflow', 'show', '--output', 'json',
      '--workflow-id', started.execution_id,
      '--address', h.config.temporal.address,
      '--namespace', h.config.temporal.namespace,
    ], { maxBuffer: 64 * 1024 * 1024 });
    const exported = JSON.parse(stdout) as { events: Array<{ eventId: unknown; eventType: unknown }> };
    assert.equal(typeof exported.events[0].eventId, 'string', 'the CLI writes proto3 JSON (string event ids)');
    assert.equal(exported.events[0].eventType, 'EVENT_TYPE_WORKFLOW_EXECUTION_STARTED');

    const history = historyFromJSON(exported);
    // Payloads are stored encrypted (the codec): the replayer decodes them as the worker does.
    const replay = { workflowBundle: { codePath: bundle }, dataConverter: merchflowDataConverter(h.config) };
    assert.equal(history.events?.length, exported.events.length);
    await Worker.runReplayHistory(replay, history, started.execution_id);
    // The JSON form as it is, too: the SDK converts it with the same historyFromJSON.
    await Worker.runReplayHistory(replay, exported, started.execution_id);
  });
});
