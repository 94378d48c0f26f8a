import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { STEP_TYPES, builtinExecutorModules, stepTypeRegistry } from '@engine/activities/registry';
import { defineExecutor, defineStepConfig } from '@engine/activities/runtime/executor';
import { configInvalid } from '@engine/activities/shared/config-issues';

const dist = path.resolve(__dirname, '..', '..', '..');
const root = path.resolve(dist, '..');
const activities = path.join(root, 'temporal', 'activities');

/** Modules a process has loaded after requiring `entry` (paths relative to dist, or package names). */
function loadedBy(entry: string): string[] {
  const script = `require(${JSON.stringify(path.join(dist, entry))}); process.stdout.write(JSON.stringify(Object.keys(require.cache)));`;
  const res = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, LOG_LEVEL: 'error' } });
  assert.equal(res.status, 0, res.stderr);
  return (JSON.parse(res.stdout) as string[]).map((p) => (p.startsWith(dist) ? path.relative(dist, p) : p));
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('executor contract', () => {
  it('lets the API validate definitions without loading any executor, openai or nodemailer', () => {
    for (const entry of ['src/app.module.js', 'src/cli/cli.module.js']) {
      const loaded = loadedBy(entry);
      assert.ok(loaded.some((p) => p.endsWith(path.join('activities', 'data_transform', 'schema.js'))), `${entry} loads the step configs`);
      const executors = loaded.filter((p) => /activities[\\/](?!runtime[\\/])[a-z_]+[\\/]executor\.js$/.test(p));
      assert.deepEqual(executors, [], `${entry} loads executors`);
      for (const pkg of ['openai', 'nodemailer']) {
        assert.ok(!loaded.some((p) => p.includes(`${path.sep}node_modules${path.sep}${pkg}${path.sep}`)), `${entry} loads ${pkg}`);
      }
    }
  });

  it('declares each type once: the worker builds every executor with the type and validator of its schema', async () => {
    const modules = await builtinExecutorModules();
    const withExecutor = STEP_TYPES.filter((t) => t.executor);
    assert.equal(modules.length, withExecutor.length);
    modules.forEach((m, i) => {
      assert.equal(m.config, withExecutor[i].config);
      assert.equal(m.type, withExecutor[i].config.type);
      assert.equal(m.validateConfig, withExecutor[i].config.validate);
    });
    const registry = stepTypeRegistry();
    assert.deepEqual(Object.keys(registry).sort(), STEP_TYPES.map((t) => t.config.type).sort());
    assert.ok(registry.approval, 'approval is validated though the interpreter runs it');
  });

  it('builds an executor from one folder: config from defineStepConfig, implementation from defineExecutor', async () => {
    const config = defineStepConfig('echo', (c) => (typeof c.text === 'string' ? [] : [{ field: 'text', message: 'must be a string' }]));
    const sut = defineExecutor({ config, create: () => ({ execute: async (c) => c.text }) });
    const executor = sut.create({} as never);
    assert.equal(executor.type, 'echo');
    assert.deepEqual(executor.validateConfig({ text: 1 }), [{ field: 'text', message: 'must be a string' }]);
    assert.equal(await executor.execute({ text: 'hi' }, {} as never), 'hi');
    assert.ok(stepTypeRegistry([executor]).echo);
  });

  it('reports config issues in one format, naming each field', () => {
    const err = configInvalid([
      { field: 'mapping_rules.title', message: 'must be a string' },
      { field: 'rules[0].field', message: 'is required' },
    ]);
    assert.equal(err.code, 'STEP_CONFIG_INVALID');
    assert.equal(err.retryable, false);
    assert.equal(err.message, 'config.mapping_rules.title: must be a string; config.rules[0].field: is required');
  });

  it('has no executor importing another executor\'s folder', () => {
    const folders = readdirSync(activities).filter((n) => statSync(path.join(activities, n)).isDirectory() && !['shared', 'runtime', 'projection'].includes(n));
    const offenders: string[] = [];
    for (const folder of folders) {
      for (const file of tsFiles(path.join(activities, folder))) {
        const text = readFileSync(file, 'utf8');
        for (const m of text.matchAll(/from '(?:@engine\/activities\/|\.\.\/)([a-z_]+)\//g)) {
          if (m[1] !== folder && m[1] !== 'shared' && m[1] !== 'runtime') offenders.push(`${path.relative(root, file)} → ${m[1]}`);
        }
      }
    }
    assert.deepEqual(offenders, []);
  });
});
