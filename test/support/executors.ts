import { setTimeout as sleep } from 'node:timers/promises';
import type { DataSource } from 'typeorm';
import { StepError } from '@engine/activities/shared/errors';
import { ItemFailures, failedItemsOf } from '@engine/activities/shared/item-failures';
import type { StepExecutor } from '@engine/activities/runtime/executor';

/**
 * Test-only step executors: they make the interpreter's behaviour observable
 * (attempts, timings, side effects, cancellation) in the test tables.
 */
export function testExecutors(ds: () => DataSource): StepExecutor[] {
  const record = (executionId: string, stepKey: string, kind: string, attempt: number, data: unknown = null) =>
    ds().query(`INSERT INTO test_events (execution_id, step_key, kind, attempt, data) VALUES ($1, $2, $3, $4, $5)`, [
      executionId,
      stepKey,
      kind,
      attempt,
      JSON.stringify(data),
    ]);
  const noIssues = () => [];
  return [
    {
      type: 'test_echo',
      validateConfig: (c) => (c.fail_validation ? [{ field: 'fail_validation', message: 'asked to fail validation' }] : []),
      async execute(config, ctx) {
        await record(ctx.execution_id, ctx.step_key, 'ran', ctx.attempt, { input: ctx.input });
        if ('output' in config) return ctx.resolve(config.output);
        return { step: ctx.step_key, input: ctx.input, config: ctx.resolve(config) };
      },
    },
    {
      type: 'test_fail',
      validateConfig: noIssues,
      async execute(raw, ctx) {
        const config = ctx.resolve(raw) as Record<string, unknown>;
        await record(ctx.execution_id, ctx.step_key, 'attempt', ctx.attempt);
        if (config.non_retryable) throw new StepError('TEST_FATAL', `fatal failure in ${ctx.step_key}`, { retryable: false });
        const times = Number(config.fail_times ?? Infinity);
        if (ctx.attempt <= times) throw new Error(`planned failure ${ctx.attempt} of ${ctx.step_key}`);
        return { succeeded_on_attempt: ctx.attempt };
      },
    },
    {
      type: 'test_sleep',
      validateConfig: noIssues,
      async execute(raw, ctx) {
        const config = ctx.resolve(raw) as Record<string, unknown>;
        await record(ctx.execution_id, ctx.step_key, 'started', ctx.attempt);
        const ms = Number(config.ms ?? 1000);
        const until = Date.now() + ms;
        try {
          while (Date.now() < until) {
            await sleep(Math.min(200, until - Date.now()), undefined, { signal: ctx.signal });
            ctx.heartbeat();
          }
        } catch (err) {
          await record(ctx.execution_id, ctx.step_key, 'cancelled', ctx.attempt);
          throw err;
        }
        await record(ctx.execution_id, ctx.step_key, 'finished', ctx.attempt);
        return { slept_ms: ms };
      },
    },
    {
      type: 'test_side_effect',
      validateConfig: noIssues,
      async execute(raw, ctx) {
        const config = ctx.resolve(raw) as Record<string, unknown>;
        await record(ctx.execution_id, ctx.step_key, 'attempt', ctx.attempt);
        const rows: unknown[] = await ds().query(
          `INSERT INTO test_side_effects (idempotency_key, execution_id, step_key) VALUES ($1, $2, $3)
           ON CONFLICT (idempotency_key) DO NOTHING RETURNING idempotency_key`,
          [ctx.idempotency_key, ctx.execution_id, ctx.step_key],
        );
        const ms = Number(config.ms ?? 0);
        const until = Date.now() + ms;
        while (Date.now() < until) {
          await sleep(Math.min(200, until - Date.now()), undefined, { signal: ctx.signal });
          ctx.heartbeat();
        }
        return { applied: rows.length === 1, attempt: ctx.attempt };
      },
    },
    {
      type: 'test_big_output',
      validateConfig: noIssues,
      async execute(config) {
        const bytes = Number(config.bytes ?? 1024);
        const item = 'x'.repeat(1000);
        return Array.from({ length: Math.ceil(bytes / 1004) }, (_, i) => ({ i, item }));
      },
    },
    {
      // Processes `items` (keys), failing those listed in `fail`: failed items as the item-processing executors report them.
      type: 'test_items',
      validateConfig: noIssues,
      async execute(raw, ctx) {
        const config = ctx.resolve(raw) as { items?: string[]; fail?: string[]; max_failed_items?: number };
        await record(ctx.execution_id, ctx.step_key, 'attempt', ctx.attempt);
        const items = config.items ?? [];
        const failures = new ItemFailures();
        items.forEach((key, index) => {
          if (config.fail?.includes(key)) failures.add({ key, index, code: 'TEST_ITEM_FAILED', message: `item ${key} failed for good` });
        });
        failures.enforce(items.length, { max_failed_items: config.max_failed_items });
        return { done: items.filter((k) => !config.fail?.includes(k)), ...failures.report() };
      },
      failedItems: (output) => failedItemsOf(output),
    },
    {
      type: 'test_inspect',
      validateConfig: noIssues,
      async execute(config, ctx) {
        const input = ctx.input;
        return { input_type: Array.isArray(input) ? 'array' : typeof input, items: Array.isArray(input) ? input.length : null, resolved: ctx.resolve(config) };
      },
    },
  ];
}
