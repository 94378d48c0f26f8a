import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectorHttp, connectorOptionsFrom, RequestPacer } from '@src/commerce/connectors';

describe(connectorOptionsFrom.name, () => {
  const base = { api_base_url: 'https://supplier.example/v1/' };

  it('turns a row into connector options: settings, and credentials from the resolved secret only', async () => {
    const o = connectorOptionsFrom({ ...base, settings: { page_size: 250, max_items: 10, timeout_seconds: 5, retry_attempts: 40, requests_per_second: 3 } });
    assert.deepEqual([o.pageSize, o.maxItems, o.timeoutMs, o.retry?.attempts, o.requestsPerSecond, o.auth], [250, 10, 5000, 10, 3, undefined]);
    const bearer = connectorOptionsFrom({ ...base, credentials: { type: 'bearer', secret: 'TOKEN' } }, 's3cr3t');
    assert.deepEqual(await bearer.auth!.headers({} as never), { authorization: 'Bearer s3cr3t' });
    const key = connectorOptionsFrom({ ...base, credentials: { type: 'api_key', secret: 'K', header: 'X-Shop-Key' } }, 'k1');
    assert.deepEqual(await key.auth!.headers({} as never), { 'x-shop-key': 'k1' });
    assert.throws(() => connectorOptionsFrom({ ...base, credentials: { type: 'bearer', secret: 'TOKEN' } }), (e: { code?: string }) => e.code === 'SECRET_NOT_FOUND');
    assert.equal(connectorOptionsFrom({ ...base, settings: { page_size: -1, retry_attempts: 'x' as unknown as number } }).pageSize, undefined, 'nonsense settings fall back to defaults');
  });

  it('builds URLs under the base with path values encoded, and refuses a base that is not http(s)', () => {
    const http = new ConnectorHttp({ request: async () => ({}) as never }, connectorOptionsFrom(base));
    assert.equal(http.url('/products/{sku}', { sku: 'A/B ?' }), 'https://supplier.example/v1/products/A%2FB%20%3F');
    assert.throws(() => new ConnectorHttp({ request: async () => ({}) as never }, { baseUrl: 'ftp://x' }), (e: { code?: string }) => e.code === 'STEP_CONFIG_INVALID');
  });
});

describe(RequestPacer.name, () => {
  it('spaces calls by 1/rate, also when they start together', async () => {
    const pacer = new RequestPacer(50);
    const started = Date.now();
    await Promise.all([pacer.wait(), pacer.wait(), pacer.wait(), pacer.wait()]);
    const took = Date.now() - started;
    assert.ok(took >= 55 && took < 1000, `four calls at 50/s took ${took} ms`);
  });

  it('stops waiting when cancelled', async () => {
    const pacer = new RequestPacer(1);
    await pacer.wait();
    const ac = new AbortController();
    const waiting = pacer.wait(ac.signal);
    ac.abort();
    await assert.rejects(waiting, (e: { code?: string }) => e.code === 'HTTP_ABORTED');
  });
});
