import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import type { Readable } from 'node:stream';
import { HttpClient, bearerAuth, apiKeyAuth } from '@engine/activities/shared/http';
import { errorCode, StepError } from '@engine/activities/shared/errors';
import { installSocketGuard, startServer, type SocketGuard, type TestServer } from '@test/integration/http/support';

/** Asserts the promise rejects with a StepError of `code` and returns it. */
async function rejectsWith(promise: Promise<unknown>, code: string): Promise<StepError> {
  let caught: unknown;
  await assert.rejects(promise, (err: unknown) => {
    caught = err;
    return true;
  });
  assert.equal(errorCode(caught), code, `expected ${code}, got ${errorCode(caught)}: ${(caught as Error)?.message}`);
  assert.ok(caught instanceof StepError);
  return caught;
}

describe(HttpClient.name, () => {
  let guard: SocketGuard;
  let server: TestServer;
  let other: TestServer;
  let sut: HttpClient;
  const behaviour = new Map<string, (res: import('node:http').ServerResponse, index: number, body: string) => void>();
  const hits = new Map<string, number>();

  before(async () => {
    guard = installSocketGuard();
    server = await startServer((req, res, body) => {
      const path = (req.url ?? '/').split('?')[0];
      const n = hits.get(path) ?? 0;
      hits.set(path, n + 1);
      const fn = behaviour.get(path);
      if (fn) return fn(res, n, body);
      res.statusCode = 404;
      res.end('no route');
    });
    other = await startServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ from: 'other' }));
    });
    sut = new HttpClient({
      allowHosts: [server.hostPort, other.hostPort],
      retry: { baseDelayMs: 5, maxDelayMs: 20, jitter: false },
      timeoutMs: 5_000,
    });
  });

  after(async () => {
    sut.close();
    await server.close();
    await other.close();
    guard.restore();
    assert.deepEqual(guard.violations, [], 'no socket may reach a non-loopback address');
  });

  const json = (status: number, value: unknown, headers: Record<string, string> = {}) => (res: import('node:http').ServerResponse) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
    res.end(JSON.stringify(value));
  };

  it('GETs JSON from an allow-listed server', async () => {
    behaviour.set('/items', json(200, { items: [1, 2] }));
    const res = await sut.get(`${server.origin}/items`, { query: { page: 2, skip: undefined } });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { items: [1, 2] });
    assert.equal(res.url, `${server.origin}/items?page=2`);
    assert.equal(res.attempts, 1);
    const seen = server.requests.at(-1)!;
    assert.equal(seen.url, '/items?page=2');
    assert.equal(seen.headers.host, server.hostPort);
  });

  it('POSTs a JSON body with an Idempotency-Key and returns text for text responses', async () => {
    behaviour.set('/echo', (res, _n, body) => {
      res.setHeader('content-type', 'text/plain');
      res.end(`got ${body}`);
    });
    const res = await sut.post(`${server.origin}/echo`, { sku: 'A1', qty: 2 }, { idempotencyKey: 'wf-1:step-a' });
    assert.equal(res.body, 'got {"sku":"A1","qty":2}');
    const seen = server.requests.at(-1)!;
    assert.equal(seen.method, 'POST');
    assert.equal(seen.headers['content-type'], 'application/json');
    assert.equal(seen.headers['idempotency-key'], 'wf-1:step-a');
  });

  it('sends auth helpers’ headers to the configured origin', async () => {
    behaviour.set('/auth', json(200, {}));
    await sut.get(`${server.origin}/auth`, { auth: bearerAuth('tok-123') });
    assert.equal(server.requests.at(-1)!.headers.authorization, 'Bearer tok-123');
    await sut.get(`${server.origin}/auth`, { auth: apiKeyAuth('key-9', { headerName: 'X-Supplier-Key' }) });
    assert.equal(server.requests.at(-1)!.headers['x-supplier-key'], 'key-9');
  });

  it('retries a 503 and then succeeds', async () => {
    behaviour.set('/flaky', (res, n) => (n < 2 ? json(503, { error: 'busy' })(res) : json(200, { ok: true })(res)));
    const res = await sut.get(`${server.origin}/flaky`);
    assert.deepEqual(res.body, { ok: true });
    assert.equal(res.attempts, 3);
    assert.equal(hits.get('/flaky'), 3);
  });

  it('gives up after the configured attempts with a retryable HTTP_STATUS', async () => {
    behaviour.set('/down', json(502, { error: 'bad gateway' }));
    const err = await rejectsWith(sut.get(`${server.origin}/down`, { retry: { attempts: 2 } }), 'HTTP_STATUS');
    assert.equal(err.retryable, true);
    assert.equal(err.nonRetryable, false);
    assert.equal(err.info.status, 502);
    assert.equal(hits.get('/down'), 2);
  });

  it('does not repeat a POST without an Idempotency-Key after a 500, but does with one', async () => {
    behaviour.set('/orders', json(500, {}));
    await rejectsWith(sut.post(`${server.origin}/orders`, { a: 1 }), 'HTTP_STATUS');
    assert.equal(hits.get('/orders'), 1);
    behaviour.set('/keyed-orders', (res, n) => (n === 0 ? json(500, {})(res) : json(201, { id: 7 })(res)));
    const res = await sut.post(`${server.origin}/keyed-orders`, { a: 1 }, { idempotencyKey: 'k-1' });
    assert.equal(res.status, 201);
    assert.equal(res.attempts, 2);
    assert.deepEqual(server.requests.slice(-2).map((r) => r.headers['idempotency-key']), ['k-1', 'k-1']);
  });

  it('waits for Retry-After on a 429', async () => {
    behaviour.set('/limited', (res, n) => (n === 0 ? json(429, { error: 'slow down' }, { 'retry-after': '1' })(res) : json(200, { ok: 1 })(res)));
    const started = Date.now();
    const res = await sut.get(`${server.origin}/limited`);
    const elapsed = Date.now() - started;
    assert.equal(res.status, 200);
    assert.ok(elapsed >= 1000, `waited only ${elapsed} ms`);
  });

  it('hands a Retry-After beyond the cap to Temporal instead of sleeping', async () => {
    behaviour.set('/much-later', json(429, {}, { 'retry-after': '120' }));
    const err = await rejectsWith(sut.get(`${server.origin}/much-later`, { retry: { maxRetryAfterMs: 1_000 } }), 'HTTP_STATUS');
    assert.equal(hits.get('/much-later'), 1, 'not retried in process');
    assert.equal(err.retryable, true);
    assert.equal(err.info.retryAfterMs, 120_000);
    assert.equal(err.nextRetryDelay, 120_000);
  });

  it('times out a slow response with a retryable HTTP_TIMEOUT', async () => {
    behaviour.set('/slow', (res) => {
      const t = setTimeout(() => res.end('late'), 2_000);
      res.on('close', () => clearTimeout(t));
    });
    const err = await rejectsWith(sut.get(`${server.origin}/slow`, { timeoutMs: 100, retry: { attempts: 1 } }), 'HTTP_TIMEOUT');
    assert.equal(err.retryable, true);
  });

  it('cancels on an AbortSignal', async () => {
    behaviour.set('/hang', (res) => {
      const t = setTimeout(() => res.end('late'), 2_000);
      res.on('close', () => clearTimeout(t));
    });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const err = await rejectsWith(sut.get(`${server.origin}/hang`, { signal: ac.signal }), 'HTTP_ABORTED');
    assert.equal(err.retryable, false);
  });

  it('refuses a response larger than maxResponseBytes, declared or streamed', async () => {
    const big = Buffer.alloc(2 * 1024 * 1024, 'a');
    behaviour.set('/big', (res) => {
      res.setHeader('content-length', big.length);
      res.end(big);
    });
    behaviour.set('/big-chunked', (res) => {
      res.write(big.subarray(0, 1024 * 1024));
      res.end(big.subarray(1024 * 1024));
    });
    const err = await rejectsWith(sut.get(`${server.origin}/big`, { maxResponseBytes: 1024 * 1024 }), 'RESPONSE_TOO_LARGE');
    assert.equal(err.retryable, false);
    await rejectsWith(sut.get(`${server.origin}/big-chunked`, { maxResponseBytes: 1024 * 1024 }), 'RESPONSE_TOO_LARGE');
  });

  it('fails retryably when the connection closes part way through a body, and retries the request', async () => {
    behaviour.set('/cut', (res, index) => {
      if (index === 0) {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
        res.write('{"partial":');
        setImmediate(() => res.socket?.destroy());
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"whole":true}');
    });
    const once = await rejectsWith(sut.get(`${server.origin}/cut`, { retry: { attempts: 1 } }), 'HTTP_CONNECTION_ERROR');
    assert.equal(once.retryable, true);
    hits.delete('/cut');
    const res = await sut.get(`${server.origin}/cut`, { retry: { attempts: 2, baseDelayMs: 1 } });
    assert.deepEqual([res.body, res.attempts], [{ whole: true }, 2]);
  });

  it('streams a 2xx body chunk by chunk (decompressed), after retrying a 503, with an idle timeout, a size limit and cancellation', async () => {
    const readAll = async (r: Readable) => {
      const chunks: Buffer[] = [];
      for await (const c of r) chunks.push(c as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    };
    behaviour.set('/stream', (res, n) => {
      if (n === 0) {
        res.writeHead(503, { 'retry-after': '0' });
        res.end('busy');
        return;
      }
      res.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'text/csv' });
      res.end(zlib.gzipSync('a,b\n1,2\n'.repeat(1000)));
    });
    hits.delete('/stream');
    const res = await sut.get<Readable>(`${server.origin}/stream`, { responseType: 'stream' });
    assert.equal(res.status, 200);
    assert.equal(res.attempts, 2, 'the 503 was retried before any body was handed over');
    assert.equal(await readAll(res.body), 'a,b\n1,2\n'.repeat(1000));

    // A stall between chunks fails the stream with a retryable HTTP_TIMEOUT.
    behaviour.set('/stall', (res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first chunk');
    });
    const stalled = await sut.get<Readable>(`${server.origin}/stall`, { responseType: 'stream', timeoutMs: 200 });
    await assert.rejects(readAll(stalled.body), (err: StepError) => err.code === 'HTTP_TIMEOUT' && err.retryable === true);

    // maxResponseBytes, when given, applies to the streamed bytes.
    behaviour.set('/huge', (res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(Buffer.alloc(300_000, 'x'));
    });
    const huge = await sut.get<Readable>(`${server.origin}/huge`, { responseType: 'stream', maxResponseBytes: 100_000 });
    await assert.rejects(readAll(huge.body), (err: StepError) => err.code === 'RESPONSE_TOO_LARGE');

    // Aborting the signal ends the stream with HTTP_ABORTED.
    const controller = new AbortController();
    const slow = await sut.get<Readable>(`${server.origin}/stall`, { responseType: 'stream', signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await assert.rejects(readAll(slow.body), (err: StepError) => err.code === 'HTTP_ABORTED');

    // A 4xx is read and thrown as usual, never handed over as a stream.
    behaviour.set('/denied', json(403, { error: 'no' }));
    await rejectsWith(sut.get(`${server.origin}/denied`, { responseType: 'stream' }), 'HTTP_CLIENT_ERROR');
  });

  it('applies the size limit after decompression (gzip bomb)', async () => {
    const bomb = zlib.gzipSync(Buffer.alloc(8 * 1024 * 1024));
    assert.ok(bomb.length < 64 * 1024);
    behaviour.set('/bomb', (res) => {
      res.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'text/plain' });
      res.end(bomb);
    });
    await rejectsWith(sut.get(`${server.origin}/bomb`, { maxResponseBytes: 1024 * 1024 }), 'RESPONSE_TOO_LARGE');
    behaviour.set('/gz', (res) => {
      res.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'application/json' });
      res.end(zlib.gzipSync(JSON.stringify({ zipped: true })));
    });
    assert.deepEqual((await sut.get(`${server.origin}/gz`)).body, { zipped: true });
  });

  it('throws HTTP_CLIENT_ERROR for a 4xx with a redacted excerpt of the body', async () => {
    behaviour.set('/missing', (res) => {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'not found', echo: 'Bearer super-secret-token' }));
    });
    const err = await rejectsWith(sut.get(`${server.origin}/missing?api_key=abc`, { auth: bearerAuth('super-secret-token') }), 'HTTP_CLIENT_ERROR');
    assert.equal(err.retryable, false);
    assert.equal(err.info.status, 404);
    assert.match(err.message, /404/);
    assert.match(err.message, /not found/);
    assert.doesNotMatch(err.message, /super-secret-token/);
    assert.doesNotMatch(err.message, /api_key=abc/);
    assert.doesNotMatch(JSON.stringify(err.details), /super-secret-token/);
    assert.equal(hits.get('/missing'), 1, '4xx is not retried');
  });

  it('returns a 4xx response when throwHttpErrors is false', async () => {
    behaviour.set('/gone', json(410, { error: 'gone' }));
    const res = await sut.get(`${server.origin}/gone`, { throwHttpErrors: false });
    assert.equal(res.status, 410);
    assert.deepEqual(res.body, { error: 'gone' });
  });

  it('follows redirects, turning a 303 into a GET, and stops after maxRedirects', async () => {
    behaviour.set('/submit', (res) => {
      res.writeHead(303, { location: '/result' });
      res.end();
    });
    behaviour.set('/result', json(200, { done: true }));
    const res = await sut.post(`${server.origin}/submit`, { x: 1 });
    assert.deepEqual(res.body, { done: true });
    assert.equal(res.url, `${server.origin}/result`);
    assert.equal(server.requests.at(-1)!.method, 'GET');

    behaviour.set('/loop', (res) => {
      res.writeHead(302, { location: '/loop' });
      res.end();
    });
    await rejectsWith(sut.get(`${server.origin}/loop`, { maxRedirects: 3 }), 'TOO_MANY_REDIRECTS');
    assert.equal(hits.get('/loop'), 4);
  });

  it('refuses a 307/308 that would re-send a body to another origin', async () => {
    const other = await startServer();
    try {
      const client = new HttpClient({ allowHosts: [server.hostPort, other.hostPort], retry: { attempts: 1 } });
      behaviour.set('/moved', (res) => {
        res.writeHead(307, { location: `${other.origin}/sink` });
        res.end();
      });
      await rejectsWith(client.post(`${server.origin}/moved`, { card: '4111' }), 'REDIRECT_REFUSED');
      assert.equal(other.requests.length, 0, 'the other origin received nothing');
      // Same origin is fine: the body goes where it was meant to go.
      behaviour.set('/here', (res) => {
        res.writeHead(308, { location: '/result' });
        res.end();
      });
      behaviour.set('/result', json(200, { done: true }));
      assert.deepEqual((await client.post(`${server.origin}/here`, { x: 1 })).body, { done: true });
      assert.equal(server.requests.at(-1)!.body, JSON.stringify({ x: 1 }));
    } finally {
      await other.close();
    }
  });

  it('refuses non-http schemes, also as a redirect target', async () => {
    await rejectsWith(sut.get('file:///etc/passwd'), 'UNSUPPORTED_SCHEME');
    await rejectsWith(sut.get('ftp://127.0.0.1/x'), 'UNSUPPORTED_SCHEME');
    behaviour.set('/to-file', (res) => {
      res.writeHead(302, { location: 'file:///etc/passwd' });
      res.end();
    });
    await rejectsWith(sut.get(`${server.origin}/to-file`), 'UNSUPPORTED_SCHEME');
    await rejectsWith(sut.get(`http://user:pw@${server.hostPort}/x`), 'INVALID_URL');
  });

  it('reports a refused connection as a retryable HTTP_CONNECTION_ERROR', async () => {
    const gone = await startServer();
    await gone.close();
    const client = new HttpClient({ allowHosts: [gone.hostPort], retry: { attempts: 2, baseDelayMs: 1, jitter: false } });
    try {
      const err = await rejectsWith(client.post(`${gone.origin}/`, { a: 1 }), 'HTTP_CONNECTION_ERROR');
      assert.equal(err.retryable, true);
      // Never connected, so even the POST was attempted twice.
      assert.equal(guard.connectsToPort(gone.port).length, 2);
    } finally {
      client.close();
    }
  });
});
