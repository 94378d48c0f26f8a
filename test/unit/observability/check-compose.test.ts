import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkCompose, interpolate } from '../../../scripts/check-compose';

const root = path.resolve(__dirname, '..', '..', '..', '..');

/** A copy of the repository's compose file (and what it mounts) with `edit` applied. */
function variant(edit: (text: string) => string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mf-compose-'));
  fs.cpSync(path.join(root, 'deploy'), path.join(dir, 'deploy'), { recursive: true });
  fs.copyFileSync(path.join(root, 'Dockerfile'), path.join(dir, 'Dockerfile'));
  fs.writeFileSync(path.join(dir, 'docker-compose.yml'), edit(fs.readFileSync(path.join(root, 'docker-compose.yml'), 'utf8')));
  return path.join(dir, 'docker-compose.yml');
}

describe(checkCompose.name, () => {
  it('passes the repository compose file', () => {
    assert.deepEqual(checkCompose(path.join(root, 'docker-compose.yml')), []);
  });

  it('finds a misspelled key, a bad duration, auto-setup, tctl and || true', () => {
    const problems = checkCompose(
      variant((t) =>
        t
          .replace('    healthcheck:\n      test: ["CMD-SHELL", "pg_isready', '    healtcheck:\n      test: ["CMD-SHELL", "pg_isready')
          .replace('stop_grace_period: 40s', 'stop_grace_period: forty')
          .replace('image: temporalio/server:1.28', 'image: temporalio/auto-setup:1.28')
          .replace('"temporal", "operator", "cluster", "health"', '"tctl", "cluster", "health"')
          .replace('echo "temporal schema up to date"', 'echo done || true'),
      ),
    );
    const text = problems.join('\n');
    assert.match(text, /schema: \/services\/postgres must NOT have additional properties \(healtcheck\)/);
    assert.match(text, /stop_grace_period must match format "duration"/);
    assert.match(text, /temporal: temporalio\/auto-setup is a development image/);
    assert.match(text, /temporal: tctl is deprecated/);
    assert.match(text, /temporal-schema: "\|\| true" hides a failure/);
  });

  it('interpolates as Compose does', () => {
    assert.equal(interpolate('a ${X:-d} ${Y} $$HOME ${Z:?need Z}', { Y: 'y' }), 'a d y $HOME required-value');
    assert.equal(interpolate('${X:-d}', { X: '' }), 'd');
    assert.equal(interpolate('${X-d}', { X: '' }), '');
  });
});
