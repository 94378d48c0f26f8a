/**
 * The admin UI in a real headless Chromium (Debian's, driven by
 * playwright-core) against the API and worker over the real stack.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { startApi, type ApiHarness } from '../api/support';
import { launchChromium, signInAdmin, skipWithoutChromium, openAdminTab, unexpectedPageErrors } from '@test/support/browser';

const skip = skipWithoutChromium;

describe('admin UI', { skip }, () => {
  let api: ApiHarness;
  let browser: Browser;
  let page: Page;
  let origin: string;
  let pageErrors: string[] = [];

  before(async () => {
    api = await startApi();
    origin = api.base.replace(/\/orchestration\/api$/, '');
    browser = await launchChromium();
    ({ page, errors: pageErrors } = await openAdminTab(browser));
  });
  after(async () => {
    await browser?.close();
    await api?.close();
  });

  const signIn = (key: string) => signInAdmin(page, origin, key);

  it('asks for a key, refuses a wrong one and signs in with a valid one', async () => {
    const res = await page.goto(`${origin}/`);
    assert.equal(new URL(page.url()).pathname, '/orchestration/admin/', 'the root redirects to the admin UI');
    assert.match(res!.headers()['content-security-policy'] ?? '', /default-src 'self'/);
    await signIn('mf_wrong_key');
    await page.waitForSelector('#toast:not([hidden])');
    assert.match(await page.textContent('#toast') ?? '', /not accepted/);
    await signIn(api.keys.viewer);
    await page.waitForSelector('h1:has-text("Dashboard")');
    assert.equal(await page.isVisible('#nav'), true);
  });

  it('runs a workflow and follows its progress to the end, with step details and a Temporal link', async () => {
    await signIn(api.keys.operator);
    const created = await api.request<{ id: number }>('POST', '/workflows/', {
      body: {
        code: `ui_${Date.now()}`,
        name: 'UI <script>alert(1)</script> flow',
        steps: [
          { key: 'first', name: 'First', step_type: 'test_echo', config: { output: { n: '$input.n' } } },
          { key: 'slow', name: 'Slow', step_type: 'test_sleep', config: { ms: 1500 } },
          { key: 'review', name: 'Review', step_type: 'approval', config: {} },
        ],
      },
    });
    assert.equal(created.status, 201);
    await page.goto(`${origin}/orchestration/admin/#/workflows/${created.body.id}`);
    await page.waitForSelector('#execute');
    // Names are shown as text, never run as markup.
    assert.ok((await page.textContent('h1'))!.includes('<script>alert(1)</script>'));
    await page.fill('#input', '{"n": 7}');
    await page.click('#execute');
    await page.waitForURL(/#\/executions\//);
    // The page polls the run: wait for the approval button, approve, and see the run complete.
    await page.waitForSelector('[data-approve="review"]', { timeout: 60_000 });
    assert.ok(await page.isVisible('progress'));
    await page.click('[data-approve="review"]');
    await page.waitForSelector('.toolbar .status.completed', { timeout: 60_000 });
    const rows = await page.$$eval('table tbody tr', (trs) => trs.map((tr) => tr.textContent ?? ''));
    assert.equal(rows.length, 3);
    assert.ok(rows.every((r) => r.includes('completed')), rows.join('\n'));
    const link = await page.getAttribute('a[target=_blank][href*="/workflows/"]', 'href');
    assert.match(link ?? '', /\/namespaces\/default\/workflows\//);
    assert.match((await page.textContent('pre')) ?? '', /"n": 7/);
  });

  it('fills the progress bar of a completed run whose condition skipped a step', async () => {
    await signIn(api.keys.operator);
    const created = await api.request<{ id: number }>('POST', '/workflows/', {
      body: {
        code: `ui_skip_${Date.now()}`,
        name: 'Skips one',
        steps: [
          { key: 'first', name: 'First', step_type: 'test_echo', config: {} },
          { key: 'never', name: 'Never', step_type: 'test_echo', config: {}, depends_on_steps: ['first'], condition: { type: 'value_check', path: 'input.n', operator: 'equals', value: 1 } },
        ],
      },
    });
    assert.equal(created.status, 201);
    const run = await api.request<{ execution_id: string }>('POST', `/workflows/${created.body.id}/execute/`, { body: { input_data: { n: 7 } } });
    assert.equal(run.status, 202);
    await page.goto(`${origin}/orchestration/admin/#/executions/${encodeURIComponent(run.body.execution_id)}`);
    await page.waitForSelector('.toolbar .status.completed', { timeout: 60_000 });
    const bar = await page.$eval('.toolbar progress', (p) => ({ value: Number(p.getAttribute('value')), max: Number(p.getAttribute('max')) }));
    assert.deepEqual(bar, { value: 2, max: 2 });
    assert.match((await page.textContent('.toolbar')) ?? '', /1\/2 \(1 skipped\) steps/);
  });

  it('lists runs, workflows and statistics', async () => {
    await page.goto(`${origin}/orchestration/admin/#/executions`);
    await page.waitForSelector('table tbody tr');
    assert.ok((await page.$$('table tbody tr')).length >= 1);
    await page.goto(`${origin}/orchestration/admin/#/`);
    await page.waitForSelector('.cards .card');
    const cards = await page.$$eval('.cards .card', (cs) => cs.map((c) => c.textContent ?? ''));
    assert.ok(cards.some((c) => /Runs/.test(c)));
    await page.goto(`${origin}/orchestration/admin/#/workflows`);
    await page.waitForSelector('table tbody tr');
  });

  it('shows a run that completed with failures, its failed items, and filters runs by it', async () => {
    const wf = await api.request<{ id: number }>('POST', '/workflows/', {
      body: { code: `ui_f_${Date.now()}`, name: 'Failed items', steps: [{ key: 'publish', name: 'Publish', step_type: 'test_item_failures', config: { items: ['SKU-1', 'SKU-<b>2</b>', 'SKU-3'], fail: ['SKU-<b>2</b>'] } }] },
    });
    assert.equal(wf.status, 201);
    const started = await api.request<{ execution_id: string }>('POST', `/workflows/${wf.body.id}/execute/`, { body: { input_data: {} } });
    assert.equal(started.status, 202);
    const id = started.body.execution_id;
    await page.goto(`${origin}/orchestration/admin/#/executions/${encodeURIComponent(id)}`);
    await page.waitForSelector('.toolbar .status.completed_with_failures', { timeout: 60_000 });
    assert.match((await page.textContent('.toolbar .status.completed_with_failures')) ?? '', /completed with failures · 1/);
    const failed = await page.$$eval('table.failed-items tbody tr', (trs) => trs.map((tr) => tr.textContent ?? ''));
    assert.equal(failed.length, 1);
    assert.match(failed[0], /publish.*SKU-<b>2<\/b>.*TEST_ITEM_FAILED.*failed for good/, 'item keys are shown as text');
    await page.goto(`${origin}/orchestration/admin/#/executions?status=completed_with_failures`);
    await page.waitForSelector(`a[href="#/executions/${encodeURIComponent(id)}"]`);
    const runs = await page.$$eval('table tbody tr', (trs) => trs.map((tr) => tr.textContent ?? ''));
    assert.ok(runs.every((r) => r.includes('completed with failures')), runs.join('\n'));
  });

  it('shows an operator-only action failing for a viewer as a clear message', async () => {
    const wf = await api.request<{ id: number }>('POST', '/workflows/', {
      body: { code: `ui_v_${Date.now()}`, name: 'Viewer check', steps: [{ key: 'a', name: 'A', step_type: 'test_echo', config: {} }] },
    });
    await signIn(api.keys.viewer);
    await page.waitForSelector('h1:has-text("Dashboard")');
    await page.goto(`${origin}/orchestration/admin/#/workflows/${wf.body.id}`);
    await page.waitForSelector('#execute');
    await page.click('#execute');
    await page.waitForSelector('#toast.bad:not([hidden])');
    assert.match((await page.textContent('#toast')) ?? '', /FORBIDDEN/);
  });

  it('edits a definition with server-side problems shown by field, saves a new version, deactivates and deletes', async () => {
    const code = `ui_edit_${Date.now()}`;
    const created = await api.request<{ id: number }>('POST', '/workflows/', {
      body: { code, name: 'Editable', steps: [{ key: 'a', name: 'A', step_type: 'test_echo', config: {} }] },
    });
    assert.equal(created.status, 201);
    await signIn(api.keys.admin);
    await page.waitForSelector('h1:has-text("Dashboard")');
    await page.goto(`${origin}/orchestration/admin/#/workflows/${created.body.id}`);
    await page.click('#wf-edit');
    // The power users' view: the whole definition as JSON.
    await page.click('#wf-view');
    const original = JSON.parse(await page.inputValue('#wf-json')) as { steps: Array<Record<string, unknown>> };
    assert.deepEqual(original.steps.map((s) => s.key), ['a']);
    // A dependency on a step that does not exist: the server names the step and the field.
    const broken = { ...original, steps: [...original.steps, { key: 'b', name: 'B', step_type: 'test_echo', config: {}, depends_on_steps: ['nope'] }] };
    await page.fill('#wf-json', JSON.stringify(broken));
    await page.click('#wf-save');
    await page.waitForSelector('#wf-problems:not([hidden])');
    assert.match((await page.textContent('#wf-problems')) ?? '', /steps\.b\.depends_on_steps.*nope/s);
    const fixed = { ...original, steps: [...original.steps, { key: 'b', name: 'B', step_type: 'test_echo', config: {}, depends_on_steps: ['a'] }] };
    await page.fill('#wf-json', JSON.stringify(fixed));
    await page.click('#wf-save');
    await page.waitForSelector('h1:has-text("v2")');
    const saved = await api.request<{ current_version: number; steps: Array<{ key: string }> }>('GET', `/workflows/${created.body.id}/`);
    assert.equal(saved.body.current_version, 2);
    assert.deepEqual(saved.body.steps.map((s) => s.key), ['a', 'b']);
    await page.click('#wf-toggle');
    // The button now offers the opposite action (":has-text" would also match "Deactivate").
    await page.waitForSelector('#wf-toggle[data-status="active"]');
    assert.equal((await api.request<{ status: string }>('GET', `/workflows/${created.body.id}/`)).body.status, 'inactive');
    page.once('dialog', (d) => void d.accept());
    await page.click('#wf-delete');
    await page.waitForURL(/#\/workflows$/);
    assert.equal((await api.request('GET', `/workflows/${created.body.id}/`)).status, 404);
  });

  it('builds a workflow from scratch in the form, shows a server-side problem beside its field, saves it and runs it', async () => {
    await signIn(api.keys.admin);
    await page.waitForSelector('h1:has-text("Dashboard")');
    await page.goto(`${origin}/orchestration/admin/#/workflows`);
    await page.click('#wf-new');
    await page.waitForURL(/#\/workflows\/new$/);
    const code = `ui_form_${Date.now()}`;
    await page.fill('#wf-code', code);
    await page.fill('#wf-name', 'Built in the form');
    await page.fill('#wf-input-schema', '{"type": "object", "required": ["products"], "properties": {"products": {"type": "array"}}}');

    // Step 1: a transform over the run's input.
    await page.click('#step-add');
    await page.fill('#step-0 [data-f="key"]', 'shape');
    await page.fill('#step-0 [data-f="name"]', 'Shape');
    await page.selectOption('#step-0 [data-f="step_type"]', 'data_transform');
    await page.fill('#step-0 [data-f="config"]', '{"transform_type": "map", "source_field": "products", "mapping_rules": {"title": "name"}}');

    // Step 2: a log notification after it; its type's schema is shown beside the config.
    await page.click('#step-add');
    await page.selectOption('#step-1 [data-f="step_type"]', 'notification');
    await page.fill('#step-1 [data-f="key"]', 'tell');
    await page.fill('#step-1 [data-f="name"]', 'Tell');
    await page.check('#step-1 [data-dep="shape"]');
    await page.click('#step-1 details.type-schema summary');
    const help = (await page.textContent('#step-1 details.type-schema')) ?? '';
    assert.match(help, /type = "log"/);
    assert.match(help, /message\s*string.*required/s);
    assert.match(help, /the log line/, 'field descriptions come from the schema');
    await page.click('#step-1 [data-insert-example]');
    assert.equal(JSON.parse(await page.inputValue('#step-1 [data-f="config"]')).type, 'log');
    // The DAG is drawn from the form: shape → tell.
    await page.waitForSelector('#wf-dag .dag-node[data-step="tell"]');
    assert.equal(await page.$$eval('#wf-dag .dag-edge.dep', (es) => es.length), 1);

    // A log without its message: the server's problem shows beside that step's config, nowhere else.
    await page.fill('#step-1 [data-f="config"]', '{"type": "log", "level": "info"}');
    await page.click('#wf-save');
    await page.waitForSelector('#step-1 .field[data-field="config"] .problem:not([hidden])');
    assert.match((await page.textContent('#step-1 .field[data-field="config"] .problem')) ?? '', /message/);
    assert.equal(await page.isVisible('#step-0 .problem:not([hidden])'), false);
    assert.match((await page.textContent('#wf-problems')) ?? '', /1 problem shown beside its field/);
    await page.screenshot({ path: process.env.ADMIN_EDITOR_SCREENSHOT ?? '/tmp/merchflow-admin-editor.png', fullPage: true });
    assert.equal((await api.request('GET', `/workflows/?search=${code}`)).body.count, 0, 'nothing was saved');

    // Check asks the server without saving; then the fixed definition is created.
    await page.fill('#step-1 [data-f="config"]', '{"type": "log", "level": "info", "message": "shaped $steps.shape.products"}');
    await page.click('#wf-check');
    await page.waitForSelector('#wf-problems .ok');
    assert.equal(await page.isVisible('#step-1 .problem:not([hidden])'), false);
    await page.click('#wf-save');
    await page.waitForSelector('#execute');
    assert.match((await page.textContent('h1')) ?? '', /Built in the form.*v1/);
    const list = await api.request<{ results: Array<{ id: number }> }>('GET', `/workflows/?search=${code}`);
    const saved = await api.request<{ steps: Array<{ key: string; step_type: string; depends_on_steps: string[] }>; input_schema: unknown }>('GET', `/workflows/${list.body.results[0].id}/`);
    assert.deepEqual(saved.body.steps.map((s) => [s.key, s.step_type, s.depends_on_steps]), [['shape', 'data_transform', []], ['tell', 'notification', ['shape']]]);
    assert.deepEqual(saved.body.input_schema, { type: 'object', required: ['products'], properties: { products: { type: 'array' } } });

    // Run it from the workflow page and see it complete.
    await page.fill('#input', '{"products": [{"name": "Mug"}, {"name": "Cup"}]}');
    await page.click('#execute');
    await page.waitForURL(/#\/executions\//);
    await page.waitForSelector('.toolbar .status.completed', { timeout: 60_000 });
    const rows = await page.$$eval('table tbody tr', (trs) => trs.map((tr) => tr.textContent ?? ''));
    assert.equal(rows.length, 2);
    assert.ok(rows.every((r) => r.includes('completed')), rows.join('\n'));
  });

  it('edits a definition in the form: step and workflow field problems land beside their inputs, a move changes the order', async () => {
    const created = await api.request<{ id: number }>('POST', '/workflows/', {
      body: { code: `ui_form_edit_${Date.now()}`, name: 'Form edit', steps: [{ key: 'a', name: 'A', step_type: 'test_echo', config: {} }, { key: 'b', name: 'B', step_type: 'test_echo', config: {}, retry_backoff: 3 }] },
    });
    assert.equal(created.status, 201);
    await signIn(api.keys.admin);
    await page.waitForSelector('h1:has-text("Dashboard")');
    await page.goto(`${origin}/orchestration/admin/#/workflows/${created.body.id}`);
    await page.click('#wf-edit');
    await page.waitForSelector('#step-1');
    assert.equal(await page.inputValue('#step-1 [data-f="key"]'), 'b');
    // Out of range: the server names the step's field (steps[1].timeout_seconds) and the workflow's.
    await page.fill('#step-1 [data-f="timeout_seconds"]', '999999');
    await page.fill('#wf-max-parallel', '0');
    await page.click('#wf-check');
    await page.waitForSelector('#step-1 .field[data-field="timeout_seconds"] .problem:not([hidden])');
    await page.waitForSelector('.field[data-field="max_parallel_steps"] .problem:not([hidden])');
    await page.fill('#step-1 [data-f="timeout_seconds"]', '60');
    await page.fill('#wf-max-parallel', '4');
    await page.click('#step-1 [data-step-up]');
    assert.equal(await page.inputValue('#step-0 [data-f="key"]'), 'b');
    await page.click('#wf-save');
    await page.waitForSelector('h1:has-text("v2")');
    const saved = await api.request<{ max_parallel_steps: number; steps: Array<{ key: string; timeout_seconds: number; retry_backoff: number }> }>('GET', `/workflows/${created.body.id}/`);
    assert.equal(saved.body.max_parallel_steps, 4);
    assert.deepEqual(saved.body.steps.map((s) => [s.key, s.timeout_seconds, s.retry_backoff]), [['b', 60, 3], ['a', 300, 2]], 'moved, and the fields the form does not show are kept');
  });

  it('shows what changed between two versions of a definition', async () => {
    const created = await api.request<{ id: number }>('POST', '/workflows/', {
      body: { code: `ui_diff_${Date.now()}`, name: 'Diffed', config: { markup: 10 }, steps: [{ key: 'a', name: 'A', step_type: 'test_echo', config: {} }] },
    });
    assert.equal(created.status, 201);
    const v2 = await api.request('PATCH', `/workflows/${created.body.id}/`, { body: { config: { markup: 25 } } });
    assert.equal(v2.status, 200, v2.text);
    await signIn(api.keys.viewer);
    await page.waitForSelector('h1:has-text("Dashboard")');
    await page.goto(`${origin}/orchestration/admin/#/workflows/${created.body.id}`);
    await page.waitForSelector('#vdiff');
    assert.equal(await page.inputValue('#v-from'), '1');
    assert.equal(await page.inputValue('#v-to'), '2');
    await page.click('#vdiff button[type=submit]');
    await page.waitForSelector('#v-diff .diff');
    assert.match((await page.textContent('#v-diff .diff-del')) ?? '', /"markup": 10/);
    assert.match((await page.textContent('#v-diff .diff-add')) ?? '', /"markup": 25/);
    // The same version on both sides: nothing to show.
    await page.selectOption('#v-from', '2');
    await page.click('#vdiff button[type=submit]');
    await page.waitForSelector('#v-diff p:has-text("same definition")');
  });

  it('creates a schedule with input data and edits it', async () => {
    const created = await api.request<{ id: number }>('POST', '/workflows/', {
      body: { code: `ui_sched_${Date.now()}`, name: `Scheduled ${Date.now()}`, steps: [{ key: 'a', name: 'A', step_type: 'test_echo', config: {} }] },
    });
    await signIn(api.keys.admin);
    await page.waitForSelector('h1:has-text("Dashboard")');
    await page.goto(`${origin}/orchestration/admin/#/schedules`);
    await page.waitForSelector('#s-workflow');
    await page.selectOption('#s-workflow', String(created.body.id));
    const name = `nightly-${Date.now()}`;
    await page.fill('#s-name', name);
    await page.fill('#s-cron', '0 3 * * *');
    await page.fill('#s-input', '{"supplier_id": 1}');
    await page.click('#s-submit');
    await page.waitForSelector(`td:has-text("${name}")`);
    const list = await api.request<{ results: Array<{ id: number; name: string; input_data: unknown; cron_expression: string }> }>('GET', `/schedules/?workflow=${created.body.id}`);
    const row = list.body.results.find((r) => r.name === name)!;
    assert.deepEqual(row.input_data, { supplier_id: 1 });
    await page.click(`[data-edit="${row.id}"]`);
    assert.equal(await page.inputValue('#s-cron'), '0 3 * * *');
    await page.fill('#s-cron', '30 4 * * *');
    await page.fill('#s-input', '{"supplier_id": 2}');
    await page.click('#s-submit');
    await page.waitForSelector('td code:has-text("30 4 * * *")');
    const after = await api.request<{ input_data: unknown; cron_expression: string }>('GET', `/schedules/${row.id}/`);
    assert.equal(after.body.cron_expression, '30 4 * * *');
    assert.deepEqual(after.body.input_data, { supplier_id: 2 });
    // A bad expression is refused with the field named beside the form.
    await page.click(`[data-edit="${row.id}"]`);
    await page.fill('#s-cron', 'every day');
    await page.click('#s-submit');
    await page.waitForSelector('#s-problems:not([hidden])');
    assert.match((await page.textContent('#s-problems')) ?? '', /cron_expression/);
    page.once('dialog', (d) => void d.accept());
    await page.click(`[data-delete="${row.id}"]`);
    await page.waitForSelector(`td:has-text("${name}")`, { state: 'detached' });
  });

  it('creates an API key shown once, and revokes it', async () => {
    await signIn(api.keys.admin);
    await page.waitForSelector('h1:has-text("Dashboard")');
    await page.goto(`${origin}/orchestration/admin/#/api-keys`);
    await page.waitForSelector('#k-name');
    const name = `ui-key-${Date.now()}`;
    await page.fill('#k-name', name);
    await page.selectOption('#k-role', 'viewer');
    await page.click('#k-create button[type=submit]');
    await page.waitForSelector('#k-created:not([hidden])');
    const secret = ((await page.textContent('#k-secret')) ?? '').trim();
    assert.match(secret, /^mf_/);
    assert.equal((await api.request('GET', '/workflows/?page_size=1', { key: secret })).status, 200);
    // The list shows the prefix, never the secret.
    assert.equal((await page.content()).split(secret).length, 2, 'the secret appears once, in the one-time box');
    await page.reload();
    await page.waitForSelector(`td:has-text("${name}")`);
    assert.equal((await page.content()).includes(secret), false);
    page.once('dialog', (d) => void d.accept());
    await page.click(`tr:has(td:has-text("${name}")) [data-revoke]`);
    await page.waitForSelector(`tr:has(td:has-text("${name}")) .status.revoked`);
    assert.equal((await api.request('GET', '/workflows/?page_size=1', { key: secret })).status, 401);
  });

  it('draws the step graph of a workflow, and of a run coloured by status as it goes', async () => {
    const created = await api.request<{ id: number }>('POST', '/workflows/', {
      body: {
        code: `ui_dag_${Date.now()}`,
        name: 'Graph',
        steps: [
          { key: 'fetch', name: 'Fetch', step_type: 'test_echo', config: {}, order: 1 },
          { key: 'left', name: 'Left', step_type: 'test_echo', config: {}, order: 2, parallel_group: 'fan' },
          { key: 'right', name: 'Right', step_type: 'test_echo', config: {}, order: 2, parallel_group: 'fan', condition: { type: 'value_check', path: 'input.go', operator: 'equals', value: true } },
          { key: 'review', name: 'Review', step_type: 'approval', config: {}, order: 3 },
          { key: 'undo_left', name: 'Undo left', step_type: 'test_echo', config: {}, role: 'compensation', compensates: 'left' },
          { key: 'alert', name: 'Alert', step_type: 'test_echo', config: {}, role: 'on_failure' },
        ],
      },
    });
    assert.equal(created.status, 201);
    await signIn(api.keys.operator);
    await page.waitForSelector('h1:has-text("Dashboard")');
    await page.goto(`${origin}/orchestration/admin/#/workflows/${created.body.id}`);
    await page.waitForSelector('.dag svg');
    const nodes = await page.$$eval('.dag-node', (ns) => ns.map((n) => `${n.getAttribute('data-step')}:${n.getAttribute('class')}`));
    assert.deepEqual(nodes.map((n) => n.split(':')[0]).sort(), ['alert', 'fetch', 'left', 'review', 'right', 'undo_left']);
    assert.ok(nodes.includes('undo_left:dag-node compensation'), nodes.join());
    assert.ok(nodes.includes('alert:dag-node on_failure'), nodes.join());
    assert.equal(await page.$$eval('.dag-edge.dep', (es) => es.length), 4, 'fetch → left, fetch → right, left → review, right → review');
    assert.equal(await page.$$eval('.dag-edge.undo', (es) => es.length), 1);
    assert.equal(await page.$$eval('.dag-cluster.group', (cs) => cs.map((c) => c.textContent?.trim())).then((t) => t.join()), 'parallel: fan');
    assert.equal(await page.$$eval('[data-step="right"] .cond', (c) => c.length), 1, 'the conditional step is marked');

    await page.fill('#input', '{"go": false}');
    await page.click('#execute');
    await page.waitForURL(/#\/executions\//);
    // Live: the approval step turns "waiting" while the rest are coloured by what happened.
    await page.waitForSelector('.dag-node[data-step="review"].st-waiting', { timeout: 60_000 });
    const status = async (key: string) => page.getAttribute(`.dag-node[data-step="${key}"]`, 'data-status');
    assert.equal(await status('fetch'), 'completed');
    assert.equal(await status('left'), 'completed');
    assert.equal(await status('right'), 'skipped');
    await page.screenshot({ path: process.env.ADMIN_SCREENSHOT ?? '/tmp/merchflow-admin-dag.png', fullPage: true });
    await page.click('[data-approve="review"]');
    await page.waitForSelector('.dag-node[data-step="review"].st-completed', { timeout: 60_000 });
    const fill = await page.$eval('.dag-node[data-step="review"] rect', (r) => (globalThis as unknown as { getComputedStyle(e: unknown): { fill: string } }).getComputedStyle(r).fill);
    assert.equal(fill, 'rgb(230, 244, 234)', 'a completed node is drawn green');
  });

  it('shows on the run page what the saga undid', async () => {
    const wf = await api.request<{ id: number }>('POST', '/workflows/', {
      body: {
        code: `ui_saga_${Date.now()}`,
        name: 'Saga check',
        steps: [
          { key: 'a', name: 'Apply a', step_type: 'test_items', config: { count: 2 } },
          { key: 'b', name: 'Apply b', step_type: 'test_items', config: { count: 4, fail_at: 1 }, max_retries: 0 },
          { key: 'undo_a', name: 'Undo a', step_type: 'test_undo', config: {}, role: 'compensation', compensates: 'a' },
          { key: 'undo_b', name: 'Undo b', step_type: 'test_undo', config: {}, role: 'compensation', compensates: 'b' },
        ],
      },
    });
    assert.equal(wf.status, 201);
    const run = await api.request<{ execution_id: string }>('POST', `/workflows/${wf.body.id}/execute/`, { body: { input_data: {} }, key: api.keys.operator });
    assert.equal(run.status, 202);
    await page.goto(`${origin}/orchestration/admin/#/executions/${encodeURIComponent(run.body.execution_id)}`);
    await page.waitForSelector('#compensations tbody tr', { timeout: 60_000 });
    // Both compensations have ended (the second may still be running when the first row appears).
    await page.waitForFunction("[...document.querySelectorAll('#compensations tbody tr')].filter((tr) => /compensated/.test(tr.textContent)).length === 2");
    const rows = await page.$$eval('#compensations tbody tr', (trs) => trs.map((tr) => tr.textContent ?? ''));
    assert.ok(rows.some((r) => r.includes('Apply b') && r.includes('was failed') && r.includes('undo_b') && r.includes('compensated')), rows.join('\n'));
    assert.ok(rows.some((r) => r.includes('Apply a') && r.includes('was completed') && r.includes('undo_a') && r.includes('compensated')), rows.join('\n'));
  });

  it('raised no script errors', () => {
    assert.deepEqual(unexpectedPageErrors(pageErrors), []);
  });
});
