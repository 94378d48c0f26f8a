import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as dsl from '@engine/dsl/index';

/** Compiled DSL modules, beside this compiled test in dist/. */
const compiledDir = path.resolve(__dirname, '../../../temporal/dsl');
const compiled = readdirSync(compiledDir).filter((f) => f.endsWith('.js'));

describe('dsl index', () => {
  it('exports the public API of every pure module', () => {
    for (const name of ['normalizeDefinition', 'effectiveDependencies', 'readySteps', 'resolveReferences', 'evaluateCondition', 'validateDefinition', 'isPayloadRef']) {
      assert.equal(typeof (dsl as Record<string, unknown>)[name], 'function', name);
    }
  });

  it('leaves the JSONata module out', () => {
    assert.equal('evaluateJsonata' in dsl, false);
    assert.equal('compileJsonata' in dsl, false);
  });
});

describe('dsl purity', () => {
  it('finds the compiled modules', () => {
    assert.ok(compiled.includes('index.js') && compiled.length >= 8, compiled.join(', '));
  });

  it('imports nothing but sibling modules, except expressions.js (jsonata) and schema.js (zod)', () => {
    for (const file of compiled) {
      const source = readFileSync(path.join(compiledDir, file), 'utf8');
      const imports = [...source.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]);
      const allowed = file === 'expressions.js' ? ['jsonata'] : file === 'schema.js' ? ['zod'] : [];
      for (const spec of imports) assert.ok(spec.startsWith('./') || allowed.includes(spec), `${file} requires ${spec}`);
    }
  });

  it('keeps validation out of the workflow bundle: no workflow module imports the schema or the validator', () => {
    const workflowsDir = path.resolve(__dirname, '../../../temporal/workflows');
    for (const file of readdirSync(workflowsDir).filter((f) => f.endsWith('.js'))) {
      const source = readFileSync(path.join(workflowsDir, file), 'utf8');
      assert.doesNotMatch(source, /require\("(@engine\/dsl(\/index|\/validate|\/schema)?|zod|[./]+dsl(\/index|\/validate|\/schema)?)"\)/, file);
    }
    const bundle = readFileSync(path.resolve(__dirname, '../../../workflow-bundle.js'), 'utf8');
    assert.doesNotMatch(bundle, /temporal\/dsl\/(schema|validate)/, 'workflow bundle');
  });

  it('uses no clock, randomness, dynamic code or process state in workflow-safe modules', () => {
    const forbidden = /\b(Date\.now|new Date|Math\.random|eval\(|new Function|Function\(|process\.|setTimeout|setInterval|globalThis|crypto\.)/;
    for (const file of compiled.filter((f) => f !== 'expressions.js')) {
      const source = readFileSync(path.join(compiledDir, file), 'utf8');
      assert.doesNotMatch(source, forbidden, file);
    }
  });
});
