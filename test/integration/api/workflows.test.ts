import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { echoDefinition, isErrorShape, startApi, uniqueCode, type ApiHarness } from './support';

interface WorkflowBody {
  id: number;
  code: string;
  name: string;
  current_version: number;
  version: number;
  status: string;
  created_by: string | null;
  description: string;
  steps: Array<{ key: string; step_type: string; timeout_seconds: number; depends_on_steps: string[] }>;
}

describe('workflows API', () => {
  let api: ApiHarness;
  before(async () => {
    api = await startApi();
  });
  after(async () => {
    await api?.close();
  });

  const create = (def: Record<string, unknown>) => api.request<WorkflowBody>('POST', '/workflows/', { body: def });

  it('creates a workflow and answers the full definition with defaults filled in', async () => {
    const code = uniqueCode('wf');
    const r = await create(echoDefinition(code, { description: 'two echoes', config: { flag: true } }));
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.code, code);
    assert.equal(r.body.version, 1);
    assert.equal(r.body.current_version, 1);
    assert.equal(r.body.description, 'two echoes');
    assert.match(r.body.created_by ?? '', /^key:test-admin-/);
    assert.deepEqual(r.body.steps.map((s) => [s.key, s.step_type, s.timeout_seconds]), [['first', 'test_echo', 300], ['second', 'test_echo', 300]]);
    const again = await api.request<WorkflowBody>('GET', `/workflows/${r.body.id}/`);
    assert.deepEqual(again.body.steps, r.body.steps);
  });

  it('refuses a second live workflow with the same code (409)', async () => {
    const code = uniqueCode('dup');
    assert.equal((await create(echoDefinition(code))).status, 201);
    const r = await create(echoDefinition(code));
    assert.equal(r.status, 409);
    assert.equal(r.body.code as unknown, 'WORKFLOW_EXISTS');
  });

  it('answers 400 naming the field for wrong types and unknown fields', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ ...echoDefinition(uniqueCode()), steps: 'nope' }, 'steps'],
      [{ ...echoDefinition(uniqueCode()), max_retries: 'three' }, 'max_retries'],
      [{ ...echoDefinition(uniqueCode()), surprise: 1 }, 'surprise'],
      [{ ...echoDefinition(uniqueCode()), steps: [{ key: 'a', name: 'A', step_type: 'test_echo', timeout_seconds: -5 }] }, 'steps[0].timeout_seconds'],
      [{ ...echoDefinition(uniqueCode()), steps: [{ key: 'a', name: 'A', step_type: 'test_echo', extra: true }] }, 'steps[0].extra'],
      [{ ...echoDefinition(uniqueCode()), steps: [{ key: 'Bad Key', name: 'A', step_type: 'test_echo' }] }, 'steps[0].key'],
      [{ ...echoDefinition(uniqueCode()), code: 'has spaces' }, 'code'],
      [{ name: 'no code', steps: [] }, 'code'],
    ];
    for (const [body, field] of cases) {
      const r = await create(body);
      assert.equal(r.status, 400, `${field}: ${r.text}`);
      assert.ok(isErrorShape(r.body));
      assert.equal(r.body.code as unknown, 'VALIDATION_FAILED');
      assert.ok(r.text.includes(field), `message should name ${field}: ${r.text}`);
      const errors = (r.body as unknown as { details: { errors: Array<{ field: string }> } }).details.errors;
      assert.ok(errors.some((e) => e.field === field), `details.errors should name ${field}: ${JSON.stringify(errors)}`);
    }
  });

  it('answers 400 DEFINITION_INVALID naming the step and field for bad definitions', async () => {
    const cyclic = await create({
      code: uniqueCode(),
      name: 'cyclic',
      steps: [
        { key: 'a', name: 'A', step_type: 'test_echo', depends_on_steps: ['b'] },
        { key: 'b', name: 'B', step_type: 'test_echo', depends_on_steps: ['a'] },
      ],
    });
    assert.equal(cyclic.status, 400);
    assert.equal(cyclic.body.code as unknown, 'DEFINITION_INVALID');
    const issues = (cyclic.body as unknown as { details: { issues: Array<{ code: string; step: string; field: string }> } }).details.issues;
    assert.ok(issues.some((i) => i.code === 'CYCLE' && i.field === 'depends_on_steps'));

    const unknownType = await create({ code: uniqueCode(), name: 'x', steps: [{ key: 'a', name: 'A', step_type: 'teleport' }] });
    assert.equal(unknownType.status, 400);
    assert.match((unknownType.body as unknown as { message: string }).message, /step 'a' step_type: unknown step type 'teleport'/);

    const badConfig = await create({ code: uniqueCode(), name: 'x', steps: [{ key: 'a', name: 'A', step_type: 'test_echo', config: { fail_validation: true } }] });
    assert.equal(badConfig.status, 400);
    assert.match((badConfig.body as unknown as { message: string }).message, /config\.fail_validation/);

    const missingDep = await create({ code: uniqueCode(), name: 'x', steps: [{ key: 'a', name: 'A', step_type: 'test_echo', depends_on_steps: ['ghost'] }] });
    assert.equal(missingDep.status, 400);
    assert.match((missingDep.body as unknown as { message: string }).message, /depends_on_steps\[0\]/);
  });

  it('validates without saving: 200 {valid: true} or 400 with the issues', async () => {
    const code = uniqueCode('val');
    const ok = await api.request<{ valid: boolean; step_count: number }>('POST', '/workflows/validate/', { body: echoDefinition(code) });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.body.valid, true);
    assert.equal(ok.body.step_count, 2);
    const bad = await api.request('POST', '/workflows/validate/', { body: { code, name: 'x', steps: [{ key: 'a', name: 'A', step_type: 'nope' }] } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 'DEFINITION_INVALID');
    const list = await api.request<{ count: number }>('GET', `/workflows/?search=${code}`);
    assert.equal(list.body.count, 0, 'validate must not save');
  });

  it('lists with pagination and filters', async () => {
    const tag = uniqueCode('lst');
    for (let i = 0; i < 3; i++) assert.equal((await create(echoDefinition(`${tag}-${i}`, { workflow_type: 'inventory_sync' }))).status, 201);
    const page1 = await api.request<{ count: number; page: number; page_size: number; results: Array<{ code: string; step_count: number }> }>(
      'GET',
      `/workflows/?search=${tag}&page_size=2`,
    );
    assert.equal(page1.status, 200);
    assert.deepEqual([page1.body.count, page1.body.page, page1.body.page_size, page1.body.results.length], [3, 1, 2, 2]);
    assert.ok(page1.body.results.every((w) => w.step_count === 2));
    const page2 = await api.request<{ results: Array<{ code: string }> }>('GET', `/workflows/?search=${tag}&page_size=2&page=2`);
    assert.equal(page2.body.results.length, 1);
    const typed = await api.request<{ count: number }>('GET', `/workflows/?search=${tag}&workflow_type=inventory_sync&status=active&is_template=false`);
    assert.equal(typed.body.count, 3);
    const none = await api.request<{ count: number }>('GET', `/workflows/?search=${tag}&workflow_type=order_processing`);
    assert.equal(none.body.count, 0);
    for (const q of ['page_size=101', 'page_size=0', 'page=0', 'page=abc', 'status=weird', 'is_template=maybe', 'unknown=1']) {
      const r = await api.request('GET', `/workflows/?${q}`);
      assert.equal(r.status, 400, q);
      assert.ok(isErrorShape(r.body));
    }
  });

  it('PATCH makes a new version only when the definition changes; versions lists them', async () => {
    const wf = (await create(echoDefinition(uniqueCode('ver')))).body;
    const described = await api.request<WorkflowBody>('PATCH', `/workflows/${wf.id}/`, { body: { description: 'only words' } });
    assert.equal(described.status, 200, described.text);
    assert.equal(described.body.current_version, 1);
    assert.equal(described.body.description, 'only words');

    const steps = [...wf.steps.map((s) => ({ key: s.key, name: s.key, step_type: s.step_type, depends_on_steps: s.depends_on_steps })), { key: 'third', name: 'Third', step_type: 'test_echo', depends_on_steps: ['second'] }];
    const changed = await api.request<WorkflowBody>('PATCH', `/workflows/${wf.id}/`, { body: { steps } });
    assert.equal(changed.status, 200, changed.text);
    assert.equal(changed.body.current_version, 2);
    assert.equal(changed.body.steps.length, 3);

    const same = await api.request<WorkflowBody>('PATCH', `/workflows/${wf.id}/`, { body: { steps } });
    assert.equal(same.body.current_version, 2, 'an identical definition is not a new version');

    const v1 = await api.request<WorkflowBody>('GET', `/workflows/${wf.id}/?version=1`);
    assert.equal(v1.body.steps.length, 2);
    const versions = await api.request<{ count: number; results: Array<{ version: number; is_current: boolean; step_count: number }> }>('GET', `/workflows/${wf.id}/versions/`);
    assert.deepEqual(versions.body.results.map((v) => [v.version, v.is_current, v.step_count]), [[2, true, 3], [1, false, 2]]);

    const codeChange = await api.request('PATCH', `/workflows/${wf.id}/`, { body: { code: 'other-code' } });
    assert.equal(codeChange.status, 400);
    assert.equal(codeChange.body.code, 'CODE_IMMUTABLE');
    const badPatch = await api.request('PATCH', `/workflows/${wf.id}/`, { body: { steps: [{ key: 'a', name: 'A', step_type: 'test_echo', depends_on_steps: ['a'] }] } });
    assert.equal(badPatch.status, 400);
    assert.equal(badPatch.body.code, 'DEFINITION_INVALID');
    assert.equal((await api.request('GET', `/workflows/${wf.id}/?version=9`)).status, 404);
  });

  it('checks run input against the input schema before starting: execute, schedules, and a schema that is not one', async () => {
    const schema = { type: 'object', properties: { n: { type: 'integer', minimum: 1 } }, required: ['n'] };
    const bad = await create(echoDefinition(uniqueCode('schema'), { input_schema: { type: 'nonsense' } }));
    assert.equal(bad.status, 400);
    assert.match(JSON.stringify(bad.body), /input_schema: is not a valid JSON Schema/);
    const r = await create(echoDefinition(uniqueCode('schema'), { input_schema: schema }));
    assert.equal(r.status, 201, r.text);
    assert.deepEqual((r.body as unknown as { input_schema: unknown }).input_schema, schema);
    const runs = async () => (await api.request<{ count: number }>('GET', `/executions/?workflow=${r.body.id}`)).body.count;

    const missing = await api.request<{ code: string; message: string; details: { errors: unknown[] } }>('POST', `/workflows/${r.body.id}/execute/`, { body: { input_data: {} } });
    assert.equal(missing.status, 400);
    assert.equal(missing.body.code, 'VALIDATION_FAILED');
    assert.deepEqual(missing.body.details.errors, [{ field: 'input_data.n', message: 'is required' }]);
    const wrong = await api.request<{ message: string }>('POST', `/workflows/${r.body.id}/execute/`, { body: { input_data: { n: 'seven' } } });
    assert.equal(wrong.status, 400);
    assert.match(wrong.body.message, /input_data\.n: must be integer/);
    assert.equal(await runs(), 0, 'a refused input leaves no run behind');
    const ok = await api.request('POST', `/workflows/${r.body.id}/execute/`, { body: { input_data: { n: 7 } } });
    assert.equal(ok.status, 202, ok.text);
    assert.equal(await runs(), 1);

    const sched = await api.request<{ message: string }>('POST', '/schedules/', { body: { workflow_id: r.body.id, name: uniqueCode('s'), cron_expression: '0 3 * * *', input_data: { n: 0 } } });
    assert.equal(sched.status, 400);
    assert.match(sched.body.message, /input_data\.n: must be >= 1/);

    // null removes the schema (a new version); the same input is then accepted.
    const patched = await api.request<WorkflowBody & { input_schema: unknown }>('PATCH', `/workflows/${r.body.id}/`, { body: { input_schema: null } });
    assert.equal(patched.status, 200, patched.text);
    assert.equal(patched.body.input_schema, null);
    assert.equal(patched.body.current_version, 2);
    assert.equal((await api.request('POST', `/workflows/${r.body.id}/execute/`, { body: { input_data: {} } })).status, 202);
  });

  it('deletes (soft): 204, then 404', async () => {
    const wf = (await create(echoDefinition(uniqueCode('del')))).body;
    const del = await api.request('DELETE', `/workflows/${wf.id}/`);
    assert.equal(del.status, 204);
    assert.equal(del.text, '');
    assert.equal((await api.request('GET', `/workflows/${wf.id}/`)).status, 404);
    const again = await api.request('DELETE', `/workflows/${wf.id}/`);
    assert.equal(again.status, 404);
    assert.equal(again.body.code, 'NOT_FOUND');
    assert.equal((await create(echoDefinition(wf.code))).status, 201, 'a deleted workflow frees its code');
  });

  it('answers bad ids with 400 naming id and unknown ones with 404', async () => {
    for (const id of ['abc', '0', '-1', '99999999999', '1.5']) {
      const r = await api.request('GET', `/workflows/${id}/`);
      assert.equal(r.status, 400, id);
      assert.match(r.body.message as string, /^id:/);
    }
    const r = await api.request('GET', '/workflows/2147483647/');
    assert.equal(r.status, 404);
    assert.equal(r.body.code, 'NOT_FOUND');
  });

  it('executes: 202 with the execution; idempotency keys never start a second run', async () => {
    const wf = (await create(echoDefinition(uniqueCode('exe')))).body;
    const key = uniqueCode('idem');
    const first = await api.request<{ execution_id: string; status: string; trigger_type: string; workflow_code: string; input_data: unknown }>('POST', `/workflows/${wf.id}/execute/`, {
      body: { input_data: { n: 1 }, idempotency_key: key },
    });
    assert.equal(first.status, 202, first.text);
    assert.equal(first.body.trigger_type, 'api');
    assert.equal(first.body.workflow_code, wf.code);
    assert.deepEqual(first.body.input_data, { n: 1 });
    const second = await api.request<{ execution_id: string }>('POST', `/workflows/${wf.id}/execute/`, { body: { input_data: { n: 2 }, idempotency_key: key } });
    assert.equal(second.status, 202);
    assert.equal(second.body.execution_id, first.body.execution_id);
    const result = await api.h.wait(first.body.execution_id);
    assert.equal(result.status, 'completed');

    const other = (await create(echoDefinition(uniqueCode('exe2')))).body;
    const reused = await api.request('POST', `/workflows/${other.id}/execute/`, { body: { idempotency_key: key } });
    assert.equal(reused.status, 409);
    assert.equal(reused.body.code, 'IDEMPOTENCY_KEY_REUSED');

    const noBody = await api.request<{ input_data: unknown }>('POST', `/workflows/${wf.id}/execute/`);
    assert.equal(noBody.status, 202);
    assert.deepEqual(noBody.body.input_data, {});

    assert.equal((await api.request('POST', `/workflows/${wf.id}/execute/`, { body: { input_data: [1, 2] } })).status, 400);
    assert.equal((await api.request('POST', `/workflows/${wf.id}/execute/`, { body: { input_data: 'x' } })).status, 400);
    assert.equal((await api.request('POST', '/workflows/2147483647/execute/', { body: {} })).status, 404);

    await api.request('PATCH', `/workflows/${wf.id}/`, { body: { status: 'inactive' } });
    const inactive = await api.request('POST', `/workflows/${wf.id}/execute/`, { body: {} });
    assert.equal(inactive.status, 409);
    assert.equal(inactive.body.code, 'WORKFLOW_INACTIVE');
  });

  it('executes what the workflow says now after an edit, a rename, reactivation or deletion since its last run', async () => {
    type Run = { execution_id: string; version: number; workflow_name: string; total_steps: number };
    const wf = (await create(echoDefinition(uniqueCode('edits')))).body;
    const execute = (extra: Record<string, unknown> = {}) => api.request<Run>('POST', `/workflows/${wf.id}/execute/`, { body: { input_data: { n: 1 }, ...extra } });
    const first = await execute();
    assert.equal(first.status, 202, first.text);
    assert.deepEqual([first.body.version, first.body.workflow_name, first.body.total_steps], [1, wf.name, 2]);

    const steps = [...wf.steps.map((s) => ({ key: s.key, name: s.key, step_type: s.step_type, depends_on_steps: s.depends_on_steps })), { key: 'third', name: 'Third', step_type: 'test_echo', depends_on_steps: ['second'] }];
    assert.equal((await api.request('PATCH', `/workflows/${wf.id}/`, { body: { steps } })).status, 200);
    // `version: null` asks for no version in particular, as leaving it out does: the current one.
    const edited = await execute({ version: null });
    assert.equal(edited.status, 202, edited.text);
    assert.deepEqual([edited.body.version, edited.body.total_steps], [2, 3]);

    const rename = await api.request<WorkflowBody>('PATCH', `/workflows/${wf.id}/`, { body: { name: 'Renamed' } });
    assert.equal(rename.status, 200, rename.text);
    const renamed = await execute();
    assert.equal(renamed.status, 202, renamed.text);
    assert.deepEqual([renamed.body.version, renamed.body.workflow_name], [rename.body.current_version, 'Renamed']);
    const row = await api.request<{ workflow_name: string; version: number }>('GET', `/executions/${renamed.body.execution_id}/`);
    assert.deepEqual([row.body.workflow_name, row.body.version], ['Renamed', rename.body.current_version]);

    await api.request('PATCH', `/workflows/${wf.id}/`, { body: { status: 'inactive' } });
    assert.equal((await execute()).status, 409);
    await api.request('PATCH', `/workflows/${wf.id}/`, { body: { status: 'active' } });
    assert.equal((await execute()).status, 202);

    assert.equal((await api.request('DELETE', `/workflows/${wf.id}/`)).status, 204);
    const deleted = await api.request('POST', `/workflows/${wf.id}/execute/`, { body: { input_data: { n: 1 } } });
    assert.equal(deleted.status, 404);
    assert.equal(deleted.body.code, 'NOT_FOUND');
  });
});
