import os from 'node:os';
import { parseOptions, UsageError } from '@src/cli/options';
import type { CliContext } from '@src/cli/context';
import { json } from '@src/cli/format';
import { followRun, type RunOutcome } from '@src/cli/progress';
import { EXIT_COMPLETED_WITH_FAILURES, EXIT_FAILED, EXIT_OK, type Command } from '@src/cli/commands/command';
import { NotFoundError } from '@src/common/errors';
import type { Workflow } from '@src/workflows/workflow.entity';

export function cliUser(): string {
  try {
    return `cli:${os.userInfo().username}`;
  } catch {
    return 'cli';
  }
}

/** Prints how a followed run ended and turns it into the exit code. */
export async function reportOutcome(ctx: CliContext, executionId: string, outcome: RunOutcome): Promise<number> {
  if (outcome.status === 'completed' && (outcome.failedItems ?? 0) > 0) {
    // Never a plain success: say how many items failed, and which (the first ones).
    ctx.io.err(`completed with failures ${executionId}: ${outcome.failedItems} item(s) failed after their retries`);
    const detail = ctx.remote ? await ctx.remote.execution(executionId) : await (await ctx.services()).queries.detail(executionId);
    for (const f of detail.failed_items.slice(0, 20)) ctx.io.err(`  ${f.step_key}  ${f.key}  ${f.code}  ${f.message}`);
    if (detail.failed_items_total > 20) ctx.io.err(`  … see: merchflow executions show ${executionId}`);
    ctx.io.out(json(outcome.output ?? null));
    return EXIT_COMPLETED_WITH_FAILURES;
  }
  if (outcome.status === 'completed') {
    ctx.io.err(`completed ${executionId}`);
    ctx.io.out(json(outcome.output ?? null));
    return EXIT_OK;
  }
  if (outcome.status === 'still_running') {
    ctx.io.err(`stopped waiting; ${executionId} is still running (follow it with: merchflow executions show ${executionId})`);
    return EXIT_FAILED;
  }
  ctx.io.err(`${outcome.status} ${executionId}${outcome.error ? `: ${outcome.error}` : ''}`);
  return EXIT_FAILED;
}

/** `run-workflow CODE --input-data JSON`: starts a run, shows its progress, prints its output. */
export const runWorkflow: Command = {
  name: 'run-workflow',
  aliases: ['run_workflow'],
  summary: 'Run a workflow by code, showing live progress, then print its output',
  remote: true,
  usage: `merchflow run-workflow CODE [--input-data JSON] [--no-wait] [--idempotency-key KEY] [--version N] [--timeout SECONDS]
(also: merchflow run_workflow CODE --input-data JSON, the specification's name)

  CODE                 the workflow code (e.g. product_import_template)
  --input-data JSON    the run's input, a JSON object (default {})
  --no-wait            print the execution id at once and return
  --idempotency-key K  never start a second run for the same key
  --version N          run this definition version instead of the current one
  --timeout SECONDS    stop waiting after this long (the run continues; exit 1)

Progress goes to stderr, the output (JSON) to stdout. Exit 0 when the run
completed, 3 when it completed with failures (items that failed after their
retries, listed on stderr), 1 when it failed or was cancelled, 2 on bad usage. Ctrl-C stops
following; the run continues.`,
  async run(ctx, argv) {
    const { positionals, options } = parseOptions(
      argv,
      {
        'input-data': { kind: 'json', object: true },
        wait: { kind: 'boolean' },
        'idempotency-key': { kind: 'string' },
        version: { kind: 'int', min: 1 },
        timeout: { kind: 'int', min: 1 },
        'poll-ms': { kind: 'int', min: 50, max: 60_000 },
      },
      { maxPositionals: 1 },
    );
    const code = positionals[0];
    if (!code) throw new UsageError('run-workflow needs a workflow CODE');
    const start = {
      input_data: (options['input-data'] as Record<string, unknown> | undefined) ?? {},
      idempotency_key: (options['idempotency-key'] as string | undefined) ?? undefined,
      version: options.version as number | undefined,
    };
    const follow = (executionId: string, version: number, uiUrl: string) =>
      followAndReport(ctx, executionId, `started ${executionId} (workflow ${code} v${version})\n  ${uiUrl}`, options);
    if (ctx.remote) {
      const wf = await ctx.remote.workflowByCode(code);
      if (!wf) return noWorkflow(ctx, code);
      // Through the API a run is started by a person at the CLI: trigger_type manual (cli is for direct mode).
      const run = await ctx.remote.execute(wf.id, { ...start, trigger_type: 'manual' });
      if (options.wait === false) {
        ctx.io.out(run.execution_id);
        return EXIT_OK;
      }
      return follow(run.execution_id, run.version, run.temporal_ui_url);
    }
    const { workflows, executions, queries } = await ctx.services();
    let workflow: Workflow;
    try {
      workflow = await workflows.getByCode(code);
    } catch (err) {
      if (err instanceof NotFoundError) return noWorkflow(ctx, code);
      throw err;
    }
    const row = await executions.start(workflow.id, { ...start, idempotency_key: start.idempotency_key ?? null, trigger_type: 'cli', triggered_by: cliUser() });
    if (options.wait === false) {
      ctx.io.out(row.execution_id);
      return EXIT_OK;
    }
    return follow(row.execution_id, row.version, queries.temporalUiUrl(row.execution_id));
  },
};

function noWorkflow(ctx: CliContext, code: string): number {
  const hint = code.endsWith('_template') ? ' (create it with: merchflow create-workflow-templates)' : '';
  ctx.io.err(`merchflow: no workflow with code "${code}"${hint}`);
  return EXIT_FAILED;
}

/** Follows a started run until it ends (Ctrl-C detaches), then reports how it ended. */
async function followAndReport(ctx: CliContext, executionId: string, banner: string, options: Record<string, unknown>): Promise<number> {
  ctx.io.err(banner);
  const abort = new AbortController();
  const onSigint = () => abort.abort();
  process.once('SIGINT', onSigint);
  try {
    const outcome = await followRun(ctx, executionId, {
      pollMs: options['poll-ms'] as number | undefined,
      timeoutMs: options.timeout ? (options.timeout as number) * 1000 : undefined,
      signal: abort.signal,
    });
    if (abort.signal.aborted) {
      ctx.io.err(`detached; ${executionId} keeps running (stop it with: merchflow executions cancel ${executionId})`);
      return 130;
    }
    return await reportOutcome(ctx, executionId, outcome);
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}
