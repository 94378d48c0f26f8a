import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { Execution, ExecutionDetail, ExecutionPage, Schedule, SchedulePage, Workflow } from '@src/docs/response-schemas';
import { eventually } from '@test/support/harness';
import { echoDefinition, startApi, uniqueCode, type ApiHarness } from '@test/integration/api/support';

const CLI = path.resolve(__dirname, '../../../src/cli/main.js');

/**
 * The CLI's remote mode against a real API (in-process, real PostgreSQL and
 * Temporal, a worker on its task queue): every call goes through the client
 * generated from the OpenAPI document, and what the API answers is checked
 * against the documented response schemas.
 */
describe('merchflow CLI remote mode (--api-url)', () => {
  let api: ApiHarness;

  before(async () => {
    api = await startApi();
  });
  after(async () => {
    await api?.close();
  });

  function cli(args: string[], env: Record<string, string | undefined> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      let stdout = '';
      let stderr = '';
      // No database and no Temporal for the CLI: remote mode must not need them.
      const child = spawn(process.execPath, [CLI, ...args], {
        env: { ...process.env, MERCHFLOW_API_KEY: api.keys.operator, DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none', TEMPORAL_ADDRESS: '127.0.0.1:1', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.once('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  async function createWorkflow(extra: Record<string, unknown> = {}): Promise<{ id: number; code: string }> {
    const code = uniqueCode('remote');
    const res = await api.request<{ id: number }>('POST', '/workflows', { body: echoDefinition(code, extra) });
    assert.equal(res.status, 201, res.text);
    Workflow.parse(res.body);
    return { id: res.body.id, code };
  }

  it('runs a workflow through the API, following its progress, and prints its output', async () => {
    const wf = await createWorkflow();
    const res = await cli(['run-workflow', wf.code, '--input-data', '{"n": 7}', '--api-url', api.base, '--poll-ms', '100']);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, /started remote-[a-z0-9]+-/);
    assert.match(res.stderr, /completed /);
    const id = /started (\S+)/.exec(res.stderr)![1];
    const detail = await api.request('GET', `/executions/${id}`);
    const d = ExecutionDetail.parse(detail.body);
    assert.equal(d.status, 'completed');
    assert.equal(d.trigger_type, 'manual');
    assert.deepEqual(JSON.parse(res.stdout), d.output_data);
    assert.deepEqual(d.input_data, { n: 7 });
  });

  it('lists and shows runs through the API (MERCHFLOW_API_URL), matching the documented schemas', async () => {
    const wf = await createWorkflow();
    const started = await cli(['run-workflow', wf.code, '--no-wait'], { MERCHFLOW_API_URL: api.base });
    assert.equal(started.code, 0, started.stderr);
    const id = started.stdout.trim();
    const list = await cli(['executions', 'list', '--workflow', wf.code, '--json'], { MERCHFLOW_API_URL: api.base });
    assert.equal(list.code, 0, list.stderr);
    const page = ExecutionPage.parse(JSON.parse(list.stdout));
    assert.deepEqual(page.results.map((e) => e.execution_id), [id]);
    const show = await cli(['executions', 'show', id], { MERCHFLOW_API_URL: api.base });
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, new RegExp(`execution   ${id}`));
    assert.match(show.stdout, new RegExp(`workflow    ${wf.code} v1`));
  });

  it('cancels a run through the API', async () => {
    const code = uniqueCode('remote');
    const created = await api.request<{ id: number }>('POST', '/workflows', {
      body: { code, name: 'Slow', steps: [{ key: 'nap', name: 'Nap', step_type: 'test_sleep', config: { ms: 120_000 }, timeout_seconds: 300 }] },
    });
    assert.equal(created.status, 201, created.text);
    const started = await cli(['run-workflow', code, '--no-wait', '--api-url', api.base]);
    const id = started.stdout.trim();
    await eventually(async () => ExecutionDetail.parse((await api.request('GET', `/executions/${id}`)).body).progress.running_steps.includes('nap'), 30_000, 'nap to run');
    const cancel = await cli(['executions', 'cancel', id, '--api-url', api.base]);
    assert.equal(cancel.code, 0, cancel.stderr);
    assert.equal(cancel.stdout.trim(), `cancellation requested for ${id}`);
    await eventually(async () => {
      const run = Execution.parse((await api.request('GET', `/executions/${id}`)).body);
      return run.status === 'cancelled';
    }, 30_000, 'the run to be cancelled');
  });

  it("reports the API's errors: a bad input names the field (exit 2), an unknown code (exit 1), no key (exit 2), no API (exit 1)", async () => {
    const wf = await createWorkflow({ input_schema: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] } });
    const bad = await cli(['run-workflow', wf.code, '--input-data', '{"n": "seven"}', '--api-url', api.base]);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /input_data\.n/);
    const unknown = await cli(['run-workflow', 'no-such-workflow', '--api-url', api.base]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no workflow with code "no-such-workflow"/);
    const nokey = await cli(['executions', 'list', '--api-url', api.base], { MERCHFLOW_API_KEY: '' });
    assert.equal(nokey.code, 2);
    assert.match(nokey.stderr, /MERCHFLOW_API_KEY/);
    const viewer = await cli(['executions', 'cancel', '1', '--api-url', api.base], { MERCHFLOW_API_KEY: api.keys.viewer });
    assert.equal(viewer.code, 1);
    assert.match(viewer.stderr, /role|operator/i);
    const down = await cli(['executions', 'list', '--api-url', 'http://127.0.0.1:1/orchestration/api']);
    assert.equal(down.code, 1);
    assert.match(down.stderr, /cannot reach the API at http:\/\/127\.0\.0\.1:1/);
    const direct = await cli(['worker', '--api-url', api.base]);
    assert.equal(direct.code, 2);
    assert.match(direct.stderr, /worker has no remote mode/);
  });

  it('creates, lists, pauses and deletes a schedule through the API', async () => {
    const wf = await createWorkflow();
    const env = { MERCHFLOW_API_URL: api.base, MERCHFLOW_API_KEY: api.keys.admin };
    const created = await cli(['schedules', 'create', '--workflow', wf.code, '--cron', '0 3 * * *', '--input-data', '{"n": 1}', '--paused'], env);
    assert.equal(created.code, 0, created.stderr);
    const id = Number(/created schedule (\d+)/.exec(created.stdout)![1]);
    const list = await cli(['schedules', 'list', '--workflow', wf.code, '--json'], env);
    assert.equal(list.code, 0, list.stderr);
    const page = SchedulePage.parse(JSON.parse(list.stdout));
    assert.deepEqual(page.results.map((s) => [s.id, s.is_active, s.input_data]), [[id, false, { n: 1 }]]);
    const unpause = await cli(['schedules', 'unpause', String(id)], env);
    assert.equal(unpause.code, 0, unpause.stderr);
    assert.equal(Schedule.parse((await api.request('GET', `/schedules/${id}`)).body).is_active, true);
    const del = await cli(['schedules', 'delete', String(id)], env);
    assert.equal(del.code, 0, del.stderr);
    assert.equal((await api.request('GET', `/schedules/${id}`)).status, 404);
  });
});
