import { parseOptions, UsageError } from '@src/cli/options';
import type { CliContext } from '@src/cli/context';
import { json, table } from '@src/cli/format';
import { EXIT_OK, type Command } from '@src/cli/commands/command';
import { pageRequest } from '@src/common/pagination';
import type { ScheduleView } from '@src/schedules/schedules.service';
import type { Schedule } from '@src/cli/api-client';

const USAGE = `merchflow schedules list [--workflow CODE] [--json]
merchflow schedules show ID [--json]
merchflow schedules create --workflow CODE --cron EXPR [--name NAME] [--timezone TZ] [--input-data JSON] [--paused]
merchflow schedules update ID [--cron EXPR] [--name NAME] [--timezone TZ] [--input-data JSON]
merchflow schedules pause ID | unpause ID | trigger ID | delete ID

Schedules are Temporal Schedules mirrored in the database; EXPR is a cron
expression ("0 3 * * *"), a shorthand (@daily) or @every 15m. With --api-url URL (or
MERCHFLOW_API_URL) and MERCHFLOW_API_KEY, every schedules command goes through the REST API.`;

function line(v: ScheduleView | Schedule): Array<unknown> {
  const r: Pick<Schedule, 'id' | 'name' | 'workflow_version' | 'cron_expression' | 'timezone' | 'is_active' | 'sync_state'> & { next_run_at: unknown } =
    'temporal_ui_url' in v ? (v as Schedule) : (v as ScheduleView).row;
  return [r.id, r.name, v.workflow_code, `v${r.workflow_version ?? '?'}`, r.cron_expression, r.timezone, r.is_active ? 'active' : 'paused', r.sync_state, r.next_run_at];
}

/** The workflow id of a code, through the API or the database. */
async function workflowIdOf(ctx: CliContext, code: string): Promise<number> {
  if (!ctx.remote) return (await (await ctx.services()).workflows.getByCode(code)).id;
  const wf = await ctx.remote.workflowByCode(code);
  if (!wf) throw new UsageError(`no workflow with code "${code}"`);
  return wf.id;
}

const HEADERS = ['ID', 'NAME', 'WORKFLOW', 'PINNED', 'CRON', 'TZ', 'STATUS', 'SYNC', 'NEXT RUN'];

function scheduleId(positionals: string[], what: string): number {
  const raw = positionals[0];
  if (!raw || !/^\d{1,9}$/.test(raw)) throw new UsageError(`schedules ${what} needs a numeric schedule ID`);
  return Number(raw);
}

/** `schedules list|show|create|update|pause|unpause|trigger|delete`. */
export const schedulesCommand: Command = {
  name: 'schedules',
  summary: 'List, create, pause, unpause, trigger and delete cron schedules',
  remote: true,
  usage: USAGE,
  async run(ctx, argv) {
    const [sub, ...rest] = argv;
    if (!sub) throw new UsageError(`schedules needs a command\n\n${USAGE}`);
    const simple: Record<string, (svc: Awaited<ReturnType<CliContext['services']>>['schedules'], id: number) => Promise<ScheduleView | void>> = {
      pause: (s, id) => s.pause(id, 'paused from the merchflow CLI'),
      unpause: (s, id) => s.unpause(id, 'unpaused from the merchflow CLI'),
      trigger: (s, id) => s.trigger(id),
      delete: (s, id) => s.remove(id),
    };
    if (sub in simple) {
      const { positionals } = parseOptions(rest, {}, { maxPositionals: 1 });
      const id = scheduleId(positionals, sub);
      const done = { pause: 'paused', unpause: 'unpaused', trigger: 'triggered', delete: 'deleted' }[sub];
      let temporalId: string | null = null;
      if (ctx.remote) {
        const action = sub as 'pause' | 'unpause' | 'trigger' | 'delete';
        temporalId = (await ctx.remote.scheduleAction(action, id, `${done} from the merchflow CLI`))?.temporal_schedule_id ?? null;
      } else {
        const { schedules } = await ctx.services();
        temporalId = (await simple[sub](schedules, id))?.row.temporal_schedule_id ?? null;
      }
      ctx.io.out(`${done} schedule ${id}${temporalId ? ` (${temporalId})` : ''}`);
      return EXIT_OK;
    }
    if (sub === 'list') return list(ctx, rest);
    if (sub === 'show') return show(ctx, rest);
    if (sub === 'create') return create(ctx, rest);
    if (sub === 'update') return update(ctx, rest);
    throw new UsageError(`unknown schedules command "${sub}"\n\n${USAGE}`);
  },
};

async function list(ctx: CliContext, argv: string[]): Promise<number> {
  const { options } = parseOptions(argv, { workflow: { kind: 'string' }, json: { kind: 'boolean' }, page: { kind: 'int', min: 1 } }, { maxPositionals: 0 });
  const workflowId = options.workflow ? await workflowIdOf(ctx, String(options.workflow)) : undefined;
  if (ctx.remote) {
    const page = await ctx.remote.schedules({ workflow: workflowId, page: options.page as number | undefined, page_size: 100 });
    if (options.json) ctx.io.out(json(page));
    else ctx.io.out(`${table(HEADERS, page.results.map(line))}\n${page.results.length} of ${page.count}`);
    return EXIT_OK;
  }
  const { schedules } = await ctx.services();
  const page = await schedules.list({ workflow_id: workflowId }, pageRequest({ page: options.page as number | undefined, page_size: 100 }), { sweep: true });
  if (options.json) {
    ctx.io.out(json({ ...page, results: page.results.map((v) => ({ ...v.row, workflow_code: v.workflow_code })) }));
    return EXIT_OK;
  }
  ctx.io.out(table(HEADERS, page.results.map(line)));
  ctx.io.out(`${page.results.length} of ${page.count}`);
  return EXIT_OK;
}

async function show(ctx: CliContext, argv: string[]): Promise<number> {
  const { positionals, options } = parseOptions(argv, { json: { kind: 'boolean' } }, { maxPositionals: 1 });
  if (ctx.remote) {
    const s = await ctx.remote.schedule(scheduleId(positionals, 'show'));
    ctx.io.out(options.json ? json(s) : table(HEADERS, [line(s)]));
    return EXIT_OK;
  }
  const { schedules } = await ctx.services();
  const v = await schedules.get(scheduleId(positionals, 'show'));
  if (options.json) {
    ctx.io.out(json({ ...v.row, workflow_code: v.workflow_code, live: v.live }));
    return EXIT_OK;
  }
  ctx.io.out(table(HEADERS, [line(v)]));
  if (v.live) {
    ctx.io.out(`next runs:   ${v.live.next_run_times.map((d) => d.toISOString()).join(', ') || '-'}`);
    ctx.io.out(`recent runs: ${v.live.recent_runs.map((r) => r.execution_id).join(', ') || '-'}`);
  }
  return EXIT_OK;
}

async function create(ctx: CliContext, argv: string[]): Promise<number> {
  const { options } = parseOptions(
    argv,
    {
      workflow: { kind: 'string' },
      cron: { kind: 'string' },
      name: { kind: 'string' },
      timezone: { kind: 'string' },
      'input-data': { kind: 'json', object: true },
      paused: { kind: 'boolean' },
    },
    { maxPositionals: 0 },
  );
  if (!options.workflow) throw new UsageError('schedules create needs --workflow CODE');
  if (!options.cron) throw new UsageError('schedules create needs --cron EXPR');
  const code = String(options.workflow);
  const body = {
    workflow_id: await workflowIdOf(ctx, code),
    name: (options.name as string | undefined) ?? `${code} ${options.cron}`,
    cron_expression: String(options.cron),
    timezone: (options.timezone as string | undefined) ?? 'UTC',
    input_data: (options['input-data'] as Record<string, unknown> | undefined) ?? {},
    is_active: !options.paused,
  };
  const r = ctx.remote ? await ctx.remote.createSchedule(body) : (await (await ctx.services()).schedules.create(body, 'cli')).row;
  ctx.io.out(`created schedule ${r.id} (${r.temporal_schedule_id}); next run ${r.next_run_at ? new Date(r.next_run_at).toISOString() : '-'}`);
  return EXIT_OK;
}

async function update(ctx: CliContext, argv: string[]): Promise<number> {
  const { positionals, options } = parseOptions(
    argv,
    { cron: { kind: 'string' }, name: { kind: 'string' }, timezone: { kind: 'string' }, 'input-data': { kind: 'json', object: true } },
    { maxPositionals: 1 },
  );
  const id = scheduleId(positionals, 'update');
  const body = {
    cron_expression: options.cron as string | undefined,
    name: options.name as string | undefined,
    timezone: options.timezone as string | undefined,
    input_data: options['input-data'] as Record<string, unknown> | undefined,
  };
  const r = ctx.remote ? await ctx.remote.updateSchedule(id, body) : (await (await ctx.services()).schedules.update(id, body)).row;
  ctx.io.out(`updated schedule ${r.id}; pinned to v${r.workflow_version}`);
  return EXIT_OK;
}
