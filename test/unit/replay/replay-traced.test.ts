/**
 * The recorded histories replay on a worker with tracing on: the bundle with the
 * OpenTelemetry workflow interceptors (dist/workflow-bundle-otel.js) issues the
 * same commands, so turning tracing on (or off) under runs in flight is safe.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Worker, DefaultLogger, Runtime } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { replayWorkflowId } from '@src/cli/commands/replay';
import { makeWorkflowExporter } from '@temporalio/interceptors-opentelemetry/lib/worker';
import { Resource } from '@opentelemetry/resources';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { CompressionCodec } from '@engine/codec/compression-codec';

const fixtures = path.resolve(__dirname, '..', '..', '..', '..', 'test', 'fixtures', 'histories');
const dist = path.resolve(__dirname, '..', '..', '..');

describe('workflow replay with tracing', () => {
  const files = fs.readdirSync(fixtures).filter((f) => f.endsWith('.history.pb')).sort();
  const histories = () =>
    files.map((f) => ({ workflowId: replayWorkflowId(temporal.api.history.v1.History.decode(fs.readFileSync(path.join(fixtures, f))), path.basename(f, '.history.pb')), history: temporal.api.history.v1.History.decode(fs.readFileSync(path.join(fixtures, f))) }));

  it('replays every recorded history on the traced bundle, and exports no span while replaying', async () => {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
    const exporter = new InMemorySpanExporter();
    const sinks = { exporter: makeWorkflowExporter(new SimpleSpanProcessor(exporter), new Resource({ 'service.name': 'replay' })) };
    const failures: string[] = [];
    let replayed = 0;
    for await (const result of Worker.runReplayHistories({ workflowBundle: { codePath: path.join(dist, 'workflow-bundle-otel.js') }, sinks, dataConverter: { payloadCodecs: [new CompressionCodec(0)] } }, histories())) {
      replayed++;
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    assert.deepEqual(failures, []);
    assert.equal(replayed, files.length);
    assert.deepEqual(exporter.getFinishedSpans().map((s) => s.name), []);
  });

  it('the traced bundle holds the OpenTelemetry interceptors and the plain one does not', () => {
    const traced = fs.readFileSync(path.join(dist, 'workflow-bundle-otel.js'), 'utf8');
    const plain = fs.readFileSync(path.join(dist, 'workflow-bundle.js'), 'utf8');
    assert.match(traced, /OpenTelemetryInboundInterceptor/);
    assert.doesNotMatch(plain, /OpenTelemetryInboundInterceptor/);
  });
});
