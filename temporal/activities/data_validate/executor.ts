import { defineExecutor, type ExecutorImplementation, type ExecutorDeps, type StepExecutor } from '@engine/activities/runtime/executor';
import { executorProgress } from '@engine/activities/shared/items';
import { expressionPool } from '@engine/activities/shared/expressions';
import { DATA_VALIDATE_STEP_TYPE, dataValidateConfig } from './schema';
import { validateData } from './validate';

/**
 * The `data_validate` executor: checks the step's items against
 * `validation_rules` and splits them into valid and invalid (see `schema.ts`).
 * The work is done by the pure functions of `validate.ts`; this wrapper feeds
 * them the run context, heartbeats every 1000 items, and fails the step with
 * a non-retryable `VALIDATION_FAILED` when a threshold is crossed.
 */
function build(deps?: ExecutorDeps): ExecutorImplementation {
  // The pool the worker's configuration asks for (without deps, as in unit tests: the process default).
  const expressions = deps?.config ? expressionPool(deps.config.expressions) : undefined;
  return {
    async execute(config, ctx) {
      const { output, counts, warnings } = await validateData(ctx.input, config, { run: ctx.run, expressions, signal: ctx.signal, items: ctx.items, pages: ctx.pages, ...executorProgress(ctx) });
      for (const warning of warnings) ctx.logger.warn(`data_validate: ${warning}`);
      if (counts.invalid_count > 0) ctx.logger.info('data_validate: invalid items', { ...counts });
      return output;
    },
    summarize(output) {
      const o = (output ?? {}) as Record<string, unknown>;
      return { total: o.total, valid_count: o.valid_count, invalid_count: o.invalid_count };
    },
    // Page by page when its rules are plain checks: a custom rule's expression may read `$steps` whole.
    readsPages: (config) => !hasCustomRule(config),
  };
}

function hasCustomRule(config: Record<string, unknown>): boolean {
  const rules = config.validation_rules;
  return !Array.isArray(rules) || rules.some((r) => (r as { type?: unknown } | null)?.type === 'custom');
}

/** The `data_validate` step executor: its config (type and validator, from schema.ts) and its factory. */
export { DATA_VALIDATE_STEP_TYPE };

export const dataValidateExecutorModule = defineExecutor({ config: dataValidateConfig, create: build });

/** Builds the executor; without deps (unit tests) expressions run in the process's default pool. */
export function createDataValidateExecutor(deps?: ExecutorDeps): StepExecutor {
  return dataValidateExecutorModule.create(deps as ExecutorDeps);
}

export { validateData, validateItems, thresholdFailure, hasType } from './validate';
export { validateDataValidateConfig, checkValidateConfig, resolveValidateConfig } from './schema';
