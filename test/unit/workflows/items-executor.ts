/** A per-item executor and in-memory runner collaborators for the step runner's heartbeat tests. */
import { SecretScrubber } from '@engine/activities/runtime/secret-scrubber';
import { StepError, type StepExecutionContext, type StepExecutor } from '@engine/activities/runtime/executor';
import type { StepRunnerDeps } from '@engine/activities/runtime/step-runner';
import { Logger } from '@src/logging/logger';

/** A per-item executor over items 0..5 that heartbeats `{ next }` after each one; attempt 1 stops before item 3. */
export function itemsExecutor(processed: Array<{ attempt: number; item: number }>, stop: 'fail' | 'hang', seen: unknown[], reasons: string[] = []): StepExecutor {
  return {
    type: 'items',
    validateConfig: () => [],
    async execute(_config, ctx: StepExecutionContext) {
      seen.push(ctx.checkpoint);
      const from = (ctx.checkpoint as { next?: number } | undefined)?.next ?? 0;
      for (let item = from; item < 6; item++) {
        if (ctx.attempt === 1 && item === 3) {
          // Long enough for several of the runner's own heartbeats to go out after the executor's last one.
          await new Promise((r) => setTimeout(r, 150));
          if (stop === 'fail') throw new StepError('HTTP_CONNECTION_ERROR', 'the peer went away', { retryable: true });
          await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
          reasons.push(String((ctx.signal.reason as Error | undefined)?.message ?? ctx.signal.reason));
          throw new StepError('STEP_TIMED_OUT', 'aborted while hung', { retryable: true });
        }
        processed.push({ attempt: ctx.attempt, item });
        ctx.heartbeat({ next: item + 1 });
      }
      return { processed: 6 - from };
    },
  };
}

/** The real runner's collaborators that need PostgreSQL, in memory; its own heartbeat every 10 ms, silence after 50 ms. */
export function runnerDeps(): StepRunnerDeps {
  return {
    projection: { reportStep: async () => undefined } as unknown as StepRunnerDeps['projection'],
    payloads: { hydrate: async (v: unknown) => v, offload: async (_e: string, _s: string, v: unknown) => v } as unknown as StepRunnerDeps['payloads'],
    logger: new Logger({ level: 'error', format: 'json', sink: () => undefined }),
    secrets: { resolve: async (name: string) => { throw new Error(`no secret ${name}`); } },
    scrubber: new SecretScrubber({ load: async () => [] }),
    autoHeartbeatMs: 10,
    executorSilenceMs: 50,
  };
}

