import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Ajv2020 from 'ajv/dist/2020';
import { stepTypeRegistry } from '@engine/activities/registry';
import { testExecutors } from '@test/support/executors';
import { isErrorShape, startApi, uniqueCode, type ApiHarness } from './support';

interface StepTypeBody {
  type: string;
  description: string | null;
  config_schema: Record<string, unknown> | null;
  example: Record<string, unknown> | null;
}

describe('step types API', () => {
  let api: ApiHarness;
  before(async () => {
    api = await startApi();
  });
  after(async () => {
    await api?.close();
  });

  it('lists every step type a definition may use, for any signed-in caller, and nobody else', async () => {
    const r = await api.request<{ count: number; results: StepTypeBody[] }>('GET', '/step-types/', { key: api.keys.viewer });
    assert.equal(r.status, 200, r.text);
    const registered = Object.keys(stepTypeRegistry(testExecutors(() => api.h.dataSource))).sort();
    assert.deepEqual(r.body.results.map((t) => t.type), registered);
    assert.equal(r.body.count, registered.length);
    const builtin = r.body.results.filter((t) => !t.type.startsWith('test_'));
    assert.ok(builtin.length >= 8);
    for (const t of builtin) assert.ok(t.description && t.example, `${t.type} has a description and an example`);
    // A type without a schema (here: the test executors) says so instead of leaving the field out.
    assert.equal(r.body.results.find((t) => t.type === 'test_echo')?.config_schema, null);
    const anonymous = await api.request('GET', '/step-types/', { key: null });
    assert.equal(anonymous.status, 401);
    assert.ok(isErrorShape(anonymous.body));
  });

  it('publishes schemas that compile as JSON Schema and accept the examples', async () => {
    const r = await api.request<{ results: StepTypeBody[] }>('GET', '/step-types/');
    const ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: true });
    const withSchema = r.body.results.filter((t) => t.config_schema !== null);
    for (const type of ['ai_process', 'api_call', 'approval', 'data_fetch', 'data_transform', 'data_validate', 'database_query', 'notification']) assert.ok(withSchema.some((t) => t.type === type), `${type} publishes its schema`);
    for (const t of withSchema) {
      const validate = ajv.compile(t.config_schema!);
      assert.equal(validate(t.example), true, `${t.type}: ${JSON.stringify(validate.errors)}`);
    }
    // The notification schema tells a log (message required) from an email (recipient and subject required).
    const notification = r.body.results.find((t) => t.type === 'notification')!;
    const validate = ajv.compile(notification.config_schema!);
    assert.equal(validate({ type: 'log', message: 'hi' }), true);
    assert.equal(validate({ type: 'log' }), false);
    assert.equal(validate({ type: 'email', message: 'hi' }), false);
  });

  it('gives examples the server accepts in a definition', async () => {
    const r = await api.request<{ results: StepTypeBody[] }>('GET', '/step-types/');
    const steps = r.body.results
      .filter((t) => t.example !== null)
      .map((t, i) => ({ key: `s${i}`, name: t.type, step_type: t.type, config: t.example }));
    assert.ok(steps.length >= 8);
    const check = await api.request<{ valid: boolean }>('POST', '/workflows/validate/', { body: { code: uniqueCode('types'), name: 'Every example', steps } });
    assert.equal(check.status, 200, check.text);
    assert.equal(check.body.valid, true);
  });
});
