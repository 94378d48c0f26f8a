/**
 * Replays the histories committed under test/fixtures/histories with the
 * current workflow bundle. A change to the interpreter that would break runs
 * already in flight fails here (wrap such changes in `patched()`).
 * Re-record with: RECORD_HISTORIES=1 npm test -- --integration record-histories
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Worker, DefaultLogger, Runtime } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { replayWorkflowId } from '@src/cli/commands/replay';
import { CompressionCodec } from '@engine/codec/compression-codec';

const fixtures = path.resolve(__dirname, '..', '..', '..', '..', 'test', 'fixtures', 'histories');
const bundle = path.resolve(__dirname, '..', '..', '..', 'workflow-bundle.js');

describe('workflow replay', () => {
  const files = fs.existsSync(fixtures) ? fs.readdirSync(fixtures).filter((f) => f.endsWith('.history.pb')).sort() : [];

  it('has recorded histories to replay', () => {
    assert.ok(files.length >= 5, `found ${files.length} histories in ${fixtures}`);
  });

  it('replays every recorded history without nondeterminism', async () => {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
    const histories = files.map((f) => ({
      workflowId: replayWorkflowId(temporal.api.history.v1.History.decode(fs.readFileSync(path.join(fixtures, f))), path.basename(f, '.history.pb')),
      history: temporal.api.history.v1.History.decode(fs.readFileSync(path.join(fixtures, f))),
    }));
    const failures: string[] = [];
    for await (const result of Worker.runReplayHistories({ workflowBundle: { codePath: bundle }, dataConverter: { payloadCodecs: [new CompressionCodec(0)] } }, histories)) {
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    assert.deepEqual(failures, []);
  });
});
