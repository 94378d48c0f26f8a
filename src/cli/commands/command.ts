import type { CliContext } from '@src/cli/context';

/** One CLI command (or command group); returns its exit code. */
export interface Command {
  name: string;
  /** Other names the command answers to (the specification's snake_case management commands). */
  aliases?: string[];
  summary: string;
  /** Works in remote mode (`--api-url` / MERCHFLOW_API_URL): through the API's typed client. */
  remote?: boolean;
  usage: string;
  run(ctx: CliContext, argv: string[]): Promise<number>;
}

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
/** The run completed, but some items failed after their retries (they are listed on stderr). */
export const EXIT_COMPLETED_WITH_FAILURES = 3;
