import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { ApiKeysService } from '@src/auth/api-keys.service';
import { eventually, startHarness, type Harness } from '@test/support/harness';

const CLI = path.resolve(__dirname, '../../../src/cli/main.js');

interface Running {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

describe('merchflow CLI', () => {
  let h: Harness;
  let env: NodeJS.ProcessEnv;
  const children = new Set<ChildProcess>();

  function start(args: string[], extraEnv: Record<string, string> = {}): Running {
    let out = '';
    let err = '';
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (err += d));
    const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
      child.once('close', (code) => {
        children.delete(child);
        resolve({ code, stdout: out, stderr: err });
      }),
    );
    return { child, stdout: () => out, stderr: () => err, done };
  }
  const run = (args: string[], extraEnv: Record<string, string> = {}) => start(args, extraEnv).done;

  /** A workflow of approval steps only: the built-in step type the CLI's own registry knows. */
  async function approvalWorkflow(keys: string[], config: Record<string, unknown> = {}): Promise<{ id: number; code: string }> {
    const code = `cli-${randomUUID().slice(0, 8)}`;
    const id = await h.createWorkflow({
      code,
      steps: keys.map((key, i) => ({ key, name: `Approve ${key}`, step_type: 'approval', config, depends_on_steps: i > 0 ? [keys[i - 1]] : [] })),
    });
    return { id, code };
  }

  /** A loopback API that refuses the SKU "bad" (422) and accepts any other. */
  let shopApi: Server;
  let shopOrigin: string;

  before(async () => {
    shopApi = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        const sku = (JSON.parse(body || '{}') as { sku?: string }).sku;
        res.writeHead(sku === 'bad' ? 422 : 201, { 'content-type': 'application/json' });
        res.end(JSON.stringify(sku === 'bad' ? { error: 'refused' } : { id: `L-${sku}` }));
      });
    });
    await new Promise<void>((resolve) => shopApi.listen(0, '127.0.0.1', resolve));
    shopOrigin = `http://127.0.0.1:${(shopApi.address() as AddressInfo).port}`;
    h = await startHarness({ env: { HTTP_ALLOW_HOSTS: new URL(shopOrigin).host } });
    env = { ...process.env, TEMPORAL_TASK_QUEUE: h.taskQueue, LOG_LEVEL: 'warn', LOG_FORMAT: 'json' };
  });
  after(async () => {
    for (const c of children) c.kill('SIGKILL');
    await h?.close();
    await new Promise((resolve) => shopApi?.close(resolve));
  });

  it('prints usage and exits 2 on bad usage, 0 on --help', async () => {
    const none = await run([]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /usage: merchflow <command>/);
    const help = await run(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /run-workflow/);
    const cmdHelp = await run(['run-workflow', '--help']);
    assert.equal(cmdHelp.code, 0);
    assert.match(cmdHelp.stdout, /--input-data JSON/);
    const cases: Array<[string[], RegExp]> = [
      [['frobnicate'], /unknown command "frobnicate"/],
      [['run-workflow'], /needs a workflow CODE/],
      [['run-workflow', 'x', '--input-data', '{bad'], /--input-data is not valid JSON/],
      [['run-workflow', 'x', '--input-data', '[1]'], /must be a JSON object/],
      [['run-workflow', 'x', '--inptu-data', '{}'], /unknown option --inptu-data/],
      [['worker', '--max-workers', 'many'], /--max-workers must be an integer/],
      [['worker', '--max-workers', '0'], /--max-workers must be from 1/],
      [['executions', 'explode'], /unknown executions command/],
      [['executions', 'list', '--status', 'done'], /--status must be one of/],
      [['schedules', 'create', '--workflow', 'x'], /needs --cron/],
      [['schedules', 'pause', 'abc'], /numeric schedule ID/],
      [['api-keys', 'create', '--name', 'x', '--role', 'god'], /--role viewer\|operator\|admin/],
    ];
    for (const [args, message] of cases) {
      const r = await run(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, '');
    }
  });

  it('create-workflow-templates installs the templates as <name>_template, idempotently', async () => {
    const first = await run(['create-workflow-templates']);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^(created|updated|unchanged)\s+manual_approval_template \(workflow \d+, version \d+\)$/m);
    const again = await run(['create-workflow-templates', '--template', 'manual_approval']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^unchanged\s+manual_approval_template/m);
    const wf = await h.workflows.getByCode('manual_approval_template');
    assert.equal(wf.is_template, true);
    const list = await run(['create-workflow-templates', '--list']);
    assert.match(list.stdout, /manual_approval\s+1 steps\s+ok/);
    const unknown = await run(['create-workflow-templates', '--template', 'product_importt']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /template "product_importt" not found; known templates: .*manual_approval/);
  });

  it("answers to the specification's management command names", async () => {
    const help = await run(['--help']);
    assert.match(help.stdout, /create-workflow-templates .*\(also create_workflow_templates\)/);
    assert.match(help.stdout, /run-workflow .*\(also run_workflow\)/);
    assert.match(help.stdout, /worker .*\(also workflow_scheduler\)/);
    const install = await run(['create_workflow_templates', '--template', 'manual_approval']);
    assert.equal(install.code, 0, install.stderr);
    assert.match(install.stdout, /manual_approval_template \(workflow \d+, version \d+/);
    const runHelp = await run(['run_workflow', '--help']);
    assert.equal(runHelp.code, 0);
    assert.match(runHelp.stdout, /--input-data JSON/);
    // workflow_scheduler is the worker: its options are the worker's, checked before anything starts.
    const bad = await run(['workflow_scheduler', '--max-workers', '0']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /merchflow worker: --max-workers must be from 1/);
  });

  it("create-workflow-templates keeps a workflow's own config values; --force resets them", async () => {
    const first = await run(['create-workflow-templates', '--template', 'manual_approval']);
    assert.equal(first.code, 0, first.stderr);
    const wf = await h.workflows.getByCode('manual_approval_template');
    const own = { ...wf.config, supplier_id: 7, notify_email: 'ops@example.test' };
    await h.workflows.update(wf.id, { config: own }, 'operator');
    const before = (await h.workflows.getByCode('manual_approval_template')).current_version;
    const again = await run(['create-workflow-templates', '--template', 'manual_approval']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^unchanged\s+manual_approval_template \(workflow \d+, version \d+; kept its own notify_email, supplier_id \(--force resets\)\)$/m);
    const kept = await h.workflows.getByCode('manual_approval_template');
    assert.equal(kept.current_version, before, 'an unchanged template makes no new version');
    assert.deepEqual(kept.config, own);
    const forced = await run(['create-workflow-templates', '--template', 'manual_approval', '--force']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stdout, /^updated\s+manual_approval_template .*config reset to the template defaults \(--force\)/m);
    const reset = await h.workflows.getByCode('manual_approval_template');
    assert.equal(reset.current_version, before + 1);
    assert.equal(reset.config.supplier_id, undefined);
  });

  it('run-workflow shows live progress, then prints the output and exits 0', async () => {
    const wf = await approvalWorkflow(['check_prices', 'check_stock']);
    const p = start(['run-workflow', wf.code, '--input-data', '{"supplier_id": 123}', '--poll-ms', '100']);
    const executionId = await eventually(async () => /started (\S+)/.exec(p.stderr())?.[1], 30_000, 'the run to start');
    await eventually(async () => p.stderr().includes('running: check_prices (waiting for approval)'), 30_000, 'progress on the first step');
    await h.executions.signal(executionId, { step_key: 'check_prices', decision: 'approve', data: { ok: 1 } });
    await eventually(async () => /1\/2 steps\s+50%\s+running: check_stock/.test(p.stderr()), 30_000, 'progress on the second step');
    await h.executions.signal(executionId, { step_key: 'check_stock', decision: 'approve', data: { stock: 'fine' }, by: 'tester' });
    const r = await p.done;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /progress \[\.+\] 0\/2 steps/);
    assert.match(r.stderr, /progress \[#+\] 2\/2 steps 100%/);
    assert.match(r.stderr, new RegExp(`completed ${executionId}`));
    assert.match(r.stderr, /\/namespaces\/default\/workflows\//);
    const output = JSON.parse(r.stdout) as { data: unknown; by: string };
    assert.deepEqual(output.data, { stock: 'fine' });
    const row = await h.executions.get(executionId);
    assert.equal(row.trigger_type, 'cli');
    assert.deepEqual(row.input_data, { supplier_id: 123 });
    assert.match(row.triggered_by ?? '', /^cli/);
  });

  it('run-workflow exits 1 when the run fails, and for an unknown workflow', async () => {
    const wf = await approvalWorkflow(['gate']);
    const p = start(['run-workflow', wf.code, '--poll-ms', '100']);
    const executionId = await eventually(async () => /started (\S+)/.exec(p.stderr())?.[1], 30_000, 'the run to start');
    await eventually(async () => p.stderr().includes('waiting for approval'), 30_000, 'the gate to wait');
    await h.executions.signal(executionId, { step_key: 'gate', decision: 'reject', by: 'qa', comment: 'prices look wrong' });
    const r = await p.done;
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`failed ${executionId}: step "gate" failed: rejected by qa: prices look wrong`));
    assert.equal(r.stdout, '');
    const missing = await run(['run-workflow', 'product_import_template_nope']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no workflow with code "product_import_template_nope"/);
  });

  it('run-workflow exits 3 and names the failed items when a run completes with failures; executions list/show show it', async () => {
    const code = `cli-${randomUUID().slice(0, 8)}`;
    await h.createWorkflow({
      code,
      steps: [
        {
          key: 'publish',
          name: 'Publish',
          step_type: 'api_call',
          config: { url: `${shopOrigin}/items`, method: 'POST', body_mode: 'per_item', items_field: 'items', item_key_field: 'sku', body: { sku: '$sku' }, continue_on_item_error: true },
        },
      ] as never,
    });
    const r = await run(['run-workflow', code, '--input-data', '{"items": [{"sku": "ok1"}, {"sku": "bad"}, {"sku": "ok2"}]}', '--poll-ms', '100']);
    assert.equal(r.code, 3, r.stderr);
    const executionId = /started (\S+)/.exec(r.stderr)![1];
    assert.match(r.stderr, new RegExp(`completed with failures ${executionId}: 1 item\\(s\\) failed after their retries`));
    assert.match(r.stderr, /publish {2}bad {2}HTTP_CLIENT_ERROR {2}POST http:\/\/127\.0\.0\.1:\d+\/items responded 422/);
    assert.equal((JSON.parse(r.stdout) as { failed_items_total: number }).failed_items_total, 1, 'the output is printed as usual');
    assert.match(r.stderr, /1\/1 steps 100% {2}1 failed item\b/, 'the progress line counts it');

    const shown = await run(['executions', 'show', executionId]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /status {6}completed_with_failures \(1\)/);
    assert.match(shown.stdout, /failed items: 1/);
    assert.match(shown.stdout, /publish\s+bad\s+HTTP_CLIENT_ERROR 422/);
    const listed = await run(['executions', 'list', '--workflow', code, '--status', 'completed_with_failures']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`${executionId}\\s+${code}\\s+completed_with_failures \\(1\\)`));
    const plain = await run(['executions', 'list', '--workflow', code, '--status', 'failed']);
    assert.match(plain.stdout, /0 of 0/);
  });

  it('run-workflow --no-wait prints the execution id; executions list/show/cancel/restart manage it', async () => {
    const wf = await approvalWorkflow(['hold']);
    const started = await run(['run-workflow', wf.code, '--no-wait', '--input-data', '{"n": 1}']);
    assert.equal(started.code, 0, started.stderr);
    const id = started.stdout.trim();
    assert.match(id, new RegExp(`^${wf.code}-[0-9a-f-]{36}$`));
    await eventually(async () => (await h.executions.steps(id)).some((s) => s.status === 'waiting'), 30_000, 'the run to wait');

    const show = await run(['executions', 'show', id]);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, new RegExp(`execution\\s+${id}`));
    assert.match(show.stdout, /status\s+running\s+0\/1 steps \(0%, live\)/);
    assert.match(show.stdout, /hold\s+approval\s+waiting/);
    const showJson = JSON.parse((await run(['executions', 'show', id, '--json'])).stdout) as { execution_id: string; steps: unknown[] };
    assert.equal(showJson.execution_id, id);

    const list = await run(['executions', 'list', '--workflow', wf.code]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`${id}\\s+${wf.code}\\s+running\\s+0/1\\s+cli`));
    const listJson = JSON.parse((await run(['executions', 'list', '--workflow', wf.code, '--json'])).stdout) as { count: number };
    assert.equal(listJson.count, 1);

    const cancel = await run(['executions', 'cancel', id]);
    assert.equal(cancel.code, 0, cancel.stderr);
    assert.match(cancel.stdout, /cancellation requested/);
    await eventually(async () => (await h.executions.get(id)).status === 'cancelled', 30_000, 'the run to be cancelled');
    const twice = await run(['executions', 'cancel', id]);
    assert.equal(twice.code, 1);
    assert.match(twice.stderr, /already cancelled/);

    const restart = await run(['executions', 'restart', id, '--input-overrides', '{"n": 2}']);
    assert.equal(restart.code, 0, restart.stderr);
    const second = restart.stdout.trim();
    const row = await h.executions.get(second);
    assert.equal(row.restarted_from, id);
    assert.deepEqual(row.input_data, { n: 2 });
    await eventually(async () => (await h.executions.steps(second)).some((s) => s.status === 'waiting'), 30_000, 'the restarted run to wait');
    assert.equal((await run(['executions', 'cancel', second])).code, 0);
    const badStep = await run(['executions', 'restart', id, '--from-step', 'ghost']);
    assert.equal(badStep.code, 2);
    assert.match(badStep.stderr, /from_step/);
    assert.equal((await run(['executions', 'show', 'no-such-run'])).code, 1);
  });

  it('schedules list/create/pause/unpause/trigger/delete drive Temporal Schedules', async () => {
    const wf = await approvalWorkflow(['auto'], { timeout_seconds: 1, on_timeout: 'approve' });
    const created = await run(['schedules', 'create', '--workflow', wf.code, '--cron', '0 3 * * *', '--name', 'nightly', '--timezone', 'Europe/Paris', '--input-data', '{"n": 3}']);
    assert.equal(created.code, 0, created.stderr);
    const m = /created schedule (\d+) \((merchflow-schedule-\d+)\); next run \S+/.exec(created.stdout);
    assert.ok(m, created.stdout);
    const [scheduleId, temporalId] = [Number(m[1]), m[2]];
    const handle = h.client.schedule.getHandle(temporalId);
    assert.equal((await handle.describe()).spec.timezone, 'Europe/Paris');

    const list = await run(['schedules', 'list', '--workflow', wf.code]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`${scheduleId}\\s+nightly\\s+${wf.code}\\s+v1\\s+0 3 \\* \\* \\*\\s+Europe/Paris\\s+active\\s+synced`));

    assert.equal((await run(['schedules', 'pause', String(scheduleId)])).code, 0);
    assert.equal((await handle.describe()).state.paused, true);
    assert.equal((await run(['schedules', 'unpause', String(scheduleId)])).code, 0);
    assert.equal((await handle.describe()).state.paused, false);

    const trigger = await run(['schedules', 'trigger', String(scheduleId)]);
    assert.equal(trigger.code, 0, trigger.stderr);
    const runs = await eventually(async () => {
      const rows: Array<{ execution_id: string; status: string; trigger_type: string }> = await h.dataSource.query(
        `SELECT execution_id, status, trigger_type FROM workflow_executions WHERE triggered_by = $1 AND status = 'completed'`,
        [`schedule:${scheduleId}`],
      );
      return rows.length > 0 ? rows : null;
    }, 30_000, 'the triggered run to complete');
    assert.equal(runs[0].trigger_type, 'schedule');

    const bad = await run(['schedules', 'create', '--workflow', wf.code, '--cron', '0 25 * * *']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /cron_expression: hour: 25 is out of range 0-23/);
    const tooOften = await run(['schedules', 'create', '--workflow', wf.code, '--cron', '@every 5s']);
    assert.equal(tooOften.code, 2, tooOften.stderr);
    assert.match(tooOften.stderr, /cron_expression: fires every 5 seconds at times; schedules may fire at most once every 1 minute/);
    const never = await run(['schedules', 'update', String(scheduleId), '--cron', '0 0 31 2 *']);
    assert.equal(never.code, 2, never.stderr);
    assert.match(never.stderr, /cron_expression: never fires/);

    const del = await run(['schedules', 'delete', String(scheduleId)]);
    assert.equal(del.code, 0, del.stderr);
    await assert.rejects(handle.describe());
  });

  it('worker --max-workers runs the workflows of its task queue until SIGTERM', async () => {
    const queue = `cli-worker-${randomUUID()}`;
    const worker = start(['worker', '--max-workers', '2', '--task-queue', queue], { LOG_FORMAT: 'json', LOG_LEVEL: 'info' });
    await eventually(async () => worker.stdout().includes('worker polling'), 60_000, 'the worker to poll');
    assert.match(worker.stdout(), /"max_concurrent_activities":2/);
    const wf = await approvalWorkflow(['auto'], { timeout_seconds: 1, on_timeout: 'approve' });
    const r = await run(['run-workflow', wf.code, '--poll-ms', '100'], { TEMPORAL_TASK_QUEUE: queue });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).timed_out, true);
    worker.child.kill('SIGTERM');
    const stopped = await worker.done;
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.match(stopped.stdout, /worker stopped/);
  });

  it('api-keys create prints a working key once; generate makes one without storing it', async () => {
    const created = await run(['api-keys', 'create', '--name', `cli-${randomUUID().slice(0, 6)}`, '--role', 'operator']);
    assert.equal(created.code, 0, created.stderr);
    const key = created.stdout.trim();
    assert.match(key, /^mf_[a-z0-9]{8}_/);
    assert.match(created.stderr, /shown only now/);
    assert.equal((await new ApiKeysService(h.dataSource).authenticate(key))?.role, 'operator');
    const generated = await run(['api-keys', 'generate']);
    assert.match(generated.stdout.trim(), /^mf_[a-z0-9]{8}_[A-Za-z0-9_-]{43}$/);
    assert.equal(await new ApiKeysService(h.dataSource).authenticate(generated.stdout.trim()), null);
  });

  it('exits 1 with a clear message when the database is unreachable', async () => {
    const r = await run(['executions', 'list'], { DATABASE_URL: 'postgres://merchflow:secret@127.0.0.1:1/merchflow' });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /refused the connection.*DATABASE_URL/);
    assert.ok(!r.stderr.includes('secret'), 'no password in the message');
  });
});
