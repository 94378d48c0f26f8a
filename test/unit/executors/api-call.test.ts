import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolveReferences } from '@engine/dsl/references';
import type { RunContext } from '@engine/dsl/types';
import type { StepExecutionContext, ExecutorDeps } from '@engine/activities/runtime/executor';
import { StepError, errorCode } from '@engine/activities/shared/errors';
import { HttpClient, type HttpRequestOptions } from '@engine/activities/shared/http';
import { Logger } from '@src/logging/logger';
import {
  API_CALL_STEP_TYPE,
  CHECKPOINT_INTERVAL_MS,
  apiCallExecutorModule,
  businessKeyOf,
  contentKeyOf,
  createApiCallExecutor,
  credentialsHostOf,
  hasItemReferences,
  itemKeyOf,
  mapResponse,
  normalizeAuth,
  parsePath,
  readPath,
  renderTemplate,
  runPool,
  secretNames,
  unexpectedStatus,
  validateApiCallConfig,
} from '@engine/activities/api_call';

const fields = (config: Record<string, unknown>) => validateApiCallConfig(config).map((i) => i.field);

describe('validateApiCallConfig', () => {
  const sut = validateApiCallConfig;

  it('accepts the specification example with a bearer token secret', () => {
    assert.deepEqual(
      sut({
        url: 'https://api.marketplace.com/listings',
        method: 'POST',
        auth_type: 'bearer',
        token: { secret: 'MARKETPLACE_TOKEN' },
        body: { title: '$title', price: '$price' },
      }),
      [],
    );
  });

  it('names the missing token of the specification form', () => {
    const issues = sut({ url: 'https://api.marketplace.com/listings', method: 'POST', auth_type: 'bearer', body: {} });
    assert.deepEqual(issues.map((i) => i.field), ['token']);
    assert.match(issues[0].message, /secret/);
  });

  it('accepts every auth type in the object form', () => {
    const url = 'https://api.example.com/x';
    for (const auth of [
      { type: 'none' },
      { type: 'bearer', token: { secret: 'T' } },
      { type: 'api_key', key: { secret: 'K' }, header: 'X-Shop-Token', prefix: 'Key' },
      { type: 'basic', username: 'merchflow', password: { secret: 'P' } },
      { type: 'basic', username: { secret: 'U' }, password: { secret: 'P' } },
      {
        type: 'oauth2_client_credentials',
        token_url: 'https://auth.example.com/token',
        client_id: 'id',
        client_secret: { secret: 'S' },
        scope: ['a', 'b'],
        auth_method: 'client_secret_post',
      },
    ]) {
      assert.deepEqual(sut({ url, auth }), [], JSON.stringify(auth));
    }
  });

  it('rejects literal credentials, unknown auth types and mixed forms', () => {
    assert.deepEqual(fields({ url: 'https://a.example/x', auth: { type: 'bearer', token: 'abc' } }), ['auth.token']);
    assert.deepEqual(fields({ url: 'https://a.example/x', auth: { type: 'kerberos' } }), ['auth.type']);
    assert.deepEqual(fields({ url: 'https://a.example/x', auth: { type: 'oauth2_client_credentials', token_url: 'https://a.example/t', client_id: 'c' } }), [
      'auth.client_secret',
    ]);
    assert.deepEqual(fields({ url: 'https://a.example/x', auth: { type: 'none' }, auth_type: 'bearer' }), ['auth_type']);
    assert.deepEqual(fields({ url: 'https://a.example/x', token: { secret: 'T' } }), ['token']);
    assert.deepEqual(fields({ url: 'https://a.example/x', headers: { Authorization: 'Bearer abc123' } }), ['headers.Authorization']);
    assert.deepEqual(fields({ url: 'https://a.example/x', headers: { 'X-Key': { secret: 'not a name' } } }), ['headers.X-Key.secret']);
  });

  it('accepts secret references and templates in headers and query', () => {
    assert.deepEqual(
      sut({
        url: 'https://a.example/items/$sku',
        headers: { 'X-Api-Key': { secret: 'KEY' }, 'X-Trace': 'run-${execution.id}', Authorization: 'Bearer $input.token' },
        query: { key: { secret: 'KEY' }, page: 2, dry: false, skip: null },
      }),
      [],
    );
  });

  it('accepts references where values are expected and checks literal values', () => {
    assert.deepEqual(
      sut({
        url: '$input.endpoint',
        method: '$config.method',
        concurrency: '$config.concurrency',
        timeout_seconds: '$config.timeout',
        continue_on_item_error: '$config.lenient',
        retry: { attempts: '$config.attempts' },
        input: '$steps.fetch.items',
      }),
      [],
    );
    assert.deepEqual(fields({ url: 'https://a.example', concurrency: 0 }), ['concurrency']);
    assert.deepEqual(fields({ url: 'https://a.example', concurrency: 'four' }), ['concurrency']);
    assert.match(validateApiCallConfig({ url: 'https://a.example', concurrency: 99 })[0].message, /1 to 50/);
    assert.deepEqual(fields({ url: 'https://a.example', continue_on_item_error: true, max_failed_items: 5 }), []);
    assert.deepEqual(fields({ url: 'https://a.example', continue_on_item_error: true, max_failed_items: '$config.tolerance' }), []);
    assert.deepEqual(fields({ url: 'https://a.example', continue_on_item_error: true, max_failed_items: -1 }), ['max_failed_items']);
    assert.deepEqual(fields({ url: 'https://a.example', max_failed_items: 5 }), ['max_failed_items'], 'without continue_on_item_error the first failed item fails the step');
    assert.match(validateApiCallConfig({ url: 'https://a.example', concurrency: 'four' })[0].message, /1 to 50, or a reference/);
    assert.deepEqual(fields({ url: 'https://a.example', timeout_seconds: 0 }), ['timeout_seconds']);
    assert.deepEqual(fields({ url: 'https://a.example', retry: { attempts: 0, backoff: 1 } }), ['retry.attempts', 'retry.backoff']);
    assert.deepEqual(fields({ url: 'https://a.example', input: 'steps.fetch' }), ['input']);
  });

  it('rejects bad URLs, methods, modes, statuses, paths and unknown fields', () => {
    assert.deepEqual(fields({}), ['url']);
    assert.deepEqual(fields({ url: 'ftp://a.example/x' }), ['url']);
    assert.deepEqual(fields({ url: 'https://user:pw@a.example/x' }), ['url']);
    assert.deepEqual(fields({ url: 'https://a.example', method: 'PO ST' }), ['method']);
    assert.deepEqual(fields({ url: 'https://a.example', body_mode: 'each' }), ['body_mode']);
    assert.deepEqual(fields({ url: 'https://a.example', expected_status: [200, 700] }), ['expected_status[1]']);
    assert.deepEqual(fields({ url: 'https://a.example', expected_status: [] }), ['expected_status']);
    assert.deepEqual(fields({ url: 'https://a.example', items_field: 'a..b' }), ['items_field']);
    assert.deepEqual(fields({ url: 'https://a.example', response_path: 'data', response_mapping: { id: 'id' } }), ['response_path']);
    assert.deepEqual(fields({ url: 'https://a.example', body_mode: 'batch', item_key_field: 'sku' }), ['item_key_field']);
    assert.deepEqual(fields({ url: 'https://a.example', bdoy: {} }), ['bdoy']);
  });

  it('takes a path as url only with a connection, and the connection as a string', () => {
    assert.deepEqual(fields({ url: '/labels' }), ['url']);
    assert.deepEqual(fields({ url: '/labels', connection: 'carrier:${config.carrier_id}' }), []);
    assert.deepEqual(fields({ url: 'https://a.example/labels', connection: 'carrier:3' }), []);
    assert.deepEqual(fields({ url: 'ftp://a.example/x', connection: 'carrier:3' }), ['url']);
    assert.deepEqual(fields({ url: '/labels', connection: 3 }), ['connection']);
  });

  it('is the validator of the exported module', () => {
    assert.equal(apiCallExecutorModule.type, API_CALL_STEP_TYPE);
    assert.equal(apiCallExecutorModule.validateConfig, validateApiCallConfig);
  });
});

describe(normalizeAuth.name, () => {
  it('turns the flat specification form into the auth object', () => {
    assert.deepEqual(normalizeAuth({ auth_type: 'bearer', token: { secret: 'T' } }).auth, { type: 'bearer', token: { secret: 'T' } });
    assert.deepEqual(normalizeAuth({ auth_type: 'api_key', api_key: { secret: 'K' }, api_key_header: 'X-K' }).auth, {
      type: 'api_key',
      key: { secret: 'K' },
      header: 'X-K',
    });
    assert.deepEqual(normalizeAuth({ auth: { type: 'none' } }), { auth: { type: 'none' }, legacy: false, issues: [] });
  });
});

describe(hasItemReferences.name, () => {
  it('finds item references and ignores run references and escapes', () => {
    assert.equal(hasItemReferences({ title: '$title', price: '$price' }), true);
    assert.equal(hasItemReferences('https://a.example/items/${sku}'), true);
    assert.equal(hasItemReferences(['x', { deep: '$' }]), true);
    assert.equal(hasItemReferences({ a: '$.a.b' }), true);
    assert.equal(hasItemReferences({ supplier: '$input.supplier_id', note: 'for ${config.shop}', cost: 'US$ 5', literal: '$$title' }), false);
    assert.equal(hasItemReferences({ key: { secret: 'K' } }), false);
    assert.equal(hasItemReferences(undefined), false);
  });
});

describe(renderTemplate.name, () => {
  const run: RunContext = { input: { token_ref: { secret: 'OTHER' }, shop: 'acme' }, steps: {}, config: {}, execution: {} };
  const resolve = (item: unknown) => (s: string) => resolveReferences(s, { ...run, item });

  it('replaces literal secret references and resolves references per item', () => {
    const secrets = new Map([['KEY', 'v4lue-$input.shop']]);
    const out = renderTemplate({ auth: { secret: 'KEY' }, title: '$title', shop: '$input.shop', list: ['$price'] }, resolve({ title: 'T', price: 5 }), secrets);
    // The secret's own `$` is not a reference: values are never scanned again.
    assert.deepEqual(out, { auth: 'v4lue-$input.shop', title: 'T', shop: 'acme', list: [5] });
  });

  it('never treats data substituted by a reference as a secret reference', () => {
    const out = renderTemplate({ from_input: '$input.token_ref' }, resolve(undefined), new Map());
    assert.deepEqual(out, { from_input: { secret: 'OTHER' } });
    assert.deepEqual([...secretNames({ from_input: '$input.token_ref' })], []);
  });

  it('fails for a secret that was not resolved', () => {
    assert.throws(() => renderTemplate({ secret: 'MISSING' }, (s) => s, new Map()), (e) => errorCode(e) === 'SECRET_NOT_FOUND');
  });
});

describe(parsePath.name, () => {
  it('parses dotted, indexed and quoted paths with an optional $', () => {
    assert.deepEqual(parsePath('data.items'), ['data', 'items']);
    assert.deepEqual(parsePath('$.data.items[0].id'), ['data', 'items', '0', 'id']);
    assert.deepEqual(parsePath("meta['next-cursor']"), ['meta', 'next-cursor']);
    assert.deepEqual(parsePath('next-cursor'), ['next-cursor']);
    assert.deepEqual(parsePath('$'), []);
    assert.equal(parsePath('a..b'), null);
    assert.equal(parsePath('a[b]'), null);
    assert.equal(parsePath('a b'), null);
  });

  it('reads own properties only', () => {
    assert.equal(readPath({ a: [{ b: 2 }] }, 'a[0].b'), 2);
    assert.equal(readPath({}, 'constructor'), undefined);
    assert.equal(readPath({ a: 1 }, '__proto__'), undefined);
  });
});

describe(credentialsHostOf.name, () => {
  it('gives host:port with the scheme default', () => {
    assert.equal(credentialsHostOf('https://api.example.com/v1'), 'api.example.com:443');
    assert.equal(credentialsHostOf('http://127.0.0.1:8080/x?y=1'), '127.0.0.1:8080');
    assert.equal(credentialsHostOf('http://[::1]/x'), '[::1]:80');
    assert.equal(credentialsHostOf('https://$host/x'), null);
    assert.equal(credentialsHostOf('not a url'), null);
    assert.equal(credentialsHostOf('ftp://a.example'), null);
  });
});

describe(mapResponse.name, () => {
  const body = { data: { id: 7, links: ['a'] }, status: 'ok' };
  it('returns the body, a path of it, or a mapping of it', () => {
    assert.deepEqual(mapResponse(body, {}), body);
    assert.deepEqual(mapResponse(body, { response_path: 'data' }), body.data);
    assert.deepEqual(mapResponse(body, { response_mapping: { listing_id: 'data.id', first: 'data.links[0]', missing: 'nope' } }), {
      listing_id: 7,
      first: 'a',
      missing: null,
    });
    assert.equal(mapResponse('', {}), null);
  });
});

describe(itemKeyOf.name, () => {
  it('uses the key field, or the index', () => {
    assert.equal(itemKeyOf({ sku: 'A-1' }, 3, 'sku'), 'A-1');
    assert.equal(itemKeyOf({ id: 42 }, 3, 'id'), '42');
    assert.equal(itemKeyOf({ sku: 'A-1' }, 3), '3');
    assert.match(itemKeyOf({ sku: 'naïve\nkey' }, 0, 'sku'), /^sha256-[0-9a-f]{40}$/);
    assert.throws(() => itemKeyOf({}, 5, 'sku'), (e) => errorCode(e) === 'STEP_INPUT_INVALID' && /item 5/.test((e as Error).message));
  });
});

describe(contentKeyOf.name, () => {
  it('names an item by what it is, wherever it sits in the list (a retry of some items)', () => {
    assert.equal(contentKeyOf({ sku: 'A-1', price: 2 }, 0), 'item-A-1');
    assert.equal(contentKeyOf({ sku: 'A-1', price: 2 }, 7), 'item-A-1');
    assert.equal(contentKeyOf({ external_id: 'ord_1' }, 3), 'item-ord_1');
    const hashed = contentKeyOf({ title: 'no key' }, 4);
    assert.match(hashed, /^item-sha256-[0-9a-f]{40}$/);
    assert.equal(contentKeyOf({ title: 'no key' }, 9), hashed, 'the same item, another position: the same key');
    assert.notEqual(contentKeyOf({ title: 'other' }, 4), hashed);
    assert.match(contentKeyOf({ sku: 'naïve key' }, 0), /^item-sha256-[0-9a-f]{40}$/);
  });
});

describe(businessKeyOf.name, () => {
  const run: RunContext = { input: {}, steps: {}, config: { marketplace_id: 7 }, execution: { id: 'run-1' } };
  const render = (item: unknown) => (t: string) => resolveReferences(t, { ...run, item });

  it('renders the template over the item and the run config, the same for every run', () => {
    const template = 'order:${config.marketplace_id}:$external_id:label';
    assert.equal(businessKeyOf(template, render({ external_id: 'ord_000042' }), 0), 'order:7:ord_000042:label');
    const otherRun = (t: string) => resolveReferences(t, { ...run, execution: { id: 'run-2' }, item: { external_id: 'ord_000042' } });
    assert.equal(businessKeyOf(template, otherRun, 0), 'order:7:ord_000042:label', 'no run id in the key');
    assert.equal(businessKeyOf('listing:${config.marketplace_id}:$sku:$listing_generation', render({ sku: 'SUP-1', listing_generation: 2 }), 0), 'listing:7:SUP-1:2');
    assert.equal(businessKeyOf('$n', render({ n: 5 }), 0), '5');
  });

  it('hashes keys a header cannot carry and refuses an empty one, naming the field', () => {
    assert.match(businessKeyOf('order:$id', render({ id: 'naïve key' }), 0), /^sha256-[0-9a-f]{40}$/);
    assert.match(businessKeyOf('$id', render({ id: 'x'.repeat(201) }), 0), /^sha256-/);
    assert.throws(
      () => businessKeyOf('$missing', render({}), 3),
      (e) => errorCode(e) === 'STEP_INPUT_INVALID' && /item 3: idempotency_key/.test((e as Error).message),
    );
  });

  it('is a documented config field, checked when the definition is saved', () => {
    assert.deepEqual(fields({ url: 'https://a.example/x', body: { a: '$a' }, idempotency_key: 'x:$a' }), []);
    assert.deepEqual(fields({ url: 'https://a.example/x', body: { a: '$a' }, idempotency_key: '' }), ['idempotency_key']);
    assert.deepEqual(fields({ url: 'https://a.example/x', body: { a: '$a' }, idempotency_key: { secret: 'K' } }), ['idempotency_key']);
  });
});

describe(unexpectedStatus.name, () => {
  it('makes 4xx final, 5xx/408/429 retryable with Retry-After, and unexpected 2xx final', () => {
    const e404 = unexpectedStatus('POST', 'https://a.example/x?token=abc', { status: 404, headers: {} });
    assert.equal(e404.code, 'HTTP_CLIENT_ERROR');
    assert.equal(e404.nonRetryable, true);
    assert.doesNotMatch(e404.message, /token=abc/);
    const e503 = unexpectedStatus('GET', 'https://a.example/x', { status: 503, headers: { 'retry-after': '7' } });
    assert.equal(e503.code, 'HTTP_STATUS');
    assert.equal(e503.nonRetryable, false);
    assert.equal(e503.nextRetryDelay, 7000);
    assert.equal(unexpectedStatus('GET', 'https://a.example/x', { status: 429, headers: {} }).retryable, true);
    const e200 = unexpectedStatus('GET', 'https://a.example/x', { status: 200, headers: {} });
    assert.equal(e200.code, 'HTTP_UNEXPECTED_STATUS');
    assert.equal(e200.retryable, false);
  });
});

describe(runPool.name, () => {
  it('never runs more than `concurrency` at once and runs everything', async () => {
    let inFlight = 0;
    let peak = 0;
    const seen: number[] = [];
    await runPool(20, 3, async (i) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setImmediate(r));
      seen.push(i);
      inFlight--;
    });
    assert.equal(peak, 3);
    assert.deepEqual([...seen].sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i));
  });

  it('stops starting work after a failure and waits for what is in flight', async () => {
    const started: number[] = [];
    let finished = 0;
    await assert.rejects(
      runPool(10, 2, async (i) => {
        started.push(i);
        await new Promise((r) => setImmediate(r));
        finished++;
        if (i === 1) throw new Error('boom');
      }),
      /boom/,
    );
    assert.ok(started.length <= 4, `started ${started.length}`);
    assert.equal(finished, started.length);
  });
});

/** A step context over an in-memory run, as the runner would build it. */
function fakeContext(input: unknown, secrets: Record<string, string> = {}): StepExecutionContext & { beats: unknown[] } {
  const run: RunContext = { input, steps: {}, config: {}, execution: { id: 'exec-1' } };
  const beats: unknown[] = [];
  return {
    execution_id: 'exec-1',
    workflow_code: 'wf',
    step_key: 'call',
    attempt: 1,
    max_attempts: 1,
    idempotency_key: 'exec-1:call',
    input,
    run,
    resolve: (value, item) => resolveReferences(value, item === undefined ? run : { ...run, item }),
    heartbeat: (d) => beats.push(d),
    signal: new AbortController().signal,
    logger: new Logger({ level: 'error', format: 'json', sink: () => undefined }),
    compensates: null,
    resolveSecrets: async (value) => JSON.parse(JSON.stringify(value), (_k, v) => (v && typeof v === 'object' && typeof v.secret === 'string' ? secrets[v.secret] : v)),
    beats,
  };
}

interface Call {
  method: string;
  url: string;
  options: HttpRequestOptions;
}

/** An HttpClient stand-in answering from `respond`. */
function fakeClient(respond: (call: Call) => { status?: number; body?: unknown } | Promise<{ status?: number; body?: unknown }>) {
  const calls: Call[] = [];
  const client = {
    async request(method: string, url: string, options: HttpRequestOptions = {}) {
      const call = { method, url, options };
      calls.push(call);
      const r = await respond(call);
      return { status: r.status ?? 200, headers: {}, body: r.body ?? null, url, attempts: 1 };
    },
  };
  return { client: client as unknown as HttpClient, calls };
}

const deps = {} as ExecutorDeps;

describe(createApiCallExecutor.name, () => {
  it('sends one request per item with the item bound and a per-item idempotency key', async () => {
    const { client, calls } = fakeClient((c) => ({ body: { id: `L-${(c.options.body as { title: string }).title}` } }));
    const sut = createApiCallExecutor(deps, { client });
    const ctx = fakeContext({ products: [{ sku: 'A', title: 'a', price: 1 }, { sku: 'B', title: 'b', price: 2 }] }, { TOKEN: 'tok' });
    const out = await sut.execute(
      {
        url: 'https://api.example.com/listings',
        auth_type: 'bearer',
        token: { secret: 'TOKEN' },
        items_field: 'products',
        item_key_field: 'sku',
        body: { title: '$title', price: '$price' },
        response_mapping: { listing_id: 'id' },
      },
      ctx,
    );
    assert.deepEqual(out, {
      results: [{ listing_id: 'L-a' }, { listing_id: 'L-b' }],
      succeeded: 2,
      failed: 0,
      failed_items: [],
      failed_items_total: 0,
      failed_items_by_code: {},
    });
    assert.deepEqual(
      calls.map((c) => [c.method, c.options.body, c.options.idempotencyKey, c.options.credentialsHosts]),
      [
        ['POST', { title: 'a', price: 1 }, 'exec-1:call:A', ['api.example.com:443']],
        ['POST', { title: 'b', price: 2 }, 'exec-1:call:B', ['api.example.com:443']],
      ],
    );
    assert.ok(calls[0].options.auth, 'an auth provider is passed to the client');
    assert.deepEqual(ctx.beats.at(-1), { done: 2, total: 2, failed: 0, through: 2, results: [{ listing_id: 'L-a' }, { listing_id: 'L-b' }], redo: [] });
  });

  it('heartbeats its checkpoint at its first item, at most once a second, and when it ends, not once per item', async () => {
    const { client } = fakeClient((c) => ({ body: { ok: c.url } }));
    const sut = createApiCallExecutor(deps, { client });
    const items = Array.from({ length: 200 }, (_, i) => ({ id: i }));
    const ctx = fakeContext(items);
    const started = Date.now();
    const out = (await sut.execute({ url: 'https://api.example.com/items/$id', concurrency: 8, response_path: 'ok' }, ctx)) as { succeeded: number };
    const elapsed = Date.now() - started;
    assert.equal(out.succeeded, 200);
    // The first item's, one per CHECKPOINT_INTERVAL_MS elapsed at most, and the end's (the calls answer at once: usually 2).
    assert.ok(ctx.beats.length >= 2 && ctx.beats.length <= 2 + Math.floor(elapsed / CHECKPOINT_INTERVAL_MS), `${ctx.beats.length} heartbeats in ${elapsed} ms`);
    const last = ctx.beats.at(-1) as { done: number; through: number; results: unknown[] };
    assert.deepEqual([last.done, last.through, last.results.length], [200, 200, 200], 'the last heartbeat carries every result');
  });

  it('sends the whole input once in batch mode', async () => {
    const { client, calls } = fakeClient(() => ({ status: 201, body: { accepted: 2 } }));
    const sut = createApiCallExecutor(deps, { client });
    const out = await sut.execute({ url: 'https://api.example.com/bulk', method: 'post', body_mode: 'batch' }, fakeContext([{ a: 1 }, { a: 2 }]));
    assert.deepEqual(out, { accepted: 2 });
    assert.equal(calls.length, 1);
    assert.deepEqual(calls[0].options.body, [{ a: 1 }, { a: 2 }]);
    assert.equal(calls[0].options.idempotencyKey, 'exec-1:call');
  });

  it('collects item errors with continue_on_item_error, and fails on the first one without', async () => {
    const respond = (c: Call) => {
      if ((c.options.body as { sku: string }).sku === 'bad') throw new StepError('HTTP_CLIENT_ERROR', 'POST https://api.example.com/x responded 422');
      return { body: { ok: true } };
    };
    const items = [{ sku: 'ok1' }, { sku: 'bad' }, { sku: 'ok2' }];
    const lenient = createApiCallExecutor(deps, fakeClient(respond));
    const out = await lenient.execute({ url: 'https://api.example.com/x', method: 'POST', body_mode: 'per_item', item_key_field: 'sku', continue_on_item_error: true }, fakeContext(items));
    assert.deepEqual(out, {
      results: [{ ok: true }, null, { ok: true }],
      succeeded: 2,
      failed: 1,
      failed_items: [{ key: 'bad', index: 1, code: 'HTTP_CLIENT_ERROR', message: 'POST https://api.example.com/x responded 422' }],
      failed_items_total: 1,
      failed_items_by_code: { HTTP_CLIENT_ERROR: 1 },
    });

    const strict = createApiCallExecutor(deps, fakeClient(respond));
    await assert.rejects(
      strict.execute({ url: 'https://api.example.com/x', method: 'POST', body_mode: 'per_item', item_key_field: 'sku', concurrency: 1 }, fakeContext(items)),
      (e: unknown) => errorCode(e) === 'HTTP_CLIENT_ERROR' && /item 1 \(bad\)/.test((e as Error).message) && (e as StepError).nonRetryable,
    );
  });

  it('fails the step when every item failed, or more than max_failed_items: ITEMS_FAILED, retryable only for transient failures', async () => {
    const config = { url: 'https://api.example.com/x', method: 'POST', body_mode: 'per_item', item_key_field: 'sku', continue_on_item_error: true };
    const refuse = (c: Call) => {
      const sku = (c.options.body as { sku: string }).sku;
      if (sku.startsWith('bad')) throw new StepError('HTTP_CLIENT_ERROR', `POST https://api.example.com/x responded 422 for ${sku}`, { details: { status: 422 } });
      if (sku.startsWith('busy')) throw new StepError('HTTP_STATUS', 'POST https://api.example.com/x responded 503', { retryable: true, details: { status: 503 } });
      return { body: { ok: true } };
    };
    const sut = createApiCallExecutor(deps, fakeClient(refuse));
    await assert.rejects(sut.execute(config, fakeContext([{ sku: 'bad1' }, { sku: 'bad2' }])), (e: unknown) => {
      const f = e as StepError;
      assert.equal(errorCode(e), 'ITEMS_FAILED');
      assert.match(f.message, /2 of 2 items failed \(every item failed\): bad1: .*422/);
      assert.equal(f.nonRetryable, true, 'refused items do not get better on a step retry');
      assert.deepEqual(f.info.failed_items_total, 2);
      assert.deepEqual((f.info.failed_items as Array<{ key: string; status: number }>).map((x) => [x.key, x.status]), [['bad1', 422], ['bad2', 422]]);
      return true;
    });
    await assert.rejects(sut.execute(config, fakeContext([{ sku: 'busy1' }, { sku: 'bad1' }])), (e: unknown) => errorCode(e) === 'ITEMS_FAILED' && !(e as StepError).nonRetryable);
    const items = [{ sku: 'ok1' }, { sku: 'bad1' }, { sku: 'bad2' }, { sku: 'ok2' }];
    await assert.rejects(sut.execute({ ...config, max_failed_items: 1 }, fakeContext(items)), (e: unknown) => /more than max_failed_items 1/.test((e as Error).message));
    const tolerated = (await sut.execute({ ...config, max_failed_items: 2 }, fakeContext(items))) as { failed_items_total: number };
    assert.equal(tolerated.failed_items_total, 2);
    await assert.rejects(sut.execute({ ...config, max_failed_items: 0 }, fakeContext([{ sku: 'ok1' }, { sku: 'bad1' }])), (e: unknown) => errorCode(e) === 'ITEMS_FAILED');
  });

  it('rejects per-item mode without a list, and a config that does not validate', async () => {
    const sut = createApiCallExecutor(deps, fakeClient(() => ({})));
    await assert.rejects(sut.execute({ url: 'https://a.example/$sku' }, fakeContext({ not: 'a list' })), (e) => errorCode(e) === 'STEP_INPUT_INVALID');
    await assert.rejects(sut.execute({ url: 'https://a.example/x', concurrency: 0 }, fakeContext([])), (e) => errorCode(e) === 'STEP_CONFIG_INVALID');
    await assert.rejects(
      sut.execute({ url: 'https://a.example/x', concurrency: '$input.c' }, fakeContext({ c: 'many' })),
      (e) => errorCode(e) === 'STEP_CONFIG_INVALID' && /concurrency/.test((e as Error).message),
    );
  });

  it('refuses to send credentials when the host depends on the item', async () => {
    const sut = createApiCallExecutor(deps, fakeClient(() => ({})));
    await assert.rejects(
      sut.execute({ url: '$callback', auth: { type: 'bearer', token: { secret: 'T' } } }, fakeContext([{ callback: 'https://evil.example/' }], { T: 't' })),
      (e) => errorCode(e) === 'STEP_CONFIG_INVALID' && /config\.url/.test((e as Error).message),
    );
  });

  it('resumes a retried per-item call after its last confirmed item, with the same idempotency keys', async () => {
    // A real HTTP peer on loopback that refuses item D once (503), and records every request it gets.
    const seen: Array<{ sku: string; key: string }> = [];
    let refusedOnce = false;
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const { sku } = JSON.parse(body) as { sku: string };
        seen.push({ sku, key: String(req.headers['idempotency-key']) });
        const refuse = sku === 'D' && !refusedOnce;
        refusedOnce ||= refuse;
        res.writeHead(refuse ? 503 : 201, { 'content-type': 'application/json' }).end(JSON.stringify({ id: `L-${sku}` }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { port } = server.address() as AddressInfo;
      const sut = createApiCallExecutor(deps, { client: new HttpClient({ allowHosts: '127.0.0.1' }) });
      const config = {
        url: `http://127.0.0.1:${port}/listings`,
        method: 'POST',
        body_mode: 'per_item',
        item_key_field: 'sku',
        concurrency: 1,
        retry: { attempts: 1 },
        response_mapping: { listing_id: 'id' },
      };
      const items = ['A', 'B', 'C', 'D', 'E'].map((sku) => ({ sku }));
      const first = fakeContext(items);
      await assert.rejects(sut.execute(config, first), (e: unknown) => /item 3 \(D\)/.test((e as Error).message) && !(e as StepError).nonRetryable);
      assert.deepEqual(seen.map((s) => s.sku), ['A', 'B', 'C', 'D']);

      // The retry, as the runner starts it: the first attempt's last heartbeat comes back as the checkpoint.
      const retry = { ...fakeContext(items), attempt: 2, checkpoint: first.beats.at(-1) };
      const out = (await sut.execute(config, retry)) as { results: unknown[]; succeeded: number };
      assert.deepEqual(seen.map((s) => s.sku), ['A', 'B', 'C', 'D', 'D', 'E'], 'the retry calls only the items not yet confirmed');
      assert.deepEqual(out.results, ['A', 'B', 'C', 'D', 'E'].map((sku) => ({ listing_id: `L-${sku}` })), 'the results of both attempts, merged');
      assert.equal(out.succeeded, 5);
      const keysOfD = seen.filter((s) => s.sku === 'D').map((s) => s.key);
      assert.deepEqual(keysOfD, ['exec-1:call:D', 'exec-1:call:D'], 'a resumed item keeps its idempotency key');
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('redoes on retry the items that failed under continue_on_item_error, and skips the ones that went through', async () => {
    const attempts = new Map<string, number>();
    const respond = (c: Call) => {
      const sku = (c.options.body as { sku: string }).sku;
      attempts.set(sku, (attempts.get(sku) ?? 0) + 1);
      if (sku.startsWith('busy') && attempts.get(sku) === 1) throw new StepError('HTTP_STATUS', 'responded 503', { retryable: true, details: { status: 503 } });
      return { body: { ok: sku } };
    };
    const sut = createApiCallExecutor(deps, fakeClient(respond));
    const config = { url: 'https://api.example.com/x', method: 'POST', body_mode: 'per_item', item_key_field: 'sku', continue_on_item_error: true, max_failed_items: 0 };
    const items = [{ sku: 'ok1' }, { sku: 'busy1' }, { sku: 'ok2' }];
    const first = fakeContext(items);
    await assert.rejects(sut.execute(config, first), (e: unknown) => errorCode(e) === 'ITEMS_FAILED' && !(e as StepError).nonRetryable);
    const out = (await sut.execute(config, { ...fakeContext(items), attempt: 2, checkpoint: first.beats.at(-1) })) as { results: unknown[]; failed: number };
    assert.deepEqual(Object.fromEntries(attempts), { ok1: 1, busy1: 2, ok2: 1 });
    assert.deepEqual(out.results, [{ ok: 'ok1' }, { ok: 'busy1' }, { ok: 'ok2' }]);
    assert.equal(out.failed, 0);
  });
});

