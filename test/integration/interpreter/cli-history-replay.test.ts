/**
 * A history exported by the Temporal CLI (`temporal workflow show --output json`)
 * replays with `historyFromJSON` + `Worker.runReplayHistory`. This broke when two
 * copies of protobufjs were installed (`TypeError: type must be a Type`); the
 * `overrides` entry in package.json keeps a single copy.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Worker } from '@temporalio/worker';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { eventually, startHarness, type Harness } from '@test/support/harness';
import { runCli } from '@src/cli/main';
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
    assert.equal(history.events?.length, exported.events.length);
    // Payloads are encrypted in history (the tests run with PAYLOAD_ENCRYPTION): replay decodes them with the same converter.
    const options = { workflowBundle: { codePath: bundle }, dataConverter: merchflowDataConverter(h.config) };
    await Worker.runReplayHistory(options, history, started.execution_id);
    // The JSON form as it is, too: the SDK converts it with the same historyFromJSON.
    await Worker.runReplayHistory(options, exported, started.execution_id);

    // `merchflow replay` on the exported file.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'replay-json-'));
    try {
      const file = path.join(dir, `${started.execution_id}.json`);
      fs.writeFileSync(file, stdout);
      const r = await replayCli(['replay', file]);
      assert.equal(r.code, 0, r.lines.join('\n'));
      assert.ok(r.lines.includes(`ok    ${file}`), r.lines.join('\n'));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('replays the runs a visibility query finds in the namespace (merchflow replay --since --query)', async () => {
    const id = await h.createWorkflow({ steps: [{ key: 'a', name: 'a', step_type: 'test_echo', config: { output: 1 } }] as never });
    const started = await h.start(id, {});
    assert.equal((await h.wait(started.execution_id)).status, 'completed');
    // Visibility is eventually consistent: ask until the run is listed.
    let r: Awaited<ReturnType<typeof replayCli>> | undefined;
    await eventually(async () => {
      r = await replayCli(['replay', '--since', '1h', '--query', `WorkflowId="${started.execution_id}"`]);
      return r.lines.some((l) => l.startsWith('ok') && l.includes(started.execution_id));
    });
    assert.equal(r!.code, 0, r!.lines.join('\n'));
    assert.match(r!.lines.find((l) => l.startsWith('ok') && l.includes(started.execution_id))!, new RegExp(`^ok    \\w+ ${started.execution_id} run [0-9a-f-]+$`));
    assert.match(r!.lines.at(-1)!, /1 of 1 histories replay with this build/);
  });

  async function replayCli(argv: string[]): Promise<{ code: number; lines: string[] }> {
    const lines: string[] = [];
    const io = { out: (l: string) => void lines.push(l), outRaw: (t: string) => void lines.push(t), err: (l: string) => void lines.push(l), errRaw: () => undefined, isTty: false };
    const code = await runCli(argv, io, () => h.config);
    return { code, lines };
  }
});
