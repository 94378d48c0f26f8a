/*
 * Merchflow admin UI: a small single-page app over the REST API. No build
 * step, no dependencies. Every value from the API is escaped before it is
 * put in the page. The API key lives in sessionStorage for this tab only.
 */
(function () {
  'use strict';

  const API = '/orchestration/api';
  const KEY_STORAGE = 'merchflow.apiKey';
  const app = document.getElementById('app');
  let timer = null;
  let temporalUi = null;

  // ---------- helpers ----------

  function esc(value) {
    return String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
  }

  /** Tagged template: interpolated values are escaped unless wrapped with raw(). */
  function html(strings, ...values) {
    return strings.reduce((out, s, i) => {
      if (i === 0) return s;
      const v = values[i - 1];
      const text = v && v.__raw !== undefined ? v.__raw : Array.isArray(v) ? v.map((x) => (x && x.__raw !== undefined ? x.__raw : esc(x))).join('') : esc(v);
      return out + text + s;
    }, '');
  }
  const raw = (s) => ({ __raw: s });

  function when(iso) {
    if (!iso) return '—';
    const d = new Date(iso);
    return d.toLocaleString();
  }
  function seconds(s) {
    if (s === null || s === undefined) return '—';
    const n = Number(s);
    return n < 1 ? `${Math.round(n * 1000)} ms` : n < 120 ? `${n.toFixed(1)} s` : `${(n / 60).toFixed(1)} min`;
  }
  const status = (s) => raw(html`<span class="status ${s}">${s}</span>`);
  /** Steps that are over for the progress bar: completed and skipped ones (a skipped step is done, not missing). */
  function stepsDone(c) {
    return (c.completed_steps || 0) + (c.skipped_steps || 0);
  }
  function stepsLabel(c) {
    return `${c.completed_steps ?? 0}/${c.total_steps ?? 0}${c.skipped_steps ? ` (${c.skipped_steps} skipped)` : ''}`;
  }
  // What the operator sees: the status, or "completed with failures" (with the count) when items failed after their retries.
  const outcome = (r) =>
    r.outcome === 'completed_with_failures'
      ? raw(html`<span class="status completed_with_failures" title="${r.failed_items_total} failed item(s)">completed with failures · ${r.failed_items_total}</span>`)
      : status(r.status);
  function bar(done, total, state) {
    const max = Math.max(total || 0, 1);
    return raw(html`<progress class="${state}" value="${Math.min(done || 0, max)}" max="${max}" title="${done}/${total}"></progress>`);
  }
  /**
   * The step graph as SVG, laid out by dagre (served from the app). Main steps
   * and their dependencies; parallel groups boxed; conditional and optional
   * steps marked; compensations dashed, linked to the step they undo;
   * on-failure steps boxed apart. With `statuses` (a run), each node is
   * coloured by its step's status.
   */
  function dagSvg(steps, edges, statuses) {
    if (!window.dagre || steps.length === 0) return '';
    const g = new window.dagre.graphlib.Graph({ compound: true });
    g.setGraph({ rankdir: 'LR', ranksep: 46, nodesep: 16, edgesep: 10, marginx: 10, marginy: 10 });
    g.setDefaultEdgeLabel(() => ({}));
    const W = 176;
    const H = 46;
    for (const s of steps) {
      g.setNode(s.key, { width: W, height: H, step: s });
      if (s.role === 'main' && s.parallel_group) {
        g.setNode(`group:${s.parallel_group}`, { label: `parallel: ${s.parallel_group}`, cluster: 'group' });
        g.setParent(s.key, `group:${s.parallel_group}`);
      }
      if (s.role === 'on_failure') {
        g.setNode('cluster:on_failure', { label: 'on failure', cluster: 'onfail' });
        g.setParent(s.key, 'cluster:on_failure');
      }
    }
    for (const [from, to] of edges) if (g.hasNode(from) && g.hasNode(to)) g.setEdge(from, to, { kind: 'dep' });
    for (const s of steps) if (s.role === 'compensation' && s.compensates && g.hasNode(s.compensates)) g.setEdge(s.compensates, s.key, { kind: 'undo' });
    window.dagre.layout(g);
    const gr = g.graph();
    const clip = (t, n) => (t.length > n ? t.slice(0, n - 1) + '…' : t);
    const parts = [];
    for (const id of g.nodes()) {
      const n = g.node(id);
      if (!n.cluster) continue;
      parts.push(html`<g class="dag-cluster ${n.cluster}"><rect x="${n.x - n.width / 2}" y="${n.y - n.height / 2}" width="${n.width}" height="${n.height}" rx="6"></rect>
        <text x="${n.x - n.width / 2 + 6}" y="${n.y - n.height / 2 + 11}">${n.label}</text></g>`);
    }
    for (const e of g.edges()) {
      const edge = g.edge(e);
      const d = edge.points.map((p, i) => `${i === 0 ? 'M' : 'L'}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' ');
      parts.push(html`<path class="dag-edge ${edge.kind}" d="${d}" marker-end="url(#dag-arrow)"></path>`);
    }
    for (const id of g.nodes()) {
      const n = g.node(id);
      if (n.cluster) continue;
      const s = n.step;
      const st = statuses ? statuses[s.key] || 'pending' : null;
      const marks = [s.condition ? 'if' : '', s.is_optional ? 'optional' : '', s.role === 'compensation' ? 'undo' : ''].filter(Boolean).join(' · ');
      parts.push(html`<g class="dag-node ${s.role}${st ? ' st-' + st : ''}" data-step="${s.key}" data-status="${st || ''}">
        <title>${s.name} (${s.key}, ${s.step_type})${st ? ': ' + st : ''}${s.condition ? '\ncondition: ' + JSON.stringify(s.condition) : ''}</title>
        <rect x="${n.x - W / 2}" y="${n.y - H / 2}" width="${W}" height="${H}" rx="5"></rect>
        <text class="name" x="${n.x - W / 2 + 8}" y="${n.y - 4}">${clip(s.name, 26)}</text>
        <text class="meta" x="${n.x - W / 2 + 8}" y="${n.y + 12}">${clip(`${s.step_type}${marks ? ' · ' + marks : ''}${st ? ' · ' + st : ''}`, 32)}</text>
        ${s.condition ? raw(html`<path class="cond" d="M${n.x + W / 2 - 14},${n.y - H / 2 + 4} l6,6 l-6,6 l-6,-6 z"></path>`) : ''}</g>`);
    }
    return html`<div class="dag" role="img" aria-label="Step graph"><svg width="${Math.ceil(gr.width)}" height="${Math.ceil(gr.height)}" viewBox="0 0 ${Math.ceil(gr.width)} ${Math.ceil(gr.height)}">
      <defs><marker id="dag-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"></path></marker></defs>
      ${raw(parts.join(''))}</svg></div>`;
  }

  /** `{count: 1000, pages: 11}` → `count 1000 · pages 11` */
  function summary(obj) {
    if (!obj || typeof obj !== 'object') return '';
    return Object.entries(obj)
      .map(([k, v]) => `${k.replace(/_/g, ' ')} ${typeof v === 'object' ? JSON.stringify(v) : v}`)
      .join(' · ');
  }

  function toast(message, bad) {
    const t = document.getElementById('toast');
    t.textContent = message;
    t.className = bad ? 'bad' : '';
    t.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => (t.hidden = true), 5000);
  }

  async function api(path, options = {}) {
    const key = sessionStorage.getItem(KEY_STORAGE);
    const res = await fetch(API + path, {
      method: options.method || 'GET',
      headers: { Authorization: `Bearer ${key}`, ...(options.body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
      body: options.body !== undefined ? JSON.stringify(options.body) : undefined,
    });
    const text = await res.text();
    const body = text ? JSON.parse(text) : null;
    if (res.status === 401) {
      sessionStorage.removeItem(KEY_STORAGE);
      route();
      throw new Error('your API key was not accepted');
    }
    if (!res.ok) {
      const err = new Error(body && body.message ? `${body.code}: ${body.message}` : `HTTP ${res.status}`);
      err.body = body;
      throw err;
    }
    return body;
  }

  function parseJson(text, what) {
    if (!text.trim()) return {};
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new Error(`${what} is not valid JSON: ${e.message}`);
    }
  }

  /** The field-level problems of an API error, as a list to show beside a form. */
  function fieldProblems(err) {
    const d = (err && err.body && err.body.details) || {};
    const list = [
      ...(d.errors || []).map((e) => ({ where: e.field, message: e.message })),
      ...(d.issues || []).map((i) => ({ where: i.step ? `steps.${i.step}${i.field ? '.' + i.field : ''}` : i.field, message: i.message })),
    ];
    return list.length > 0 ? list : [{ where: '', message: err.message }];
  }
  function showProblems(el, err) {
    el.hidden = false;
    el.innerHTML = html`<ul>${fieldProblems(err).map((p) => raw(html`<li>${p.where ? raw(html`<code>${p.where}</code>: `) : ''}${p.message}</li>`))}</ul>`;
  }

  async function act(fn, okMessage) {
    try {
      await fn();
      if (okMessage) toast(okMessage);
      route();
    } catch (e) {
      toast(e.message, true);
    }
  }

  // ---------- pages ----------

  function login() {
    document.getElementById('nav').hidden = true;
    app.innerHTML = html`<form class="login" id="login">
      <h1>Sign in</h1>
      <p class="muted">Paste an API key (<code>npm start</code> prints a development key; admins create more under API keys).</p>
      <label for="key">API key</label>
      <input id="key" name="key" type="password" autocomplete="off" required placeholder="mf_...">
      <button type="submit">Sign in</button>
    </form>`;
    document.getElementById('login').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      sessionStorage.setItem(KEY_STORAGE, document.getElementById('key').value.trim());
      try {
        await api('/workflows/?page_size=1');
        // An operator's key also goes into the HttpOnly codec cookie, so the Temporal Web UI
        // (codec endpoint with "include cross-origin credentials") shows decrypted payloads.
        await fetch(API + '/codec/session', { method: 'POST', headers: { Authorization: `Bearer ${sessionStorage.getItem(KEY_STORAGE)}` } }).catch(() => undefined);
        location.hash = '#/';
        route();
      } catch (e) {
        toast(e.message, true);
      }
    });
  }

  async function dashboard() {
    const [stats, runs] = await Promise.all([api('/stats/'), api('/executions/?page_size=10')]);
    const o = stats.overall;
    app.innerHTML = html`<h1>Dashboard</h1>
      <div class="cards">
        ${[
          ['Runs', o.runs],
          ['Success rate', o.success_rate === null ? '—' : `${(o.success_rate * 100).toFixed(1)} %`],
          ['Failed', o.failed],
          ['Completed with failures', `${o.completed_with_failures ?? 0} (${o.failed_items ?? 0} items)`],
          ['In progress', o.in_progress],
          ['Average duration', seconds(o.average_duration_seconds)],
          ['p95 duration', seconds(o.p95_duration_seconds)],
        ].map(([k, v]) => raw(html`<div class="card"><div class="v">${v}</div><div class="k">${k}</div></div>`))}
      </div>
      <h2>Per workflow</h2>
      <table><thead><tr><th>Workflow</th><th>Runs</th><th>Success</th><th>Avg</th><th>p95</th><th>Failing steps</th></tr></thead><tbody>
      ${stats.workflows.map((w) => raw(html`<tr><td><a href="#/workflows/${w.workflow_id}">${w.name}</a> <span class="muted">${w.code}</span></td>
        <td>${w.runs}</td><td>${w.success_rate === null ? '—' : (w.success_rate * 100).toFixed(1) + ' %'}</td>
        <td>${seconds(w.average_duration_seconds)}</td><td>${seconds(w.p95_duration_seconds)}</td>
        <td>${(w.failures_by_step || []).map((f) => `${f.step_key} (${f.failures})`).join(', ') || '—'}</td></tr>`))}
      </tbody></table>
      <h2>Slowest steps</h2>
      ${raw(slowestSteps(stats.slowest_steps || []))}
      <h2>Latest runs</h2>${raw(runsTable(runs.results))}`;
    refreshWhile(runs.results.some((r) => r.status === 'running' || r.status === 'pending'), 3000);
  }

  /** The bottleneck view: steps by p95 duration, with their failure rate and retries. */
  function slowestSteps(rows) {
    if (rows.length === 0) return '<p class="muted">No finished steps yet.</p>';
    return html`<table id="slowest-steps"><thead><tr><th>Step</th><th>Workflow</th><th>Type</th><th>p50</th><th>p95</th><th>p99</th><th>Executions</th><th>Failure rate</th><th>Retries</th></tr></thead><tbody>
      ${rows.map((st) => raw(html`<tr><td>${st.step_key}</td><td><a href="#/workflows/${st.workflow_id}">${st.workflow_code}</a></td><td>${st.step_type}</td>
        <td>${seconds(st.p50_duration_seconds)}</td><td>${seconds(st.p95_duration_seconds)}</td><td>${seconds(st.p99_duration_seconds)}</td>
        <td>${st.executions}</td><td>${(st.failure_rate * 100).toFixed(1)} %</td><td>${st.retries}</td></tr>`))}
      </tbody></table>`;
  }

  function runsTable(rows) {
    if (rows.length === 0) return '<p class="muted">No runs yet.</p>';
    return html`<table><thead><tr><th>Run</th><th>Workflow</th><th>Status</th><th>Progress</th><th>Trigger</th><th>Started</th><th>Duration</th></tr></thead><tbody>
      ${rows.map((r) => raw(html`<tr>
        <td><a href="#/executions/${encodeURIComponent(r.execution_id)}">${r.execution_id}</a></td>
        <td>${r.workflow_code || r.workflow_id}</td>
        <td>${outcome(r)}</td>
        <td>${bar(stepsDone(r), r.total_steps, r.status)} <span class="muted">${stepsLabel(r)}</span></td>
        <td>${r.trigger_type}</td><td>${when(r.started_at || r.created_at)}</td><td>${seconds(r.duration_seconds)}</td></tr>`))}
      </tbody></table>`;
  }

  async function workflows(query) {
    const page = Number(query.get('page') || 1);
    const list = await api(`/workflows/?page=${page}&page_size=25`);
    app.innerHTML = html`<h1>Workflows</h1>
      <div class="toolbar"><a class="button" id="wf-new" href="#/workflows/new">New workflow</a></div>
      <table><thead><tr><th>Name</th><th>Code</th><th>Type</th><th>Status</th><th>Version</th><th>Runs</th><th>Success</th></tr></thead><tbody>
      ${list.results.map((w) => raw(html`<tr><td><a href="#/workflows/${w.id}">${w.name}</a></td><td>${w.code}</td><td>${w.workflow_type}</td>
        <td>${status(w.status)}</td><td>v${w.current_version}</td><td>${w.total_executions}</td>
        <td>${w.success_rate === null || w.success_rate === undefined ? '—' : (w.success_rate * 100).toFixed(1) + ' %'}</td></tr>`))}
      </tbody></table>${raw(pager(list, page, '#/workflows'))}`;
  }

  function pager(list, page, base) {
    const pages = Math.max(1, Math.ceil(list.count / list.page_size));
    if (pages === 1) return '';
    return html`<div class="pager">${page > 1 ? raw(html`<a href="${base}?page=${page - 1}">← previous</a>`) : ''}
      <span class="muted">page ${page} of ${pages} (${list.count})</span>
      ${page < pages ? raw(html`<a href="${base}?page=${page + 1}">next →</a>`) : ''}</div>`;
  }

  /** A workflow's definition as an operator edits it: the fields a PATCH takes, steps without their defaults. */
  function definitionJson(w) {
    return {
      name: w.name,
      ...(w.description ? { description: w.description } : {}),
      workflow_type: w.workflow_type,
      config: w.config,
      max_retries: w.max_retries,
      retry_delay_seconds: w.retry_delay_seconds,
      max_parallel_steps: w.max_parallel_steps,
      ...(w.input_schema ? { input_schema: w.input_schema } : {}),
      steps: (w.steps || []).map((s) => {
        const out = { key: s.key, name: s.name, step_type: s.step_type, config: s.config };
        for (const f of ['order', 'depends_on_steps', 'parallel_group', 'condition', 'is_optional', 'can_run_parallel', 'timeout_seconds', 'max_retries', 'retry_delay_seconds', 'can_retry', 'retry_backoff', 'max_retry_delay_seconds', 'role', 'compensates']) {
          if (s[f] !== undefined && s[f] !== null && !(Array.isArray(s[f]) && s[f].length === 0)) out[f] = s[f];
        }
        return out;
      }),
    };
  }

  /** Line diff of two definitions' JSON (jsdiff, served from the app): removed lines red, added green. */
  function diffHtml(before, after) {
    const parts = window.Diff.diffLines(JSON.stringify(before, null, 2) + '\n', JSON.stringify(after, null, 2) + '\n');
    if (parts.every((p) => !p.added && !p.removed)) return '<p class="muted">The two versions have the same definition.</p>';
    return html`<pre class="diff">${parts.map((p) => raw(html`<span class="${p.added ? 'diff-add' : p.removed ? 'diff-del' : 'diff-same'}">${p.value}</span>`))}</pre>`;
  }

  // ---------- the workflow editor ----------

  const WORKFLOW_TYPES = ['custom', 'product_import', 'listing_creation', 'inventory_sync', 'order_processing'];
  const STEP_ROLES = ['main', 'compensation', 'on_failure'];
  /** Step fields the form has an input for; any other field of a loaded step is kept as it is. */
  const STEP_FORM_FIELDS = ['key', 'name', 'step_type', 'order', 'depends_on_steps', 'condition', 'parallel_group', 'can_run_parallel', 'is_optional', 'timeout_seconds', 'max_retries', 'retry_delay_seconds', 'role', 'compensates', 'config'];
  const WORKFLOW_FORM_FIELDS = ['code', 'name', 'description', 'workflow_type', 'config', 'input_schema', 'max_retries', 'retry_delay_seconds', 'max_parallel_steps'];

  let stepTypesCache = null;
  /** The step types with their schemas and examples (GET /step-types/, fetched once per page load). */
  async function stepTypes() {
    if (!stepTypesCache) stepTypesCache = api('/step-types/').then((r) => r.results).catch((e) => {
      stepTypesCache = null;
      throw e;
    });
    return stepTypesCache;
  }

  const jsonText = (v) => (v === undefined || v === null ? '' : JSON.stringify(v, null, 2));
  const numText = (v) => (v === undefined || v === null ? '' : String(v));

  /** A definition (as the API takes it) as the form's model: JSON fields as text, steps with the fields the form does not show kept aside. */
  function toModel(def) {
    return {
      code: def.code || '',
      name: def.name || '',
      description: def.description || '',
      workflow_type: def.workflow_type || 'custom',
      config: jsonText(def.config && Object.keys(def.config).length ? def.config : null),
      input_schema: jsonText(def.input_schema),
      max_retries: numText(def.max_retries),
      retry_delay_seconds: numText(def.retry_delay_seconds),
      max_parallel_steps: numText(def.max_parallel_steps),
      extra: Object.fromEntries(Object.entries(def).filter(([k]) => !WORKFLOW_FORM_FIELDS.includes(k) && k !== 'steps')),
      steps: (def.steps || []).map((s) => ({
        key: s.key || '',
        name: s.name || '',
        step_type: s.step_type || '',
        order: numText(s.order),
        depends_on_steps: [...(s.depends_on_steps || [])],
        condition: jsonText(s.condition),
        parallel_group: s.parallel_group || '',
        can_run_parallel: s.can_run_parallel === true,
        is_optional: s.is_optional === true,
        timeout_seconds: numText(s.timeout_seconds),
        max_retries: numText(s.max_retries),
        retry_delay_seconds: numText(s.retry_delay_seconds),
        role: s.role || 'main',
        compensates: s.compensates || '',
        config: jsonText(s.config || {}),
        extra: Object.fromEntries(Object.entries(s).filter(([k]) => !STEP_FORM_FIELDS.includes(k))),
      })),
    };
  }

  /** An error carrying problems found before anything was sent (JSON that does not parse). */
  function localProblems(problems) {
    const err = new Error(problems.map((p) => `${p.field}: ${p.message}`).join('; '));
    err.problems = problems;
    return err;
  }

  /** The form's model as a definition for the API; throws with every field whose JSON does not parse. */
  function toDefinition(model, withCode) {
    const problems = [];
    const json = (text, field, step) => {
      if (!text.trim()) return undefined;
      try {
        return JSON.parse(text);
      } catch (e) {
        problems.push({ step, field, message: `is not valid JSON: ${e.message}` });
        return undefined;
      }
    };
    // A number as typed (the server says what is wrong with it); empty means "the default".
    const num = (text) => (String(text).trim() === '' ? undefined : Number.isNaN(Number(text)) ? text : Number(text));
    const def = { ...model.extra };
    if (withCode) def.code = model.code.trim();
    def.name = model.name;
    if (model.description) def.description = model.description;
    def.workflow_type = model.workflow_type;
    const config = json(model.config, 'config', null);
    def.config = config === undefined ? {} : config;
    const inputSchema = json(model.input_schema, 'input_schema', null);
    if (inputSchema !== undefined) def.input_schema = inputSchema;
    for (const f of ['max_retries', 'retry_delay_seconds', 'max_parallel_steps']) if (num(model[f]) !== undefined) def[f] = num(model[f]);
    def.steps = model.steps.map((s, i) => {
      const out = { ...s.extra, key: s.key.trim(), name: s.name, step_type: s.step_type };
      const at = `steps[${i}].`;
      const cfg = json(s.config, at + 'config', null);
      out.config = cfg === undefined ? {} : cfg;
      for (const f of ['order', 'timeout_seconds', 'max_retries', 'retry_delay_seconds']) if (num(s[f]) !== undefined) out[f] = num(s[f]);
      if (s.depends_on_steps.length) out.depends_on_steps = [...s.depends_on_steps];
      const condition = json(s.condition, at + 'condition', null);
      if (condition !== undefined) out.condition = condition;
      if (s.parallel_group.trim()) out.parallel_group = s.parallel_group.trim();
      if (s.can_run_parallel) out.can_run_parallel = true;
      if (s.is_optional) out.is_optional = true;
      if (s.role !== 'main') out.role = s.role;
      if (s.role === 'compensation' && s.compensates) out.compensates = s.compensates;
      return out;
    });
    if (problems.length) throw localProblems(problems);
    return def;
  }

  /** Every problem of an API error (or of a local check) as {step, field, message}. */
  function problemList(err) {
    if (err && err.problems) return err.problems;
    const d = (err && err.body && err.body.details) || {};
    const list = [...(d.errors || []).map((e) => ({ step: null, field: e.field || '', message: e.message })), ...(d.issues || []).map((i) => ({ step: i.step || null, field: i.field || '', message: i.message }))];
    return list.length ? list : [{ step: null, field: '', message: err.message }];
  }

  /**
   * Where a problem belongs in the form: the step (by key, or by the position
   * in `steps[2].config.url` / `steps.2.name`), the field with an input
   * (`config`, `depends_on_steps`, ...) and the rest of the path (`url`).
   * Null when no input fits: the problem goes to the list at the top.
   */
  function problemTarget(p, model) {
    let field = p.field || '';
    let index = null;
    const m = /^steps(?:\[(\d+)\]|\.(\d+))\.?(.*)$/.exec(field);
    if (m) {
      index = Number(m[1] ?? m[2]);
      field = m[3];
    } else if (p.step) {
      index = model.steps.findIndex((s) => s.key.trim() === p.step);
      if (index < 0) return null;
    }
    const head = /^[A-Za-z_]+/.exec(field);
    const name = head ? head[0] : '';
    const rest = field.slice(name.length).replace(/^\./, '');
    if (index !== null) {
      if (!model.steps[index]) return null;
      const target = name === 'retry_backoff' || name === 'max_retry_delay_seconds' || name === 'can_retry' ? null : STEP_FORM_FIELDS.includes(name) ? name : null;
      return target ? { index, field: target, rest } : null;
    }
    return WORKFLOW_FORM_FIELDS.includes(name) ? { index: null, field: name, rest } : null;
  }

  const pathText = (p) => (p.step ? `steps.${p.step}${p.field ? '.' + p.field : ''}` : p.field);

  /** One field of the form: label, input, and the place its problems show. */
  function field(label, name, input, hint) {
    return html`<div class="field" data-field="${name}"><label>${label}${hint ? raw(html` <span class="muted">${hint}</span>`) : ''}</label>${raw(input)}<div class="problem" data-problem="${name}" hidden></div></div>`;
  }

  /** A JSON Schema type as a short text: `string`, `integer 1..50`, `"log" | "email"`, `list of string`. */
  function schemaType(s) {
    if (!s || typeof s !== 'object' || Object.keys(s).length === 0) return 'any';
    if ('const' in s) return JSON.stringify(s.const);
    if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' | ');
    const alts = s.anyOf || s.oneOf;
    if (alts) return [...new Set(alts.map(schemaType))].join(' | ');
    if (s.type === 'array') return `list of ${schemaType(s.items)}`;
    if (s.type === 'object') return s.properties ? `{ ${Object.keys(s.properties).join(', ')} }` : 'object';
    const range = s.minimum !== undefined || s.maximum !== undefined ? ` ${s.minimum ?? ''}..${s.maximum ?? ''}` : '';
    return (Array.isArray(s.type) ? s.type.join(' | ') : s.type || 'any') + range;
  }

  /** The step type's schema beside its config: per shape (one per discriminant value), the fields with their types. */
  function schemaHelp(t) {
    if (!t) return '<p class="muted">Unknown step type.</p>';
    const s = t.config_schema;
    const variants = s ? s.oneOf || s.anyOf || [s] : [];
    const table = (v) => {
      const props = v.properties || {};
      const required = v.required || [];
      const discriminant = Object.entries(props).filter(([, p]) => p && 'const' in p).map(([k, p]) => `${k} = ${JSON.stringify(p.const)}`);
      return html`<div class="schema-variant">${discriminant.length ? raw(html`<h4>${discriminant.join(', ')}</h4>`) : ''}
        <table class="schema-fields"><thead><tr><th>Field</th><th>Type</th><th></th><th>Description</th></tr></thead><tbody>
        ${Object.entries(props).map(([k, p]) => raw(html`<tr><td><code>${k}</code></td><td>${schemaType(p)}</td><td>${required.includes(k) ? raw('<b>required</b>') : ''}</td><td class="muted">${(p && p.description) || ''}</td></tr>`))}
        </tbody></table>${v.additionalProperties === false ? '' : raw('<p class="muted">Other fields are accepted.</p>')}</div>`;
    };
    return html`<details class="type-schema" data-schema-of="${t.type}"><summary>Schema of <code>${t.type}</code>${t.description ? ': ' + t.description : ''}</summary>
      ${s ? raw(variants.map(table).join('')) : raw('<p class="muted">This step type publishes no schema yet; Check and Save ask the server, which names every problem.</p>')}
      ${t.example ? raw(html`<p class="muted">Example:</p><pre>${JSON.stringify(t.example, null, 2)}</pre>`) : ''}</details>`;
  }

  const otherKeys = (model, i) => model.steps.map((o) => o.key.trim()).filter((k, j) => k && j !== i);
  /** The "depends on" choices: the other steps' keys (and any listed key no step has any more, so it can be unticked). */
  function depsHtml(s, others) {
    const keys = [...new Set([...others, ...s.depends_on_steps])];
    if (keys.length === 0) return '<span class="muted">No other steps.</span>';
    return keys.map((k) => html`<label><input type="checkbox" data-dep="${k}" ${s.depends_on_steps.includes(k) ? 'checked' : ''}> ${k}</label>`).join('');
  }
  function compensatesHtml(s, others) {
    return html`<option value="">(step)</option>${others.map((k) => raw(html`<option value="${k}" ${k === s.compensates ? 'selected' : ''}>${k}</option>`))}`;
  }

  function stepHtml(s, i, model, types) {
    const others = otherKeys(model, i);
    const t = types.find((x) => x.type === s.step_type);
    const typeOptions = [...types.map((x) => x.type), ...(s.step_type && !t ? [s.step_type] : [])];
    const input = (f, attrs = '') => html`<input data-f="${f}" value="${s[f]}" ${raw(attrs)}>`;
    return html`<fieldset class="step" id="step-${i}" data-step-index="${i}">
      <legend>Step ${i + 1}: <span class="step-title">${s.name || s.key || 'new step'}</span> <span class="muted">${s.step_type}</span></legend>
      <div class="step-tools">
        <button type="button" class="secondary" data-step-up="${i}" ${i === 0 ? 'disabled' : ''} title="Move up">↑</button>
        <button type="button" class="secondary" data-step-down="${i}" ${i === model.steps.length - 1 ? 'disabled' : ''} title="Move down">↓</button>
        <button type="button" class="danger" data-step-remove="${i}">Remove</button>
      </div>
      <div class="grid">
        ${raw(field('Key', 'key', input('key', 'required aria-label="Key"')))}
        ${raw(field('Name', 'name', input('name', 'required aria-label="Name"')))}
        ${raw(field('Step type', 'step_type', html`<select data-f="step_type" aria-label="Step type">${typeOptions.map((x) => raw(html`<option value="${x}" ${x === s.step_type ? 'selected' : ''}>${x}</option>`))}</select>`))}
        ${raw(field('Order', 'order', input('order', 'type="number" min="0" step="1" aria-label="Order"'), 'default: position'))}
        ${raw(field('Parallel group', 'parallel_group', input('parallel_group', 'aria-label="Parallel group"')))}
        ${raw(field('Timeout (s)', 'timeout_seconds', input('timeout_seconds', 'type="number" min="1" step="1" aria-label="Timeout"'), 'default 300'))}
        ${raw(field('Max retries', 'max_retries', input('max_retries', 'type="number" min="0" step="1" aria-label="Max retries"'), 'default: the workflow’s'))}
        ${raw(field('Retry delay (s)', 'retry_delay_seconds', input('retry_delay_seconds', 'type="number" min="0" step="1" aria-label="Retry delay"'), 'default: the workflow’s'))}
        ${raw(field('Role', 'role', html`<select data-f="role" aria-label="Role">${STEP_ROLES.map((r) => raw(html`<option value="${r}" ${r === s.role ? 'selected' : ''}>${r}</option>`))}</select>`))}
        ${s.role === 'compensation' ? raw(field('Compensates', 'compensates', html`<select data-f="compensates" aria-label="Compensates">${raw(compensatesHtml(s, others))}</select>`)) : ''}
      </div>
      <div class="checks">
        <label><input type="checkbox" data-f="is_optional" ${s.is_optional ? 'checked' : ''}> optional (its failure does not fail the run)</label>
        <label><input type="checkbox" data-f="can_run_parallel" ${s.can_run_parallel ? 'checked' : ''}> can run parallel</label>
      </div>
      ${s.role === 'main' ? raw(field('Depends on', 'depends_on_steps', html`<div class="deps">${raw(depsHtml(s, others))}</div>`, 'none: every step of lower order')) : ''}
      ${raw(field('Condition (JSON)', 'condition', html`<textarea data-f="condition" rows="2" spellcheck="false" aria-label="Condition" placeholder='{"type": "value_check", "path": "input.n", "operator": "gt", "value": 0}'>${s.condition}</textarea>`, 'empty: always runs'))}
      <div class="config-row">
        <div>${raw(field('Config (JSON)', 'config', html`<textarea data-f="config" rows="6" spellcheck="false" aria-label="Config">${s.config}</textarea>`))}
          <button type="button" class="secondary" data-insert-example="${i}" ${t && t.example ? '' : 'disabled'}>Insert example</button></div>
        <div class="schema-col">${raw(schemaHelp(t))}</div>
      </div>
    </fieldset>`;
  }

  /** Dependency arrows of the form's steps, as the server draws them (explicit ones, else every main step of lower order outside the group; implied ones left out). */
  function formEdges(steps) {
    const main = steps.map((s, i) => ({ ...s, order: s.order === undefined ? i + 1 : s.order })).filter((s) => (s.role || 'main') === 'main' && s.key);
    const deps = Object.fromEntries(main.map((s) => [s.key, s.depends_on_steps && s.depends_on_steps.length ? s.depends_on_steps : main.filter((o) => o.order < s.order && (!s.parallel_group || o.parallel_group !== s.parallel_group)).map((o) => o.key)]));
    const reach = (start) => {
      const seen = new Set();
      const stack = [...(deps[start] || [])];
      while (stack.length) {
        const k = stack.pop();
        if (seen.has(k)) continue;
        seen.add(k);
        stack.push(...(deps[k] || []));
      }
      return seen;
    };
    const edges = [];
    for (const s of main) {
      const direct = (deps[s.key] || []).filter((d) => d !== s.key && deps[d]);
      const implied = new Set(direct.flatMap((d) => [...reach(d)]));
      for (const d of direct) if (!implied.has(d)) edges.push([d, s.key]);
    }
    return edges;
  }

  /**
   * The structured editor of a definition (with a JSON view for power users).
   * `save(definition)` stores it (POST for a new workflow, PATCH for a new
   * version); Check asks POST /workflows/validate/. Every problem the server
   * names shows beside its field; the ones no input fits are listed on top.
   */
  async function definitionEditor(root, def, opts) {
    const types = await stepTypes();
    let model = toModel(def);
    let jsonMode = false;
    // The server decides what is valid and says so beside each field; the browser's own checks would only pre-empt it.
    root.noValidate = true;
    root.innerHTML = html`<div class="toolbar">
        <button type="button" class="secondary" id="wf-view">JSON view</button>
        <span class="muted">Saving makes a new version when anything changed; runs in flight keep theirs.</span></div>
      <div id="wf-problems" class="error" hidden></div>
      <div id="wf-body"></div>
      <div class="toolbar"><button type="submit" id="wf-save">${opts.saveLabel}</button><button type="button" class="secondary" id="wf-check">Check</button></div>`;
    const body = root.querySelector('#wf-body');
    const problemsBox = root.querySelector('#wf-problems');

    const drawDag = () => {
      const box = root.querySelector('#wf-dag');
      if (!box) return;
      const steps = model.steps.map((s, i) => ({
        key: s.key.trim(),
        name: s.name || s.key,
        step_type: s.step_type,
        role: s.role,
        compensates: s.compensates || null,
        parallel_group: s.parallel_group.trim() || null,
        is_optional: s.is_optional,
        condition: s.condition.trim() ? s.condition : null,
        depends_on_steps: s.depends_on_steps,
        order: s.order.trim() === '' ? i + 1 : Number(s.order),
      })).filter((s) => s.key);
      box.innerHTML = dagSvg(steps, formEdges(steps), null);
    };

    const renderForm = () => {
      if (jsonMode) {
        let text;
        try {
          text = JSON.stringify(toDefinition(model, opts.withCode), null, 2);
        } catch {
          text = JSON.stringify({ ...def }, null, 2);
        }
        body.innerHTML = html`<textarea id="wf-json" aria-label="Definition JSON" spellcheck="false">${text}</textarea>`;
        return;
      }
      body.innerHTML = html`<div class="grid">
          ${opts.withCode ? raw(field('Code', 'code', html`<input id="wf-code" data-w="code" value="${model.code}" required aria-label="Code" placeholder="supplier_import">`, 'lowercase letters, digits, _ and -; cannot change')) : ''}
          ${raw(field('Name', 'name', html`<input id="wf-name" data-w="name" value="${model.name}" required aria-label="Workflow name">`))}
          ${raw(field('Workflow type', 'workflow_type', html`<select id="wf-type" data-w="workflow_type" aria-label="Workflow type">${[...new Set([...WORKFLOW_TYPES, model.workflow_type])].map((x) => raw(html`<option value="${x}" ${x === model.workflow_type ? 'selected' : ''}>${x}</option>`))}</select>`))}
          ${raw(field('Max retries', 'max_retries', html`<input id="wf-max-retries" data-w="max_retries" type="number" min="0" step="1" value="${model.max_retries}" aria-label="Workflow max retries">`, 'per step, default 3'))}
          ${raw(field('Retry delay (s)', 'retry_delay_seconds', html`<input id="wf-retry-delay" data-w="retry_delay_seconds" type="number" min="0" step="1" value="${model.retry_delay_seconds}" aria-label="Workflow retry delay">`, 'default 5'))}
          ${raw(field('Max parallel steps', 'max_parallel_steps', html`<input id="wf-max-parallel" data-w="max_parallel_steps" type="number" min="1" step="1" value="${model.max_parallel_steps}" aria-label="Max parallel steps">`, 'default 10'))}
        </div>
        ${raw(field('Description', 'description', html`<input id="wf-description" data-w="description" value="${model.description}" aria-label="Description" class="wide">`))}
        <div class="grid two">
          ${raw(field('Config (JSON)', 'config', html`<textarea id="wf-config" data-w="config" rows="4" spellcheck="false" aria-label="Workflow config" placeholder='{"marketplace_id": 1}'>${model.config}</textarea>`, 'read by steps as $config.x'))}
          ${raw(field('Input schema (JSON Schema)', 'input_schema', html`<textarea id="wf-input-schema" data-w="input_schema" rows="4" spellcheck="false" aria-label="Input schema" placeholder='{"type": "object", "required": ["supplier_id"], "properties": {"supplier_id": {"type": "integer"}}}'>${model.input_schema}</textarea>`, 'runs’ input is checked against it'))}
        </div>
        <h3>Steps</h3>
        <div id="wf-dag"></div>
        <div id="wf-steps">${model.steps.map((s, i) => raw(stepHtml(s, i, model, types)))}</div>
        <button type="button" class="secondary" id="step-add">Add step</button>`;
      drawDag();
    };

    /** Reads the form's inputs into the model. */
    const readForm = () => {
      if (jsonMode) return;
      body.querySelectorAll('[data-w]').forEach((el) => (model[el.dataset.w] = el.value));
      body.querySelectorAll('fieldset.step').forEach((fs) => {
        const s = model.steps[Number(fs.dataset.stepIndex)];
        fs.querySelectorAll('[data-f]').forEach((el) => (s[el.dataset.f] = el.type === 'checkbox' ? el.checked : el.value));
        const deps = fs.querySelectorAll('[data-dep]');
        if (deps.length || s.role !== 'main') s.depends_on_steps = [...deps].filter((el) => el.checked).map((el) => el.dataset.dep);
      });
    };

    const clearProblems = () => {
      problemsBox.hidden = true;
      problemsBox.innerHTML = '';
      root.querySelectorAll('.problem').forEach((el) => {
        el.hidden = true;
        el.innerHTML = '';
      });
      root.querySelectorAll('.field.invalid').forEach((el) => el.classList.remove('invalid'));
    };

    const showFieldProblems = (err) => {
      clearProblems();
      const rest = [];
      for (const p of problemList(err)) {
        const t = jsonMode ? null : problemTarget(p, model);
        const scope = t && (t.index === null ? body : body.querySelector(`#step-${t.index}`));
        const box = scope && scope.querySelector(t.index === null ? `:scope > .grid > .field[data-field="${t.field}"] > .problem, :scope > .field[data-field="${t.field}"] > .problem` : `.field[data-field="${t.field}"] > .problem`);
        if (!box) {
          rest.push(p);
          continue;
        }
        box.hidden = false;
        box.closest('.field').classList.add('invalid');
        box.insertAdjacentHTML('beforeend', html`<div>${t.rest ? raw(html`<code>${t.rest}</code>: `) : ''}${p.message}</div>`);
        const details = box.closest('fieldset') && box.closest('fieldset').querySelector('details.type-schema');
        if (details && t.field === 'config') details.open = true;
      }
      const placed = problemList(err).length - rest.length;
      if (rest.length || placed) {
        problemsBox.hidden = false;
        problemsBox.innerHTML = html`${placed ? raw(html`<p>${placed} problem${placed === 1 ? '' : 's'} shown beside ${placed === 1 ? 'its field' : 'their fields'}.</p>`) : ''}
          ${rest.length ? raw(html`<ul>${rest.map((p) => raw(html`<li>${pathText(p) ? raw(html`<code>${pathText(p)}</code>: `) : ''}${p.message}</li>`))}</ul>`) : ''}`;
      }
      const first = root.querySelector('.field.invalid') || problemsBox;
      if (first.scrollIntoView) first.scrollIntoView({ block: 'center' });
    };

    /** The definition to send: from the form, or the JSON view as typed. */
    const current = () => {
      if (jsonMode) {
        const text = root.querySelector('#wf-json').value;
        try {
          return JSON.parse(text);
        } catch (e) {
          throw localProblems([{ step: null, field: '', message: `the definition is not valid JSON: ${e.message}` }]);
        }
      }
      readForm();
      return toDefinition(model, opts.withCode);
    };

    root.querySelector('#wf-view').addEventListener('click', (ev) => {
      try {
        if (!jsonMode) {
          readForm();
          toDefinition(model, opts.withCode);
          jsonMode = true;
        } else {
          const parsed = current();
          if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw localProblems([{ step: null, field: '', message: 'the definition must be a JSON object' }]);
          model = toModel(parsed);
          jsonMode = false;
        }
        clearProblems();
        ev.target.textContent = jsonMode ? 'Form view' : 'JSON view';
        renderForm();
      } catch (e) {
        showFieldProblems(e);
      }
    });

    body.addEventListener('click', (ev) => {
      const b = ev.target.closest('button');
      if (!b || jsonMode) return;
      readForm();
      if (b.id === 'step-add') {
        const used = new Set(model.steps.map((s) => s.key));
        let n = model.steps.length + 1;
        while (used.has(`step_${n}`)) n += 1;
        model.steps.push(toModel({ steps: [{ key: `step_${n}`, name: '', step_type: types.some((x) => x.type === 'data_transform') ? 'data_transform' : (types[0] || {}).type || '', config: {} }] }).steps[0]);
      } else if (b.dataset.stepRemove !== undefined) {
        const [gone] = model.steps.splice(Number(b.dataset.stepRemove), 1);
        for (const s of model.steps) {
          s.depends_on_steps = s.depends_on_steps.filter((k) => k !== gone.key);
          if (s.compensates === gone.key) s.compensates = '';
        }
      } else if (b.dataset.stepUp !== undefined || b.dataset.stepDown !== undefined) {
        const i = Number(b.dataset.stepUp ?? b.dataset.stepDown);
        const j = b.dataset.stepUp !== undefined ? i - 1 : i + 1;
        if (j < 0 || j >= model.steps.length) return;
        // Explicit orders travel with the position, so a move changes when the step runs too.
        const [oi, oj] = [model.steps[i].order, model.steps[j].order];
        if (oi !== '' && oj !== '') [model.steps[i].order, model.steps[j].order] = [oj, oi];
        [model.steps[i], model.steps[j]] = [model.steps[j], model.steps[i]];
      } else if (b.dataset.insertExample !== undefined) {
        const s = model.steps[Number(b.dataset.insertExample)];
        const t = types.find((x) => x.type === s.step_type);
        if (!t || !t.example) return;
        const box = body.querySelector(`#step-${b.dataset.insertExample} textarea[data-f="config"]`);
        box.value = s.config = JSON.stringify(t.example, null, 2);
        return;
      } else {
        return;
      }
      renderForm();
    });
    body.addEventListener('change', (ev) => {
      if (jsonMode) return;
      readForm();
      const f = ev.target.dataset.f;
      // What other inputs offer depends on these: redraw the steps (keys feed "depends on"; the type its schema; the role compensates).
      if (f === 'key') {
        const i = Number(ev.target.closest('fieldset').dataset.stepIndex);
        const before = ev.target.defaultValue;
        for (const s of model.steps) {
          if (before) s.depends_on_steps = s.depends_on_steps.map((k) => (k === before ? model.steps[i].key : k));
          if (before && s.compensates === before) s.compensates = model.steps[i].key;
        }
      }
      if (f === 'step_type' || f === 'role') return renderForm();
      if (f === 'key' || f === 'name') {
        const fs = ev.target.closest('fieldset');
        const st = model.steps[Number(fs.dataset.stepIndex)];
        fs.querySelector('.step-title').textContent = st.name || st.key || 'new step';
      }
      // A new key changes only the other steps' choices: patched in place, so a click that ended the typing still lands.
      if (f === 'key') {
        body.querySelectorAll('fieldset.step').forEach((fs) => {
          const i = Number(fs.dataset.stepIndex);
          const s = model.steps[i];
          const deps = fs.querySelector('.deps');
          if (deps) deps.innerHTML = depsHtml(s, otherKeys(model, i));
          const comp = fs.querySelector('select[data-f="compensates"]');
          if (comp) comp.innerHTML = compensatesHtml(s, otherKeys(model, i));
        });
        ev.target.defaultValue = ev.target.value;
      }
      drawDag();
    });

    root.querySelector('#wf-check').addEventListener('click', async () => {
      try {
        clearProblems();
        const d = current();
        await api('/workflows/validate/', { method: 'POST', body: { ...d, code: opts.withCode ? d.code : opts.code } });
        toast('The definition is valid');
        problemsBox.hidden = false;
        problemsBox.innerHTML = '<p class="ok">The server found no problem.</p>';
      } catch (e) {
        showFieldProblems(e);
      }
    });
    root.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      try {
        clearProblems();
        await opts.save(current());
      } catch (e) {
        showFieldProblems(e);
      }
    });
    renderForm();
  }

  async function newWorkflow() {
    app.innerHTML = html`<h1>New workflow</h1>
      <p class="muted">Build the definition step by step; the server checks it on <b>Check</b> and <b>Create workflow</b> and names every problem beside its field.</p>
      <form id="wf-editor" class="editor"></form>`;
    const blank = { name: '', workflow_type: 'custom', config: {}, steps: [] };
    await definitionEditor(document.getElementById('wf-editor'), blank, {
      withCode: true,
      saveLabel: 'Create workflow',
      save: async (d) => {
        const w = await api('/workflows/', { method: 'POST', body: d });
        toast(`Created ${w.code}`);
        location.hash = `#/workflows/${w.id}`;
      },
    });
  }

  async function workflow(id) {
    const [w, runs, versions] = await Promise.all([api(`/workflows/${id}/`), api(`/executions/?workflow=${id}&page_size=10`), api(`/workflows/${id}/versions/`)]);
    const steps = w.steps || [];
    // Newest first.
    const vlist = [...(versions.results || versions)].sort((a, b) => b.version - a.version);
    app.innerHTML = html`<h1>${w.name} <span class="muted">${w.code} · v${w.current_version}</span></h1>
      <p>${w.description || ''}</p>
      <form class="inline" id="run"><label for="input">Input data (JSON)</label></form>
      <textarea id="input" aria-label="Input data">{}</textarea>
      ${w.input_schema ? raw(html`<details class="schema"><summary>Input schema: ${Object.keys(w.input_schema.properties || {}).map((k) => `${k}${(w.input_schema.required || []).includes(k) ? ' (required)' : ''}`).join(', ') || 'see below'}</summary><pre>${JSON.stringify(w.input_schema, null, 2)}</pre></details>`) : ''}
      <div class="toolbar"><button id="execute">Run now</button></div>
      <h2>Steps</h2>
      ${raw(dagSvg(steps, (w.graph && w.graph.edges) || [], null))}
      <table><thead><tr><th>#</th><th>Key</th><th>Name</th><th>Type</th><th>Depends on</th><th>Options</th></tr></thead><tbody>
      ${steps.map((s) => raw(html`<tr><td>${s.order}</td><td>${s.key}</td><td>${s.name}</td><td>${s.step_type}</td>
        <td>${(s.depends_on_steps || []).join(', ') || '—'}</td>
        <td class="muted">${[s.is_optional ? 'optional' : '', s.parallel_group ? `group ${s.parallel_group}` : '', s.condition ? 'conditional' : '', s.role !== 'main' ? s.role + (s.compensates ? ' of ' + s.compensates : '') : '', `timeout ${s.timeout_seconds}s`].filter(Boolean).join(' · ')}</td></tr>`))}
      </tbody></table>
      <h2>Configuration</h2><pre>${JSON.stringify(w.config, null, 2)}</pre>
      <div class="toolbar">
        ${status(w.status)}
        <button class="secondary" id="wf-toggle" data-status="${w.status === 'active' ? 'inactive' : 'active'}">${w.status === 'active' ? 'Deactivate' : 'Activate'}</button>
        <button class="secondary" id="wf-edit">Edit definition</button>
        <button class="danger" id="wf-delete">Delete workflow</button>
      </div>
      <form id="wf-editor" class="editor" hidden></form>
      <h2>Versions</h2><p>${vlist.map((v) => `v${v.version} (${when(v.created_at)})`).join(' · ')}</p>
      ${vlist.length > 1 ? raw(html`<form class="inline" id="vdiff">
        <label for="v-from">Compare</label><select id="v-from">${vlist.map((v, i) => raw(html`<option value="${v.version}" ${i === 1 ? 'selected' : ''}>v${v.version}</option>`))}</select>
        <label for="v-to">with</label><select id="v-to">${vlist.map((v, i) => raw(html`<option value="${v.version}" ${i === 0 ? 'selected' : ''}>v${v.version}</option>`))}</select>
        <button type="submit" class="secondary">Show changes</button></form><div id="v-diff"></div>`) : ''}
      <h2>Latest runs</h2>${raw(runsTable(runs.results))}`;
    const vdiff = document.getElementById('vdiff');
    if (vdiff) {
      vdiff.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        try {
          const [a, b] = await Promise.all(['v-from', 'v-to'].map((f) => api(`/workflows/${id}/?version=${document.getElementById(f).value}`)));
          document.getElementById('v-diff').innerHTML = diffHtml(definitionJson(a), definitionJson(b));
        } catch (e) {
          toast(e.message, true);
        }
      });
    }
    const editor = document.getElementById('wf-editor');
    document.getElementById('wf-edit').addEventListener('click', async () => {
      editor.hidden = !editor.hidden;
      if (editor.hidden || editor.dataset.ready) return;
      editor.dataset.ready = 'yes';
      try {
        await definitionEditor(editor, definitionJson(w), {
          code: w.code,
          saveLabel: 'Save new version',
          save: async (d) => {
            const r = await api(`/workflows/${id}/`, { method: 'PATCH', body: d });
            toast(`Saved: version ${r.current_version}`);
            route();
          },
        });
      } catch (e) {
        delete editor.dataset.ready;
        editor.innerHTML = html`<p class="error">${e.message}</p>`;
      }
    });
    document.getElementById('wf-toggle').addEventListener('click', (ev) =>
      act(() => api(`/workflows/${id}/`, { method: 'PATCH', body: { status: ev.target.dataset.status } }), ev.target.dataset.status === 'active' ? 'Activated' : 'Deactivated'),
    );
    document.getElementById('wf-delete').addEventListener('click', () => {
      if (!confirm(`Delete the workflow ${w.code}? Its runs and history are kept.`)) return;
      act(async () => {
        await api(`/workflows/${id}/`, { method: 'DELETE' });
        location.hash = '#/workflows';
      }, 'Deleted');
    });
    document.getElementById('execute').addEventListener('click', () =>
      act(async () => {
        const input = parseJson(document.getElementById('input').value, 'Input data');
        const run = await api(`/workflows/${id}/execute/`, { method: 'POST', body: { input_data: input } });
        location.hash = `#/executions/${encodeURIComponent(run.execution_id)}`;
      }),
    );
  }

  async function executions(query) {
    const page = Number(query.get('page') || 1);
    const filter = query.get('status') || '';
    // Filtered by outcome: "completed" lists the runs without failed items, "completed with failures" the others.
    const list = await api(`/executions/?page=${page}&page_size=25${filter ? `&outcome=${encodeURIComponent(filter)}` : ''}`);
    const choices = ['', 'pending', 'running', 'completed', 'completed_with_failures', 'failed', 'cancelled'];
    app.innerHTML = html`<h1>Runs</h1>
      <form class="inline" id="filter"><label for="status">Status</label>
        <select id="status">${choices.map((s) => raw(html`<option value="${s}" ${s === filter ? 'selected' : ''}>${s ? s.replace(/_/g, ' ') : 'any'}</option>`))}</select>
      </form>
      ${raw(runsTable(list.results))}${raw(pager(list, page, `#/executions`))}`;
    document.getElementById('status').addEventListener('change', (ev) => {
      location.hash = `#/executions?status=${encodeURIComponent(ev.target.value)}`;
    });
    refreshWhile(list.results.some((r) => r.status === 'running' || r.status === 'pending'), 3000);
  }

  /** Definitions of versions already seen (immutable), so a live run page fetches its graph once. */
  const versionCache = new Map();
  async function definitionOf(workflowId, version) {
    const key = `${workflowId}@${version}`;
    if (!versionCache.has(key)) versionCache.set(key, await api(`/workflows/${workflowId}/?version=${version}`).catch(() => null));
    return versionCache.get(key);
  }

  async function execution(id) {
    const r = await api(`/executions/${encodeURIComponent(id)}/`);
    const def = await definitionOf(r.workflow_id, r.version);
    const statuses = Object.fromEntries([...(r.steps || []).map((s) => [s.step_key, s.status]), ...((r.progress && r.progress.steps) || []).map((s) => [s.key, s.status])]);
    const p = r.progress || {};
    // Approval steps wait for a run-wide decision; ai_process steps waiting hold items for the review panel.
    const waiting = (r.steps || []).filter((s) => s.status === 'waiting' && s.step_type === 'approval');
    const reviewing = (r.steps || []).some((s) => s.status === 'waiting' && s.step_type === 'ai_process');
    const finished = ['completed', 'failed', 'cancelled'].includes(r.status);
    app.innerHTML = html`<h1>Run ${r.execution_id}</h1>
      <div class="toolbar">${outcome(r)} ${bar(stepsDone(p.total_steps ? p : r), p.total_steps ?? r.total_steps, r.status)}
        <span class="muted">${stepsLabel(p.total_steps ? p : r)} steps${p.running_steps && p.running_steps.length ? ' · running ' + p.running_steps.join(', ') : ''}</span>
        <a href="${r.temporal_ui_url}" target="_blank" rel="noopener">history in Temporal ↗</a></div>
      <p class="muted">Workflow <a href="#/workflows/${r.workflow_id}">${r.workflow_code || r.workflow_id}</a> v${r.version} · trigger ${r.trigger_type}
        ${r.restarted_from ? raw(html` · restarted from <a href="#/executions/${encodeURIComponent(r.restarted_from)}">${r.restarted_from}</a>`) : ''}
        ${r.parent_execution_id ? raw(html` · <span id="parent-run">child of <a href="#/executions/${encodeURIComponent(r.parent_execution_id)}">${r.parent_execution_id}</a></span>`) : ''}
        · started ${when(r.started_at)} · duration ${seconds(r.duration_seconds)}</p>
      ${r.recovery ? raw(recoveryNote(r.recovery)) : ''}
      ${r.error_message ? raw(html`<p class="error">${r.error_message}</p>`) : ''}
      ${r.failed_items_total > 0 ? raw(failedItemsTable(r)) : ''}
      <div class="toolbar">
        ${!finished ? raw('<button class="danger" id="cancel">Cancel run</button>') : ''}
        ${finished && r.status !== 'completed' ? raw('<button id="restart">Restart from failed step</button>') : ''}
        ${waiting.map((s) => raw(html`<span>Approval <b>${s.step_name}</b>:</span><button data-approve="${s.step_key}">Approve</button><button class="secondary" data-reject="${s.step_key}">Reject</button>`))}
      </div>
      <section id="ai-review" aria-label="AI review"></section>
      <section id="items-ledger" aria-label="Items"></section>
      ${(r.edits || []).length ? raw(editsTable(r)) : ''}
      ${(r.children || []).length ? raw(html`<h2>Child runs</h2>
      <p class="muted">A fan-out: one run per ${r.children[0].kind || 'row'}, each with its own steps and history.</p>
      <table id="children"><thead><tr><th>Run</th><th>For</th><th>Status</th><th>Failed items</th><th>Started</th><th>Error</th></tr></thead><tbody>
      ${r.children.map((c) => raw(html`<tr><td><a href="#/executions/${encodeURIComponent(c.execution_id)}">${c.execution_id}</a></td>
        <td>${c.kind || '—'} ${c.target_id ?? ''}</td><td>${outcome(c)}</td><td>${c.failed_items_total}</td><td>${when(c.started_at)}</td>
        <td>${c.error_message ? raw(html`<span class="error">${c.error_message}</span>`) : ''}</td></tr>`))}
      </tbody></table>`) : ''}
      <h2>Steps</h2>
      ${def && def.steps && !(r.children || []).length ? raw(dagSvg(def.steps, (def.graph && def.graph.edges) || [], statuses)) : ''}
      <table><thead><tr><th>Step</th><th>Type</th><th>Status</th><th>Attempt</th><th>Started</th><th>Duration</th><th>Result</th></tr></thead><tbody>
      ${(r.steps || []).map((s) => raw(html`<tr><td>${s.step_name} <span class="muted">${s.step_key}${s.role && s.role !== 'main' ? ' · ' + s.role : ''}</span></td>
        <td>${s.step_type}</td><td>${outcome(s)}</td><td>${s.attempt}${s.max_attempts ? ' / ' + s.max_attempts : ''}</td>
        <td>${when(s.started_at)}</td><td>${s.duration_ms === null || s.duration_ms === undefined ? '—' : s.duration_ms + ' ms'}</td>
        <td>${s.error_message ? raw(html`<span class="error">${s.error_message}</span>`) : raw(html`<span class="muted">${summary(s.output_summary)}</span>`)}
          ${finished && (s.role || 'main') === 'main' && (s.status === 'completed' || s.status === 'failed') ? raw(html` <button class="secondary small" data-edit-output="${s.step_key}">Edit output</button>`) : ''}</td></tr>`))}
      </tbody></table>
      ${(r.compensations || []).length ? raw(html`<h2>Undone by the saga</h2>
      <table id="compensations"><thead><tr><th>Step undone</th><th>By</th><th>Status</th><th>Result</th></tr></thead><tbody>
      ${r.compensations.map((c) => raw(html`<tr><td>${c.step_name || c.step_key} <span class="muted">${c.step_key} · was ${c.step_status || '—'}</span></td>
        <td>${c.compensation_step}</td><td>${status(c.status === 'completed' ? 'compensated' : c.status)}</td>
        <td>${c.error_message ? raw(html`<span class="error">not undone: ${c.error_message}</span>`) : raw(html`<span class="muted">${summary(c.output_summary)}</span>`)}</td></tr>`))}
      </tbody></table>`) : ''}
      <h2>Input</h2><pre>${JSON.stringify(r.input_data, null, 2)}</pre>
      ${finished ? raw(html`<h2>Output</h2><pre>${JSON.stringify(r.output_data, null, 2)}</pre>`) : ''}`;
    const on = (sel, fn) => document.querySelectorAll(sel).forEach((el) => el.addEventListener('click', () => fn(el)));
    on('#cancel', () => act(() => api(`/executions/${encodeURIComponent(id)}/cancel/`, { method: 'POST' }), 'Cancellation requested'));
    on('#restart', () =>
      act(async () => {
        const version = await chooseVersion(r, 'Restart from failed step', 'Restart');
        if (!version) return;
        const next = await api(`/executions/${encodeURIComponent(id)}/restart/`, { method: 'POST', body: { version } });
        location.hash = `#/executions/${encodeURIComponent(next.execution_id)}`;
      }),
    );
    on('[data-edit-output]', (el) => act(() => editOutput(r, el.dataset.editOutput)));
    on('[data-approve]', (el) => act(() => api(`/executions/${encodeURIComponent(id)}/signal/`, { method: 'POST', body: { step_key: el.dataset.approve, decision: 'approve' } }), 'Approved'));
    on('[data-reject]', (el) => act(() => api(`/executions/${encodeURIComponent(id)}/signal/`, { method: 'POST', body: { step_key: el.dataset.reject, decision: 'reject' } }), 'Rejected'));
    // While items wait for a decision the page is not redrawn on its own: an edit in progress stays.
    if (!reviewing) refreshWhile(!finished, 1000);
    itemsLedger(id, document.getElementById('items-ledger'), undefined, undefined, r).catch((e) => toast(e.message, true));
    aiReviewPanel(id, document.getElementById('ai-review'), reviewing, finished).catch((e) => toast(e.message, true));
  }

  // ---------- recovery: version choice, retry of items, edits (docs/recovery.md) ----------

  /**
   * Edit a step's output and continue (docs/recovery.md): the output as later
   * steps read it, in an editor; saving records the edit (who, when, why,
   * before and after) and starts a run from the steps after it.
   */
  async function editOutput(r, stepKey) {
    const run = encodeURIComponent(r.execution_id);
    const current = await api(`/executions/${run}/steps/${encodeURIComponent(stepKey)}/output/`);
    const dlg = document.createElement('dialog');
    dlg.id = 'edit-output-dialog';
    dlg.innerHTML = html`<form method="dialog"><h2>Edit the output of ${stepKey}</h2>
      <p class="muted">${current.output === undefined ? `The output is ${current.bytes} bytes, more than an edit may have: write the new one.` : 'As the steps after it read it. Saving starts a new run that continues from here; the edit is recorded.'}</p>
      <textarea id="edit-output-json" rows="16" aria-label="Output (JSON)">${current.output === undefined ? '{}' : JSON.stringify(current.output, null, 2)}</textarea>
      <input id="edit-output-reason" placeholder="Reason (recorded)" aria-label="Reason">
      <div class="toolbar"><button value="ok">Save and continue</button><button value="cancel" class="secondary" formnovalidate>Cancel</button></div></form>`;
    document.body.appendChild(dlg);
    const picked = await new Promise((resolve) => {
      dlg.addEventListener('close', () => resolve(dlg.returnValue === 'ok'));
      dlg.showModal();
    });
    const text = dlg.querySelector('#edit-output-json').value;
    const reason = dlg.querySelector('#edit-output-reason').value.trim();
    dlg.remove();
    if (!picked) return;
    let output;
    try {
      output = JSON.parse(text);
    } catch (e) {
      throw new Error(`output: not JSON (${e.message})`);
    }
    const next = await api(`/executions/${run}/steps/${encodeURIComponent(stepKey)}/output/`, { method: 'POST', body: { output, ...(reason ? { reason } : {}) } });
    location.hash = `#/executions/${encodeURIComponent(next.execution_id)}`;
  }

  /** What a recovery run is: its kind, the version chosen, what it reuses and re-runs. */
  function recoveryNote(rec) {
    const kind = { restart: 'Restart', retry_items: 'Retry of items', edit_output: 'Continued from an edited output' }[rec.kind] || rec.kind;
    return html`<p class="muted" id="recovery">${kind} · version ${rec.version_choice} (v${rec.version}${rec.from_version !== rec.version ? `, the earlier run was v${rec.from_version}` : ''})
      ${rec.step ? ` · step ${rec.step}` : ''}${typeof rec.items === 'number' ? ` · ${rec.items} item(s)` : ''}
      · reused ${(rec.reused_steps || []).join(', ') || 'nothing'} · re-run ${(rec.rerun_steps || []).join(', ') || 'nothing'}
      ${(rec.changed_steps || []).length ? ` · changed in v${rec.version}: ${rec.changed_steps.join(', ')}` : ''}</p>`;
  }

  /** The audited edits of step outputs made on this run or that started it. */
  function editsTable(r) {
    return html`<h2>Edited outputs</h2><table id="edits"><thead><tr><th>Step</th><th>By</th><th>When</th><th>Reason</th><th>Run</th><th>Before / after</th></tr></thead><tbody>
      ${r.edits.map((e) => raw(html`<tr><td>${e.step_key}</td><td>${e.edited_by || '—'}</td><td>${when(e.created_at)}</td><td>${e.reason || ''}</td>
        <td>${e.new_execution_id === r.execution_id ? raw(html`edited in <a href="#/executions/${encodeURIComponent(e.execution_id)}">${e.execution_id}</a>`) : e.new_execution_id ? raw(html`continued as <a href="#/executions/${encodeURIComponent(e.new_execution_id)}">${e.new_execution_id}</a>`) : '—'}</td>
        <td><details><summary>show</summary><pre>before: ${JSON.stringify(e.before, null, 2).slice(0, 20000)}</pre><pre>after: ${JSON.stringify(e.after, null, 2).slice(0, 20000)}</pre></details></td></tr>`))}
      </tbody></table>`;
  }

  /**
   * Asks which definition version a restart or retry uses: the run's own, or
   * the workflow's current one (preselected when it is newer). Resolves to
   * "current", "original", or null when the operator cancels.
   */
  async function chooseVersion(r, title, verb, detail = '') {
    const wf = await api(`/workflows/${r.workflow_id}/`).catch(() => null);
    const current = wf && wf.current_version ? wf.current_version : r.version;
    const newer = current > r.version;
    const dlg = document.createElement('dialog');
    dlg.id = 'recover-dialog';
    dlg.innerHTML = html`<form method="dialog"><h2>${title}</h2>${detail ? raw(html`<p>${detail}</p>`) : ''}
      <fieldset><legend>Definition version</legend>
        <label><input type="radio" name="version" value="current" ${newer ? 'checked' : ''}> current (v${current})${newer ? ' — newer than this run’s' : ''}</label>
        <label><input type="radio" name="version" value="original" ${newer ? '' : 'checked'}> original (v${r.version}, this run’s)</label>
      </fieldset>
      <p class="muted">Steps whose definition changed in the chosen version run again with everything after them; the rest reuse this run’s outputs.</p>
      <div class="toolbar"><button value="ok" id="recover-ok">${verb}</button><button value="cancel" class="secondary" id="recover-cancel">Cancel</button></div></form>`;
    document.body.appendChild(dlg);
    return new Promise((resolve) => {
      dlg.addEventListener('close', () => {
        const picked = dlg.returnValue === 'ok' ? dlg.querySelector('input[name="version"]:checked').value : null;
        dlg.remove();
        resolve(picked);
      });
      dlg.showModal();
    });
  }

  /**
   * The review of ai_process answers below `review.below_confidence`: each
   * held item with the original and the AI's proposal; the operator approves,
   * edits (the item as it continues, JSON) or rejects (with a reason) each,
   * or decides all the rest at once. Once decided (or closed), the audit: who
   * decided what, and when.
   */
  async function aiReviewPanel(id, el, reviewing, finished) {
    const run = encodeURIComponent(id);
    const { reviews } = await api(`/executions/${run}/reviews/`);
    if (reviews.length === 0) {
      el.innerHTML = '';
      return;
    }
    const json = (v) => JSON.stringify(v, null, 2);
    el.innerHTML = reviews
      .map((rv) => {
        const open = rv.status === 'waiting';
        return html`<h2>AI review · ${rv.step_key} <span class="muted">${rv.status} · ${rv.decided} of ${rv.total} decided${rv.deadline ? ` · times out ${when(rv.deadline)}` : ''}</span></h2>
      ${open ? raw(html`<div class="toolbar"><input class="review-reason" data-rest-reason="${rv.step_key}" placeholder="Reason (optional)" aria-label="Reason for the rest">
        <button data-rest-approve="${rv.step_key}">Approve all remaining</button><button class="secondary" data-rest-reject="${rv.step_key}">Reject remaining</button></div>`) : ''}
      <table class="ai-review" data-step="${rv.step_key}"><thead><tr><th>Item</th><th>Confidence</th><th>Original</th><th>AI proposal</th><th>Decision</th></tr></thead><tbody>
      ${rv.items.map((i) =>
        raw(html`<tr data-key="${i.key}"><td><code>${i.key}</code> <span class="muted">#${i.index}</span></td><td>${i.confidence === null ? '—' : i.confidence}</td>
        <td><pre>${json(i.original)}</pre></td><td><pre>${json(i.proposal)}</pre></td>
        <td>${i.decision
          ? raw(html`<b class="decision">${i.decision}</b>${i.timed_out ? ' (timed out)' : ''}<br><span class="muted">${i.decided_by || ''} ${i.decided_at ? when(i.decided_at) : ''}</span>
            ${i.reason ? raw(html`<br>${i.reason}`) : ''}${i.edited ? raw(html`<pre>${json(i.edited)}</pre>`) : ''}`)
          : open
            ? raw(html`<textarea class="review-edit" rows="6" aria-label="Item ${i.key} as it continues">${json(i.proposal)}</textarea>
            <input class="review-reason" placeholder="Reason (optional)" aria-label="Reason for item ${i.key}">
            <div class="toolbar"><button data-decide="approve">Approve</button><button class="secondary" data-decide="edit">Save edit</button><button class="danger" data-decide="reject">Reject</button></div>`)
            : raw('<span class="muted">waiting</span>')}</td></tr>`),
      )}
      </tbody></table>`;
      })
      .join('');
    const decide = (step, key, body) => api(`/executions/${run}/reviews/${encodeURIComponent(step)}/items/${encodeURIComponent(key)}/`, { method: 'POST', body });
    el.querySelectorAll('table.ai-review [data-decide]').forEach((b) =>
      b.addEventListener('click', () => {
        const row = b.closest('tr');
        const step = b.closest('table').dataset.step;
        const reason = row.querySelector('.review-reason').value.trim();
        const decision = b.dataset.decide;
        act(async () => {
          const body = { decision, ...(reason ? { reason } : {}) };
          if (decision === 'edit') body.item = parseJson(row.querySelector('.review-edit').value, `Item ${row.dataset.key}`);
          await decide(step, row.dataset.key, body);
        }, decision === 'approve' ? 'Approved' : decision === 'edit' ? 'Edited' : 'Rejected');
      }),
    );
    const rest = (attr, decision) =>
      el.querySelectorAll(`[${attr}]`).forEach((b) =>
        b.addEventListener('click', () => {
          const step = b.getAttribute(attr);
          const reason = el.querySelector(`[data-rest-reason="${step}"]`).value.trim();
          act(() => api(`/executions/${run}/reviews/${encodeURIComponent(step)}/rest/`, { method: 'POST', body: { decision, ...(reason ? { reason } : {}) } }), decision === 'approve' ? 'Approved the rest' : 'Rejected the rest');
        }),
      );
    rest('data-rest-approve', 'approve');
    rest('data-rest-reject', 'reject');
    // Every item decided: the run goes on, and the page follows it again.
    if (reviewing && !finished && reviews.every((rv) => rv.status !== 'waiting' || rv.decided >= rv.total)) refreshWhile(true, 1000);
  }

  /**
   * The run's per-item ledger: counts by outcome and reason (each a filter),
   * the items that did not go through with their reasons, each one's raw
   * item, and downloads as CSV or JSON Lines.
   */
  async function itemsLedger(id, el, filter = { status: '', reason: '', step: '' }, page = 1, runRow = null) {
    const run = encodeURIComponent(id);
    const counts = await api(`/executions/${run}/items/counts/`);
    const total = Object.values(counts.by_status).reduce((a, b) => a + b, 0);
    if (total === 0) {
      el.innerHTML = '';
      return;
    }
    const notOk = counts.by_status.invalid + counts.by_status.failed + counts.by_status.skipped;
    const status = filter.status || (notOk > 0 ? '' : 'ok');
    const params = new URLSearchParams({ page: String(page), page_size: '50' });
    if (status) params.set('status', status);
    if (filter.reason) params.set('reason', filter.reason);
    if (filter.step) params.set('step', filter.step);
    const list = await api(`/executions/${run}/items/?${params}`);
    const rows = status ? list.results : list.results.filter((i) => i.status !== 'ok');
    el.innerHTML = html`<h2>Items <span class="muted">${total} · ${['ok', 'invalid', 'failed', 'skipped'].map((s) => `${counts.by_status[s]} ${s}`).join(' · ')}</span></h2>
      <table class="item-reasons"><thead><tr><th>Step</th><th>Outcome</th><th>Reason</th><th>Items</th></tr></thead><tbody>
      ${counts.by_reason.map((r) => raw(html`<tr><td>${r.step_key}</td><td>${r.status}</td><td>${r.reason_code || '—'}</td>
        <td><a href="" data-filter-step="${r.step_key}" data-filter-status="${r.status}" data-filter-reason="${r.reason_code || ''}">${r.count}</a></td></tr>`))}
      </tbody></table>
      <div class="toolbar"><span class="muted">Showing ${status || 'every outcome but ok'}${filter.reason ? ` · reason ${filter.reason}` : ''}${filter.step ? ` · step ${filter.step}` : ''} (${list.count})</span>
        <button class="secondary" id="items-csv">Download CSV</button><button class="secondary" id="items-jsonl">Download JSON Lines</button>
        ${notOk > 0 && runRow && ['completed', 'failed', 'cancelled'].includes(runRow.status) ? raw(html`<button id="items-retry">${filter.reason ? `Retry failed items (${filter.reason})` : 'Retry failed items'}</button>`) : ''}
        ${filter.status || filter.reason || filter.step ? raw('<button class="secondary" id="items-all">Show all not ok</button>') : ''}
        ${page > 1 ? raw('<button class="secondary" id="items-prev">Previous</button>') : ''}${page * 50 < list.count ? raw('<button class="secondary" id="items-next">Next</button>') : ''}</div>
      <table class="items"><thead><tr><th>Step</th><th>Item</th><th>#</th><th>Outcome</th><th>Reason</th><th>Message</th><th></th></tr></thead><tbody>
      ${rows.map((i) => raw(html`<tr><td>${i.step_key}</td><td><code>${i.item_key}</code></td><td>${i.item_index === null ? '' : i.item_index}</td><td>${i.status}</td>
        <td>${i.reason_code || ''}</td><td>${i.message || ''}</td>
        <td>${i.has_payload ? raw(html`<button class="secondary" data-item="${i.id}">Item</button>`) : ''}</td></tr>`))}
      </tbody></table><pre id="item-payload" hidden></pre>`;
    const again = (f, p = 1) => itemsLedger(id, el, f, p, runRow).catch((e) => toast(e.message, true));
    const retry = el.querySelector('#items-retry');
    if (retry) retry.addEventListener('click', () => retryItems(runRow, filter));
    el.querySelectorAll('[data-filter-status]').forEach((a) =>
      a.addEventListener('click', (ev) => {
        ev.preventDefault();
        again({ status: a.dataset.filterStatus, reason: a.dataset.filterReason, step: a.dataset.filterStep });
      }),
    );
    el.querySelectorAll('[data-item]').forEach((b) =>
      b.addEventListener('click', async () => {
        const p = await api(`/executions/${run}/items/${b.dataset.item}/payload/`);
        const pre = el.querySelector('#item-payload');
        pre.hidden = false;
        pre.textContent = `${p.step_key} · ${p.item_key}\n${JSON.stringify(p.item, null, 2)}`;
      }),
    );
    const all = el.querySelector('#items-all');
    if (all) all.addEventListener('click', () => again({ status: '', reason: '', step: '' }));
    const prev = el.querySelector('#items-prev');
    if (prev) prev.addEventListener('click', () => again(filter, page - 1));
    const next = el.querySelector('#items-next');
    if (next) next.addEventListener('click', () => again(filter, page + 1));
    const download = async (format) => {
      const q = new URLSearchParams({ format });
      q.set('status', status || (counts.by_status.failed > 0 ? 'failed' : 'invalid'));
      if (filter.reason) q.set('reason', filter.reason);
      if (filter.step) q.set('step', filter.step);
      const res = await fetch(`${API}/executions/${run}/items/export/?${q}`, { headers: { Authorization: `Bearer ${sessionStorage.getItem(KEY_STORAGE)}` } });
      if (!res.ok) throw new Error(`download failed: HTTP ${res.status}`);
      const a = document.createElement('a');
      a.href = window.URL.createObjectURL(await res.blob());
      a.download = `${id}-items-${q.get('status')}.${format === 'csv' ? 'csv' : 'jsonl'}`;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => window.URL.revokeObjectURL(a.href), 10_000);
    };
    el.querySelector('#items-csv').addEventListener('click', () => download('csv').catch((e) => toast(e.message, true)));
    el.querySelector('#items-jsonl').addEventListener('click', () => download('jsonl').catch((e) => toast(e.message, true)));
  }

  /** "Retry failed items": all that did not go through, or those of the selected reason (and step); asks for the version. */
  function retryItems(r, filter) {
    return act(async () => {
      const what = filter.reason ? `the items that did not go through with reason ${filter.reason}${filter.step ? ` in step ${filter.step}` : ''}` : 'the items that did not go through';
      const version = await chooseVersion(r, 'Retry failed items', 'Retry', `A new run re-runs only ${what}, from the first step where they stopped.`);
      if (!version) return;
      const body = { version };
      if (filter.reason) body.reasons = [filter.reason];
      if (filter.step) body.step = filter.step;
      const next = await api(`/executions/${encodeURIComponent(r.execution_id)}/retry-items/`, { method: 'POST', body });
      toast(`Retrying ${next.retry.count} item(s) of step ${next.retry.step} on v${next.retry.version} (${next.retry.version_choice})`);
      location.hash = `#/executions/${encodeURIComponent(next.execution_id)}`;
    });
  }

  /** The failed items of a run (the first of each step; the total counts every one). */
  function failedItemsTable(r) {
    const shown = r.failed_items || [];
    return html`<h2>Failed items <span class="muted">${r.failed_items_total}${shown.length < r.failed_items_total ? ` (first ${shown.length} shown; each step's output lists up to 100)` : ''}</span></h2>
      <table class="failed-items"><thead><tr><th>Step</th><th>Item</th><th>Reason</th><th>Message</th></tr></thead><tbody>
      ${shown.map((f) => raw(html`<tr><td>${f.step_key}</td><td><code>${f.key}</code></td><td>${f.code}${f.status ? ' · ' + f.status : ''}</td><td>${f.message}</td></tr>`))}
      </tbody></table>`;
  }

  async function schedules() {
    const [list, wfs] = await Promise.all([api('/schedules/?page_size=100'), api('/workflows/?page_size=100')]);
    app.innerHTML = html`<h1>Schedules</h1>
      <table><thead><tr><th>Name</th><th>Workflow</th><th>Cron</th><th>Time zone</th><th>Active</th><th>Next run</th><th>Runs</th><th></th></tr></thead><tbody>
      ${list.results.map((s) => raw(html`<tr><td>${s.name}</td><td><a href="#/workflows/${s.workflow_id}">${s.workflow_code || s.workflow_id}</a></td>
        <td><code>${s.cron_expression}</code></td><td>${s.timezone}</td><td>${s.is_active ? 'yes' : 'paused'}</td>
        <td>${when(s.next_run_at)}</td><td>${s.total_runs}</td>
        <td><button class="secondary" data-toggle="${s.id}" data-active="${s.is_active}">${s.is_active ? 'Pause' : 'Unpause'}</button>
            <button class="secondary" data-trigger="${s.id}">Run now</button>
            <button class="secondary" data-edit="${s.id}">Edit</button>
            <button class="danger" data-delete="${s.id}">Delete</button></td></tr>`))}
      </tbody></table>
      <h2 id="s-title">New schedule</h2>
      <form id="create">
        <div class="inline">
          <select id="s-workflow" aria-label="Workflow">${wfs.results.map((w) => raw(html`<option value="${w.id}">${w.name}</option>`))}</select>
          <input id="s-name" placeholder="Name" aria-label="Name" required>
          <input id="s-cron" placeholder="0 3 * * *" aria-label="Cron expression" required>
          <input id="s-tz" value="UTC" aria-label="Time zone">
        </div>
        <label for="s-input">Input data of every run (JSON), e.g. <code>{"supplier_id": 1}</code></label>
        <textarea id="s-input" aria-label="Schedule input data">{}</textarea>
        <div id="s-problems" class="error" hidden></div>
        <div class="toolbar"><button type="submit" id="s-submit">Create</button><button type="button" class="secondary" id="s-cancel" hidden>Cancel editing</button></div>
      </form>`;
    const on = (sel, fn) => document.querySelectorAll(sel).forEach((el) => el.addEventListener('click', () => fn(el)));
    on('[data-toggle]', (el) => act(() => api(`/schedules/${el.dataset.toggle}/${el.dataset.active === 'true' ? 'pause' : 'unpause'}/`, { method: 'POST' })));
    on('[data-trigger]', (el) => act(() => api(`/schedules/${el.dataset.trigger}/trigger/`, { method: 'POST' }), 'Run started'));
    on('[data-delete]', (el) => confirm('Delete this schedule?') && act(() => api(`/schedules/${el.dataset.delete}/`, { method: 'DELETE' }), 'Deleted'));
    let editing = null;
    const field = (id) => document.getElementById(id);
    on('[data-edit]', (el) => {
      const s = list.results.find((x) => String(x.id) === el.dataset.edit);
      if (!s) return;
      editing = s.id;
      field('s-title').textContent = `Edit schedule ${s.name}`;
      field('s-workflow').value = String(s.workflow_id);
      field('s-workflow').disabled = true;
      field('s-name').value = s.name;
      field('s-cron').value = s.cron_expression;
      field('s-tz').value = s.timezone;
      field('s-input').value = JSON.stringify(s.input_data || {}, null, 2);
      field('s-submit').textContent = 'Save';
      field('s-cancel').hidden = false;
      field('s-name').focus();
    });
    field('s-cancel').addEventListener('click', () => route());
    field('create').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const problems = field('s-problems');
      problems.hidden = true;
      try {
        const body = {
          name: field('s-name').value,
          cron_expression: field('s-cron').value,
          timezone: field('s-tz').value || 'UTC',
          input_data: parseJson(field('s-input').value, 'Input data'),
        };
        if (editing === null) await api('/schedules/', { method: 'POST', body: { workflow_id: Number(field('s-workflow').value), ...body } });
        else await api(`/schedules/${editing}/`, { method: 'PATCH', body });
        toast(editing === null ? 'Schedule created' : 'Schedule saved');
        route();
      } catch (e) {
        showProblems(problems, e);
      }
    });
  }

  async function templates() {
    const list = await api('/templates/');
    const items = list.results || list;
    app.innerHTML = html`<h1>Templates</h1>
      <table><thead><tr><th>Template</th><th>Steps</th><th></th></tr></thead><tbody>
      ${items.map((t) => raw(html`<tr><td><b>${t.name}</b><br><span class="muted">${t.description || ''}</span></td>
        <td>${(t.steps || []).map((s) => s.name).join(' → ')}</td>
        <td><button data-create="${t.template_name || t.code || t.name}">Create workflow</button></td></tr>`))}
      </tbody></table>`;
    document.querySelectorAll('[data-create]').forEach((el) =>
      el.addEventListener('click', () => {
        const name = prompt('Name of the new workflow');
        if (!name) return;
        act(async () => {
          const w = await api(`/templates/${encodeURIComponent(el.dataset.create)}/create/`, { method: 'POST', body: { name } });
          location.hash = `#/workflows/${w.id}`;
        });
      }),
    );
  }

  async function apiKeys() {
    const list = await api('/api-keys/?page_size=100&include_revoked=true');
    app.innerHTML = html`<h1>API keys</h1>
      <p class="muted">Keys sign in to this UI and call the API. A key's secret is shown once, when it is created; only its prefix is kept in view.</p>
      <table><thead><tr><th>Name</th><th>Prefix</th><th>Role</th><th>Created</th><th>Expires</th><th>Last used</th><th>State</th><th></th></tr></thead><tbody>
      ${list.results.map((k) => raw(html`<tr><td>${k.name}</td><td><code>${k.prefix || k.key_prefix || ''}</code></td><td>${k.role}</td>
        <td>${when(k.created_at)}${k.created_by ? ' · ' + k.created_by : ''}</td><td>${when(k.expires_at)}</td><td>${when(k.last_used_at)}</td>
        <td>${status(k.revoked_at ? 'revoked' : k.is_active ? 'active' : 'expired')}</td>
        <td>${k.revoked_at ? '' : raw(html`<button class="danger" data-revoke="${k.id}">Revoke</button>`)}</td></tr>`))}
      </tbody></table>
      <h2>New key</h2>
      <form id="k-create">
        <div class="inline">
          <input id="k-name" placeholder="Name, e.g. ci-deploy" aria-label="Key name" required>
          <select id="k-role" aria-label="Role">${['viewer', 'operator', 'admin'].map((r) => raw(html`<option value="${r}">${r}</option>`))}</select>
          <label for="k-expires">Expires</label><input id="k-expires" type="date" aria-label="Expires on">
          <button type="submit">Create key</button>
        </div>
        <div id="k-problems" class="error" hidden></div>
      </form>
      <div id="k-created" hidden><p>Copy this key now: it is not shown again.</p><pre id="k-secret"></pre></div>`;
    document.querySelectorAll('[data-revoke]').forEach((el) =>
      el.addEventListener('click', () => confirm('Revoke this key? Clients using it stop working at once.') && act(() => api(`/api-keys/${el.dataset.revoke}/`, { method: 'DELETE' }), 'Revoked')),
    );
    document.getElementById('k-create').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const problems = document.getElementById('k-problems');
      problems.hidden = true;
      try {
        const expires = document.getElementById('k-expires').value;
        const created = await api('/api-keys/', {
          method: 'POST',
          body: { name: document.getElementById('k-name').value, role: document.getElementById('k-role').value, ...(expires ? { expires_at: new Date(expires + 'T23:59:59Z').toISOString() } : {}) },
        });
        await apiKeys();
        document.getElementById('k-secret').textContent = created.key;
        document.getElementById('k-created').hidden = false;
      } catch (e) {
        showProblems(problems, e);
      }
    });
  }

  async function secretsPage() {
    const list = await api('/secrets/');
    app.innerHTML = html`<h1>Secrets</h1>
      <p class="muted">Stored encrypted under the master key. Values are write-only: no page and no endpoint shows one. Connections and step configs name a secret, never hold its value.</p>
      <table id="secrets"><thead><tr><th>Name</th><th>Description</th><th>Created</th><th>Updated</th><th>Last used</th><th></th></tr></thead><tbody>
      ${list.results.map((s) => raw(html`<tr data-secret="${s.name}"><td><code>${s.name}</code></td><td>${s.description}</td><td>${when(s.created_at)}${s.created_by ? ' · ' + s.created_by : ''}</td>
        <td>${when(s.updated_at)}</td><td>${when(s.last_used_at)}</td><td><button class="danger" data-delete-secret="${s.name}">Delete</button></td></tr>`))}
      </tbody></table>
      <h2>Set a secret</h2>
      <form id="s-set">
        <div class="inline">
          <input id="s-name" placeholder="NAME, e.g. ACME_API_TOKEN" aria-label="Secret name" required>
          <input id="s-value" type="password" autocomplete="new-password" placeholder="value" aria-label="Secret value" required>
          <input id="s-description" placeholder="description (optional)" aria-label="Description">
          <button type="submit">Save secret</button>
        </div>
        <p class="muted">An existing name gets the new value.</p>
        <div id="s-problems" class="error" hidden></div>
      </form>`;
    document.querySelectorAll('[data-delete-secret]').forEach((el) =>
      el.addEventListener('click', () => confirm(`Delete secret ${el.dataset.deleteSecret}?`) && act(() => api(`/secrets/${encodeURIComponent(el.dataset.deleteSecret)}/`, { method: 'DELETE' }), 'Secret deleted')),
    );
    document.getElementById('s-set').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const problems = document.getElementById('s-problems');
      problems.hidden = true;
      const name = document.getElementById('s-name').value.trim();
      const value = document.getElementById('s-value').value;
      const description = document.getElementById('s-description').value;
      try {
        await api(`/secrets/${encodeURIComponent(name)}/`, { method: 'PUT', body: { value, ...(description ? { description } : {}) } });
        document.getElementById('s-value').value = '';
        toast(`Secret ${name} saved`);
        await secretsPage();
      } catch (e) {
        showProblems(problems, e);
      }
    });
  }

  const KINDS = { suppliers: 'Suppliers', marketplaces: 'Marketplaces', carriers: 'Carriers' };
  /** Platforms with an adapter, per connection kind (docs/connections.md). */
  const CONNECTION_PLATFORMS = {
    suppliers: ['sandbox', 'generic_rest', 'feed', 'shopify', 'woocommerce'],
    marketplaces: ['sandbox', 'shopify', 'woocommerce'],
    carriers: ['sandbox'],
  };

  async function connectionsPage(kind) {
    if (!KINDS[kind]) kind = 'suppliers';
    const list = await api(`/${kind}/`);
    const secretNames = await api('/secrets/').then((r) => r.results.map((s) => s.name)).catch(() => null);
    app.innerHTML = html`<h1>Connections: ${KINDS[kind]}</h1>
      <p>${Object.entries(KINDS).map(([k, label]) => raw(html`<a href="#/connections/${k}" class="${k === kind ? 'active' : ''}">${label}</a> `))}</p>
      <p class="muted">Credentials name a secret (see Secrets); a value typed here is refused. Disabling keeps the history; a connection a schedule uses cannot be deleted.</p>
      <table id="connections"><thead><tr><th>ID</th><th>Code</th><th>Name</th><th>Platform</th><th>Endpoint</th><th>Secret</th><th>Rate budget</th><th>State</th><th></th></tr></thead><tbody>
      ${list.results.map((c) => raw(html`<tr data-connection="${c.id}"><td>${c.id}</td><td><code>${c.code}</code></td><td>${c.name}</td><td>${c.platform}</td><td><code>${c.endpoint}</code></td>
        <td>${c.credentials && c.credentials.secret ? raw(html`<code>${c.credentials.secret}</code> (${c.credentials.type})`) : '—'}</td><td>${summary(c.rate_budget)}</td>
        <td>${status(c.is_active ? 'active' : 'disabled')}${c.disabled_at ? ' since ' + when(c.disabled_at) : ''}</td>
        <td><button data-test="${c.id}">Test</button>
          ${c.is_active ? raw(html`<button data-disable="${c.id}">Disable</button>`) : raw(html`<button data-enable="${c.id}">Enable</button>`)}
          <button class="danger" data-delete="${c.id}">Delete</button></td></tr>`))}
      </tbody></table>
      <div id="c-test" hidden></div>
      <h2>New ${KINDS[kind].toLowerCase().replace(/s$/, '')}</h2>
      <form id="c-create">
        <div class="inline">
          <input id="c-code" placeholder="code, e.g. acme" aria-label="Code" required>
          <input id="c-name" placeholder="Name" aria-label="Name" required>
          <input id="c-endpoint" placeholder="Endpoint, e.g. https://api.example.com/v1" aria-label="Endpoint" required size="40">
          <select id="c-platform" aria-label="Platform">${(CONNECTION_PLATFORMS[kind] ?? ['sandbox']).map((p) => raw(html`<option value="${p}">${p}</option>`))}</select>
        </div>
        <div class="inline">
          <select id="c-auth" aria-label="Credentials type"><option value="none">no credentials</option><option value="bearer">bearer token</option><option value="api_key">API key header</option><option value="basic">basic (secret holds user:password)</option></select>
          ${secretNames
            ? raw(html`<select id="c-secret" aria-label="Secret"><option value="">(secret)</option>${secretNames.map((n) => raw(html`<option value="${n}">${n}</option>`))}</select>`)
            : raw(html`<input id="c-secret" placeholder="secret NAME" aria-label="Secret">`)}
          <input id="c-header" placeholder="header (API key), e.g. X-Api-Key" aria-label="Header">
        </div>
        <label for="c-mapping">Field mapping (JSONata per target field)</label>
        <textarea id="c-mapping" rows="3" placeholder='{"sku": "sku", "title": "$trim(title)"}'></textarea>
        <label for="c-settings">Settings (per platform, see docs/connections.md)</label>
        <textarea id="c-settings" rows="3" placeholder='feed: {"format": "csv", "delimiter": ";"} · generic_rest: {"products_path": "/items", "items_path": "data.products", "pagination": {"style": "offset"}}'></textarea>
        <label for="c-budget">Rate budget</label>
        <textarea id="c-budget" rows="2" placeholder='{"requests_per_second": 10, "burst": 20, "max_concurrent": 4}'></textarea>
        <button type="submit">Create</button>
        <div id="c-problems" class="error" hidden></div>
      </form>`;
    const onClick = (attr, fn) => document.querySelectorAll(`[data-${attr}]`).forEach((el) => el.addEventListener('click', () => fn(el.getAttribute(`data-${attr}`))));
    onClick('disable', (id) => act(() => api(`/${kind}/${id}/disable/`, { method: 'POST' }), 'Disabled'));
    onClick('enable', (id) => act(() => api(`/${kind}/${id}/`, { method: 'PATCH', body: { is_active: true } }), 'Enabled'));
    onClick('delete', (id) => confirm('Delete this connection?') && act(() => api(`/${kind}/${id}/`, { method: 'DELETE' }), 'Deleted'));
    onClick('test', async (id) => {
      const out = document.getElementById('c-test');
      out.hidden = false;
      out.innerHTML = '<p class="muted">Testing…</p>';
      try {
        const r = await api(`/${kind}/${id}/test/`, { method: 'POST' });
        out.innerHTML = html`<h2>Test of ${id}: ${status(r.ok ? 'completed' : 'failed')}</h2>
          <p><code>${r.request}</code> · reachable: <b>${r.reachable ? 'yes' : 'no'}</b> · authenticated: <b>${r.authenticated === null ? 'unknown' : r.authenticated ? 'yes' : 'no'}</b>${r.status ? ` · HTTP ${r.status}` : ''}</p>
          ${r.reason ? raw(html`<p class="reason">${r.reason}</p>`) : ''}
          ${r.sample ? raw(html`<h3>Sample item</h3><pre>${JSON.stringify(r.sample.item, null, 2)}</pre>${r.sample.mapped ? raw(html`<h3>Mapped</h3><pre id="c-mapped">${JSON.stringify(r.sample.mapped, null, 2)}</pre>`) : ''}`) : ''}`;
      } catch (e) {
        out.innerHTML = html`<p class="error">${e.message}</p>`;
      }
    });
    document.getElementById('c-create').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const problems = document.getElementById('c-problems');
      problems.hidden = true;
      const v = (id) => document.getElementById(id).value.trim();
      try {
        const body = { code: v('c-code'), name: v('c-name'), endpoint: v('c-endpoint'), platform: v('c-platform') };
        if (v('c-auth') !== 'none' || v('c-secret')) body.credentials = { type: v('c-auth'), ...(v('c-secret') ? { secret: v('c-secret') } : {}), ...(v('c-header') ? { header: v('c-header') } : {}) };
        if (v('c-mapping')) body.field_mapping = parseJson(v('c-mapping'), 'Field mapping');
        if (v('c-settings')) body.settings = parseJson(v('c-settings'), 'Settings');
        if (v('c-budget')) body.rate_budget = parseJson(v('c-budget'), 'Rate budget');
        await api(`/${kind}/`, { method: 'POST', body });
        toast('Created');
        route();
      } catch (e) {
        showProblems(problems, e);
      }
    });
  }

  async function channelsPage() {
    const list = await api('/channels/');
    const mail = await api('/mailbox/?limit=20').catch(() => ({ results: [] }));
    app.innerHTML = html`<h1>Notification channels</h1>
      <p class="muted">Steps and templates route alerts, summaries and failures to a channel by name (<code>{"type": "channel", "channel": "ops-email"}</code>). Secrets are named, never typed here.</p>
      <table id="channels"><thead><tr><th>Name</th><th>Type</th><th>Config</th><th>Last sent</th><th>State</th><th></th></tr></thead><tbody>
      ${list.results.map((c) => raw(html`<tr data-channel="${c.id}"><td><code>${c.name}</code></td><td>${c.type}</td><td><code>${JSON.stringify(c.config)}</code></td><td>${when(c.last_sent_at)}</td>
        <td>${status(c.is_active ? 'active' : 'disabled')}</td>
        <td><button data-ch-test="${c.id}">Send test</button> ${c.is_active ? raw(html`<button data-ch-disable="${c.id}">Disable</button>`) : ''} <button class="danger" data-ch-delete="${c.id}">Delete</button></td></tr>`))}
      </tbody></table>
      <h2>New channel</h2>
      <form id="ch-create">
        <div class="inline">
          <input id="ch-name" placeholder="name, e.g. ops-email" aria-label="Name" required>
          <select id="ch-type" aria-label="Type"><option value="email">email</option><option value="webhook">webhook (HMAC-signed)</option><option value="slack">Slack-compatible webhook</option></select>
        </div>
        <label for="ch-config">Config</label>
        <textarea id="ch-config" rows="3" placeholder='email: {"recipients": ["ops@example.com"]} · webhook: {"url": "https://...", "signing_secret": "HOOK_SECRET"} · slack: {"url_secret": "SLACK_URL"}'></textarea>
        <button type="submit">Create</button>
        <div id="ch-problems" class="error" hidden></div>
      </form>
      <h2>Mailbox (local SMTP catcher)</h2>
      <table id="mailbox"><thead><tr><th>Received</th><th>To</th><th>Subject</th><th>Text</th></tr></thead><tbody>
      ${mail.results.map((m) => raw(html`<tr><td>${when(m.received_at)}</td><td>${(m.to || []).join(', ')}</td><td>${m.subject}</td><td><pre>${String(m.text || '').slice(0, 2000)}</pre></td></tr>`))}
      </tbody></table>`;
    const onClick = (attr, fn) => document.querySelectorAll(`[data-${attr}]`).forEach((el) => el.addEventListener('click', () => fn(el.getAttribute(`data-${attr}`))));
    onClick('ch-test', async (id) => {
      try {
        const r = await api(`/channels/${id}/test/`, { method: 'POST' });
        if (r.ok) toast('Test message sent');
        else toast(`Test failed: ${r.reason}`, true);
        await channelsPage();
      } catch (e) {
        toast(e.message, true);
      }
    });
    onClick('ch-disable', (id) => act(() => api(`/channels/${id}/disable/`, { method: 'POST' }), 'Disabled'));
    onClick('ch-delete', (id) => confirm('Delete this channel?') && act(() => api(`/channels/${id}/`, { method: 'DELETE' }), 'Deleted'));
    document.getElementById('ch-create').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const problems = document.getElementById('ch-problems');
      problems.hidden = true;
      try {
        await api('/channels/', { method: 'POST', body: { name: document.getElementById('ch-name').value.trim(), type: document.getElementById('ch-type').value, config: parseJson(document.getElementById('ch-config').value, 'Config') } });
        toast('Channel created');
        route();
      } catch (e) {
        showProblems(problems, e);
      }
    });
  }

  function refreshWhile(condition, ms) {
    clearTimeout(timer);
    if (condition) timer = setTimeout(() => route(true), ms);
  }

  // ---------- routing ----------

  // Navigations run one after another, so a slow earlier page can never paint over a later one.
  let routing = Promise.resolve();
  function route(quiet) {
    routing = routing.then(() => render(quiet)).catch((e) => toast(e.message, true));
    return routing;
  }

  async function render(quiet) {
    clearTimeout(timer);
    if (!sessionStorage.getItem(KEY_STORAGE)) return login();
    document.getElementById('nav').hidden = false;
    const [path, qs] = (location.hash.slice(1) || '/').split('?');
    const query = new URLSearchParams(qs || '');
    const parts = path.split('/').filter(Boolean);
    document.querySelectorAll('[data-nav]').forEach((a) => a.classList.toggle('active', a.dataset.nav === (parts[0] || 'dashboard')));
    if (!quiet) app.innerHTML = '<p class="muted">Loading…</p>';
    try {
      if (!temporalUi) {
        temporalUi = true;
        api('/health/')
          .then((h) => {
            if (h && h.temporal && h.temporal.ui_url) document.getElementById('temporal-link').href = h.temporal.ui_url;
          })
          .catch(() => undefined);
      }
      if (parts.length === 0) return await dashboard();
      if (parts[0] === 'workflows') return parts[1] === 'new' ? await newWorkflow() : parts[1] ? await workflow(decodeURIComponent(parts[1])) : await workflows(query);
      if (parts[0] === 'executions') return parts[1] ? await execution(decodeURIComponent(parts[1])) : await executions(query);
      if (parts[0] === 'schedules') return await schedules();
      if (parts[0] === 'templates') return await templates();
      if (parts[0] === 'api-keys') return await apiKeys();
      if (parts[0] === 'secrets') return await secretsPage();
      if (parts[0] === 'channels') return await channelsPage();
      if (parts[0] === 'connections') return await connectionsPage(parts[1]);
      app.innerHTML = '<h1>Not found</h1>';
    } catch (e) {
      app.innerHTML = html`<p class="error">${e.message}</p>`;
    }
  }

  document.getElementById('logout').addEventListener('click', () => {
    sessionStorage.removeItem(KEY_STORAGE);
    fetch(API + '/codec/session', { method: 'DELETE' }).catch(() => undefined);
    location.hash = '#/';
    route();
  });
  window.addEventListener('hashchange', () => route());
  route();
})();
