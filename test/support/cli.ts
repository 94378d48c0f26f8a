/**
 * The built CLI (`dist/src/cli/main.js`) as a child process, for integration
 * tests: its exit code and what it wrote. Its environment is the test's own
 * (which points at the test's PostgreSQL and Temporal) with `env` on top.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';

export const CLI = path.resolve(__dirname, '../../src/cli/main.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], env: Record<string, string | undefined> = {}, stdin: string | null = null): Promise<CliResult> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, LOG_LEVEL: 'warn', ...env }, stdio: [stdin === null ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    if (stdin !== null) child.stdin!.end(stdin);
  });
}
