/**
 * The `merchflow` CLI (`bin/merchflow.js`, `npm run cli --`). Talks to
 * PostgreSQL and Temporal directly through the same services and configuration
 * as the API. Exit codes: 0 ok, 1 a failed run or an error, 2 bad usage.
 */
import 'reflect-metadata';
import { appConfig, redactUrl, type AppConfig } from '@src/config/config';
import { AppError } from '@src/common/errors';
import { describeStartupError } from '@src/common/startup-errors';
import { formatIssues } from '@engine/dsl/validate';
import type { ValidationIssue } from '@engine/dsl/types';
import { UsageError } from '@src/cli/options';
import { CliContext, ConnectionError, processIo, type Io } from '@src/cli/context';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, type Command } from '@src/cli/commands/command';
import { apiKeysCommand } from '@src/cli/commands/api-keys';
import { executionsCommand } from '@src/cli/commands/executions';
import { runWorkflow } from '@src/cli/commands/run-workflow';
import { schedulesCommand } from '@src/cli/commands/schedules';
import { secretsCommand } from '@src/cli/commands/secrets';
import { connectionsCommand } from '@src/cli/commands/connections';
import { channelsCommand } from '@src/cli/commands/channels';
import { createWorkflowTemplates } from '@src/cli/commands/templates';
import { workerCommand } from '@src/cli/commands/worker';
import { ApiError, RemoteApi, remoteTarget } from '@src/cli/api-client';
import { replayCommand } from '@src/cli/commands/replay';

export const COMMANDS: Command[] = [createWorkflowTemplates, runWorkflow, workerCommand, executionsCommand, schedulesCommand, apiKeysCommand, secretsCommand, ...(['suppliers', 'marketplaces', 'carriers'] as const).map(connectionsCommand), channelsCommand, replayCommand];

/** Errors a user fixes by changing what they typed. */
const USAGE_CODES = new Set(['VALIDATION_FAILED', 'SCHEDULE_INVALID', 'STEP_NOT_FOUND', 'TEMPLATE_NOT_FOUND']);

function help(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'usage: merchflow <command> [options]',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}${c.aliases?.length ? ` (also ${c.aliases.join(', ')})` : ''}`),
    '',
    'Run "merchflow <command> --help" for its options. Configuration comes from the',
    'environment (DATABASE_URL, TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TASK_QUEUE, ...).',
    '',
    'Remote mode: with --api-url URL (or MERCHFLOW_API_URL) and MERCHFLOW_API_KEY, the commands',
    `${COMMANDS.filter((c) => c.remote).map((c) => c.name).join(', ')} go through the REST API instead of the database and Temporal.`,
  ].join('\n');
}

/** Runs one command line; returns the exit code. Never throws. */
export async function runCli(argv: string[], io: Io = processIo, configLoader: () => AppConfig = appConfig, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.err(help());
    return EXIT_USAGE;
  }
  if (name === 'help' || name === '--help' || name === '-h') {
    io.out(help());
    return EXIT_OK;
  }
  const command = COMMANDS.find((c) => c.name === name || c.aliases?.includes(name));
  if (!command) {
    io.err(`merchflow: unknown command "${name}"\n\n${help()}`);
    return EXIT_USAGE;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(command.usage);
    return EXIT_OK;
  }
  let target: ReturnType<typeof remoteTarget>;
  let remote: RemoteApi | null = null;
  try {
    target = remoteTarget(rest, env);
    if (target.url !== null && command.remote) remote = new RemoteApi(target.url, target.key);
    else if (target.url !== null && rest.length !== target.argv.length) throw new UsageError(`${command.name} has no remote mode (--api-url); it works on the database and Temporal directly`);
  } catch (err) {
    return reportError(io, command, err, null);
  }
  let config: AppConfig;
  try {
    config = configLoader();
  } catch (err) {
    io.err(`merchflow: ${describeStartupError(err)}`);
    return EXIT_FAILED;
  }
  const ctx = new CliContext(config, io);
  ctx.remote = remote;
  try {
    return await command.run(ctx, target.argv);
  } catch (err) {
    return reportError(io, command, err, config, remote);
  } finally {
    await ctx.close();
  }
}

function reportError(io: Io, command: Command, err: unknown, config: AppConfig | null, remote: RemoteApi | null = null): number {
  if (err instanceof UsageError) {
    io.err(`merchflow ${command.name}: ${err.message}`);
    io.err(`(run "merchflow ${command.name} --help" for usage)`);
    return EXIT_USAGE;
  }
  if (err instanceof AppError) {
    io.err(`merchflow ${command.name}: ${err.message}`);
    const issues = err.details?.issues as ValidationIssue[] | undefined;
    if (Array.isArray(issues) && issues.length > 0 && !err.message.includes(formatIssues(issues))) io.err(`  ${formatIssues(issues)}`);
    return USAGE_CODES.has(err.code) ? EXIT_USAGE : EXIT_FAILED;
  }
  if (err instanceof ApiError) {
    io.err(`merchflow ${command.name}: ${err.message}`);
    const issues = err.details?.issues as ValidationIssue[] | undefined;
    if (Array.isArray(issues) && issues.length > 0 && !err.message.includes(formatIssues(issues))) io.err(`  ${formatIssues(issues)}`);
    return USAGE_CODES.has(err.code) ? EXIT_USAGE : EXIT_FAILED;
  }
  if (remote && err instanceof TypeError) {
    // fetch's network failures: name the URL, not the database.
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    io.err(`merchflow ${command.name}: cannot reach the API at ${remote.baseUrl} (${cause?.code ?? cause?.message ?? err.message}); check --api-url / MERCHFLOW_API_URL`);
    return EXIT_FAILED;
  }
  if (err instanceof ConnectionError || config === null) {
    io.err(`merchflow ${command.name}: ${(err as Error).message}`);
    return EXIT_FAILED;
  }
  io.err(`merchflow ${command.name}: ${describeStartupError(err, { database: redactUrl(config.databaseUrl), temporal: config.temporal.address })}`);
  return EXIT_FAILED;
}

/** Runs the process's command line and exits with its code once the output is flushed. */
export function main(argv: string[] = process.argv.slice(2)): void {
  runCli(argv).then(
    (code) => process.stdout.write('', () => process.stderr.write('', () => process.exit(code))),
    (err) => {
      console.error(`merchflow: ${(err as Error).message}`);
      process.exit(EXIT_FAILED);
    },
  );
}

if (require.main === module) main();
