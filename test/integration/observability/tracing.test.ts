/**
 * One trace from an API request to each step's HTTP call and SQL query: the API
 * and the worker of this process trace into an in-memory exporter (as main.ts
 * and worker-main.ts do with OTEL_* set), one POST .../execute/ runs a workflow
 * with an api_call to a stub server and a database_query, and the spans must
 * chain request -> StartWorkflow -> RunWorkflow -> StartActivity -> RunActivity
 * -> HTTP client / pg query, all in one trace.
 *
 * With RECORD_HISTORIES=1 it writes the run's history to test/fixtures/histories
 * (traced-api-call-query), which the replay tests then replay on both bundles.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Worker } from '@temporalio/worker';
import { makeWorkflowExporter } from '@temporalio/interceptors-opentelemetry/lib/worker';
import { temporal } from '@temporalio/proto';
import { loadConfig } from '@src/config/config';
import { Logger } from '@src/logging/logger';
import { startApiTracing } from '@src/main';
import type { Tracing } from '@src/tracing/tracing';
import { eventually } from '@test/support/harness';
import { startApi, uniqueCode, type ApiHarness } from '../api/support';

const dist = path.resolve(__dirname, '..', '..', '..');
const fixtures = path.resolve(dist, '..', 'test', 'fixtures', 'histories');
const QUERY_SECRET = 'qs-not-in-any-span-7f3a';

describe('tracing', () => {
  const exporter = new InMemorySpanExporter();
  let tracing: Tracing;
  let api: ApiHarness;
  let stub: http.Server;
  let stubOrigin: string;
  const stubHeaders: http.IncomingHttpHeaders[] = [];

  before(async () => {
    // First, before this process sends a request or a query: as the API and the worker start it.
    tracing = (await startApiTracing(loadConfig(process.env), new Logger({ level: 'error', format: 'json' }), exporter))!;
    stub = http.createServer((req, res) => {
      stubHeaders.push(req.headers);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ sku: 'SKU-1', stock: 3 }));
    });
    await new Promise<void>((resolve) => stub.listen(0, '127.0.0.1', resolve));
    const { port } = stub.address() as AddressInfo;
    stubOrigin = `http://127.0.0.1:${port}`;
    api = await startApi({ workerEnv: { HTTP_ALLOW_HOSTS: `127.0.0.1:${port}` } });
  });

  after(async () => {
    await api?.close();
    await new Promise((resolve) => stub?.close(resolve));
    await tracing?.shutdown();
  });

  it('chains the request, the workflow start, the workflow, each step activity and its HTTP call and SQL query in one trace', async () => {
    const created = await api.request<{ id: number }>('POST', '/workflows/', {
      body: {
        code: uniqueCode('traced'),
        name: 'Traced',
        steps: [
          { key: 'stock', name: 'Stock', step_type: 'api_call', config: { url: `${stubOrigin}/stock?sku=SKU-1&api_key=${QUERY_SECRET}`, method: 'GET' } },
          {
            key: 'rows',
            name: 'Rows',
            step_type: 'database_query',
            config: { query_type: 'select', model: 'SourceData', fields: ['id'], where: [{ field: 'external_id', operator: 'equals', value: 'no-such-row' }], limit: 1 },
            depends_on_steps: ['stock'],
          },
        ],
      },
    });
    assert.equal(created.status, 201, created.text);
    const started = await api.request<{ execution_id: string }>('POST', `/workflows/${created.body.id}/execute/`, { body: { input_data: {} } });
    assert.equal(started.status, 202, started.text);
    const executionId = started.body.execution_id;
    assert.equal((await api.h.wait(executionId)).status, 'completed');

    // Workflow spans leave the sandbox through the sink after the workflow task that ends them.
    const spans = await eventually(async () => {
      await tracing.forceFlush();
      const all = exporter.getFinishedSpans();
      // The worker adds the workflow's info (id, type, search attributes) to the spans of the workflow sandbox.
      return all.some((s) => s.name.startsWith('RunWorkflow:') && s.attributes.workflowId === executionId) ? all : null;
    }, 15_000, 'the RunWorkflow span');

    const one = (what: string, match: (s: ReadableSpan) => boolean): ReadableSpan => {
      const found = spans.filter(match);
      assert.equal(found.length, 1, `one ${what}, found ${found.length}: ${spans.map((s) => s.name).join(', ')}`);
      return found[0];
    };
    const childOf = (parent: ReadableSpan, what: string, match: (s: ReadableSpan) => boolean): ReadableSpan => {
      const s = one(what, (x) => x.parentSpanId === parent.spanContext().spanId && match(x));
      assert.equal(s.spanContext().traceId, parent.spanContext().traceId, `${what} is in the request's trace`);
      return s;
    };

    const request = one('API request span', (s) => s.kind === SpanKind.SERVER && s.name === 'POST /orchestration/api/workflows/:id/execute');
    assert.equal(request.attributes['http.route'], '/orchestration/api/workflows/:id/execute');
    assert.equal(request.parentSpanId, undefined, 'the request starts the trace');
    const traceId = request.spanContext().traceId;

    const start = childOf(request, 'StartWorkflow span', (s) => s.name.startsWith('StartWorkflow:'));
    assert.equal(start.attributes.temporalWorkflowId, executionId);
    const run = childOf(start, 'RunWorkflow span', (s) => s.name.startsWith('RunWorkflow:'));
    assert.equal(run.attributes.workflowId, executionId);

    const scheduled = (type: string) => childOf(run, `StartActivity:${type}`, (s) => s.name === `StartActivity:${type}`);
    const runs = (type: string) => childOf(scheduled(type), `RunActivity:${type}`, (s) => s.name === `RunActivity:${type}`);
    const callStep = runs('api_call');
    const queryStep = runs('database_query');
    assert.equal(callStep.attributes.temporalWorkflowId, executionId);

    // The step's HTTP call, and the stub's own server span under it (the context crossed the wire).
    const client = childOf(callStep, 'HTTP client span of api_call', (s) => s.kind === SpanKind.CLIENT && s.attributes['http.method'] === 'GET');
    assert.equal(client.attributes['http.url'], `${stubOrigin}/stock`, 'the URL without its query string');
    assert.equal(client.attributes['http.status_code'], 200);
    const stubSpan = childOf(client, 'stub server span', (s) => s.kind === SpanKind.SERVER);
    assert.match(String(stubHeaders.at(-1)?.traceparent), new RegExp(`^00-${traceId}-`));

    // The step's SQL, under its activity (statements carry no parameter values).
    const queries = spans.filter((s) => s.parentSpanId === queryStep.spanContext().spanId && s.name.startsWith('pg.query'));
    assert.ok(queries.length >= 1, `pg spans under RunActivity:database_query: ${spans.filter((s) => s.parentSpanId === queryStep.spanContext().spanId).map((s) => s.name).join(', ')}`);
    const select = queries.find((s) => /FROM\s+"?source_data"?/i.test(String(s.attributes['db.statement'])));
    assert.ok(select, `a SELECT on source_data among ${queries.map((s) => s.attributes['db.statement']).join(' | ')}`);
    assert.equal(select.spanContext().traceId, traceId);
    assert.doesNotMatch(String(select.attributes['db.statement']), /no-such-row/);

    // Nothing Merchflow records holds the query-string credential (the stub's own server span, standing for
    // the remote API, sees its request as sent).
    const ours = spans.filter((s) => s.spanContext().traceId === traceId && s !== stubSpan);
    assert.ok(stubSpan && String(stubSpan.attributes['http.url']).includes(QUERY_SECRET), 'the stub span would show it');
    const text = JSON.stringify(ours.map((s) => ({ n: s.name, a: s.attributes, e: s.events })));
    assert.ok(!text.includes(QUERY_SECRET), 'no span of ours records the query string');

    // The traced run's history replays on the plain bundle (tracing turned off) and on the traced one, whose
    // workflow spans are not exported again while replaying.
    const history = await api.h.history(executionId);
    const exportedBefore = exporter.getFinishedSpans().length;
    await Worker.runReplayHistory({ workflowBundle: { codePath: path.join(dist, 'workflow-bundle.js') } }, history, executionId);
    const sinks = { exporter: makeWorkflowExporter(tracing.spanProcessor, tracing.resource) };
    await Worker.runReplayHistory({ workflowBundle: { codePath: path.join(dist, 'workflow-bundle-otel.js') }, sinks }, history, executionId);
    assert.equal(exporter.getFinishedSpans().length, exportedBefore);
    if (process.env.RECORD_HISTORIES === '1' && !fs.existsSync(path.join(fixtures, 'traced-api-call-query.history.pb'))) {
      fs.writeFileSync(path.join(fixtures, 'traced-api-call-query.history.pb'), temporal.api.history.v1.History.encode(history as temporal.api.history.v1.IHistory).finish());
    }
  });
});
