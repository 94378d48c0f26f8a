import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { startHarness, type Harness } from '@test/support/harness';
import { lazyExecutors } from '@test/support/deps';
import { dataFetchExecutorModule } from '@engine/activities/data_fetch';
import { apiCallExecutorModule } from '@engine/activities/api_call';
import { startSandbox, type Sandbox } from '@src/sandbox';
import type { RequestLogEntry } from '@src/sandbox/apis/admin';

const suffix = randomUUID().slice(0, 8);

/** The most requests in any window of `windowMs` (sliding), and the busiest calendar second. */
export function busiest(entries: RequestLogEntry[], windowMs = 1000): { sliding: number; calendarSecond: number } {
  const times = entries.map((e) => e.at).sort((a, b) => a - b);
  let sliding = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i] - times[j] >= windowMs) j++;
    sliding = Math.max(sliding, i - j + 1);
  }
  const perSecond = new Map<number, number>();
  for (const t of times) perSecond.set(Math.floor(t / 1000), (perSecond.get(Math.floor(t / 1000)) ?? 0) + 1);
  return { sliding, calendarSecond: Math.max(0, ...perSecond.values()) };
}

/**
 * The sandbox in a process of its own, so its request log timestamps arrivals
 * as they happen even while this process (the worker) is busy.
 */
async function startSandboxProcess(): Promise<{ url: string; process: ChildProcess; requests(since: number, api: string): Promise<RequestLogEntry[]> }> {
  const child = spawn(process.execPath, [path.resolve(__dirname, '../../../src/sandbox/main.js')], {
    env: { ...process.env, SANDBOX_PORT: '0', SANDBOX_PRODUCTS: '300', SANDBOX_SEED: '5' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /sandbox listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`the sandbox exited (${code}): ${out}`)));
  });
  return {
    url,
    process: child,
    requests: async (since, api) => ((await (await fetch(`${url}/_admin/requests?since=${since}&api=${api}`)).json()) as { items: RequestLogEntry[] }).items,
  };
}

describe('shared rate budgets', () => {
  let h: Harness;
  let sandbox: Sandbox;
  let remote: Awaited<ReturnType<typeof startSandboxProcess>>;

  before(async () => {
    [sandbox, remote] = await Promise.all([startSandbox({ products: 300, seed: 5, initialOrders: 12 }), startSandboxProcess()]);
    h = await startHarness({
      executors: lazyExecutors(() => h, [dataFetchExecutorModule, apiCallExecutorModule]),
      env: { HTTP_ALLOW_HOSTS: `127.0.0.1:${sandbox.port},${new URL(remote.url).host}`, WORKER_MAX_CONCURRENT_ACTIVITIES: '40' },
    });
  });
  after(async () => {
    await h?.close();
    await sandbox?.close();
    remote?.process.kill();
  });

  const supplier = async (budget: Record<string, number>, base = sandbox.urls.supplier, code = `rb-${suffix}-${randomUUID().slice(0, 6)}`): Promise<number> => {
    const [row] = (await h.dataSource.query(`INSERT INTO suppliers (code, name, api_base_url, settings, rate_budget) VALUES ($1, $1, $2, $3, $4) RETURNING id`, [
      code,
      base,
      JSON.stringify({ page_size: 50 }),
      JSON.stringify(budget),
    ])) as Array<{ id: number }>;
    return row.id;
  };

  /** `count` concurrent runs of one data_fetch of the supplier's products; resolves once all ended. */
  const concurrentImports = async (supplierId: number, count: number) => {
    const id = await h.createWorkflow({ steps: [{ key: 'fetch', name: 'fetch', step_type: 'data_fetch', config: { source_type: 'supplier', fetch_type: 'products', supplier_id: supplierId } }] } as never);
    const runs = await Promise.all(Array.from({ length: count }, () => h.start(id, {})));
    return Promise.all(runs.map((r) => h.wait(r.execution_id)));
  };

  it('20 concurrent imports against one supplier stay within 10 requests/s + burst 5, in every second of the sandbox log', async () => {
    const supplierId = await supplier({ requests_per_second: 10, burst: 5 }, `${remote.url}/supplier/v1`);
    const since = Date.now();
    const results = await concurrentImports(supplierId, 20);
    assert.deepEqual(results.map((r) => r.status), Array(20).fill('completed'), JSON.stringify(results.find((r) => r.status !== 'completed')?.error));
    const log = await remote.requests(since, 'supplier');
    // 300 products in pages of 50: 6 pages per import.
    assert.equal(log.length, 20 * 6);
    const worst = busiest(log);
    process.stdout.write(`# rate budget 10/s + 5: ${log.length} requests, worst sliding second ${worst.sliding}, worst calendar second ${worst.calendarSecond}, span ${log[log.length - 1].at - log[0].at} ms\n`);
    // Every calendar second of the log holds at most budget + burst. Any one-second window (sliding, stricter)
    // too, give or take one request: tokens are granted exactly on time, but each request still travels
    // from the worker to the sandbox, and one sent a few ms late can share a window with the next.
    assert.ok(worst.calendarSecond <= 15, `at most 10/s + burst 5 in any second of the log, saw ${worst.calendarSecond}`);
    assert.ok(worst.sliding <= 16, `at most 10/s + burst 5 (+1 for delivery jitter) in any one-second window, saw ${worst.sliding}`);
    // The bucket, not luck: 120 requests at 10/s after a burst of 5 take at least 11.5 s.
    assert.ok(log[log.length - 1].at - log[0].at >= 11_000, 'the requests were spread over at least 11 s');
  });

  it('without a budget the same imports exceed it (the check above can fail)', async () => {
    const supplierId = await supplier({}, `${remote.url}/supplier/v1`);
    const since = Date.now();
    const results = await concurrentImports(supplierId, 20);
    assert.deepEqual(results.map((r) => r.status), Array(20).fill('completed'));
    const worst = busiest(await remote.requests(since, 'supplier'));
    process.stdout.write(`# no budget: worst sliding second ${worst.sliding}, worst calendar second ${worst.calendarSecond}\n`);
    assert.ok(worst.sliding > 16 && worst.calendarSecond > 15);
  });

  it('a 429 with Retry-After holds back every concurrent caller of the connection until it passes', async () => {
    // The remote allows 4/s; the connection's budget (50/s) would not stop anyone, the Retry-After must.
    const supplierId = await supplier({ requests_per_second: 50, burst: 2 });
    sandbox.setRateLimit({ requestsPerSecond: 4, burst: 3 });
    try {
      const since = Date.now();
      const results = await concurrentImports(supplierId, 6);
      assert.deepEqual(results.map((r) => r.status), Array(6).fill('completed'), JSON.stringify(results.find((r) => r.status !== 'completed')?.error));
      const log = sandbox.requests(since, 'supplier');
      const limited = log.filter((e) => e.status === 429);
      assert.ok(limited.length > 0, 'the sandbox answered 429');
      // Requests already admitted when the 429 came may still land just after it; then nobody until Retry-After (1 s) passes.
      const graceMs = 300;
      const inside = log.filter((e) => limited.some((l) => e.at > l.at + graceMs && e.at < l.at + 1000 - 50));
      assert.deepEqual(inside, [], 'no request reached the remote while a Retry-After was in force');
    } finally {
      sandbox.setRateLimit(null);
    }
  });

  it('api_call requests under a connection URL spend its budget (marketplace 5/s + 1)', async () => {
    const [m] = (await h.dataSource.query(`INSERT INTO marketplaces (code, name, api_base_url, rate_budget) VALUES ($1, $1, $2, $3) RETURNING id`, [
      `rbm-${suffix}`,
      sandbox.urls.marketplace,
      JSON.stringify({ requests_per_second: 5, burst: 1 }),
    ])) as Array<{ id: number }>;
    assert.ok(m.id > 0);
    const ids = Array.from({ length: 10 }, (_, i) => ({ external_id: `nope-${i}` }));
    const id = await h.createWorkflow({
      steps: [
        {
          key: 'ack',
          name: 'ack',
          step_type: 'api_call',
          config: {
            url: `${sandbox.urls.marketplace}/orders/$external_id/acknowledge`,
            method: 'POST',
            body_mode: 'per_item',
            body: {},
            input: '$input.orders',
            concurrency: 8,
            expected_status: [200, 404],
          },
        },
      ],
    } as never);
    const since = Date.now();
    const run = await h.start(id, { orders: ids });
    const res = await h.wait(run.execution_id);
    assert.equal(res.status, 'completed', JSON.stringify(res.error));
    const log = sandbox.requests(since, 'marketplace');
    assert.equal(log.length, 10);
    assert.ok(busiest(log).sliding <= 6, `at most 5/s + 1 in any second, saw ${busiest(log).sliding}`);
    const offsets = log.map((e) => `${e.at - log[0].at}:${e.status}`).join(' ');
    assert.ok(log[9].at - log[0].at >= 1_700, `ten requests at 5/s after a burst of 1 take at least 1.8 s (${offsets})`);
  });
});
