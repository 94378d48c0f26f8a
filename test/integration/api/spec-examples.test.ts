import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eventually } from '@test/support/harness';
import { startApi, TEST_TEMPLATES, type ApiHarness } from './support';

/**
 * The specification's "REST API Usage", request by request, as written
 * (trailing slashes included), with a `product_import` template built on the
 * test executors standing in for the real one.
 */
describe('REST API usage from the specification', () => {
  let api: ApiHarness;
  before(async () => {
    api = await startApi({
      templates: {
        ...TEST_TEMPLATES,
        product_import: {
          name: 'Product Import',
          description: 'stand-in built on test executors',
          workflow_type: 'product_import',
          config: { enable_ai_enrichment: false },
          steps: [
            { key: 'fetch_products', name: 'Fetch products', step_type: 'test_echo', config: { output: { supplier_id: '$input.supplier_id', products: [1, 2] } } },
            { key: 'validate_products', name: 'Validate products', step_type: 'test_echo', config: {}, depends_on_steps: ['fetch_products'] },
          ],
        },
      },
    });
  });
  after(async () => {
    await api?.close();
  });

  it('GET /orchestration/api/templates/ lists the templates', async () => {
    const r = await api.request<{ count: number; results: Array<{ name: string; valid: boolean }> }>('GET', '/templates/');
    assert.equal(r.status, 200);
    const names = r.body.results.map((t) => t.name);
    assert.ok(names.includes('product_import'));
    assert.ok(names.includes('manual_approval'));
    assert.ok(r.body.results.every((t) => t.valid));
  });

  it('creates from a template, executes with input_data, reads the execution by numeric id, and the stats', async () => {
    const created = await api.request<{ id: number; code: string; workflow_type: string; steps: unknown[]; template: string }>('POST', '/templates/product_import/create/', {
      body: { name: 'My Product Import', description: 'Custom import workflow' },
    });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body.workflow_type, 'product_import');
    assert.equal(created.body.template, 'product_import');
    assert.match(created.body.code, /^my_product_import(_\d+)?$/);
    assert.equal(created.body.steps.length, 2);

    const executed = await api.request<{ id: number; execution_id: string; status: string }>('POST', `/workflows/${created.body.id}/execute/`, {
      body: { input_data: { supplier_id: 123 } },
    });
    assert.equal(executed.status, 202, executed.text);
    assert.ok(Number.isInteger(executed.body.id));

    const done = await eventually(async () => {
      const r = await api.request<{ status: string; output_data: { input: { supplier_id: number } }; temporal_ui_url: string }>('GET', `/executions/${executed.body.id}/`);
      return r.body.status === 'completed' ? r : null;
    }, 30_000, 'the run to complete');
    assert.equal(done.status, 200);
    assert.equal(done.body.output_data.input.supplier_id, 123);
    assert.equal(done.body.temporal_ui_url, `${api.config.temporal.uiUrl}/namespaces/${api.config.temporal.namespace}/workflows/${executed.body.execution_id}`);

    const stats = await api.request<{ overall: { runs: number }; workflows: Array<{ workflow_id: number; runs: number; completed: number }> }>('GET', '/stats/');
    assert.equal(stats.status, 200);
    const mine = stats.body.workflows.find((w) => w.workflow_id === created.body.id);
    assert.deepEqual([mine?.runs, mine?.completed], [1, 1]);
    assert.ok(stats.body.overall.runs >= 1);
  });

  it('a second create with the same name gets a fresh code', async () => {
    const a = await api.request<{ code: string }>('POST', '/templates/product_import/create/', { body: { name: 'Twice Named' } });
    const b = await api.request<{ code: string }>('POST', '/templates/product_import/create/', { body: { name: 'Twice Named' } });
    assert.equal(a.status, 201);
    assert.equal(b.status, 201);
    assert.notEqual(a.body.code, b.body.code);
  });

  it('answers every path with and without the trailing slash', async () => {
    for (const path of ['/health', '/templates', '/workflows', '/executions', '/schedules', '/stats', '/api-keys']) {
      const [withSlash, without] = await Promise.all([api.request('GET', `${path}/`), api.request('GET', path)]);
      assert.equal(withSlash.status, 200, `${path}/ -> ${withSlash.status} ${withSlash.text}`);
      assert.equal(without.status, 200, `${path} -> ${without.status}`);
    }
    const wf = await api.request<{ results: Array<{ id: number }> }>('GET', '/workflows/?page_size=1');
    const id = wf.body.results[0].id;
    for (const p of [`/workflows/${id}`, `/workflows/${id}/`, `/workflows/${id}/versions`, `/workflows/${id}/versions/`]) {
      assert.equal((await api.request('GET', p)).status, 200, p);
    }
    for (const p of [`/workflows/${id}/execute`, `/workflows/${id}/execute/`]) {
      const r = await api.request<{ execution_id: string }>('POST', p, { body: { input_data: { supplier_id: 1 } } });
      assert.equal(r.status, 202, p);
      assert.equal((await api.h.wait(r.body.execution_id)).status, 'completed');
    }
  });

  it('answers an unknown template with 404 in the error shape', async () => {
    const r = await api.request('POST', '/templates/no_such_template/create/', { body: { name: 'x' } });
    assert.equal(r.status, 404);
    assert.equal(r.body.code, 'TEMPLATE_NOT_FOUND');
    assert.deepEqual(Object.keys(r.body).sort(), ['code', 'details', 'message']);
  });
});
