import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ScheduleNotFoundError, type Client } from '@temporalio/client';
import { stepTypeRegistry } from '@engine/activities/registry';
import type { InterpreterInput } from '@engine/shared/contracts';
import { scheduleOwner, SchedulesService, SCHEDULE_ID_PREFIX } from '@src/schedules/schedules.service';
import { WorkflowsService } from '@src/workflows/workflows.service';
import { eventually } from '@test/support/harness';
import { testExecutors } from '@test/support/executors';
import { echoDefinition, isErrorShape, startApi, startReplica, uniqueCode, type ApiHarness } from './support';

interface ScheduleBody {
  id: number;
  workflow_id: number;
  workflow_version: number;
  cron_expression: string;
  timezone: string;
  is_active: boolean;
  status: string;
  sync_state: string;
  sync_error: string | null;
  temporal_schedule_id: string;
  next_run_at: string | null;
  total_runs: number;
  temporal_ui_url: string;
  live?: { paused: boolean; recent_runs: Array<{ execution_id: string }>; next_run_times: string[] };
}

type Fault = { mode: 'before' | 'after'; times: number };

/** A Temporal client whose schedule calls fail on demand, before or after reaching Temporal (an ambiguous failure). */
function faultyClient(real: Client, faults: Partial<Record<'create' | 'update' | 'describe' | 'pause' | 'delete', Fault>>): Client {
  const unavailable = () => Object.assign(new Error('14 UNAVAILABLE: injected fault'), { name: 'ServiceError', code: 14 });
  const wrap = <T extends object>(target: T, names: string[]): T =>
    new Proxy(target, {
      get(t, p) {
        const v = Reflect.get(t, p, t) as unknown;
        if (typeof v !== 'function') return v;
        const fault = names.includes(String(p)) ? faults[String(p) as keyof typeof faults] : undefined;
        if (!fault || fault.times <= 0) return p === 'getHandle' ? (id: string) => wrap(v.call(t, id), ['update', 'describe', 'pause', 'delete']) : v.bind(t);
        return async (...args: unknown[]) => {
          fault.times--;
          if (fault.mode === 'after') await v.apply(t, args);
          throw unavailable();
        };
      },
    });
  const schedule = wrap(real.schedule, ['create', 'getHandle']);
  return new Proxy(real, { get: (t, p) => (p === 'schedule' ? schedule : (Reflect.get(t, p, t) as unknown)) });
}

describe('schedules API', () => {
  let api: ApiHarness;
  let workflowId: number;
  before(async () => {
    api = await startApi();
    const r = await api.request<{ id: number }>('POST', '/workflows/', { body: echoDefinition(uniqueCode('sch')) });
    workflowId = r.body.id;
  });
  after(async () => {
    await api?.close();
  });

  const handle = (id: string) => api.h.client.schedule.getHandle(id);
  const createSchedule = (body: Record<string, unknown>) =>
    api.request<ScheduleBody>('POST', '/schedules/', { body: { workflow_id: workflowId, name: uniqueCode('nightly'), cron_expression: '0 3 * * *', ...body } });

  function service(temporal: () => Promise<Client>, settleMs?: number): SchedulesService {
    const registry = stepTypeRegistry(testExecutors(() => api.h.dataSource));
    return new SchedulesService(api.h.dataSource, temporal, new WorkflowsService(api.h.dataSource, registry), registry, {
      taskQueue: api.h.taskQueue,
      namespace: api.config.temporal.namespace,
      owner: scheduleOwner(api.config.databaseUrl, api.config.temporal.namespace),
      settleMs,
    });
  }

  it('keeps SKIP when an order workflow\'s schedule is triggered while its run is still going', async () => {
    const wf = await api.request<{ id: number }>('POST', '/workflows/', {
      body: {
        code: uniqueCode('sched_orders'),
        name: 'orders',
        workflow_type: 'order_processing',
        config: { marketplace_id: 9 },
        steps: [{ key: 'nap', name: 'Nap', step_type: 'test_sleep', config: { ms: 120_000 }, timeout_seconds: 300 }],
      },
    });
    assert.equal(wf.status, 201, wf.text);
    const created = await createSchedule({ workflow_id: wf.body.id });
    assert.equal(created.status, 201, created.text);
    const s = created.body;
    const trigger = () => api.request('POST', `/schedules/${s.id}/trigger/`, { key: api.keys.operator });
    assert.equal((await trigger()).status, 202);
    const running = await eventually(async () => {
      const d = await handle(s.temporal_schedule_id).describe();
      return d.info.runningActions.length === 1 ? d.info.runningActions[0].workflow.workflowId : null;
    }, 30_000, 'the triggered run to start');
    assert.equal((await trigger()).status, 202);
    const skipped = await eventually(async () => {
      const d = await handle(s.temporal_schedule_id).describe();
      return d.info.numActionsSkippedOverlap >= 1 ? d : null;
    }, 30_000, 'the second trigger to be skipped');
    assert.equal(skipped.info.numActionsTaken, 1, 'one run only');
    assert.deepEqual(skipped.info.runningActions.map((a) => a.workflow.workflowId), [running]);
    await api.h.client.workflow.getHandle(running).terminate('test over');
    assert.equal((await api.request('DELETE', `/schedules/${s.id}/`)).status, 204);
  });

  it('creates a Temporal Schedule that pins the definition, triggers a run, pauses, unpauses and deletes it', async () => {
    const created = await createSchedule({ cron_expression: '30 2 * * MON-FRI', timezone: 'Europe/Paris', input_data: { n: 7 } });
    assert.equal(created.status, 201, created.text);
    const s = created.body;
    assert.equal(s.sync_state, 'synced');
    assert.equal(s.status, 'active');
    assert.equal(s.workflow_version, 1);
    assert.equal(s.temporal_schedule_id, `${SCHEDULE_ID_PREFIX}${s.id}`);
    assert.ok(s.next_run_at);
    assert.equal(s.temporal_ui_url, `${api.config.temporal.uiUrl}/namespaces/${api.config.temporal.namespace}/schedules/${s.temporal_schedule_id}`);

    const desc = await handle(s.temporal_schedule_id).describe();
    assert.equal(desc.state.paused, false);
    assert.equal(desc.spec.timezone, 'Europe/Paris');
    assert.equal(desc.action.taskQueue, api.h.taskQueue);
    const args = desc.action.args![0] as InterpreterInput;
    assert.equal(args.trigger_type, 'schedule');
    assert.equal(args.triggered_by, `schedule:${s.id}`);
    assert.equal(args.definition.version, 1);
    assert.deepEqual(args.input, { n: 7 });
    assert.equal(args.execution_id, undefined);

    const triggered = await api.request<ScheduleBody & { triggered: boolean }>('POST', `/schedules/${s.id}/trigger/`, { key: api.keys.operator });
    assert.equal(triggered.status, 202, triggered.text);
    assert.equal(triggered.body.triggered, true);
    const runs = await eventually(async () => {
      const r = await api.request<{ count: number; results: Array<{ execution_id: string; trigger_type: string; status: string; schedule_id: number; triggered_by: string }> }>(
        'GET',
        `/executions/?schedule=${s.id}&status=completed`,
      );
      return r.body.count === 1 ? r.body.results : null;
    }, 30_000, 'the scheduled run to complete');
    assert.equal(runs[0].trigger_type, 'schedule');
    assert.equal(runs[0].schedule_id, s.id);
    assert.ok(runs[0].execution_id.startsWith(`${desc.action.workflowId}-`), runs[0].execution_id);
    const run = await api.request<{ output_data: { input: { n: number } } }>('GET', `/executions/${runs[0].execution_id}/`);
    assert.equal(run.body.output_data.input.n, 7);
    const got = await api.request<ScheduleBody>('GET', `/schedules/${s.id}/`);
    assert.equal(got.body.total_runs, 1);
    assert.equal(got.body.live?.recent_runs[0].execution_id, runs[0].execution_id);

    const paused = await api.request<ScheduleBody>('POST', `/schedules/${s.id}/pause/`, { key: api.keys.operator, body: { note: 'holiday' } });
    assert.equal(paused.status, 200, paused.text);
    assert.equal(paused.body.status, 'paused');
    assert.equal((await handle(s.temporal_schedule_id).describe()).state.paused, true);
    assert.equal((await handle(s.temporal_schedule_id).describe()).state.note, 'holiday');
    const unpaused = await api.request<ScheduleBody>('POST', `/schedules/${s.id}/unpause/`, { key: api.keys.operator });
    assert.equal(unpaused.body.is_active, true);
    assert.equal((await handle(s.temporal_schedule_id).describe()).state.paused, false);

    const del = await api.request('DELETE', `/schedules/${s.id}/`);
    assert.equal(del.status, 204);
    await assert.rejects(handle(s.temporal_schedule_id).describe(), ScheduleNotFoundError);
    assert.equal((await api.request('GET', `/schedules/${s.id}/`)).status, 404);
    assert.equal((await api.request('POST', `/schedules/${s.id}/trigger/`, { key: api.keys.operator })).status, 404);
  });

  it('re-pins the current definition version on update, and creates paused schedules', async () => {
    const code = uniqueCode('pin');
    const wf = await api.request<{ id: number }>('POST', '/workflows/', { body: echoDefinition(code) });
    const created = await createSchedule({ workflow_id: wf.body.id, is_active: false });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body.status, 'paused');
    assert.equal((await handle(created.body.temporal_schedule_id).describe()).state.paused, true);

    await api.request('PATCH', `/workflows/${wf.body.id}/`, { body: { config: { changed: true } } });
    const updated = await api.request<ScheduleBody>('PATCH', `/schedules/${created.body.id}/`, { body: { cron_expression: '@hourly', input_data: { n: 1 } } });
    assert.equal(updated.status, 200, updated.text);
    assert.equal(updated.body.workflow_version, 2);
    assert.equal(updated.body.cron_expression, '@hourly');
    assert.equal(updated.body.is_active, false, 'an update keeps the paused state');
    const desc = await handle(created.body.temporal_schedule_id).describe();
    assert.equal((desc.action.args![0] as InterpreterInput).definition.version, 2);
    assert.deepEqual((desc.action.args![0] as InterpreterInput).definition.config, { changed: true });
    assert.equal(desc.state.paused, true);
    assert.equal(new Date(desc.info.nextActionTimes[0]).getUTCMinutes(), 0);

    const inUse = await api.request('DELETE', `/workflows/${wf.body.id}/`);
    assert.equal(inUse.status, 409);
    assert.equal(inUse.body.code, 'WORKFLOW_HAS_SCHEDULES');
    assert.equal((await api.request('DELETE', `/schedules/${created.body.id}/`)).status, 204);
  });

  it('rejects bad cron expressions, time zones and bodies with 400 naming the field', async () => {
    const crons = ['', '* * * *', '0 0 1 * ?', '61 * * * *', '* 24 * * *', '* * 0 * *', '* * * 13 *', '* * * * 8', '5-1 * * * *', '*/0 * * * *', 'a b c d e', '@sometimes', '@every 0m', 'TZ=UTC 0 3 * * *', '0 3 * * * # nightly'];
    for (const cron_expression of crons) {
      const r = await createSchedule({ cron_expression });
      assert.equal(r.status, 400, `${cron_expression}: ${r.text}`);
      assert.ok(isErrorShape(r.body));
      assert.match(r.text, /cron_expression/);
    }
    for (const ok of ['*/15 * * * *', '0 0 1 JAN,JUL *', '0 30 9 * * MON-FRI 2030', '@daily', '@every 90m']) {
      const r = await createSchedule({ cron_expression: ok, is_active: false });
      assert.equal(r.status, 201, `${ok}: ${r.text}`);
      assert.equal((await api.request('DELETE', `/schedules/${r.body.id}/`)).status, 204);
    }
    for (const timezone of ['Mars/Olympus', 'utc', '']) {
      const r = await createSchedule({ timezone });
      assert.equal(r.status, 400, timezone);
      assert.match(r.text, /timezone/);
    }
    const cases: Array<[Record<string, unknown>, number, string]> = [
      [{ workflow_id: 2147483647 }, 404, 'NOT_FOUND'],
      [{ workflow_id: 'one' }, 400, 'workflow_id'],
      [{ input_data: [1] }, 400, 'input_data'],
      [{ is_active: 'yes' }, 400, 'is_active'],
      [{ owner: 'me' }, 400, 'owner'],
    ];
    for (const [body, status, mention] of cases) {
      const r = await createSchedule(body);
      assert.equal(r.status, status, r.text);
      assert.ok(r.text.includes(mention), r.text);
    }
    const s = (await createSchedule({ is_active: false })).body;
    const bad = await api.request('PATCH', `/schedules/${s.id}/`, { body: { cron_expression: '99 * * * *' } });
    assert.equal(bad.status, 400);
    const unchanged = await api.request<ScheduleBody>('GET', `/schedules/${s.id}/`);
    assert.equal(unchanged.body.cron_expression, '0 3 * * *');
    assert.equal(unchanged.body.sync_state, 'synced');
    await api.request('DELETE', `/schedules/${s.id}/`);
  });

  it('refuses schedules that fire more often than the minimum interval, or never, on create and update (400 naming cron_expression)', async () => {
    const tooOften = ['* * * * * * *', '*/30 * * * * * *', '0,30 * * * * * *', '@every 1s', '@every 59s'];
    const never = ['0 0 31 2 *', '0 0 30 2 *', '0 0 31 4 *', '0 0 1 1 * 2020', '0 0 0 1 1 * 2001-2025'];
    for (const cron_expression of [...tooOften, ...never]) {
      const r = await createSchedule({ cron_expression, is_active: false });
      assert.equal(r.status, 400, `${cron_expression}: ${r.text}`);
      assert.ok(isErrorShape(r.body));
      assert.equal((r.body as unknown as { code: string }).code, 'VALIDATION_FAILED');
      const errors = (r.body as unknown as { details: { errors: Array<{ field: string; message: string }> } }).details.errors;
      assert.equal(errors[0].field, 'cron_expression', r.text);
      assert.match(errors[0].message, never.includes(cron_expression) ? /never fires/ : /at most once every 1 minute/, r.text);
    }
    // Every minute is the default minimum, and it is allowed; so are rare but real dates.
    for (const ok of ['* * * * *', '@every 1m', '0 0 29 2 *', '0 0 13 * FRI', '0 0 0 1 1 * 2030']) {
      const r = await createSchedule({ cron_expression: ok, is_active: false });
      assert.equal(r.status, 201, `${ok}: ${r.text}`);
      assert.equal((await api.request('DELETE', `/schedules/${r.body.id}/`)).status, 204);
    }
    // Update: refused the same way, and nothing changes, in the row or in Temporal.
    const s = (await createSchedule({ is_active: false })).body;
    for (const cron_expression of ['@every 10s', '0 0 31 2 *']) {
      const r = await api.request('PATCH', `/schedules/${s.id}/`, { body: { cron_expression } });
      assert.equal(r.status, 400, `${cron_expression}: ${r.text}`);
      assert.match(r.text, /"field":"cron_expression"/);
    }
    const unchanged = await api.request<ScheduleBody>('GET', `/schedules/${s.id}/`);
    assert.equal(unchanged.body.cron_expression, '0 3 * * *');
    const desc = await handle(unchanged.body.temporal_schedule_id).describe();
    assert.deepEqual(desc.spec.calendars?.length ?? 0, 1, 'Temporal still holds the old spec');
    await api.request('DELETE', `/schedules/${s.id}/`);
  });

  it('takes the minimum interval from SCHEDULE_MIN_INTERVAL_SECONDS', async () => {
    const replica = await startReplica(api, { SCHEDULE_MIN_INTERVAL_SECONDS: '3600' });
    try {
      const body = { workflow_id: workflowId, name: uniqueCode('hourly'), is_active: false };
      const refused = await replica.request('POST', '/schedules/', { body: { ...body, cron_expression: '*/30 * * * *' } });
      assert.equal(refused.status, 400, refused.text);
      assert.match(refused.text, /"field":"cron_expression".*fires every 30 minutes at times; schedules may fire at most once every 1 hour/);
      const ok = await replica.request<ScheduleBody>('POST', '/schedules/', { body: { ...body, cron_expression: '@hourly' } });
      assert.equal(ok.status, 201, ok.text);
      const patched = await replica.request('PATCH', `/schedules/${ok.body.id}/`, { body: { cron_expression: '@every 59m' } });
      assert.equal(patched.status, 400, patched.text);
      assert.equal((await replica.request('DELETE', `/schedules/${ok.body.id}/`)).status, 204);
    } finally {
      await replica.close();
    }
  });

  it('lists with pagination and filters', async () => {
    const wf = await api.request<{ id: number }>('POST', '/workflows/', { body: echoDefinition(uniqueCode('lsch')) });
    const ids: number[] = [];
    for (let i = 0; i < 3; i++) ids.push((await createSchedule({ workflow_id: wf.body.id, is_active: i !== 0 })).body.id);
    const page = await api.request<{ count: number; page_size: number; results: ScheduleBody[] }>('GET', `/schedules/?workflow=${wf.body.id}&page_size=2`);
    assert.equal(page.status, 200);
    assert.deepEqual([page.body.count, page.body.page_size, page.body.results.length], [3, 2, 2]);
    const paused = await api.request<{ count: number; results: ScheduleBody[] }>('GET', `/schedules/?workflow=${wf.body.id}&is_active=false`);
    assert.deepEqual(paused.body.results.map((s) => s.id), [ids[0]]);
    assert.equal((await api.request('GET', '/schedules/?is_active=sometimes')).status, 400);
    for (const id of ids) await api.request('DELETE', `/schedules/${id}/`);
  });

  describe('consistency between the row and Temporal', () => {
    it('rolls back a create whose Temporal call failed after Temporal applied it', async () => {
      const seen: string[] = [];
      const faults = { create: { mode: 'after' as const, times: 1 } };
      const svc = service(async () => {
        const c = faultyClient(api.h.client, faults);
        return new Proxy(c, {
          get(t, p) {
            if (p !== 'schedule') return Reflect.get(t, p, t) as unknown;
            const sc = Reflect.get(t, p, t) as Client['schedule'];
            return new Proxy(sc, {
              get(st, sp) {
                if (sp === 'create') return (o: { scheduleId: string }) => (seen.push(o.scheduleId), sc.create(o as never));
                return Reflect.get(st, sp, st) as unknown;
              },
            });
          },
        });
      });
      const name = uniqueCode('rollback');
      await assert.rejects(svc.create({ workflow_id: workflowId, name, cron_expression: '0 4 * * *' }), (err: { code?: string; status?: number }) => err.code === 'TEMPORAL_UNAVAILABLE' && err.status === 503);
      const rows: unknown[] = await api.h.dataSource.query(`SELECT id FROM workflow_schedules WHERE name = $1`, [name]);
      assert.equal(rows.length, 0, 'no row');
      assert.equal(seen.length, 1);
      await assert.rejects(handle(seen[0]).describe(), ScheduleNotFoundError, 'the schedule Temporal created was taken back');
    });

    it('restores the row state in Temporal when an update fails after Temporal applied it', async () => {
      const s = (await createSchedule({ cron_expression: '0 3 * * *' })).body;
      const svc = service(async () => faultyClient(api.h.client, { update: { mode: 'after', times: 1 } }));
      await assert.rejects(svc.update(s.id, { cron_expression: '0 5 * * *' }), (err: { code?: string }) => err.code === 'TEMPORAL_UNAVAILABLE');
      const row = await api.request<ScheduleBody>('GET', `/schedules/${s.id}/`);
      assert.equal(row.body.cron_expression, '0 3 * * *');
      assert.equal(row.body.sync_state, 'synced');
      const desc = await handle(s.temporal_schedule_id).describe();
      assert.equal(new Date(desc.info.nextActionTimes[0]).getUTCHours(), 3, 'Temporal runs the row values again');
      await api.request('DELETE', `/schedules/${s.id}/`);
    });

    it('keeps the row pending while Temporal is down and repairs it on the next read', async () => {
      const s = (await createSchedule({ cron_expression: '0 3 * * *' })).body;
      const down = { mode: 'before' as const, times: 1000 };
      const svc = service(async () => faultyClient(api.h.client, { update: down, describe: down, pause: down }));
      await assert.rejects(svc.pause(s.id), (err: { code?: string; status?: number }) => err.status === 503);
      const [pending] = await api.h.dataSource.query(`SELECT sync_state, sync_error, is_active FROM workflow_schedules WHERE id = $1`, [s.id]);
      assert.deepEqual([pending.sync_state, pending.is_active], ['pending', true]);
      assert.match(pending.sync_error, /injected fault/);
      down.times = 0;
      const repaired = await api.request<ScheduleBody>('GET', `/schedules/${s.id}/`);
      assert.equal(repaired.body.sync_state, 'synced');
      assert.equal(repaired.body.is_active, true);
      assert.equal((await handle(s.temporal_schedule_id).describe()).state.paused, false);
      await api.request('DELETE', `/schedules/${s.id}/`);
    });

    it('pushes a row left pending by a crash, adopts a pause made in Temporal, and drops a schedule deleted there', async () => {
      const s = (await createSchedule({ cron_expression: '0 3 * * *' })).body;
      // A crash mid-change: the row was marked pending and Temporal was left in another state.
      await api.h.dataSource.query(`UPDATE workflow_schedules SET sync_state = 'pending' WHERE id = $1`, [s.id]);
      await handle(s.temporal_schedule_id).pause('left behind');
      const listed = await api.request<{ results: ScheduleBody[] }>('GET', `/schedules/?workflow=${workflowId}&page_size=100`);
      assert.equal(listed.body.results.find((r) => r.id === s.id)?.sync_state, 'synced');
      assert.equal((await handle(s.temporal_schedule_id).describe()).state.paused, false, 'the row (active) was pushed');

      await handle(s.temporal_schedule_id).pause('paused in the Temporal UI');
      const adopted = await api.request<ScheduleBody>('GET', `/schedules/${s.id}/`);
      assert.equal(adopted.body.is_active, false);

      await handle(s.temporal_schedule_id).delete();
      assert.equal((await api.request('GET', `/schedules/${s.id}/`)).status, 404);
      const rows: unknown[] = await api.h.dataSource.query(`SELECT id FROM workflow_schedules WHERE id = $1`, [s.id]);
      assert.equal(rows.length, 0);
    });

    it('sweeps orphaned Temporal Schedules of this deployment', async () => {
      const svc = service(async () => api.h.client, 2000);
      const orphanId = `${SCHEDULE_ID_PREFIX}${900_000_000 + Math.floor(Math.random() * 1000)}`;
      const owner = scheduleOwner(api.config.databaseUrl, api.config.temporal.namespace);
      const foreignId = `${SCHEDULE_ID_PREFIX}${800_000_000 + Math.floor(Math.random() * 1000)}`;
      for (const [id, o] of [[orphanId, owner], [foreignId, 'another-deployment']]) {
        await api.h.client.schedule.create({
          scheduleId: id,
          spec: { cronExpressions: ['0 3 * * *'] },
          action: { type: 'startWorkflow', workflowType: 'definitionWorkflow', taskQueue: api.h.taskQueue, args: [] },
          memo: { merchflow: { owner: o } },
          state: { paused: true },
        });
      }
      const swept = await eventually(async () => {
        const r = await svc.sweep();
        return r.orphans_deleted.includes(orphanId) ? r : null;
      }, 30_000, 'the orphan to be swept');
      assert.ok(!swept.orphans_deleted.includes(foreignId));
      await assert.rejects(handle(orphanId).describe(), ScheduleNotFoundError);
      assert.equal((await handle(foreignId).describe()).state.paused, true, "another deployment's schedule is left alone");
      await handle(foreignId).delete();
    });
  });
});
