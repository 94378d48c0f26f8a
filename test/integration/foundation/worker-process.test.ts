import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { progressQuery } from '@engine/shared/contracts';
import { eventually, startHarness, type Harness } from '@test/support/harness';

const dist = path.resolve(__dirname, '..', '..', '..');

/** The production worker entry point, as `npm run worker` starts it. */
function startWorker(taskQueue: string, extraEnv: Record<string, string> = {}): { child: ChildProcess; lines: string[]; ready: Promise<void> } {
  const child = spawn(process.execPath, [path.join(dist, 'temporal/worker-main.js'), '--task-queue', taskQueue, '--max-workers', '4'], {
    env: { ...process.env, LOG_FORMAT: 'json', LOG_LEVEL: 'info', ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const ready = new Promise<void>((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).on('line', (l) => {
      lines.push(l);
      if (l.includes('worker polling')) resolve();
    });
    readline.createInterface({ input: child.stderr! }).on('line', (l) => lines.push(l));
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}: ${lines.join('\n')}`)));
  });
  return { child, lines, ready };
}

describe('worker process', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ startWorker: false });
  });
  after(async () => {
    await h.close();
  });

  it('runs a workflow end to end, logs structured lines with the execution id, and stops cleanly (expression pool included) on SIGTERM', async () => {
    const healthFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mf-worker-')), 'alive');
    const w = startWorker(h.taskQueue, { WORKER_HEALTH_FILE: healthFile });
    await w.ready;
    // The compose health check (the worker serves no HTTP): passes while the worker runs.
    const check = () => spawnSync(process.execPath, [path.join(dist, 'temporal/worker-health.js')], { env: { ...process.env, WORKER_HEALTH_FILE: healthFile } }).status;
    await eventually(async () => check() === 0, 10_000, 'the health check to pass');
    const polling = JSON.parse(w.lines.find((l) => l.includes('worker polling'))!);
    assert.equal(polling.task_queue, h.taskQueue);
    assert.equal(polling.max_concurrent_activities, 4);

    const id = await h.createWorkflow({
      steps: [
        { key: 'ok', name: 'ok', step_type: 'approval', config: {} },
        // JSONata runs in the worker's expression pool, which SIGTERM must stop too.
        { key: 'sum', name: 'sum', step_type: 'data_transform', config: { transform_type: 'jsonata', expression: '$sum([1..4]) & " " & $input.hello' } },
      ],
    });
    const run = await h.start(id, { hello: 'world' });
    await eventually(async () => (await h.client.workflow.getHandle(run.execution_id).query(progressQuery)).steps[0].status === 'waiting');
    await h.executions.signal(run.execution_id, { step_key: 'ok', decision: 'approve', data: { by: 'test' } });
    const res = await h.wait(run.execution_id);
    assert.equal(res.status, 'completed');
    assert.equal((res.result as { output: unknown }).output, '10 world');
    assert.equal((await h.executions.get(run.execution_id)).status, 'completed');

    w.child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => w.child.once('exit', r));
    assert.equal(code, 0);
    assert.equal(check(), 1, 'a stopped worker fails its health check');
    assert.ok(w.lines.some((l) => l.includes('worker stopped')), w.lines.join('\n'));
    const stopped = w.lines.find((l) => l.includes('expression pool stopped'));
    assert.ok(stopped, w.lines.join('\n'));
    assert.equal(JSON.parse(stopped).pools, 1);
  });

  it('reports an unreachable database in one line naming it', async () => {
    const child = spawn(process.execPath, [path.join(dist, 'temporal/worker-main.js')], {
      env: { ...process.env, DATABASE_URL: 'postgres://nobody:pw@127.0.0.1:1/none' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (b) => (stderr += b));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    assert.equal(code, 1);
    assert.equal(stderr.trim().split('\n').length, 1, stderr);
    assert.match(stderr, /database postgres:\/\/nobody:\*\*\*@127\.0\.0\.1:1\/none is not reachable: .*ECONNREFUSED.*\(DATABASE_URL\)/);
    assert.ok(!stderr.includes(':pw@'), 'no password in the message');
  });
});
