import { setTimeout as sleep } from 'node:timers/promises';
import type { DataSource } from 'typeorm';
import { StepError, withPartialOutput } from '@engine/activities/shared/errors';
import { ItemFailures, failedItemsOf } from '@engine/activities/shared/item-failures';
import type { StepExecutor } from '@engine/activities/runtime/executor';
import type { StepErrorCode } from '@engine/activities/shared/errors';

/** A failure code of the test executors only: outside the error catalogue, recorded in fixture histories. */
const TEST_FATAL = 'TEST_FATAL' as StepErrorCode;

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
        if (config.non_retryable) throw new StepError(TEST_FATAL, `fatal failure in ${ctx.step_key}`, { retryable: false });
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
      // Applies `count` items one by one (a side-effect row each, `ms` apart), failing for good at `fail_at`;
      // a failure or cancellation reports the items done so far as its partial output (unless `partial: false`).
      type: 'test_items',
      validateConfig: noIssues,
      async execute(raw, ctx) {
        const config = ctx.resolve(raw) as Record<string, unknown>;
        const done: string[] = [];
        try {
          for (let i = 0; i < Number(config.count ?? 1); i++) {
            ctx.heartbeat({ i });
            if (config.fail_at !== undefined && config.fail_at !== null && i === Number(config.fail_at)) {
              throw new StepError(TEST_FATAL, `fatal failure in ${ctx.step_key} at item ${i}`, { retryable: false });
            }
            const key = `${ctx.idempotency_key}:${i}`;
            await ds().query(`INSERT INTO test_side_effects (idempotency_key, execution_id, step_key) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, [
              key,
              ctx.execution_id,
              ctx.step_key,
            ]);
            await record(ctx.execution_id, ctx.step_key, 'item', ctx.attempt, { i });
            done.push(key);
            if (Number(config.ms ?? 0) > 0) await sleep(Number(config.ms), undefined, { signal: ctx.signal });
          }
        } catch (err) {
          await record(ctx.execution_id, ctx.step_key, ctx.signal.aborted ? 'cancelled' : 'failed', ctx.attempt, { done: done.length });
          throw config.partial === false ? err : withPartialOutput(err, { done });
        }
        return { done };
      },
    },
    {
      // The compensation of test_items: removes the side effects listed in its input's `done`; with none
      // listed, those its step made in this run (derived from the run, not from an output).
      type: 'test_undo',
      validateConfig: noIssues,
      async execute(raw, ctx) {
        const config = ctx.resolve(raw) as Record<string, unknown>;
        await record(ctx.execution_id, ctx.step_key, 'undo', ctx.attempt, { input: ctx.input });
        if (config.fail) throw new StepError(TEST_FATAL, `undo ${ctx.step_key} failed`, { retryable: false });
        const input = (ctx.input ?? {}) as { done?: unknown };
        const rows: unknown[] = Array.isArray(input.done)
          ? await ds().query(`DELETE FROM test_side_effects WHERE idempotency_key = ANY($1::text[]) RETURNING 1`, [input.done])
          : await ds().query(`DELETE FROM test_side_effects WHERE execution_id = $1 AND step_key = $2 RETURNING 1`, [ctx.execution_id, ctx.compensates]);
        return { undone: rows.length };
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
      type: 'test_item_failures',
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
