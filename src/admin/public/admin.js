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
  // What the operator sees: the status, or "completed with failures" (with the count) when items failed after their retries.
  const outcome = (r) =>
    r.outcome === 'completed_with_failures'
      ? raw(html`<span class="status completed_with_failures" title="${r.failed_items_total} failed item(s)">completed with failures · ${r.failed_items_total}</span>`)
      : status(r.status);
  function bar(done, total, state) {
    const max = Math.max(total || 0, 1);
    return raw(html`<progress class="${state}" value="${Math.min(done || 0, max)}" max="${max}" title="${done}/${total}"></progress>`);
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
    if (!res.ok) throw new Error(body && body.message ? `${body.code}: ${body.message}` : `HTTP ${res.status}`);
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
      <h2>Latest runs</h2>${raw(runsTable(runs.results))}`;
    refreshWhile(runs.results.some((r) => r.status === 'running' || r.status === 'pending'), 3000);
  }

  function runsTable(rows) {
    if (rows.length === 0) return '<p class="muted">No runs yet.</p>';
    return html`<table><thead><tr><th>Run</th><th>Workflow</th><th>Status</th><th>Progress</th><th>Trigger</th><th>Started</th><th>Duration</th></tr></thead><tbody>
      ${rows.map((r) => raw(html`<tr>
        <td><a href="#/executions/${encodeURIComponent(r.execution_id)}">${r.execution_id}</a></td>
        <td>${r.workflow_code || r.workflow_id}</td>
        <td>${outcome(r)}</td>
        <td>${bar(r.completed_steps, r.total_steps, r.status)} <span class="muted">${r.completed_steps}/${r.total_steps}</span></td>
        <td>${r.trigger_type}</td><td>${when(r.started_at || r.created_at)}</td><td>${seconds(r.duration_seconds)}</td></tr>`))}
      </tbody></table>`;
  }

  async function workflows(query) {
    const page = Number(query.get('page') || 1);
    const list = await api(`/workflows/?page=${page}&page_size=25`);
    app.innerHTML = html`<h1>Workflows</h1>
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

  async function workflow(id) {
    const [w, runs, versions] = await Promise.all([api(`/workflows/${id}/`), api(`/executions/?workflow=${id}&page_size=10`), api(`/workflows/${id}/versions/`)]);
    const steps = w.steps || [];
    app.innerHTML = html`<h1>${w.name} <span class="muted">${w.code} · v${w.current_version}</span></h1>
      <p>${w.description || ''}</p>
      <form class="inline" id="run"><label for="input">Input data (JSON)</label></form>
      <textarea id="input" aria-label="Input data">{}</textarea>
      <div class="toolbar"><button id="execute">Run now</button></div>
      <h2>Steps</h2>
      <table><thead><tr><th>#</th><th>Key</th><th>Name</th><th>Type</th><th>Depends on</th><th>Options</th></tr></thead><tbody>
      ${steps.map((s) => raw(html`<tr><td>${s.order}</td><td>${s.key}</td><td>${s.name}</td><td>${s.step_type}</td>
        <td>${(s.depends_on_steps || []).join(', ') || '—'}</td>
        <td class="muted">${[s.is_optional ? 'optional' : '', s.parallel_group ? `group ${s.parallel_group}` : '', s.condition ? 'conditional' : '', s.role !== 'main' ? s.role + (s.compensates ? ' of ' + s.compensates : '') : '', `timeout ${s.timeout_seconds}s`].filter(Boolean).join(' · ')}</td></tr>`))}
      </tbody></table>
      <h2>Configuration</h2><pre>${JSON.stringify(w.config, null, 2)}</pre>
      <h2>Versions</h2><p>${(versions.results || versions).map((v) => `v${v.version} (${when(v.created_at)})`).join(' · ')}</p>
      <h2>Latest runs</h2>${raw(runsTable(runs.results))}`;
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

  async function execution(id) {
    const r = await api(`/executions/${encodeURIComponent(id)}/`);
    const p = r.progress || {};
    const waiting = (r.steps || []).filter((s) => s.status === 'waiting');
    const finished = ['completed', 'failed', 'cancelled'].includes(r.status);
    app.innerHTML = html`<h1>Run ${r.execution_id}</h1>
      <div class="toolbar">${outcome(r)} ${bar(p.completed_steps ?? r.completed_steps, p.total_steps ?? r.total_steps, r.status)}
        <span class="muted">${p.completed_steps ?? r.completed_steps}/${p.total_steps ?? r.total_steps} steps${p.running_steps && p.running_steps.length ? ' · running ' + p.running_steps.join(', ') : ''}</span>
        <a href="${r.temporal_ui_url}" target="_blank" rel="noopener">history in Temporal ↗</a></div>
      <p class="muted">Workflow <a href="#/workflows/${r.workflow_id}">${r.workflow_code || r.workflow_id}</a> v${r.version} · trigger ${r.trigger_type}
        ${r.restarted_from ? raw(html` · restarted from <a href="#/executions/${encodeURIComponent(r.restarted_from)}">${r.restarted_from}</a>`) : ''}
        · started ${when(r.started_at)} · duration ${seconds(r.duration_seconds)}</p>
      ${r.error_message ? raw(html`<p class="error">${r.error_message}</p>`) : ''}
      ${r.failed_items_total > 0 ? raw(failedItemsTable(r)) : ''}
      <div class="toolbar">
        ${!finished ? raw('<button class="danger" id="cancel">Cancel run</button>') : ''}
        ${finished && r.status !== 'completed' ? raw('<button id="restart">Restart from failed step</button>') : ''}
        ${waiting.map((s) => raw(html`<span>Approval <b>${s.step_name}</b>:</span><button data-approve="${s.step_key}">Approve</button><button class="secondary" data-reject="${s.step_key}">Reject</button>`))}
      </div>
      <h2>Steps</h2>
      <table><thead><tr><th>Step</th><th>Type</th><th>Status</th><th>Attempt</th><th>Started</th><th>Duration</th><th>Result</th></tr></thead><tbody>
      ${(r.steps || []).map((s) => raw(html`<tr><td>${s.step_name} <span class="muted">${s.step_key}${s.role && s.role !== 'main' ? ' · ' + s.role : ''}</span></td>
        <td>${s.step_type}</td><td>${outcome(s)}</td><td>${s.attempt}${s.max_attempts ? ' / ' + s.max_attempts : ''}</td>
        <td>${when(s.started_at)}</td><td>${s.duration_ms === null || s.duration_ms === undefined ? '—' : s.duration_ms + ' ms'}</td>
        <td>${s.error_message ? raw(html`<span class="error">${s.error_message}</span>`) : raw(html`<span class="muted">${summary(s.output_summary)}</span>`)}</td></tr>`))}
      </tbody></table>
      <h2>Input</h2><pre>${JSON.stringify(r.input_data, null, 2)}</pre>
      ${finished ? raw(html`<h2>Output</h2><pre>${JSON.stringify(r.output_data, null, 2)}</pre>`) : ''}`;
    const on = (sel, fn) => document.querySelectorAll(sel).forEach((el) => el.addEventListener('click', () => fn(el)));
    on('#cancel', () => act(() => api(`/executions/${encodeURIComponent(id)}/cancel/`, { method: 'POST' }), 'Cancellation requested'));
    on('#restart', () =>
      act(async () => {
        const next = await api(`/executions/${encodeURIComponent(id)}/restart/`, { method: 'POST', body: {} });
        location.hash = `#/executions/${encodeURIComponent(next.execution_id)}`;
      }),
    );
    on('[data-approve]', (el) => act(() => api(`/executions/${encodeURIComponent(id)}/signal/`, { method: 'POST', body: { step_key: el.dataset.approve, decision: 'approve' } }), 'Approved'));
    on('[data-reject]', (el) => act(() => api(`/executions/${encodeURIComponent(id)}/signal/`, { method: 'POST', body: { step_key: el.dataset.reject, decision: 'reject' } }), 'Rejected'));
    refreshWhile(!finished, 1000);
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
            <button class="danger" data-delete="${s.id}">Delete</button></td></tr>`))}
      </tbody></table>
      <h2>New schedule</h2>
      <form class="inline" id="create">
        <select id="s-workflow" aria-label="Workflow">${wfs.results.map((w) => raw(html`<option value="${w.id}">${w.name}</option>`))}</select>
        <input id="s-name" placeholder="Name" aria-label="Name" required>
        <input id="s-cron" placeholder="0 3 * * *" aria-label="Cron expression" required>
        <input id="s-tz" value="UTC" aria-label="Time zone">
        <button type="submit">Create</button>
      </form>`;
    const on = (sel, fn) => document.querySelectorAll(sel).forEach((el) => el.addEventListener('click', () => fn(el)));
    on('[data-toggle]', (el) => act(() => api(`/schedules/${el.dataset.toggle}/${el.dataset.active === 'true' ? 'pause' : 'unpause'}/`, { method: 'POST' })));
    on('[data-trigger]', (el) => act(() => api(`/schedules/${el.dataset.trigger}/trigger/`, { method: 'POST' }), 'Run started'));
    on('[data-delete]', (el) => confirm('Delete this schedule?') && act(() => api(`/schedules/${el.dataset.delete}/`, { method: 'DELETE' }), 'Deleted'));
    document.getElementById('create').addEventListener('submit', (ev) => {
      ev.preventDefault();
      act(
        () =>
          api('/schedules/', {
            method: 'POST',
            body: {
              workflow_id: Number(document.getElementById('s-workflow').value),
              name: document.getElementById('s-name').value,
              cron_expression: document.getElementById('s-cron').value,
              timezone: document.getElementById('s-tz').value || 'UTC',
            },
          }),
        'Schedule created',
      );
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
      if (parts[0] === 'workflows') return parts[1] ? await workflow(decodeURIComponent(parts[1])) : await workflows(query);
      if (parts[0] === 'executions') return parts[1] ? await execution(decodeURIComponent(parts[1])) : await executions(query);
      if (parts[0] === 'schedules') return await schedules();
      if (parts[0] === 'templates') return await templates();
      app.innerHTML = '<h1>Not found</h1>';
    } catch (e) {
      app.innerHTML = html`<p class="error">${e.message}</p>`;
    }
  }

  document.getElementById('logout').addEventListener('click', () => {
    sessionStorage.removeItem(KEY_STORAGE);
    location.hash = '#/';
    route();
  });
  window.addEventListener('hashchange', () => route());
  route();
})();
