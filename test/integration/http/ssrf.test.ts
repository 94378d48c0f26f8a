import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { HttpClient, apiKeyAuth } from '@engine/activities/shared/http';
import { errorCode, type StepError } from '@engine/activities/shared/errors';
import { installSocketGuard, startServer, stubLookup, type SocketGuard, type TestServer } from '@test/integration/http/support';

async function blocked(promise: Promise<unknown>): Promise<StepError> {
  let caught: unknown;
  await assert.rejects(promise, (err: unknown) => {
    caught = err;
    return true;
  });
  assert.equal(errorCode(caught), 'SSRF_BLOCKED', `expected SSRF_BLOCKED, got ${errorCode(caught)}: ${(caught as Error)?.message}`);
  assert.equal((caught as StepError).retryable, false);
  assert.equal((caught as StepError).nonRetryable, true);
  return caught as StepError;
}

describe(`${HttpClient.name} SSRF protection`, () => {
  let guard: SocketGuard;
  /** Allow-listed. */
  let allowed: TestServer;
  /** Also allow-listed, a different origin. */
  let second: TestServer;
  /** Not allow-listed: stands for an internal service on loopback. */
  let internal: TestServer;
  let sut: HttpClient;

  before(async () => {
    guard = installSocketGuard();
    internal = await startServer((_req, res) => res.end('internal secrets'));
    second = await startServer((_req, res) => res.end('second'));
    allowed = await startServer((req, res) => {
      const target = new URL(req.url ?? '/', 'http://x').searchParams.get('to');
      if (target) {
        res.writeHead(302, { location: target });
        res.end();
        return;
      }
      res.end('allowed');
    });
    sut = new HttpClient({ allowHosts: `${allowed.hostPort}, ${second.hostPort}`, retry: { attempts: 1 } });
  });

  after(async () => {
    sut.close();
    await Promise.all([allowed.close(), second.close(), internal.close()]);
    guard.restore();
    assert.deepEqual(guard.violations, [], 'no socket may reach a non-loopback address');
  });

  it('reaches an allow-listed loopback server', async () => {
    const res = await sut.get(`${allowed.origin}/`);
    assert.equal(res.body, 'allowed');
  });

  for (const spell of [
    (p: number) => `http://127.0.0.1:${p}/`,
    (p: number) => `http://[::1]:${p}/`,
    (p: number) => `http://[::ffff:127.0.0.1]:${p}/`,
    (p: number) => `http://[::ffff:7f00:1]:${p}/`,
    (p: number) => `http://0x7f000001:${p}/`,
    (p: number) => `http://2130706433:${p}/`,
    (p: number) => `http://017700000001:${p}/`,
    (p: number) => `http://127.1:${p}/`,
    (p: number) => `http://0.0.0.0:${p}/`,
    (p: number) => `http://localhost:${p}/`,
  ]) {
    const example = spell(1);
    it(`refuses a loopback server that is not allow-listed: ${example.replace(':1/', ':PORT/')}`, async () => {
      const before = guard.connects.length;
      const err = await blocked(sut.get(spell(internal.port)));
      assert.match(err.message, /not in HTTP_ALLOW_HOSTS/);
      assert.ok(typeof err.info.address === 'string' && err.info.address !== '');
      assert.equal(internal.requests.length, 0, 'the internal server received a request');
      assert.equal(guard.connects.length, before, 'a socket was opened');
    });
  }

  it('refuses the Temporal frontend port 127.0.0.1:7233 without connecting', async () => {
    await blocked(sut.get('http://127.0.0.1:7233/'));
    assert.equal(guard.connectsToPort(7233).length, 0);
  });

  it('allows the same server once its host:port is allow-listed, and only that spelling', async () => {
    const client = new HttpClient({ allowHosts: [internal.hostPort], retry: { attempts: 1 } });
    try {
      assert.equal((await client.get(`${internal.origin}/`)).body, 'internal secrets');
      // 0x7f000001 normalises to the allow-listed 127.0.0.1; localhost is a different name.
      assert.equal((await client.get(`http://0x7f000001:${internal.port}/`)).body, 'internal secrets');
      await blocked(client.get(`http://localhost:${internal.port}/`));
      await blocked(client.get(`http://127.0.0.1:${allowed.port}/`));
    } finally {
      client.close();
      internal.requests.length = 0;
    }
  });

  it('refuses a redirect from an allow-listed server to a loopback port that is not allowed', async () => {
    const connectsBefore = guard.connectsToPort(internal.port).length;
    const err = await blocked(sut.get(`${allowed.origin}/?to=${encodeURIComponent(`${internal.origin}/admin`)}`));
    assert.match(err.message, /127\.0\.0\.1/);
    assert.equal(internal.requests.length, 0);
    assert.equal(guard.connectsToPort(internal.port).length, connectsBefore);
    const viaName = await blocked(sut.get(`${allowed.origin}/?to=${encodeURIComponent(`http://localhost:${internal.port}/`)}`));
    assert.equal(viaName.info.host, 'localhost');
    assert.equal(internal.requests.length, 0);
  });

  it('strips credentials on a redirect to another origin', async () => {
    const start = allowed.requests.length;
    const res = await sut.get(`${allowed.origin}/?to=${encodeURIComponent(`${second.origin}/landing`)}`, {
      headers: { Authorization: 'Bearer tok-abc', 'X-Trace': 't-1', 'X-Custom-Secret': 'c-1' },
      auth: apiKeyAuth('key-xyz', { headerName: 'X-Shop-Key' }),
      credentialHeaders: ['X-Custom-Secret'],
      idempotencyKey: 'idem-1',
    });
    assert.equal(res.body, 'second');
    assert.equal(res.url, `${second.origin}/landing`);
    const first = allowed.requests[start];
    assert.equal(first.headers.authorization, 'Bearer tok-abc');
    assert.equal(first.headers['x-shop-key'], 'key-xyz');
    const landed = second.requests.at(-1)!;
    assert.equal(landed.headers.authorization, undefined);
    assert.equal(landed.headers['x-shop-key'], undefined);
    assert.equal(landed.headers['x-custom-secret'], undefined);
    assert.equal(landed.headers['x-trace'], 't-1');
    assert.equal(landed.headers['idempotency-key'], 'idem-1');
  });

  it('keeps credentials on a same-origin redirect and for hosts listed in credentialsHosts', async () => {
    await sut.get(`${allowed.origin}/?to=${encodeURIComponent('/same')}`, { headers: { authorization: 'Bearer same' } });
    assert.equal(allowed.requests.at(-1)!.url, '/same');
    assert.equal(allowed.requests.at(-1)!.headers.authorization, 'Bearer same');

    await sut.get(`${allowed.origin}/?to=${encodeURIComponent(`${second.origin}/trusted`)}`, {
      headers: { authorization: 'Bearer shared' },
      credentialsHosts: [allowed.hostPort, second.hostPort],
    });
    assert.equal(second.requests.at(-1)!.headers.authorization, 'Bearer shared');
  });

  it('never sends credentials to a first host they were not configured for', async () => {
    await sut.get(`${second.origin}/direct`, { headers: { 'x-api-key': 'k' }, credentialsHosts: [allowed.hostPort] });
    assert.equal(second.requests.at(-1)!.headers['x-api-key'], undefined);
  });

  describe('with DNS answers stubbed to internal addresses', () => {
    const answers: Record<string, string[]> = {
      'metadata.test': ['169.254.169.254'],
      'mapped-metadata.test': ['::ffff:169.254.169.254'],
      'ten.test': ['10.0.0.5'],
      'home.test': ['192.168.1.1'],
      'ula.test': ['fd00::1'],
      'aws-v6-metadata.test': ['fd00:ec2::254'],
      'cgnat.test': ['100.64.0.1'],
      'linklocal6.test': ['fe80::1'],
      'unspecified.test': ['0.0.0.0'],
      // One bad address among several is enough to refuse.
      'mixed.test': ['127.0.0.2', '10.1.2.3'],
    };
    const lookup = stubLookup(answers);
    const client = new HttpClient({ lookup, retry: { attempts: 1 } });
    after(() => client.close());

    for (const [host, addresses] of Object.entries(answers)) {
      it(`refuses ${host} -> ${addresses.join(', ')} without opening a socket`, async () => {
        const before = guard.connects.length;
        const err = await blocked(client.get(`http://${host}/latest/meta-data/`));
        assert.equal(err.info.host, host);
        assert.ok(addresses.includes(err.info.address as string));
        assert.match(err.message, new RegExp(host.replace(/\./g, '\\.')));
        assert.equal(guard.connects.length, before, 'a socket was opened');
      });
    }

    it('checks every redirect hop against the stubbed answers', async () => {
      const redirecting = new HttpClient({ lookup, allowHosts: [allowed.hostPort], retry: { attempts: 1 } });
      try {
        const before = guard.connects.length;
        const err = await blocked(redirecting.get(`${allowed.origin}/?to=${encodeURIComponent('http://metadata.test/latest/meta-data/')}`));
        assert.equal(err.info.address, '169.254.169.254');
        assert.ok(lookup.asked.includes('metadata.test'));
        // Only the allow-listed first hop connected.
        assert.deepEqual(
          guard.connects.slice(before).map((c) => c.port),
          [allowed.port],
        );
      } finally {
        redirecting.close();
      }
    });

    it('connects through the pinned, checked address of an allow-listed name', async () => {
      const sandboxLookup = stubLookup({ 'sandbox.test': ['127.0.0.1'] });
      const pinned = new HttpClient({ lookup: sandboxLookup, allowHosts: [`sandbox.test:${allowed.port}`], retry: { attempts: 1 } });
      try {
        const res = await pinned.get(`http://sandbox.test:${allowed.port}/`);
        assert.equal(res.body, 'allowed');
        // Resolved once; the socket's own lookup was answered from the pinned result, not DNS.
        assert.deepEqual(sandboxLookup.asked, ['sandbox.test']);
        assert.equal(allowed.requests.at(-1)!.headers.host, `sandbox.test:${allowed.port}`);
        const last = guard.connects.at(-1)!;
        assert.equal(last.host, 'sandbox.test');
        assert.deepEqual(last.addresses, ['127.0.0.1']);
      } finally {
        pinned.close();
      }
    });
  });
});
