import { setTimeout as sleep } from 'node:timers/promises';
import type { RunProgress } from '@engine/shared/contracts';
import type { CliContext, Io } from '@src/cli/context';
import { followRemoteRun } from '@src/cli/api-client';

export interface Snapshot {
  status: string;
  total: number;
  completed: number;
  failed: number;
  skipped: number;
  /** Items that failed after their retries so far. */
  failedItems?: number;
  running: Array<{ key: string; attempt: number; status: string }>;
}

export function bar(done: number, total: number, width = 24): string {
  const filled = total > 0 ? Math.min(width, Math.round((done / total) * width)) : 0;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

export function describeSnapshot(s: Snapshot): string {
  const done = s.completed + s.skipped;
  const pct = s.total > 0 ? Math.round((done / s.total) * 100) : 0;
  const running = s.running.map((r) => `${r.key}${r.status === 'waiting' ? ' (waiting for approval)' : r.attempt > 1 ? ` (attempt ${r.attempt})` : ''}`);
  const parts = [`${bar(done, s.total)} ${done}/${s.total} steps ${String(pct).padStart(3)}%`];
  if (s.failed > 0) parts.push(`${s.failed} failed`);
  if (s.skipped > 0) parts.push(`${s.skipped} skipped`);
  if ((s.failedItems ?? 0) > 0) parts.push(`${s.failedItems} failed item${s.failedItems === 1 ? '' : 's'}`);
  if (running.length > 0) parts.push(`running: ${running.join(', ')}`);
  return parts.join('  ');
}

export function snapshotOf(p: RunProgress): Snapshot {
  return {
    status: p.status,
    total: p.total_steps,
    completed: p.completed_steps,
    failed: p.failed_steps,
    skipped: p.skipped_steps,
    failedItems: p.failed_items_total ?? 0,
    running: p.steps.filter((s) => p.running_steps.includes(s.key)).map((s) => ({ key: s.key, attempt: s.attempt, status: s.status })),
  };
}

/**
 * Draws progress: redrawn in place on a terminal; on a pipe or a log file,
 * one line per change, so CI logs stay readable.
 */
export class ProgressRenderer {
  private last = '';
  private drawn = false;

  constructor(private readonly io: Io) {}

  update(s: Snapshot): void {
    const line = describeSnapshot(s);
    if (line === this.last) return;
    this.last = line;
    if (this.io.isTty) {
      const cols = process.stderr.columns ?? 120;
      this.io.errRaw(`\r\x1b[2K${line.slice(0, cols - 1)}`);
      this.drawn = true;
    } else {
      this.io.err(`progress ${line}`);
    }
  }

  message(text: string): void {
    this.clear();
    this.io.err(text);
  }

  finish(): void {
    this.clear();
  }

  private clear(): void {
    if (this.io.isTty && this.drawn) {
      this.io.errRaw('\n');
      this.drawn = false;
      this.last = '';
    }
  }
}

export interface RunOutcome {
  status: 'completed' | 'failed' | 'cancelled' | 'terminated' | 'timed_out' | 'still_running';
  output?: unknown;
  /** Items that failed after their retries in a completed run ("completed with failures"). */
  failedItems?: number;
  error?: string;
}

const CLOSED: Record<string, RunOutcome['status']> = {
  COMPLETED: 'completed',
  FAILED: 'failed',
  CANCELLED: 'cancelled',
  TERMINATED: 'terminated',
  TIMED_OUT: 'timed_out',
};

/**
 * Follows a run until it ends: polls its status and the progress query, draws
 * the progress, then returns the result (or the error).
 */
export async function followRun(ctx: CliContext, executionId: string, opts: { pollMs?: number; timeoutMs?: number; signal?: AbortSignal } = {}): Promise<RunOutcome> {
  if (ctx.remote) return followRemoteRun(ctx.remote, ctx.io, executionId, opts);
  const { queries } = await ctx.services();
  const client = await ctx.temporal();
  const handle = client.workflow.getHandle(executionId);
  const renderer = new ProgressRenderer(ctx.io);
  const started = Date.now();
  let lastAnswer = Date.now();
  let warned = false;
  try {
    for (;;) {
      const desc = await client.withDeadline(Date.now() + 10_000, () => handle.describe());
      const closed = CLOSED[desc.status.name];
      if (closed) break;
      const p = await queries.liveProgress(executionId, 2000);
      if (p) {
        lastAnswer = Date.now();
        renderer.update(snapshotOf(p));
      } else if (!warned && Date.now() - lastAnswer > 5000) {
        warned = true;
        renderer.message(`waiting for a worker on task queue "${desc.taskQueue}" (start one with: merchflow worker)`);
      }
      if (opts.timeoutMs !== undefined && Date.now() - started > opts.timeoutMs) return { status: 'still_running' };
      try {
        await sleep(opts.pollMs ?? 500, undefined, { signal: opts.signal });
      } catch {
        return { status: 'still_running' };
      }
    }
    const row = await (await ctx.services()).executions.get(executionId);
    renderer.update({ status: row.status, total: row.total_steps, completed: row.completed_steps, failed: row.failed_steps, skipped: row.skipped_steps, failedItems: row.failed_items_total, running: [] });
  } finally {
    renderer.finish();
  }
  try {
    const result = (await handle.result()) as { output?: unknown; failed_items_total?: number };
    return { status: 'completed', output: result?.output ?? null, failedItems: result?.failed_items_total ?? 0 };
  } catch (err) {
    const e = err as { cause?: { name?: string; message?: string }; message?: string };
    const status = e.cause?.name === 'CancelledFailure' ? 'cancelled' : e.cause?.name === 'TerminatedFailure' ? 'terminated' : e.cause?.name === 'TimeoutFailure' ? 'timed_out' : 'failed';
    return { status, error: e.cause?.message ?? e.message };
  }
}
