import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import {
  ChainedSecretResolver,
  EnvSecretResolver,
  REDACTED,
  containsSecretRef,
  isSecretRef,
  redact,
  redactString,
  resolveSecretRefs,
  type SecretResolver,
} from '@engine/activities/shared/secrets';
import { StepError, errorCode } from '@engine/activities/shared/errors';

/** An in-memory resolver counting look-ups. */
function mapResolver(values: Record<string, string>): SecretResolver & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async resolve(name: string) {
      calls.push(name);
      if (!(name in values)) throw new StepError('SECRET_NOT_FOUND', `secret "${name}" is not defined`);
      return values[name];
    },
  };
}

describe(isSecretRef.name, () => {
  it('recognises exactly {"secret": "<name>"}', () => {
    assert.equal(isSecretRef({ secret: 'API_KEY' }), true);
    assert.equal(isSecretRef({ secret: 'API_KEY', other: 1 }), false);
    assert.equal(isSecretRef({ secret: 5 }), false);
    assert.equal(isSecretRef(['secret']), false);
    assert.equal(isSecretRef('secret'), false);
    assert.equal(isSecretRef(null), false);
  });
});

describe(containsSecretRef.name, () => {
  it('finds references at any depth', () => {
    assert.equal(containsSecretRef({ a: [{ b: { headers: { 'X-Key': { secret: 'K' } } } }] }), true);
    assert.equal(containsSecretRef({ a: [1, 'secret', { secret: 'K', x: 1 }] }), false);
    assert.equal(containsSecretRef({ secret: 'K' }), true);
  });
});

describe(resolveSecretRefs.name, () => {
  it('deep-replaces references and resolves each name once', async () => {
    const resolver = mapResolver({ SUPPLIER_KEY: 'sk-1', DB_PASS: 'pw-2' });
    const collected = new Set<string>();
    const input = {
      url: 'https://api.example.com',
      headers: { 'X-API-Key': { secret: 'SUPPLIER_KEY' } },
      list: [{ secret: 'DB_PASS' }, { secret: 'SUPPLIER_KEY' }, 3, null],
      when: new Date(0),
    };
    const out = await resolveSecretRefs(input, resolver, { collect: collected });
    assert.deepEqual(out, {
      url: 'https://api.example.com',
      headers: { 'X-API-Key': 'sk-1' },
      list: ['pw-2', 'sk-1', 3, null],
      when: new Date(0),
    });
    assert.deepEqual(resolver.calls.sort(), ['DB_PASS', 'SUPPLIER_KEY']);
    assert.deepEqual([...collected].sort(), ['pw-2', 'sk-1']);
    assert.deepEqual(input.headers['X-API-Key'], { secret: 'SUPPLIER_KEY' }, 'input is not mutated');
  });

  it('returns values without references unchanged and validates names', async () => {
    const resolver = mapResolver({});
    const plain = { a: 1 };
    assert.equal(await resolveSecretRefs(plain, resolver), plain);
    await assert.rejects(resolveSecretRefs({ k: { secret: '../etc' } }, resolver), (err: unknown) => errorCode(err) === 'SECRET_REF_INVALID');
  });

  it('fails with SECRET_NOT_FOUND naming the secret', async () => {
    await assert.rejects(resolveSecretRefs({ k: { secret: 'MISSING_ONE' } }, mapResolver({})), (err: unknown) => {
      assert.equal(errorCode(err), 'SECRET_NOT_FOUND');
      assert.match((err as Error).message, /MISSING_ONE/);
      return true;
    });
  });
});

describe(EnvSecretResolver.name, () => {
  const env = {
    MERCHFLOW_SECRET_SUPPLIER_TOKEN: 'from-prefixed',
    MERCHFLOW_SECRET_SHOP_KEY: 'shop',
    OPENAI_API_KEY: 'from-plain',
    SUPPLIER_TOKEN: 'plain-loses',
    MERCHFLOW_MASTER_KEY: 'master',
    DATABASE_URL: 'postgres://u:p@h/db',
    PGPASSWORD: 'pg',
    EMPTY_ONE: '',
  };
  const sut = new EnvSecretResolver(env);

  it('prefers MERCHFLOW_SECRET_<NAME>, upper-casing the name', async () => {
    assert.equal(await sut.resolve('SUPPLIER_TOKEN'), 'from-prefixed');
    assert.equal(await sut.resolve('supplier_token'), 'from-prefixed');
    assert.equal(await sut.resolve('shop-key'), 'shop');
  });

  it('reads MERCHFLOW_SECRET_<NAME> only: no other variable of the worker is a secret', async () => {
    for (const name of ['OPENAI_API_KEY', 'PATH', 'SMTP_URL', 'AWS_SECRET_ACCESS_KEY', 'NODE_OPTIONS', 'HOME']) {
      const sutWithAll = new EnvSecretResolver({ ...env, PATH: '/usr/bin', SMTP_URL: 'smtp://u:p@h', AWS_SECRET_ACCESS_KEY: 'aws', NODE_OPTIONS: '--x', HOME: '/root' });
      await assert.rejects(sutWithAll.resolve(name), (err: unknown) => errorCode(err) === 'SECRET_NOT_FOUND', name);
    }
    assert.equal(await new EnvSecretResolver({ MERCHFLOW_SECRET_OPENAI_API_KEY: 'prefixed' }).resolve('OPENAI_API_KEY'), 'prefixed');
  });

  it('lists every MERCHFLOW_SECRET_* value, for scrubbing', () => {
    assert.deepEqual(sut.values().sort(), ['from-prefixed', 'shop']);
  });

  it("never hands out the engine's own settings or empty values", async () => {
    for (const name of ['MERCHFLOW_MASTER_KEY', 'DATABASE_URL', 'PGPASSWORD', 'EMPTY_ONE']) {
      await assert.rejects(sut.resolve(name), (err: unknown) => {
        assert.equal(errorCode(err), 'SECRET_NOT_FOUND');
        assert.doesNotMatch((err as Error).message, /master|postgres|pg$/);
        return true;
      });
    }
  });
});

describe(ChainedSecretResolver.name, () => {
  it('takes the first source that knows the name', async () => {
    const sut = new ChainedSecretResolver([mapResolver({ A: 'store-a' }), mapResolver({ A: 'env-a', B: 'env-b' })]);
    assert.equal(await sut.resolve('A'), 'store-a');
    assert.equal(await sut.resolve('B'), 'env-b');
    await assert.rejects(sut.resolve('C'), (err: unknown) => errorCode(err) === 'SECRET_NOT_FOUND');
  });

  it('does not mask a failure other than SECRET_NOT_FOUND', async () => {
    const broken: SecretResolver = { resolve: async () => Promise.reject(new StepError('SECRET_DECRYPT_FAILED', 'x')) };
    const sut = new ChainedSecretResolver([broken, mapResolver({ A: 'env-a' })]);
    await assert.rejects(sut.resolve('A'), (err: unknown) => errorCode(err) === 'SECRET_DECRYPT_FAILED');
  });
});

describe(redact.name, () => {
  const secret = 'p@ss w0rd/"x"';

  it('scrubs raw, URL-encoded, form-encoded and JSON-escaped forms from strings', () => {
    const text = `raw=${secret} url=${encodeURIComponent(secret)} form=${new URLSearchParams({ s: secret }).toString().slice(2)} json=${JSON.stringify({ secret })}`;
    const out = redactString(text, [secret]);
    assert.ok(!out.includes('w0rd'), out);
    assert.equal(out.split(REDACTED).length - 1, 4);
  });

  it('scrubs nested objects and arrays without mutating them, including keys and cycles', () => {
    const input: Record<string, unknown> = { headers: { authorization: `Bearer ${secret}` }, list: [secret, 1, true], [secret]: 'k' };
    input.self = input;
    const out = redact(input, [secret, '']);
    assert.deepEqual(out.headers, { authorization: `Bearer ${REDACTED}` });
    assert.deepEqual(out.list, [REDACTED, 1, true]);
    assert.equal(out[REDACTED], 'k');
    assert.equal(out.self, out);
    assert.equal((input.headers as { authorization: string }).authorization, `Bearer ${secret}`);
  });

  it('scrubs errors and keeps their type, code and retryability', () => {
    const err = new StepError('HTTP_CLIENT_ERROR', `401 for key ${secret}`, { details: { excerpt: `key=${secret}` } });
    const out = redact(err, [secret]);
    assert.ok(out instanceof StepError);
    assert.ok(out instanceof ApplicationFailure);
    assert.equal(out.code, 'HTTP_CLIENT_ERROR');
    assert.equal(out.type, 'HTTP_CLIENT_ERROR');
    assert.equal(out.nonRetryable, true);
    assert.equal(out.message, `401 for key ${REDACTED}`);
    assert.ok(!String(out.stack).includes('w0rd'));
    assert.deepEqual(out.details, [{ excerpt: `key=${REDACTED}` }]);
    assert.equal(err.message, `401 for key ${secret}`, 'original untouched');

    const plain = new Error('outer', { cause: new Error(`inner ${secret}`) });
    assert.equal((redact(plain, [secret]).cause as Error).message, `inner ${REDACTED}`);
  });

  it('returns the value itself when there is nothing to scrub', () => {
    const v = { a: 1 };
    assert.equal(redact(v, []), v);
    assert.equal(redact(v, ['']), v);
  });
});
