import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { loadConfig } from '@src/config/config';
import { createDataSource } from '@src/database/data-source';
import { SecretsService } from '@src/secrets/secrets.service';
import { encryptSecret, parseMasterKey } from '@engine/activities/shared/secret-crypto';

const CLI = path.resolve(__dirname, '../../../src/cli/main.js');

/** The CLI on a database of its own: rotation re-encrypts every row, which must not touch other tests' secrets. */
describe('merchflow secrets and connections CLI', () => {
  const dbName = `cli_secrets_${randomUUID().replace(/-/g, '').slice(0, 10)}`;
  const admin = new URL(process.env.DATABASE_URL!);
  admin.pathname = '/postgres';
  const url = new URL(process.env.DATABASE_URL!);
  url.pathname = `/${dbName}`;
  const K1 = randomBytes(32).toString('base64');
  const K2 = randomBytes(32).toString('base64');
  let ds: DataSource;

  const run = (args: string[], stdin: string | null, env: Record<string, string> = {}) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [CLI, ...args], {
        env: { ...process.env, DATABASE_URL: url.toString(), MERCHFLOW_MASTER_KEY: K1, ...env },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.once('close', (code) => resolve({ code, stdout, stderr }));
      child.stdin.end(stdin ?? '');
    });

  before(async () => {
    const c = new Client({ connectionString: admin.toString() });
    await c.connect();
    await c.query(`CREATE DATABASE ${dbName}`);
    await c.end();
    ds = await createDataSource(loadConfig({ ...process.env, DATABASE_URL: url.toString() }), { poolSize: 2 }).initialize();
    await ds.runMigrations({ transaction: 'each' });
  });
  after(async () => {
    await ds?.destroy();
    const c = new Client({ connectionString: admin.toString() });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await c.end();
  });

  it('sets a secret from stdin (never an argument), lists it without its value, refuses a value given as an option', async () => {
    const value = `cli-${randomBytes(10).toString('hex')}`;
    const set = await run(['secrets', 'set', 'SHOP_TOKEN', '--description', 'the shop'], `${value}\n`);
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /created secret SHOP_TOKEN/);
    assert.equal(await new SecretsService(ds, K1).resolve('SHOP_TOKEN'), value, 'stored without the final line break');
    const again = await run(['secrets', 'set', 'SHOP_TOKEN'], `${value}-2`);
    assert.match(again.stdout, /updated secret SHOP_TOKEN/);

    const list = await run(['secrets', 'list', '--json'], null);
    assert.equal(list.code, 0, list.stderr);
    const rows = JSON.parse(list.stdout) as Array<{ name: string; description: string }>;
    assert.deepEqual(rows.map((r) => [r.name, r.description]), [['SHOP_TOKEN', 'the shop']]);
    assert.ok(!list.stdout.includes(value));

    const asOption = await run(['secrets', 'set', 'OTHER', '--value', value], null);
    assert.equal(asOption.code, 2);
    assert.match(asOption.stderr, /unknown option --value/);
    const empty = await run(['secrets', 'set', 'EMPTY'], '');
    assert.equal(empty.code, 2);
    assert.match(empty.stderr, /value: must be a non-empty string/);
  });

  it('rotates the master key in one transaction: all rows move, or none when one cannot be decrypted', async () => {
    const before = await new SecretsService(ds, K1).resolve('SHOP_TOKEN');
    // A row under another key: rotation must stop and change nothing.
    const foreign = encryptSecret('FOREIGN', 'x'.repeat(20), parseMasterKey(randomBytes(32).toString('base64')));
    await ds.query(`INSERT INTO secrets (name, ciphertext, iv, tag) VALUES ('FOREIGN', $1, $2, $3)`, [foreign.ciphertext, foreign.iv, foreign.tag]);
    const refused = await run(['secrets', 'rotate-master-key'], K2);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /secret FOREIGN cannot be decrypted with the current master key; nothing was rotated/);
    assert.equal(await new SecretsService(ds, K1).resolve('SHOP_TOKEN'), before, 'still under the old key');

    await run(['secrets', 'delete', 'FOREIGN'], null);
    const rotated = await run(['secrets', 'rotate-master-key'], `${K2}\n`);
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.match(rotated.stderr, /re-encrypted 1 secret\(s\): set MERCHFLOW_MASTER_KEY to the new key/);
    assert.equal(await new SecretsService(ds, K2).resolve('SHOP_TOKEN'), before);
    await assert.rejects(new SecretsService(ds, K1).resolve('SHOP_TOKEN'), /could not be decrypted/);
    const listed = await run(['secrets', 'list'], null, { MERCHFLOW_MASTER_KEY: K2 });
    assert.match(listed.stdout, /SHOP_TOKEN/);
  });

  it('manages a supplier by secret name: create, list, disable; inline credentials are refused naming the field', async () => {
    const env = { MERCHFLOW_MASTER_KEY: K2 };
    const refused = await run(['suppliers', 'create', '--code', 'acme', '--name', 'ACME', '--endpoint', 'http://127.0.0.1:9/v1', '--data', '{"credentials": {"type": "bearer", "token": "abc"}}'], null, env);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /credentials\.token: inline credentials are refused/);
    const created = await run(['suppliers', 'create', '--code', 'acme', '--name', 'ACME', '--endpoint', 'http://127.0.0.1:9/v1', '--secret', 'SHOP_TOKEN', '--rate-budget', '{"requests_per_second": 10}'], null, env);
    assert.equal(created.code, 0, created.stderr);
    const supplier = JSON.parse(created.stdout) as { id: number; credentials: unknown; rate_budget: unknown };
    assert.deepEqual(supplier.credentials, { type: 'bearer', secret: 'SHOP_TOKEN' });
    assert.deepEqual(supplier.rate_budget, { requests_per_second: 10 });
    const disabled = await run(['suppliers', 'disable', String(supplier.id)], null, env);
    assert.equal(disabled.code, 0, disabled.stderr);
    const list = await run(['suppliers', 'list'], null, env);
    assert.match(list.stdout, /acme .*SHOP_TOKEN\s+no \(since/);
    const test = await run(['suppliers', 'test', String(supplier.id)], null, env);
    assert.equal(test.code, 1);
    assert.match(test.stdout, /FAILED; reachable no/);
  });
});
