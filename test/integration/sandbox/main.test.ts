import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { startSandbox } from '@src/sandbox';

const MAIN = path.resolve(__dirname, '../../../src/sandbox/main.js');

/** Runs `npm run sandbox`'s entry point with extra environment; resolves on exit. */
function runMain(env: Record<string, string>, onStdout?: (text: string, kill: () => void) => void) {
  const child = spawn(process.execPath, [MAIN], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    onStdout?.(stdout, () => child.kill('SIGTERM'));
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

describe('sandbox main', () => {
  it('prints its URLs, serves, and exits cleanly on SIGTERM', async () => {
    let served = false;
    const result = await runMain({ SANDBOX_PORT: '0', SANDBOX_PRODUCTS: '25', SANDBOX_SEED: '9' }, (out, kill) => {
      const url = /admin\s+(http:\/\/127\.0\.0\.1:\d+\/_admin)\/state/.exec(out)?.[1];
      if (!url || served) return;
      served = true;
      fetch(`${url}/state`)
        .then((r) => r.json())
        .then((state) => assert.equal((state as { products: number }).products, 25))
        .finally(kill);
    });
    assert.ok(served, result.stdout + result.stderr);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /sandbox listening on http:\/\/127\.0\.0\.1:\d+ \(25 products, seed 9\)/);
    assert.match(result.stdout, /supplier\s+http:\/\/127\.0\.0\.1:\d+\/supplier\/v1/);
  });

  it('reports a port in use on one line naming the port, and exits 1', async () => {
    const sandbox = await startSandbox({ products: 1 });
    try {
      const result = await runMain({ SANDBOX_PORT: String(sandbox.port) });
      assert.equal(result.code, 1);
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
      assert.match(result.stderr, new RegExp(`port ${sandbox.port} is already in use`));
    } finally {
      await sandbox.close();
    }
  });

  it('reports an invalid setting on one line and exits 1', async () => {
    const result = await runMain({ SANDBOX_PORT: '0', SANDBOX_ERROR_RATE: 'lots' });
    assert.equal(result.code, 1);
    assert.equal(result.stderr.trim(), 'sandbox: SANDBOX_ERROR_RATE=lots is invalid: expected a number in [0, 1]');
  });
});
