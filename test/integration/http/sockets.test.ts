import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpClient } from '@engine/activities/shared/http';
import { loadConfig } from '@src/config/config';

/**
 * A peer that holds every request until `want` are in flight at once (or a
 * fallback fires, so a capped client ends the test instead of hanging it),
 * and remembers the most it ever saw together.
 */
describe('HttpClient: sockets per host', () => {
  const want = 150;
  let server: http.Server;
  let hostPort: string;
  let inFlight = 0;
  let most = 0;
  let held: Array<() => void> = [];
  let lastArrival = 0;
  before(async () => {
    server = http.createServer((_req, res) => {
      inFlight++;
      lastArrival = Date.now();
      most = Math.max(most, inFlight);
      const release = () => {
        inFlight--;
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      };
      held.push(release);
      if (held.length >= want) {
        const all = held;
        held = [];
        all.forEach((r) => r());
      }
    });
    server.keepAliveTimeout = 10_000;
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    hostPort = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('opens as many sockets to one host as it is configured for (not a fixed 64)', async () => {
    most = 0;
    const sut = new HttpClient({ allowHosts: [hostPort], retry: { attempts: 1 }, maxSocketsPerHost: want });
    // Should the client be capped below `want`, free what is held once no request has come for a while.
    const fallback = setInterval(() => {
      if (held.length > 0 && Date.now() - lastArrival > 3000) {
        const all = held;
        held = [];
        all.forEach((r) => r());
      }
    }, 1000);
    try {
      const res = await Promise.all(Array.from({ length: want }, (_, i) => sut.get(`http://${hostPort}/items/${i}`)));
      assert.ok(res.every((r) => r.status === 200));
      assert.equal(most, want, `the peer saw ${most} requests at once`);
    } finally {
      clearInterval(fallback);
      sut.close();
    }
  });

  it("sizes the workers' clients to their activity slots x the largest step concurrency, unless told", () => {
    assert.equal(loadConfig({ WORKER_MAX_CONCURRENT_ACTIVITIES: '20' }).worker.httpMaxSocketsPerHost, 1000);
    assert.equal(loadConfig({ WORKER_MAX_CONCURRENT_ACTIVITIES: '4' }).worker.httpMaxSocketsPerHost, 200);
    assert.equal(loadConfig({ HTTP_MAX_SOCKETS_PER_HOST: '32' }).worker.httpMaxSocketsPerHost, 32);
    assert.equal(new HttpClient({ maxSocketsPerHost: 32 }).maxSocketsPerHost, 32);
  });
});
