/**
 * `merchflow replay`: replays workflow histories against the current workflow
 * bundle and fails on any nondeterminism, naming the run and the event. The
 * step before deploying a new worker version (docs/operations.md): a change to
 * the interpreter that would break runs in flight shows up here, not in
 * production. Histories come from files (`.pb` protobuf, as the fixtures keep
 * them; `.json` as `temporal workflow show --output json` writes them) or from
 * the Temporal namespace, by a visibility query.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DefaultLogger, makeTelemetryFilterString, Runtime, Worker, type ReplayWorkerOptions } from '@temporalio/worker';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { temporal } from '@temporalio/proto';
import { UsageError } from '@src/cli/options';
import { EXIT_FAILED, EXIT_OK, type Command } from '@src/cli/commands/command';
import type { CliContext } from '@src/cli/context';
import { merchflowDataConverter } from '@engine/codec/data-converter';

type History = temporal.api.history.v1.IHistory;

interface Source {
  /** What the report names: the workflow id and run id, or the file. */
  name: string;
  workflowId: string;
  history: History;
}

const USAGE = `merchflow replay [FILE|DIR ...] [--since DURATION] [--query QUERY] [--type WORKFLOW_TYPE ...] [--limit N] [--bundle PATH]

Replays workflow histories against this build's workflow code; exits 1 on any
nondeterminism, naming the run and the event. Run it before deploying a new
worker version (docs/operations.md).

  FILE|DIR            history files: .pb (protobuf, as test/fixtures/histories keeps
                      them) or .json (temporal workflow show --output json); a
                      directory means every .pb and .json file in it
  --since DURATION    runs of the namespace started in the last DURATION (30m, 24h, 7d)
  --query QUERY       runs of the namespace matching a visibility query, e.g.
                      'WorkflowType="productImportWorkflow" AND StartTime > "2026-12-01T00:00:00Z"'
  --type TYPE         only runs of this workflow type (repeatable; with --since)
  --limit N           at most N runs from the namespace (default 1000)
  --bundle PATH       the workflow bundle (default: the one built next to this CLI)`;

/** `30m`, `24h`, `7d` (or plain seconds) in milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+)\s*(s|m|h|d)?$/.exec(text.trim());
  if (!m || Number(m[1]) <= 0) throw new UsageError(`--since must be a duration such as 30m, 24h or 7d, got "${text}"`);
  return Number(m[1]) * { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? 's') as 's' | 'm' | 'h' | 'd'];
}

/** The visibility query for `--since` / `--type` / `--query`. */
export function buildQuery(opts: { since?: string; types?: string[]; query?: string }, now = new Date()): string {
  const parts: string[] = [];
  if (opts.query) parts.push(`(${opts.query})`);
  if (opts.since) parts.push(`StartTime > "${new Date(now.getTime() - parseDuration(opts.since)).toISOString()}"`);
  const types = opts.types ?? [];
  if (types.some((t) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(t))) throw new UsageError('--type must be a workflow type name');
  if (types.length > 0) parts.push(`(${types.map((t) => `WorkflowType="${t}"`).join(' OR ')})`);
  return parts.join(' AND ');
}

/**
 * The workflow id to replay a history under: a fan-out parent derives its
 * children's ids from its own (`<parent>:supplier-3`), so it must replay under
 * the id it ran with, read back from its first child's id; any other history
 * replays under `fallback`.
 */
export function replayWorkflowId(history: History, fallback: string): string {
  for (const e of history.events ?? []) {
    const child = e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId;
    const parent = child ? /^(.+):(?:supplier|marketplace)-\d+$/.exec(child)?.[1] : undefined;
    if (parent && !/\+[0-9a-f]{8}$/.test(parent)) return parent;
    if (child) break;
  }
  return fallback;
}

function readHistoryFile(file: string): History {
  const bytes = fs.readFileSync(file);
  if (file.endsWith('.json')) {
    const parsed = JSON.parse(bytes.toString('utf8')) as unknown;
    // `temporal workflow show --output json` writes { events: [...] }.
    return historyFromJSON(parsed as Parameters<typeof historyFromJSON>[0]);
  }
  return temporal.api.history.v1.History.decode(bytes);
}

function filesOf(target: string): string[] {
  if (!fs.existsSync(target)) throw new UsageError(`no such file or directory: ${target}`);
  if (!fs.statSync(target).isDirectory()) return [target];
  return fs
    .readdirSync(target)
    .filter((f) => f.endsWith('.pb') || f.endsWith('.json'))
    .sort()
    .map((f) => path.join(target, f));
}

function eventType(e: temporal.api.history.v1.IHistoryEvent): string {
  const name = temporal.api.enums.v1.EventType[e.eventType ?? 0] ?? String(e.eventType);
  return name.replace(/^EVENT_TYPE_/, '');
}

/** The first few words of the core's nondeterminism message (without the wrapping the SDK adds). */
function nondeterminismOf(message: string): string {
  const m = /\[TMPRL1100\] Nondeterminism error: ([^"]*)/.exec(message);
  return m ? m[1].trim() : message;
}

/**
 * Where a history stops replaying: replays its prefixes up to each workflow
 * task (the commands of every task but the last are checked) and returns the
 * workflow task whose commands differ, and the first event those commands
 * wrote.
 */
async function locate(options: ReplayWorkerOptions, history: History, message: string): Promise<string> {
  const events = history.events ?? [];
  const isStarted = (e: temporal.api.history.v1.IHistoryEvent) => e.eventType === temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED;
  const cuts = events.map((e, i) => (isStarted(e) ? i + 1 : -1)).filter((i) => i > 0);
  const prefixes = cuts.map((cut, k) => ({ workflowId: `prefix-${k}`, history: { events: events.slice(0, cut) } }));
  let failing = -1;
  for await (const r of Worker.runReplayHistories(options, prefixes)) {
    const k = Number(r.workflowId.slice('prefix-'.length));
    // Only nondeterminism counts: a prefix may end on a task that starts a (local) activity no replayer has.
    if (r.error?.name === 'DeterminismViolationError' && (failing < 0 || k < failing)) failing = k;
  }
  if (failing <= 0) return 'at the end of the history';
  // The prefix up to workflow task `failing` checked the commands of task `failing - 1`: those differ.
  const from = cuts[failing - 1];
  const completed = events.slice(from).find((e) => e.eventType === temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
  const at = completed ? events.indexOf(completed) : -1;
  if (at < 0) return 'the last workflow task';
  // The events that task's commands wrote; the one the core's message names (by its quoted type), else the first.
  const end = events.findIndex((e, i) => i > at && e.eventType === temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
  const written = events.slice(at + 1, end < 0 ? undefined : end);
  const quoted = [...message.matchAll(/'([^']+)'/g)].map((m) => m[1]);
  const named = written.find((e) => quoted.includes(activityName(e).trim())) ?? written[0];
  if (!named) return `the workflow task completed at event ${String(completed!.eventId)} (it wrote no events)`;
  return `event ${String(named.eventId)} (${eventType(named)}${activityName(named)}) of the workflow task completed at event ${String(completed!.eventId)}`;
}

function activityName(e: temporal.api.history.v1.IHistoryEvent): string {
  const name = e.activityTaskScheduledEventAttributes?.activityType?.name;
  if (name) return ` ${name}`;
  const marker = e.markerRecordedEventAttributes?.markerName;
  return marker ? ` ${marker}` : '';
}

export const replayCommand: Command = {
  name: 'replay',
  summary: 'Replay workflow histories (files or the namespace) against this build: the check before deploying a worker',
  usage: USAGE,
  async run(ctx: CliContext, argv: string[]): Promise<number> {
    let parsed;
    try {
      parsed = parseArgs({
        args: argv,
        allowPositionals: true,
        options: {
          since: { type: 'string' },
          query: { type: 'string' },
          type: { type: 'string', multiple: true },
          limit: { type: 'string' },
          bundle: { type: 'string' },
        },
      });
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const { values, positionals } = parsed;
    const fromNamespace = values.since !== undefined || values.query !== undefined;
    if (values.type && !fromNamespace) throw new UsageError('--type needs --since or --query');
    if (positionals.length === 0 && !fromNamespace) throw new UsageError('give history files or directories, or --since / --query to replay runs of the namespace');
    const limit = values.limit === undefined ? 1000 : Number(values.limit);
    if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit must be a positive integer, got "${values.limit}"`);
    const bundle = path.resolve(values.bundle ?? path.join(__dirname, '..', '..', '..', 'workflow-bundle.js'));
    if (!fs.existsSync(bundle)) throw new UsageError(`no workflow bundle at ${bundle} (run npm run build, or pass --bundle)`);

    const sources: Source[] = [];
    for (const target of positionals) {
      for (const file of filesOf(target)) {
        try {
          sources.push({ name: file, workflowId: path.basename(file).replace(/(\.history)?\.(pb|json)$/, ''), history: readHistoryFile(file) });
        } catch (err) {
          ctx.io.err(`replay: ${file}: not a workflow history (${(err as Error).message})`);
          return EXIT_FAILED;
        }
      }
    }
    if (fromNamespace) {
      const query = buildQuery({ since: values.since, types: values.type, query: values.query });
      const client = await ctx.temporal();
      ctx.io.err(`replay: fetching runs of namespace "${ctx.config.temporal.namespace}" where ${query}`);
      for await (const wf of client.workflow.list({ query })) {
        if (sources.length - positionals.length >= limit) break;
        const history = await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
        sources.push({ name: `${wf.type} ${wf.workflowId} run ${wf.runId}`, workflowId: wf.workflowId, history });
      }
    }
    if (sources.length === 0) {
      ctx.io.out('replay: no histories to replay');
      return EXIT_OK;
    }

    try {
      // Quiet: the replays below fail on purpose when a history does not match; the report says which.
      Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }) } } });
    } catch {
      // A runtime already exists in this process (tests): keep it.
    }
    const options: ReplayWorkerOptions = { workflowBundle: { codePath: bundle }, dataConverter: merchflowDataConverter(ctx.config) };
    const ids = sources.map((s, i) => replayWorkflowId(s.history, `${i}`));
    // Ids must be unique in one batch: a repeated one (the same history twice) replays under its position.
    const unique = ids.map((id, i) => (ids.indexOf(id) === i ? id : `${i}`));
    const byId = new Map(sources.map((s, i) => [unique[i], s]));
    const failures: Array<{ source: Source; message: string; nondeterministic: boolean }> = [];
    let replayed = 0;
    for await (const r of Worker.runReplayHistories(options, sources.map((s, i) => ({ workflowId: unique[i], history: s.history })))) {
      const source = byId.get(r.workflowId)!;
      replayed++;
      if (r.error) failures.push({ source, message: r.error.message, nondeterministic: r.error.name === 'DeterminismViolationError' });
      else ctx.io.out(`ok    ${source.name}`);
    }
    for (const f of failures) {
      if (!f.nondeterministic) {
        ctx.io.out(`FAIL  ${f.source.name}: could not replay: ${f.message}`);
        continue;
      }
      const where = await locate(options, f.source.history, f.message).catch((err: Error) => `(could not locate the event: ${err.message})`);
      ctx.io.out(`FAIL  ${f.source.name}: nondeterminism at ${where}: ${nondeterminismOf(f.message)}`);
    }
    ctx.io.out(`replay: ${replayed - failures.length} of ${replayed} histories replay with this build${failures.length > 0 ? `; ${failures.length} do not` : ''}`);
    return failures.length > 0 ? EXIT_FAILED : EXIT_OK;
  },
};
