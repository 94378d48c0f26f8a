import fs from 'node:fs';
import { parseOptions, UsageError } from '@src/cli/options';
import { VERSION_CHOICES, type VersionChoice } from '@src/executions/recovery-plan';
import type { CliContext } from '@src/cli/context';
import { duration, json, table } from '@src/cli/format';
import { followRun } from '@src/cli/progress';
import { EXIT_OK, type Command } from '@src/cli/commands/command';
import { cliUser, reportOutcome } from '@src/cli/commands/run-workflow';
import { pageRequest } from '@src/common/pagination';
import { RUN_OUTCOMES, type RUN_STATUSES } from '@src/executions/execution-status';
import { TRIGGER_TYPES, type TriggerType } from '@src/executions/execution.entity';
import { ITEM_CSV_COLUMNS, csvLine } from '@src/executions/execution-items.service';
import { ITEM_STATUSES, type ItemStatus } from '@engine/activities/runtime/item-ledger';

const USAGE = `merchflow executions list [--workflow CODE|ID] [--status S|completed_with_failures] [--trigger-type T] [--page N] [--page-size N] [--json]
merchflow executions show ID [--json]
merchflow executions cancel ID
merchflow executions restart ID [--from-step KEY] [--input-overrides JSON] [--version current|original] [--wait]
merchflow executions retry-items ID [--key K...] [--reason R...] [--step KEY] [--overrides-file F] [--version current|original] [--wait]
merchflow executions edit-output ID STEP --file F [--reason TEXT] [--wait]
merchflow executions items ID [--status ok|invalid|failed|skipped] [--step KEY] [--reason CODE] [--q TEXT]
                              [--csv | --jsonl | --json] [--page N] [--page-size N]
merchflow executions review ID [--json]
merchflow executions review ID --step KEY (--item KEY (--approve | --edit JSON | --reject) | --approve-rest | --reject-rest) [--reason TEXT]

items lists what each item-wise step did with each item (the per-item ledger,
docs/recovery.md); --csv and --jsonl write every matching item, not a page
(e.g. merchflow executions items ID --status failed --csv > failed.csv).

retry-items starts a new run with only the items that did not go through (all,
or --key / --reason, each repeatable), from the first step where they stopped;
--overrides-file is JSON {"<item key>": {fields merged into that item}}.
edit-output replaces a completed or failed step's output with the JSON of
--file (audited) and continues from the next step. --version: the definition
version of the new run (default: current when a newer one exists).

review shows the items ai_process steps held for an operator (review.below_confidence),
with the original and the AI's proposal; with --step and --item it approves, edits
(the item as it continues, a JSON object) or rejects one; --approve-rest / --reject-rest
decide every item not decided yet. The run goes on once every item has a decision.

ID is the numeric id or the execution_id. With --api-url URL (or MERCHFLOW_API_URL) and
MERCHFLOW_API_KEY, every executions command goes through the REST API.`;

/** `executions list|show|cancel|restart|items|retry-items|edit-output|review`. */
export const executionsCommand: Command = {
  name: 'executions',
  summary: 'List, show, cancel and restart runs, list or export their items, retry the failed items, edit a step output and continue, review AI answers',
  remote: true,
  usage: USAGE,
  async run(ctx, argv) {
    const [sub, ...rest] = argv;
    switch (sub) {
      case 'list':
        return list(ctx, rest);
      case 'show':
        return show(ctx, rest);
      case 'cancel':
        return cancel(ctx, rest);
      case 'restart':
        return restart(ctx, rest);
      case 'items':
        return items(ctx, rest);
      case 'retry-items':
        return retryItems(ctx, rest);
      case 'edit-output':
        return editOutput(ctx, rest);
      case 'review':
        return review(ctx, rest);
      default:
        throw new UsageError(sub ? `unknown executions command "${sub}"\n\n${USAGE}` : `executions needs a command\n\n${USAGE}`);
    }
  },
};

/** `executions items ID`: a page of the run's item ledger as a table or JSON, or every matching item as CSV / JSON Lines. */
async function items(ctx: CliContext, argv: string[]): Promise<number> {
  const { positionals, options } = parseOptions(
    argv,
    {
      status: { kind: 'string' },
      step: { kind: 'string' },
      reason: { kind: 'string' },
      q: { kind: 'string' },
      csv: { kind: 'boolean' },
      jsonl: { kind: 'boolean' },
      json: { kind: 'boolean' },
      page: { kind: 'int', min: 1 },
      'page-size': { kind: 'int', min: 1, max: 100 },
    },
    { maxPositionals: 1 },
  );
  const id = needId(positionals, 'items');
  if (options.status && !(ITEM_STATUSES as readonly string[]).includes(String(options.status))) throw new UsageError(`--status must be one of ${ITEM_STATUSES.join(', ')}`);
  if ([options.csv, options.jsonl, options.json].filter(Boolean).length > 1) throw new UsageError('give one of --csv, --jsonl, --json');
  const filter = {
    status: options.status as ItemStatus | undefined,
    step: options.step as string | undefined,
    reason: options.reason as string | undefined,
    q: options.q as string | undefined,
  };
  if (options.csv || options.jsonl) {
    const format = options.csv ? 'csv' : 'jsonl';
    const write = (text: string) => ctx.io.outRaw(text);
    if (ctx.remote) {
      const query: Record<string, string> = { format };
      for (const [k, v] of Object.entries(filter)) if (v !== undefined) query[k] = v;
      // Lines arrive in pieces: written as they come, without an added newline.
      await ctx.remote.exportItems(id, query, write);
      return EXIT_OK;
    }
    const rows = (await ctx.services()).items.export(id, filter);
    if (format === 'csv') write(csvLine([...ITEM_CSV_COLUMNS]));
    for await (const r of rows) write(format === 'csv' ? csvLine(ITEM_CSV_COLUMNS.map((c) => r[c])) : `${JSON.stringify(r)}\n`);
    return EXIT_OK;
  }
  const paging = pageRequest({ page: options.page as number | undefined, page_size: options['page-size'] as number | undefined });
  const page = ctx.remote ? await ctx.remote.items(id, { ...filter, ...paging }) : await (await ctx.services()).items.list(id, filter, paging);
  if (options.json) {
    ctx.io.out(json(page));
    return EXIT_OK;
  }
  ctx.io.out(table(['STEP', 'ITEM', '#', 'STATUS', 'REASON', 'MESSAGE'], page.results.map((i) => [i.step_key, i.item_key, i.item_index ?? '', i.status, i.reason_code ?? '', i.message ?? ''])));
  ctx.io.out(`${page.results.length} of ${page.count} (page ${page.page})`);
  return EXIT_OK;
}

/** `executions review ID`: the held items of the run's AI reviews, or a decision on one of them (or on the rest). */
async function review(ctx: CliContext, argv: string[]): Promise<number> {
  const { positionals, options } = parseOptions(
    argv,
    {
      step: { kind: 'string' },
      item: { kind: 'string' },
      approve: { kind: 'boolean' },
      edit: { kind: 'string' },
      reject: { kind: 'boolean' },
      'approve-rest': { kind: 'boolean' },
      'reject-rest': { kind: 'boolean' },
      reason: { kind: 'string' },
      json: { kind: 'boolean' },
    },
    { maxPositionals: 1 },
  );
  const id = needId(positionals, 'review');
  const verdicts = [options.approve, options.edit !== undefined, options.reject, options['approve-rest'], options['reject-rest']].filter(Boolean).length;
  if (verdicts === 0) {
    const { reviews } = ctx.remote ? await ctx.remote.reviews(id) : await (await ctx.services()).reviews.list(id);
    if (options.json) {
      ctx.io.out(json({ reviews }));
      return EXIT_OK;
    }
    if (reviews.length === 0) ctx.io.out('no AI review in this run');
    for (const r of reviews) {
      ctx.io.out(`step ${r.step_key}: ${r.status}, ${r.decided} of ${r.total} decided${r.deadline ? `, times out at ${r.deadline}` : ''}`);
      ctx.io.out(
        table(
          ['ITEM', '#', 'CONFIDENCE', 'DECISION', 'BY', 'REASON'],
          r.items.map((i) => [i.key, i.index, i.confidence ?? '', i.decision ?? '(waiting)', i.decided_by ?? '', i.reason ?? '']),
        ),
      );
    }
    return EXIT_OK;
  }
  if (verdicts > 1) throw new UsageError('give one of --approve, --edit JSON, --reject, --approve-rest, --reject-rest');
  const step = options.step as string | undefined;
  if (!step) throw new UsageError('a decision needs --step KEY (the ai_process step)');
  const reason = (options.reason as string | undefined) ?? null;
  if (options['approve-rest'] || options['reject-rest']) {
    const decision = options['approve-rest'] ? 'approve' : 'reject';
    const res = ctx.remote
      ? await ctx.remote.reviewRest(id, step, { decision, ...(reason ? { reason } : {}) })
      : await (await ctx.services()).reviews.decideRest(id, step, { decision, reason }, cliUser());
    ctx.io.out(`${decision === 'approve' ? 'approved' : 'rejected'} ${res.decided} item(s) of step ${step}`);
    return EXIT_OK;
  }
  const key = options.item as string | undefined;
  if (!key) throw new UsageError('a decision on one item needs --item KEY');
  let item: Record<string, unknown> | undefined;
  if (options.edit !== undefined) {
    try {
      item = JSON.parse(String(options.edit)) as Record<string, unknown>;
    } catch {
      throw new UsageError('--edit must be a JSON object: the item as it continues');
    }
    if (item === null || typeof item !== 'object' || Array.isArray(item)) throw new UsageError('--edit must be a JSON object: the item as it continues');
  }
  const decision = options.approve ? 'approve' : options.reject ? 'reject' : 'edit';
  const body = { decision, ...(item ? { item } : {}), ...(reason ? { reason } : {}) } as const;
  const res = ctx.remote ? await ctx.remote.reviewItem(id, step, key, body) : await (await ctx.services()).reviews.decide(id, step, key, { ...body, reason }, cliUser());
  ctx.io.out(`${res.key}: ${res.decision} (by ${res.decided_by ?? 'unknown'})`);
  return EXIT_OK;
}

function needId(positionals: string[], what: string): string {
  const id = positionals[0];
  if (!id) throw new UsageError(`executions ${what} needs an execution ID`);
  return id;
}

async function list(ctx: CliContext, argv: string[]): Promise<number> {
  const { options } = parseOptions(
    argv,
    {
      workflow: { kind: 'string' },
      status: { kind: 'string' },
      'trigger-type': { kind: 'string' },
      page: { kind: 'int', min: 1 },
      'page-size': { kind: 'int', min: 1, max: 100 },
      json: { kind: 'boolean' },
    },
    { maxPositionals: 0 },
  );
  if (options.status && !(RUN_OUTCOMES as readonly string[]).includes(String(options.status))) throw new UsageError(`--status must be one of ${RUN_OUTCOMES.join(', ')}`);
  // completed_with_failures is an outcome: completed runs with failed items.
  const byOutcome = options.status === 'completed_with_failures';
  if (options['trigger-type'] && !(TRIGGER_TYPES as readonly string[]).includes(String(options['trigger-type']))) {
    throw new UsageError(`--trigger-type must be one of ${TRIGGER_TYPES.join(', ')}`);
  }
  const filter = {
    workflow: options.workflow as string | undefined,
    status: byOutcome ? undefined : (options.status as (typeof RUN_STATUSES)[number] | undefined),
    outcome: byOutcome ? ('completed_with_failures' as const) : undefined,
    trigger_type: options['trigger-type'] as TriggerType | undefined,
  };
  const paging = pageRequest({ page: options.page as number | undefined, page_size: options['page-size'] as number | undefined });
  const page = ctx.remote ? await ctx.remote.executions({ ...filter, ...paging }) : await (await ctx.services()).queries.list(filter, paging);
  if (options.json) {
    ctx.io.out(json(page));
    return EXIT_OK;
  }
  ctx.io.out(
    table(
      ['ID', 'EXECUTION', 'WORKFLOW', 'STATUS', 'STEPS', 'TRIGGER', 'CREATED', 'DURATION'],
      page.results.map((e) => [e.id, e.execution_id, e.workflow_code, shownStatus(e), `${e.completed_steps}/${e.total_steps}`, e.trigger_type, e.created_at, duration(e.duration_seconds)]),
    ),
  );
  ctx.io.out(`${page.results.length} of ${page.count} (page ${page.page})`);
  return EXIT_OK;
}

async function show(ctx: CliContext, argv: string[]): Promise<number> {
  const { positionals, options } = parseOptions(argv, { json: { kind: 'boolean' } }, { maxPositionals: 1 });
  const id = needId(positionals, 'show');
  const d = ctx.remote ? await ctx.remote.execution(id) : await (await ctx.services()).queries.detail(id);
  if (options.json) {
    ctx.io.out(json(d));
    return EXIT_OK;
  }
  const lines = [
    `execution   ${d.execution_id} (id ${d.id})`,
    `workflow    ${d.workflow_code} v${d.version}`,
    `status      ${shownStatus(d)}  ${d.progress.completed_steps}/${d.progress.total_steps} steps (${d.progress.percent}%, ${d.progress.source})`,
    `trigger     ${d.trigger_type}${d.triggered_by ? ` by ${d.triggered_by}` : ''}`,
    `started     ${d.started_at ? d.started_at.toString() : '-'}`,
    `duration    ${duration(d.duration_seconds)}`,
    `temporal    ${d.temporal_ui_url}`,
  ];
  if (d.error_message) lines.push(`error       ${d.error_message}`);
  lines.push(`input       ${JSON.stringify(d.input_data)}`);
  if (d.output_data !== null && d.output_data !== undefined) lines.push(`output      ${JSON.stringify(d.output_data).slice(0, 2000)}`);
  ctx.io.out(lines.join('\n'));
  ctx.io.out('');
  ctx.io.out(table(['STEP', 'TYPE', 'STATUS', 'ATTEMPT', 'DURATION', 'ERROR'], d.steps.map((s) => [s.step_key, s.step_type, shownStatus(s), s.attempt, s.duration_ms === null ? '-' : `${s.duration_ms}ms`, s.error_message])));
  if (d.failed_items_total > 0) {
    ctx.io.out('');
    ctx.io.out(`failed items: ${d.failed_items_total}${d.failed_items.length < d.failed_items_total ? ` (first ${d.failed_items.length} shown)` : ''}`);
    ctx.io.out(table(['STEP', 'ITEM', 'CODE', 'MESSAGE'], d.failed_items.map((f) => [f.step_key, f.key, f.status ? `${f.code} ${f.status}` : f.code, f.message])));
  }
  return EXIT_OK;
}

/** The status, or "completed_with_failures (N)" when items failed after their retries. */
function shownStatus(r: { status: string; outcome: string; failed_items_total: number }): string {
  return r.outcome === 'completed_with_failures' ? `completed_with_failures (${r.failed_items_total})` : r.status;
}

async function cancel(ctx: CliContext, argv: string[]): Promise<number> {
  const { positionals } = parseOptions(argv, {}, { maxPositionals: 1 });
  const id = needId(positionals, 'cancel');
  const row = ctx.remote ? await ctx.remote.cancel(id) : await (await ctx.services()).executions.cancel(id);
  ctx.io.out(`cancellation requested for ${row.execution_id}`);
  return EXIT_OK;
}

async function restart(ctx: CliContext, argv: string[]): Promise<number> {
  const { positionals, options } = parseOptions(
    argv,
    { 'from-step': { kind: 'string' }, 'input-overrides': { kind: 'json', object: true }, version: { kind: 'string' }, wait: { kind: 'boolean' } },
    { maxPositionals: 1 },
  );
  const id = needId(positionals, 'restart');
  const body = {
    from_step: options['from-step'] as string | undefined,
    input_overrides: options['input-overrides'] as Record<string, unknown> | undefined,
    version: versionOption(options.version),
  };
  const row = ctx.remote ? await ctx.remote.restart(id, body) : await (await ctx.services()).executions.restart(id, { ...body, triggered_by: cliUser() });
  if (!options.wait) {
    ctx.io.out(row.execution_id);
    return EXIT_OK;
  }
  ctx.io.err(`restarted as ${row.execution_id}`);
  return reportOutcome(ctx, row.execution_id, await followRun(ctx, row.execution_id));
}

/** `--version current|original`. */
function versionOption(v: unknown): VersionChoice | undefined {
  if (v === undefined) return undefined;
  if (!(VERSION_CHOICES as readonly unknown[]).includes(v)) throw new UsageError(`--version must be current or original, not ${JSON.stringify(v)}`);
  return v as VersionChoice;
}

/** `executions retry-items ID`: a new run with only the items that did not go through. */
async function retryItems(ctx: CliContext, argv: string[]): Promise<number> {
  const { positionals, options } = parseOptions(
    argv,
    {
      key: { kind: 'string', multiple: true },
      reason: { kind: 'string', multiple: true },
      step: { kind: 'string' },
      'overrides-file': { kind: 'string' },
      version: { kind: 'string' },
      wait: { kind: 'boolean' },
    },
    { maxPositionals: 1 },
  );
  const id = needId(positionals, 'retry-items');
  let overrides: Record<string, Record<string, unknown>> | undefined;
  if (options['overrides-file'] !== undefined) {
    overrides = readJsonFile(String(options['overrides-file']), '--overrides-file') as Record<string, Record<string, unknown>>;
    if (overrides === null || typeof overrides !== 'object' || Array.isArray(overrides)) throw new UsageError('--overrides-file must hold a JSON object {"<item key>": {...}}');
  }
  const body = {
    keys: options.key as string[] | undefined,
    reasons: options.reason as string[] | undefined,
    step: options.step as string | undefined,
    overrides,
    version: versionOption(options.version),
  };
  const res = ctx.remote
    ? await ctx.remote.retryItems(id, body)
    : await (async () => {
        const svc = await ctx.services();
        const { run, retry } = await svc.recovery.retryItems(id, { ...body, triggered_by: cliUser() });
        return { ...(await svc.queries.present(run)), retry };
      })();
  const r = res.retry;
  ctx.io.err(`retrying ${r.count} item(s) of step ${r.step} on version ${r.version} (${r.version_choice})${r.not_retryable > 0 ? `; ${r.not_retryable} kept no payload` : ''}`);
  for (const [step, n] of Object.entries(r.other_steps)) ctx.io.err(`  ${n} matching item(s) of the later step ${step} are left for another retry (--step ${step})`);
  if (!options.wait) {
    ctx.io.out(res.execution_id);
    return EXIT_OK;
  }
  return reportOutcome(ctx, res.execution_id, await followRun(ctx, res.execution_id));
}

/** `executions edit-output ID STEP --file F`: replace a step's output (audited) and continue from the next step. */
async function editOutput(ctx: CliContext, argv: string[]): Promise<number> {
  const { positionals, options } = parseOptions(argv, { file: { kind: 'string' }, reason: { kind: 'string' }, wait: { kind: 'boolean' } }, { maxPositionals: 2 });
  const id = needId(positionals, 'edit-output');
  const step = positionals[1];
  if (!step) throw new UsageError('edit-output needs the step key: merchflow executions edit-output ID STEP --file F');
  if (options.file === undefined) throw new UsageError('edit-output needs --file F (the new output, JSON)');
  const output = readJsonFile(String(options.file), '--file');
  const reason = options.reason as string | undefined;
  const res = ctx.remote
    ? await ctx.remote.editOutput(id, step, { output, reason })
    : await (async () => {
        const svc = await ctx.services();
        const { run, edit } = await svc.recovery.editOutput(id, step, { output, reason: reason ?? null, edited_by: cliUser() });
        return { ...(await svc.queries.present(run)), edit };
      })();
  ctx.io.err(`edit ${res.edit.id} of step ${step} recorded; continuing as ${res.execution_id}`);
  if (!options.wait) {
    ctx.io.out(res.execution_id);
    return EXIT_OK;
  }
  return reportOutcome(ctx, res.execution_id, await followRun(ctx, res.execution_id));
}

function readJsonFile(file: string, option: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`${option}: cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${option}: ${file} is not JSON: ${(err as Error).message}`);
  }
}
