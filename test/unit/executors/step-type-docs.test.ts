import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Ajv2020 from 'ajv/dist/2020';
import { STEP_TYPES, stepTypeRegistry } from '@engine/activities/registry';
import { STEP_TYPE_DOCS } from '@engine/activities/step-type-docs';
import { stepTypeCatalogue } from '@src/workflows/step-types';

describe('step type catalogue', () => {
  const registry = stepTypeRegistry();
  const catalogue = stepTypeCatalogue(registry);

  it('describes every built-in step type, and nothing else', () => {
    assert.deepEqual(Object.keys(STEP_TYPE_DOCS).sort(), STEP_TYPES.map((t) => t.config.type).sort());
    assert.deepEqual(catalogue.map((t) => t.type), Object.keys(registry).sort());
    for (const t of catalogue) assert.ok(t.description && !t.description.includes('\n'), `${t.type}: one line of description`);
  });

  it('gives examples that pass their type’s own validator', () => {
    for (const [type, doc] of Object.entries(STEP_TYPE_DOCS)) {
      assert.deepEqual(registry[type](doc.example), [], `${type}: ${JSON.stringify(doc.example)}`);
    }
  });

  it('publishes the zod schema of a type as JSON Schema that its example matches, and null without one', () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    for (const t of catalogue) {
      const config = STEP_TYPES.find((s) => s.config.type === t.type)!.config;
      if (!config.schema) {
        assert.equal(t.config_schema, null, t.type);
        continue;
      }
      assert.ok(t.config_schema, t.type);
      const validate = ajv.compile(t.config_schema);
      assert.equal(validate(t.example), true, `${t.type}: ${JSON.stringify(validate.errors)}`);
    }
  });

  it('publishes a schema for every built-in type', () => {
    const withSchema = catalogue.filter((t) => t.config_schema !== null).map((t) => t.type);
    for (const type of ['ai_process', 'api_call', 'approval', 'data_fetch', 'data_transform', 'data_validate', 'database_query', 'notification']) assert.ok(withSchema.includes(type), type);
  });
});
