import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { loadConfig, AggregateConfigError, EMBEDDED_DATABASE_URL, redactUrl } from '@src/config/config';

const dist = path.resolve(__dirname, '..', '..', '..');
const KEY_A = randomBytes(32).toString('base64');
const KEY_B = randomBytes(32).toString('base64');
const MASTER = randomBytes(32).toString('base64');
const PROD = { NODE_ENV: 'production', DATABASE_URL: 'postgres://u:p@db/mf', TEMPORAL_ADDRESS: 'temporal:7233', MERCHFLOW_MASTER_KEY: MASTER };
/** An empty data directory, so a development key file of the checkout never leaks into a test. */
const emptyDataDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'mf-config-'));

describe(loadConfig.name, () => {
  it('uses the embedded defaults when nothing is set', () => {
    const c = loadConfig({});
    assert.equal(c.databaseUrl, EMBEDDED_DATABASE_URL);
    assert.equal(c.databaseEmbedded, true);
    assert.equal(c.temporal.address, '127.0.0.1:7233');
    assert.equal(c.temporal.embedded, true);
    assert.equal(c.temporal.taskQueue, 'merchflow');
    assert.equal(c.http.port, 3000);
    assert.equal(c.payloadThresholdBytes, 256 * 1024);
    assert.equal(c.log.format, 'pretty');
  });

  it('reads every variable it documents', () => {
    const c = loadConfig({
      DATABASE_URL: 'postgres://u:p@db:5432/mf',
      TEMPORAL_ADDRESS: 'temporal:7233',
      TEMPORAL_NAMESPACE: 'prod',
      TEMPORAL_TASK_QUEUE: 'q1',
      PORT: '8080',
      NODE_ENV: 'production',
      HTTP_ALLOW_HOSTS: 'Supplier.Example:443, 127.0.0.1:4010',
      OPENAI_BASE_URL: 'http://127.0.0.1:9999/v1',
      SMTP_URL: 'smtp://127.0.0.1:2525',
      WORKER_MAX_CONCURRENT_ACTIVITIES: '7',
      PAYLOAD_KEYS: `k1:${KEY_A}`,
      MERCHFLOW_MASTER_KEY: MASTER,
    });
    assert.equal(c.databaseEmbedded, false);
    assert.equal(c.temporal.namespace, 'prod');
    assert.equal(c.temporal.taskQueue, 'q1');
    assert.equal(c.http.port, 8080);
    assert.equal(c.http.host, '0.0.0.0');
    assert.equal(c.log.format, 'json');
    assert.deepEqual(c.httpAllowHosts, ['supplier.example:443', '127.0.0.1:4010']);
    assert.equal(c.worker.maxConcurrentActivities, 7);
    assert.equal(c.payloadEncryption.enabled, true);
    assert.equal(c.payloadEncryption.activeKeyId, 'k1');
  });

  it('sizes the expression pool: at least two threads by default, both settings overridable and bounded', () => {
    const defaults = loadConfig({}).expressions;
    assert.ok(defaults.threads >= 2 && defaults.threads <= 4, `default threads ${defaults.threads}`);
    assert.equal(defaults.memoryMb, 256);
    assert.deepEqual(loadConfig({ EXPRESSION_POOL_THREADS: '3', EXPRESSION_POOL_MEMORY_MB: '1280' }).expressions, { threads: 3, memoryMb: 1280 });
    assert.throws(() => loadConfig({ EXPRESSION_POOL_THREADS: '0', EXPRESSION_POOL_MEMORY_MB: '8' }), /EXPRESSION_POOL_THREADS: expected an integer from 1 to 64.*EXPRESSION_POOL_MEMORY_MB: expected an integer from 16/);
  });

  it('reports every bad variable by name in one error', () => {
    assert.throws(
      () => loadConfig({ PORT: 'abc', DATABASE_URL: 'mysql://x', TEMPORAL_ADDRESS: 'no-port', LOG_LEVEL: 'loud', SANDBOX_ENABLED: 'maybe' }),
      (err: unknown) => {
        assert.ok(err instanceof AggregateConfigError);
        const names = err.errors.map((e) => e.variable).sort();
        assert.deepEqual(names, ['DATABASE_URL', 'LOG_LEVEL', 'PORT', 'SANDBOX_ENABLED', 'TEMPORAL_ADDRESS']);
        assert.match(err.message, /PORT: expected an integer from 0 to 65535, got "abc"/);
        return true;
      },
    );
  });

  it('requires external services in production', () => {
    assert.throws(() => loadConfig({ NODE_ENV: 'production' }), /DATABASE_URL: is required when NODE_ENV=production.*TEMPORAL_ADDRESS: is required/);
  });

  it('never prints a database password', () => {
    assert.equal(redactUrl('postgres://user:secret@host:5432/db'), 'postgres://user:***@host:5432/db');
    assert.throws(() => loadConfig({ DATABASE_URL: 'http://user:secret@host/db' }), (err: Error) => !err.message.includes('secret'));
  });

  it('stops the API and the worker with a one-line message naming the variable', () => {
    for (const script of ['src/main.js', 'temporal/worker-main.js']) {
      const res = spawnSync(process.execPath, [path.join(dist, script)], { env: { ...process.env, PORT: 'not-a-port' }, encoding: 'utf8', timeout: 30_000 });
      assert.equal(res.status, 1, `${script} exit code`);
      const lines = res.stderr.trim().split('\n');
      assert.equal(lines.length, 1, `${script} printed: ${res.stderr}`);
      assert.match(lines[0], /PORT: expected an integer/);
    }
  });

  it('rejects unknown worker options with usage', () => {
    const res = spawnSync(process.execPath, [path.join(dist, 'temporal/worker-main.js'), '--max-workers', 'zero'], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(res.status, 2);
    assert.match(res.stderr, /--max-workers must be an integer/);
  });
});

describe('master key configuration', () => {
  it('refuses to start in production without MERCHFLOW_MASTER_KEY, naming the variable', () => {
    const { MERCHFLOW_MASTER_KEY: _unset, ...prod } = PROD;
    assert.throws(() => loadConfig({ ...prod, PAYLOAD_KEYS: `k:${KEY_A}` }), /MERCHFLOW_MASTER_KEY: is required when NODE_ENV=production/);
    assert.equal(loadConfig({ ...PROD, PAYLOAD_KEYS: `k:${KEY_A}` }).security.masterKeySource, 'MERCHFLOW_MASTER_KEY');
  });

  it('reads the development key file npm start keeps, in development only, and prefers the variable', () => {
    const dir = emptyDataDir();
    assert.equal(loadConfig({ MERCHFLOW_DATA_DIR: dir }).security.masterKey, null);
    fs.writeFileSync(path.join(dir, 'dev-master-key'), `${KEY_B}\n`);
    const dev = loadConfig({ MERCHFLOW_DATA_DIR: dir });
    assert.equal(dev.security.masterKey, KEY_B);
    assert.equal(dev.security.masterKeySource, 'development key file');
    assert.equal(loadConfig({ MERCHFLOW_DATA_DIR: dir, NODE_ENV: 'test' }).security.masterKey, null);
    assert.equal(loadConfig({ MERCHFLOW_DATA_DIR: dir, MERCHFLOW_MASTER_KEY: KEY_A }).security.masterKey, KEY_A);
  });
});

describe('payload encryption configuration', () => {
  it('is on by default in production and refuses to start without a key', () => {
    assert.throws(() => loadConfig(PROD), /PAYLOAD_KEYS: is required when PAYLOAD_ENCRYPTION is on \(the default when NODE_ENV=production\)/);
    const sut = loadConfig({ ...PROD, PAYLOAD_KEYS: `2026-01:${KEY_A}` });
    assert.equal(sut.payloadEncryption.enabled, true);
    assert.equal(sut.payloadEncryption.activeKeyId, '2026-01');
    assert.equal(sut.payloadEncryption.keys.get('2026-01')!.toString('base64'), KEY_A);
  });

  it('can be switched off, in production too', () => {
    assert.equal(loadConfig({ ...PROD, PAYLOAD_ENCRYPTION: 'false' }).payloadEncryption.enabled, false);
  });

  it('is off in development without keys, on when keys are configured', () => {
    const dir = emptyDataDir();
    assert.equal(loadConfig({ MERCHFLOW_DATA_DIR: dir }).payloadEncryption.enabled, false);
    assert.equal(loadConfig({ MERCHFLOW_DATA_DIR: dir, PAYLOAD_KEYS: `k:${KEY_A}` }).payloadEncryption.enabled, true);
    assert.throws(() => loadConfig({ MERCHFLOW_DATA_DIR: dir, PAYLOAD_ENCRYPTION: 'true' }), /PAYLOAD_KEYS: is required when PAYLOAD_ENCRYPTION is on:/);
  });

  it('reads the development key file npm start keeps, in development only', () => {
    const dir = emptyDataDir();
    fs.writeFileSync(path.join(dir, 'dev-payload-keys'), `# development key\ndev-1:${KEY_A}\n`);
    const dev = loadConfig({ MERCHFLOW_DATA_DIR: dir });
    assert.equal(dev.payloadEncryption.enabled, true);
    assert.equal(dev.payloadEncryption.source, 'development key file');
    assert.equal(dev.payloadEncryption.activeKeyId, 'dev-1');
    assert.equal(loadConfig({ MERCHFLOW_DATA_DIR: dir, NODE_ENV: 'test' }).payloadEncryption.enabled, false);
  });

  it('reads PAYLOAD_KEYS_FILE', () => {
    const file = path.join(emptyDataDir(), 'keys');
    fs.writeFileSync(file, `old:${KEY_A}\nnew:${KEY_B}\n`);
    const sut = loadConfig({ ...PROD, PAYLOAD_KEYS_FILE: file, PAYLOAD_KEY_ID: 'new' });
    assert.deepEqual([...sut.payloadEncryption.keys.keys()], ['old', 'new']);
    assert.throws(() => loadConfig({ ...PROD, PAYLOAD_KEYS_FILE: file + '.missing' }), /PAYLOAD_KEYS_FILE: cannot read .*ENOENT/);
  });

  it('needs PAYLOAD_KEY_ID to pick among several keys, and it must be one of them', () => {
    const keys = `old:${KEY_A},new:${KEY_B}`;
    assert.throws(() => loadConfig({ ...PROD, PAYLOAD_KEYS: keys }), /PAYLOAD_KEY_ID: is required when several payload keys/);
    assert.throws(() => loadConfig({ ...PROD, PAYLOAD_KEYS: keys, PAYLOAD_KEY_ID: 'other' }), /PAYLOAD_KEY_ID: "other" is not one of the configured key ids \(old, new\)/);
    assert.equal(loadConfig({ ...PROD, PAYLOAD_KEYS: keys, PAYLOAD_KEY_ID: 'new' }).payloadEncryption.activeKeyId, 'new');
  });

  it('names the bad key by id and never prints key material', () => {
    const short = randomBytes(16).toString('base64');
    assert.throws(
      () => loadConfig({ ...PROD, PAYLOAD_KEYS: `good:${KEY_A},short:${short},nocolon` }),
      (err: Error) => {
        assert.match(err.message, /PAYLOAD_KEYS: key "short": expected 32 random bytes in base64 .*got 16 bytes/);
        assert.match(err.message, /PAYLOAD_KEYS: entry 3: expected "key-id:base64-key"/);
        assert.ok(!err.message.includes(short) && !err.message.includes(KEY_A));
        return true;
      },
    );
  });

  it('allows the Temporal Web UI origins to call the codec endpoints', () => {
    const dir = emptyDataDir();
    assert.deepEqual(loadConfig({ MERCHFLOW_DATA_DIR: dir }).codecCorsOrigins, ['http://127.0.0.1:8233', 'http://localhost:8233']);
    assert.deepEqual(loadConfig({ MERCHFLOW_DATA_DIR: dir, CODEC_CORS_ORIGINS: 'https://temporal.example.com, http://127.0.0.1:9000' }).codecCorsOrigins, [
      'https://temporal.example.com',
      'http://127.0.0.1:9000',
    ]);
    assert.throws(() => loadConfig({ MERCHFLOW_DATA_DIR: dir, CODEC_CORS_ORIGINS: 'https://temporal.example.com/path' }), /CODEC_CORS_ORIGINS: expected comma-separated origins/);
  });
});
