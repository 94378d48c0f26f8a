import { parseArgs, UsageError } from '@src/cli/args';
import type { CliContext } from '@src/cli/context';
import { json, table } from '@src/cli/format';
import { EXIT_OK, type Command } from '@src/cli/commands/command';
import { pageRequest } from '@src/common/pagination';
import type { ScheduleView } from '@src/schedules/schedules.service';

const USAGE = `merchflow schedules list [--workflow CODE] [--json]
merchflow schedules show ID [--json]
merchflow schedules create --workflow CODE --cron EXPR [--name NAME] [--timezone TZ] [--input-data JSON] [--paused]
merchflow schedules update ID [--cron EXPR] [--name NAME] [--timezone TZ] [--input-data JSON]
merchflow schedules pause ID | unpause ID | trigger ID | delete ID

Schedules are Temporal Schedules mirrored in the database; EXPR is a cron
expression ("0 3 * * *"), a shorthand (@daily) or @every 15m.`;

function line(v: ScheduleView): Array<unknown> {
  const r = v.row;
  return [r.id, r.name, v.workflow_code, `v${r.workflow_version ?? '?'}`, r.cron_expression, r.timezone, r.is_active ? 'active' : 'paused', r.sync_state, r.next_run_at];
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
      const { positionals } = parseArgs(rest, {}, { maxPositionals: 1 });
      const id = scheduleId(positionals, sub);
      const { schedules } = await ctx.services();
      const view = await simple[sub](schedules, id);
      const done = { pause: 'paused', unpause: 'unpaused', trigger: 'triggered', delete: 'deleted' }[sub];
      ctx.io.out(`${done} schedule ${id}${view ? ` (${view.row.temporal_schedule_id})` : ''}`);
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
  const { options } = parseArgs(argv, { workflow: { kind: 'string' }, json: { kind: 'boolean' }, page: { kind: 'int', min: 1 } }, { maxPositionals: 0 });
  const { schedules, workflows } = await ctx.services();
  const workflowId = options.workflow ? (await workflows.getByCode(String(options.workflow))).id : undefined;
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
  const { positionals, options } = parseArgs(argv, { json: { kind: 'boolean' } }, { maxPositionals: 1 });
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
  const { options } = parseArgs(
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
  const { schedules, workflows } = await ctx.services();
  const wf = await workflows.getByCode(String(options.workflow));
  const v = await schedules.create(
    {
      workflow_id: wf.id,
      name: (options.name as string | undefined) ?? `${wf.code} ${options.cron}`,
      cron_expression: String(options.cron),
      timezone: (options.timezone as string | undefined) ?? 'UTC',
      input_data: (options['input-data'] as Record<string, unknown> | undefined) ?? {},
      is_active: !options.paused,
    },
    'cli',
  );
  ctx.io.out(`created schedule ${v.row.id} (${v.row.temporal_schedule_id}); next run ${v.row.next_run_at?.toISOString() ?? '-'}`);
  return EXIT_OK;
}

async function update(ctx: CliContext, argv: string[]): Promise<number> {
  const { positionals, options } = parseArgs(
    argv,
    { cron: { kind: 'string' }, name: { kind: 'string' }, timezone: { kind: 'string' }, 'input-data': { kind: 'json', object: true } },
    { maxPositionals: 1 },
  );
  const { schedules } = await ctx.services();
  const v = await schedules.update(scheduleId(positionals, 'update'), {
    cron_expression: options.cron as string | undefined,
    name: options.name as string | undefined,
    timezone: options.timezone as string | undefined,
    input_data: options['input-data'] as Record<string, unknown> | undefined,
  });
  ctx.io.out(`updated schedule ${v.row.id}; pinned to v${v.row.workflow_version}`);
  return EXIT_OK;
}
