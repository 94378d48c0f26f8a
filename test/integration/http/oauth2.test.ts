import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { HttpClient, OAuth2ClientCredentials, oauth2ClientCredentials } from '@engine/activities/shared/http';
import { errorCode } from '@engine/activities/shared/errors';
import { installSocketGuard, startServer, type SocketGuard, type TestServer } from '@test/integration/http/support';

const CLIENT_ID = 'merchflow-client';
const CLIENT_SECRET = 'cl1ent-s3cret-value';

describe(OAuth2ClientCredentials.name, () => {
  let guard: SocketGuard;
  let tokenServer: TestServer;
  let api: TestServer;
  let sut: HttpClient;
  let issued = 0;
  /** Tokens the API accepts; tests revoke some. */
  const valid = new Set<string>();

  before(async () => {
    guard = installSocketGuard();
    tokenServer = await startServer((req, res, body) => {
      const form = new URLSearchParams(body);
      const basic = Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64');
      const viaBasic = req.headers.authorization === `Basic ${basic}`;
      const viaPost = form.get('client_id') === CLIENT_ID && form.get('client_secret') === CLIENT_SECRET;
      res.setHeader('content-type', 'application/json');
      if (req.method !== 'POST' || form.get('grant_type') !== 'client_credentials' || !(viaBasic || viaPost)) {
        res.statusCode = 401;
        res.end(JSON.stringify({ error: 'invalid_client', error_description: `bad secret ${form.get('client_secret') ?? ''}` }));
        return;
      }
      const token = `tok-${++issued}`;
      valid.add(token);
      res.end(JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: 3600, scope: form.get('scope') }));
    });
    api = await startServer((req, res) => {
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      res.setHeader('content-type', 'application/json');
      if (!token || !valid.has(token)) {
        res.statusCode = 401;
        res.end(JSON.stringify({ error: 'unauthorized' }));
        return;
      }
      res.end(JSON.stringify({ token }));
    });
    sut = new HttpClient({ allowHosts: [tokenServer.hostPort, api.hostPort], retry: { attempts: 1 } });
  });

  after(async () => {
    sut.close();
    await Promise.all([tokenServer.close(), api.close()]);
    guard.restore();
    assert.deepEqual(guard.violations, []);
  });

  it('fetches a token with client_secret_basic and caches it until expiry', async () => {
    let now = 1_000_000;
    const auth = oauth2ClientCredentials({
      tokenUrl: `${tokenServer.origin}/oauth/token`,
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      scope: ['catalog.read', 'orders.write'],
      now: () => now,
    });
    const a = await sut.get<{ token: string }>(`${api.origin}/products`, { auth });
    const b = await sut.get<{ token: string }>(`${api.origin}/products`, { auth });
    assert.equal(a.body.token, b.body.token);
    assert.equal(auth.tokenRequestCount, 1);
    const tokenRequest = tokenServer.requests.at(-1)!;
    assert.equal(tokenRequest.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(new URLSearchParams(tokenRequest.body).get('scope'), 'catalog.read orders.write');
    assert.equal(new URLSearchParams(tokenRequest.body).get('client_secret'), null, 'secret goes in the Basic header only');

    now += 3_600_000; // past expiry
    const c = await sut.get<{ token: string }>(`${api.origin}/products`, { auth });
    assert.notEqual(c.body.token, a.body.token);
    assert.equal(auth.tokenRequestCount, 2);
  });

  it('shares one token request between concurrent calls', async () => {
    const auth = oauth2ClientCredentials({ tokenUrl: `${tokenServer.origin}/oauth/token`, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
    const results = await Promise.all([1, 2, 3, 4].map(() => sut.get<{ token: string }>(`${api.origin}/x`, { auth })));
    assert.equal(new Set(results.map((r) => r.body.token)).size, 1);
    assert.equal(auth.tokenRequestCount, 1);
  });

  it('refreshes the token once on a 401 and retries', async () => {
    const auth = oauth2ClientCredentials({
      tokenUrl: `${tokenServer.origin}/oauth/token`,
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      authMethod: 'client_secret_post',
    });
    const first = await sut.get<{ token: string }>(`${api.origin}/x`, { auth });
    valid.delete(first.body.token); // revoked server-side
    const apiCallsBefore = api.requests.length;
    const second = await sut.get<{ token: string }>(`${api.origin}/x`, { auth });
    assert.notEqual(second.body.token, first.body.token);
    assert.equal(auth.tokenRequestCount, 2);
    assert.equal(api.requests.length - apiCallsBefore, 2);
  });

  it('gives up with HTTP_CLIENT_ERROR when the fresh token is rejected too', async () => {
    const auth = oauth2ClientCredentials({ tokenUrl: `${tokenServer.origin}/oauth/token`, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
    const original = auth.accessToken.bind(auth);
    // Every token is revoked as soon as it is issued.
    auth.accessToken = async (ctx) => {
      const t = await original(ctx);
      valid.delete(t);
      return t;
    };
    const apiCallsBefore = api.requests.length;
    await assert.rejects(sut.get(`${api.origin}/x`, { auth }), (err: unknown) => errorCode(err) === 'HTTP_CLIENT_ERROR');
    assert.equal(auth.tokenRequestCount, 2);
    assert.equal(api.requests.length - apiCallsBefore, 2, 'refreshed exactly once');
  });

  it('reports a rejected client as OAUTH_TOKEN_ERROR without the secret', async () => {
    const wrong = 'wr0ng-secret-value';
    const auth = oauth2ClientCredentials({
      tokenUrl: `${tokenServer.origin}/oauth/token`,
      clientId: CLIENT_ID,
      clientSecret: wrong,
      authMethod: 'client_secret_post',
    });
    await assert.rejects(sut.get(`${api.origin}/x`, { auth }), (err: unknown) => {
      assert.equal(errorCode(err), 'OAUTH_TOKEN_ERROR');
      const text = `${(err as Error).message} ${JSON.stringify((err as { details?: unknown }).details)}`;
      assert.match(text, /invalid_client/);
      assert.doesNotMatch(text, new RegExp(wrong));
      return true;
    });
  });

  it('sends the token only to the API origin, not across a redirect', async () => {
    const auth = oauth2ClientCredentials({ tokenUrl: `${tokenServer.origin}/oauth/token`, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
    const redirector = await startServer((_req, res) => {
      res.writeHead(307, { location: `${api.origin}/elsewhere` });
      res.end();
    });
    const client = new HttpClient({ allowHosts: [tokenServer.hostPort, api.hostPort, redirector.hostPort], retry: { attempts: 1 } });
    try {
      await assert.rejects(client.get(`${redirector.origin}/start`, { auth }), (err: unknown) => errorCode(err) === 'HTTP_CLIENT_ERROR');
      assert.equal(api.requests.at(-1)!.headers.authorization, undefined);
      assert.match(String(redirector.requests.at(-1)!.headers.authorization), /^Bearer tok-/);
    } finally {
      client.close();
      await redirector.close();
    }
  });
});
