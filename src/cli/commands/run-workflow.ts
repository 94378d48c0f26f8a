import os from 'node:os';
import { parseArgs, UsageError } from '@src/cli/args';
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
    const { queries } = await ctx.services();
    const detail = await queries.detail(executionId);
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
    const { positionals, options } = parseArgs(
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
    const { workflows, executions, queries } = await ctx.services();
    let workflow: Workflow;
    try {
      workflow = await workflows.getByCode(code);
    } catch (err) {
      if (err instanceof NotFoundError) {
        const hint = code.endsWith('_template') ? ' (create it with: merchflow create-workflow-templates)' : '';
        ctx.io.err(`merchflow: no workflow with code "${code}"${hint}`);
        return EXIT_FAILED;
      }
      throw err;
    }
    const row = await executions.start(workflow.id, {
      input_data: (options['input-data'] as Record<string, unknown> | undefined) ?? {},
      trigger_type: 'cli',
      triggered_by: cliUser(),
      idempotency_key: (options['idempotency-key'] as string | undefined) ?? null,
      version: options.version as number | undefined,
    });
    if (options.wait === false) {
      ctx.io.out(row.execution_id);
      return EXIT_OK;
    }
    ctx.io.err(`started ${row.execution_id} (workflow ${workflow.code} v${row.version})`);
    ctx.io.err(`  ${queries.temporalUiUrl(row.execution_id)}`);
    const abort = new AbortController();
    const onSigint = () => abort.abort();
    process.once('SIGINT', onSigint);
    try {
      const outcome = await followRun(ctx, row.execution_id, {
        pollMs: options['poll-ms'] as number | undefined,
        timeoutMs: options.timeout ? (options.timeout as number) * 1000 : undefined,
        signal: abort.signal,
      });
      if (abort.signal.aborted) {
        ctx.io.err(`detached; ${row.execution_id} keeps running (stop it with: merchflow executions cancel ${row.execution_id})`);
        return 130;
      }
      return await reportOutcome(ctx, row.execution_id, outcome);
    } finally {
      process.removeListener('SIGINT', onSigint);
    }
  },
};
