import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { loadConfig } from '@src/config/config';
import { createDataSource } from '@src/database/data-source';
import { connectionKey, PgRateBudgets } from '@src/commerce/connectors/rate-budget';

/** The PostgreSQL store of shared rate budgets, from two pools standing for two worker processes. */
describe(PgRateBudgets.name, () => {
  let first: DataSource;
  let second: DataSource;

  before(async () => {
    const config = loadConfig(process.env);
    [first, second] = await Promise.all([createDataSource(config, { poolSize: 6 }).initialize(), createDataSource(config, { poolSize: 6 }).initialize()]);
  });
  after(async () => {
    await Promise.all([first?.destroy(), second?.destroy()]);
  });

  const supplier = async (budget: Record<string, number>): Promise<number> => {
    const code = `rbs-${randomUUID().slice(0, 12)}`;
    const [row] = (await first.query(`INSERT INTO suppliers (code, name, api_base_url, rate_budget) VALUES ($1, $1, 'http://127.0.0.1:9/s', $2) RETURNING id`, [code, JSON.stringify(budget)])) as Array<{ id: number }>;
    return row.id;
  };
  const setBudget = (id: number, budget: Record<string, number>) => first.query(`UPDATE suppliers SET rate_budget = $2 WHERE id = $1`, [id, JSON.stringify(budget)]);

  it('shares one bucket between two pools: 22 tokens at 20/s after a burst of 2 take about a second', async () => {
    const key = connectionKey('supplier', await supplier({ requests_per_second: 20, burst: 2 }));
    const a = new PgRateBudgets(first);
    const b = new PgRateBudgets(second);
    const started = Date.now();
    const grants: number[] = [];
    await Promise.all(Array.from({ length: 22 }, (_, i) => (i % 2 ? a : b).acquire(key).then((release) => (grants.push(Date.now() - started), release()))));
    const elapsed = Date.now() - started;
    process.stdout.write(`# 22 acquisitions at 20/s + 2: ${elapsed} ms\n`);
    assert.ok(elapsed >= 950, `at least 1 s across both pools, took ${elapsed} ms`);
    assert.ok(grants.filter((t) => t < 500).length <= 2 + 10 + 1, 'no more than burst + rate x 0.5 s granted in the first half second');
  });

  it('reads a budget change at the next acquisition and honours the AbortSignal while waiting', async () => {
    const id = await supplier({ requests_per_second: 1000, burst: 1 });
    const key = connectionKey('supplier', id);
    const a = new PgRateBudgets(first);
    (await a.acquire(key))();
    await setBudget(id, { requests_per_second: 0.2, burst: 1 });
    (await a.acquire(key))(); // the bucket's last token, or a short wait for it
    const controller = new AbortController();
    const started = Date.now();
    const waiting = new PgRateBudgets(second).acquire(key, controller.signal);
    setTimeout(() => controller.abort(), 100);
    await assert.rejects(waiting, (err: { code?: string }) => err.code === 'HTTP_ABORTED');
    assert.ok(Date.now() - started < 2_000, 'the abort ended the wait (a token at 0.2/s was seconds away)');
    await setBudget(id, { requests_per_second: 1000, burst: 50 });
    const quick = Date.now();
    await new Promise((r) => setTimeout(r, 50));
    await Promise.all(Array.from({ length: 10 }, () => a.acquire(key).then((r) => r())));
    assert.ok(Date.now() - quick < 10_000, 'a raised budget applies without a restart');
  });

  it('penalise blocks every caller of the key until Retry-After passes, in the other pool too', async () => {
    const key = connectionKey('supplier', await supplier({ requests_per_second: 1000, burst: 100 }));
    const a = new PgRateBudgets(first);
    const b = new PgRateBudgets(second);
    (await a.acquire(key))();
    const started = Date.now();
    await a.penalise(key, 800);
    (await b.acquire(key))();
    assert.ok(Date.now() - started >= 750, `the other pool waited out the Retry-After (${Date.now() - started} ms)`);
  });

  it('a 429 on a connection without any budget still blocks its callers', async () => {
    const key = connectionKey('supplier', await supplier({}));
    const a = new PgRateBudgets(first);
    (await a.acquire(key))();
    const started = Date.now();
    await new PgRateBudgets(second).penalise(key, 600);
    (await a.acquire(key))();
    assert.ok(Date.now() - started >= 550);
  });

  it('max_concurrent: at most that many leases at once across pools, and a lost lease lapses', async () => {
    const key = connectionKey('supplier', await supplier({ max_concurrent: 2 }));
    const a = new PgRateBudgets(first, { leaseMarginMs: 0 });
    const b = new PgRateBudgets(second, { leaseMarginMs: 0 });
    let holding = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const release = await (i % 2 ? a : b).acquire(key);
        holding++;
        most = Math.max(most, holding);
        await new Promise((r) => setTimeout(r, 40));
        holding--;
        release();
      }),
    );
    assert.equal(most, 2);
    // A worker killed while holding both leases: they lapse after their hold time (1 s here), then others get slots.
    await a.acquire(key, undefined, { holdMs: 1_000 });
    await a.acquire(key, undefined, { holdMs: 1_000 });
    const started = Date.now();
    (await b.acquire(key))();
    assert.ok(Date.now() - started >= 500, 'the slots came free only when the lost leases expired');
  });
});
