import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { eventually, startHarness, type Harness } from '@test/support/harness';
import { startApi, type ApiHarness } from '../api/support';

const dist = path.resolve(__dirname, '..', '..', '..');

/** One sample of a Prometheus text exposition: name, labels, value. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

function find(samples: Sample[], name: string, labels: Record<string, string> = {}): Sample[] {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** The production worker entry point with its metrics server on a free port. */
function startWorker(taskQueue: string, env: Record<string, string> = {}): { child: ChildProcess; url: Promise<string>; lines: string[] } {
  const child = spawn(process.execPath, [path.join(dist, 'temporal/worker-main.js'), '--task-queue', taskQueue], {
    env: { ...process.env, LOG_FORMAT: 'json', LOG_LEVEL: 'info', WORKER_METRICS_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const url = new Promise<string>((resolve, reject) => {
    let base: string | null = null;
    readline.createInterface({ input: child.stdout! }).on('line', (l) => {
      lines.push(l);
      if (l.includes('"worker metrics"')) base = (JSON.parse(l) as { url: string }).url.replace(/\/metrics$/, '');
      if (l.includes('worker polling') && base) resolve(base);
    });
    readline.createInterface({ input: child.stderr! }).on('line', (l) => lines.push(l));
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}: ${lines.join('\n')}`)));
  });
  return { child, url, lines };
}

describe('metrics', () => {
  let h: Harness;
  let api: ApiHarness;
  before(async () => {
    h = await startHarness({ startWorker: false });
    api = await startApi({ env: { METRICS_TOKEN: 'scrape-me' } });
  });
  after(async () => {
    await api?.close();
    await h?.close();
  });

  it('the worker serves SDK and Merchflow series with bounded labels after a real run, and /healthz and /readyz', async () => {
    const w = startWorker(h.taskQueue);
    try {
      const base = await w.url;
      const code = `metrics_${Date.now()}`;
      const id = await h.createWorkflow({
        code,
        steps: [
          { key: 'make', name: 'Make items', step_type: 'data_transform', config: { transform_type: 'jsonata', expression: '[1..5].{"n": $}' } },
          { key: 'sum', name: 'Sum', step_type: 'data_transform', config: { transform_type: 'jsonata', expression: '$sum($input.n)' }, depends_on_steps: ['make'] },
        ],
      });
      const run = await h.start(id, {});
      assert.equal((await h.wait(run.execution_id)).status, 'completed');

      const health = await fetch(`${base}/healthz`);
      assert.equal(health.status, 200);
      const body = (await health.json()) as { checks: Record<string, { ok: boolean }> };
      assert.deepEqual(Object.keys(body.checks).sort(), ['polling', 'postgres', 'temporal']);
      assert.equal((await fetch(`${base}/readyz`)).status, 200);

      // The run's finish is counted by its last bookkeeping activity, which may land just after the result.
      const samples = await eventually(async () => {
        const res = await fetch(`${base}/metrics`);
        assert.equal(res.status, 200);
        const s = parseMetrics(await res.text());
        return find(s, 'merchflow_runs_finished_total', { workflow_code: code, status: 'completed' }).length > 0 ? s : null;
      }, 15_000, 'the finished run in /metrics');

      assert.equal(find(samples, 'merchflow_runs_started_total', { workflow_code: code })[0]?.value, 1);
      assert.equal(find(samples, 'merchflow_runs_finished_total', { workflow_code: code, status: 'completed' })[0]?.value, 1);
      for (const key of ['make', 'sum']) {
        const count = find(samples, 'merchflow_step_duration_seconds_count', { workflow_code: code, step_type: 'data_transform', step_key: key, outcome: 'completed' });
        assert.equal(count[0]?.value, 1, `one completed attempt of ${key}`);
        assert.ok(find(samples, 'merchflow_step_duration_seconds_bucket', { step_key: key, le: '+Inf' }).length > 0);
      }
      assert.equal(find(samples, 'merchflow_step_items_processed_total', { workflow_code: code, step_key: 'make' })[0]?.value, 5);
      // Payload store and retries are declared even before they count anything.
      assert.ok(/# TYPE merchflow_payload_store_bytes_total counter/.test(await (await fetch(`${base}/metrics`)).text()));
      // No execution id in any label.
      assert.ok(!samples.some((s) => Object.values(s.labels).includes(run.execution_id)), 'no execution id in labels');

      // The Temporal SDK core's own series: slots, polls, schedule-to-start latency.
      const names = new Set(samples.map((s) => s.name));
      for (const name of ['temporal_worker_task_slots_available', 'temporal_workflow_task_schedule_to_start_latency_seconds_bucket', 'temporal_activity_schedule_to_start_latency_seconds_bucket']) {
        assert.ok(names.has(name), `${name} in ${[...names].filter((n) => n.startsWith('temporal_')).join(', ')}`);
      }
      assert.ok(find(samples, 'temporal_worker_task_slots_available', { task_queue: h.taskQueue }).length > 0);
      assert.ok(names.has('process_cpu_user_seconds_total'));
    } finally {
      w.child.kill('SIGTERM');
      await new Promise((r) => w.child.once('exit', r));
    }
  });

  it('the API serves request counts and latency by route template and status, behind METRICS_TOKEN when set', async () => {
    const wf = await api.request<{ id: number }>('GET', '/workflows/2147483647', { key: api.keys.viewer });
    assert.equal(wf.status, 404);
    assert.equal((await api.request('GET', '/health')).status, 200);
    await fetch(`${api.base.replace(/\/orchestration\/api$/, '')}/no/such/path/${Date.now()}`);

    const root = api.base.replace(/\/orchestration\/api$/, '');
    const refused = await fetch(`${root}/metrics`);
    assert.equal(refused.status, 401);
    assert.equal((await fetch(`${root}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status, 401);
    const res = await fetch(`${root}/metrics`, { headers: { authorization: 'Bearer scrape-me' } });
    assert.equal(res.status, 200);
    const samples = parseMetrics(await res.text());
    const byId = find(samples, 'merchflow_http_requests_total', { method: 'GET', route: '/orchestration/api/workflows/:id', status: '404' });
    assert.ok(byId.length === 1 && byId[0].value >= 1, 'the route template, not the id');
    assert.ok(find(samples, 'merchflow_http_request_duration_seconds_bucket', { route: '/orchestration/api/health', status: '200', le: '+Inf' }).length === 1);
    assert.ok(find(samples, 'merchflow_http_requests_total', { route: 'unmatched', status: '404' }).length === 1, 'unknown paths share one label');
    assert.ok(!samples.some((s) => s.labels.route?.includes('2147483647')));
    assert.ok(find(samples, 'process_resident_memory_bytes').length === 1);
  });
});
