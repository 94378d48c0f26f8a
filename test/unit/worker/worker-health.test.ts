import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { healthFileFresh, keepHealthFile } from '@engine/worker-health';

describe('worker health file', () => {
  const file = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mf-health-')), 'alive');

  it('is fresh while the worker runs, and gone once it stops', () => {
    const f = file();
    const stop = keepHealthFile(f, () => true, 60_000);
    assert.equal(healthFileFresh(f), true);
    stop();
    assert.equal(fs.existsSync(f), false);
    assert.equal(healthFileFresh(f), false, 'a missing file is unhealthy');
  });

  it('is not written while the worker is not running', () => {
    const f = file();
    const stop = keepHealthFile(f, () => false, 60_000);
    assert.equal(healthFileFresh(f), false);
    stop();
  });

  it('goes stale when nobody touches it', () => {
    const f = file();
    fs.writeFileSync(f, '1\n');
    const touched = fs.statSync(f).mtimeMs;
    assert.equal(healthFileFresh(f, 30_000, touched + 29_000), true);
    assert.equal(healthFileFresh(f, 30_000, touched + 31_000), false);
  });
});
