import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ENV_SCHEMA, configurationTable } from '@src/config/config';
import { withGeneratedTable } from '../../../scripts/config-docs';

const root = path.resolve(__dirname, '..', '..', '..', '..');
const doc = () => fs.readFileSync(path.join(root, 'docs', 'configuration.md'), 'utf8');

/** Every `process.env.NAME` (or `env.NAME` / `env['NAME']`) the product code reads. */
function variablesReadInCode(): Set<string> {
  const names = new Set<string>();
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.name.endsWith('.ts')) {
        for (const m of fs.readFileSync(p, 'utf8').matchAll(/process\.env(?:\.([A-Z][A-Z0-9_]+)|\[['"]([A-Z][A-Z0-9_]+)['"]\])/g)) names.add(m[1] ?? m[2]);
      }
    }
  };
  for (const dir of ['src', 'temporal', 'scripts']) walk(path.join(root, dir));
  names.delete('PATH');
  return names;
}

describe('docs/configuration.md', () => {
  it('holds the table generated from ENV_SCHEMA, so every variable is documented as the schema reads it', () => {
    assert.equal(doc(), withGeneratedTable(doc()), 'docs/configuration.md is out of date: run `npm run build && node dist/scripts/config-docs.js`');
    for (const name of Object.keys(ENV_SCHEMA.shape)) assert.match(configurationTable(), new RegExp(`^\\| \`${name}\` \\|`, 'm'));
    assert.ok(Object.keys(ENV_SCHEMA.shape).includes('WORKER_MAX_CONCURRENT_WORKFLOW_TASKS'));
  });

  it('names every environment variable the code reads', () => {
    const text = doc();
    const missing = [...variablesReadInCode()].filter((name) => !text.includes(`\`${name}\``));
    assert.deepEqual(missing, [], `undocumented variables: ${missing.join(', ')}`);
  });
});
