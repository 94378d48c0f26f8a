import type { ExecutorDeps, StepExecutor } from '@engine/activities/runtime/executor';
import type { ExecutorModule } from '@engine/activities/registry';
import { executorProgress } from '@engine/activities/shared/items';
import { expressionPool } from '@engine/activities/shared/expressions';
import { validateDataValidateConfig } from './schema';
import { validateData } from './validate';

/** Step type id of the data validation executor. */
export const DATA_VALIDATE_STEP_TYPE = 'data_validate';

/**
 * The `data_validate` executor: checks the step's items against
 * `validation_rules` and splits them into valid and invalid (see `schema.ts`).
 * The work is done by the pure functions of `validate.ts`; this wrapper feeds
 * them the run context, heartbeats every 1000 items, and fails the step with
 * a non-retryable `VALIDATION_FAILED` when a threshold is crossed.
 */
export function createDataValidateExecutor(deps?: ExecutorDeps): StepExecutor {
  // The pool the worker's configuration asks for (without deps, as in unit tests: the process default).
  const expressions = deps?.config ? expressionPool(deps.config.expressions) : undefined;
  return {
    type: DATA_VALIDATE_STEP_TYPE,
    validateConfig: validateDataValidateConfig,
    async execute(config, ctx) {
      const { output, counts, warnings } = await validateData(ctx.input, config, { run: ctx.run, expressions, signal: ctx.signal, ...executorProgress(ctx) });
      for (const warning of warnings) ctx.logger.warn(`data_validate: ${warning}`);
      if (counts.invalid_count > 0) ctx.logger.info('data_validate: invalid items', { ...counts });
      return output;
    },
    summarize(output) {
      const o = (output ?? {}) as Record<string, unknown>;
      return { total: o.total, valid_count: o.valid_count, invalid_count: o.invalid_count };
    },
  };
}

/** The data_validate step type as registered in the worker. */
export const dataValidateExecutorModule: ExecutorModule = {
  type: DATA_VALIDATE_STEP_TYPE,
  validateConfig: validateDataValidateConfig,
  create: (deps) => createDataValidateExecutor(deps),
};

export { validateData, validateItems, thresholdFailure, hasType } from './validate';
export { validateDataValidateConfig, checkValidateConfig, resolveValidateConfig } from './schema';
