import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { loadConfig, AggregateConfigError, EMBEDDED_DATABASE_URL, redactUrl } from '@src/config/config';

const dist = path.resolve(__dirname, '..', '..', '..');

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
    });
    assert.equal(c.databaseEmbedded, false);
    assert.equal(c.temporal.namespace, 'prod');
    assert.equal(c.temporal.taskQueue, 'q1');
    assert.equal(c.http.port, 8080);
    assert.equal(c.http.host, '0.0.0.0');
    assert.equal(c.log.format, 'json');
    assert.deepEqual(c.httpAllowHosts, ['supplier.example:443', '127.0.0.1:4010']);
    assert.equal(c.worker.maxConcurrentActivities, 7);
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
