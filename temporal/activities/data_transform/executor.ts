import { defineExecutor, type ExecutorImplementation, type ExecutorDeps, type StepExecutor } from '@engine/activities/runtime/executor';
import { expressionPool } from '@engine/activities/shared/expressions';
import { executorProgress } from '@engine/activities/shared/items';
import { DATA_TRANSFORM_STEP_TYPE, dataTransformConfig } from './schema';
import { transformData, type TransformStats } from './transform';

/**
 * The `data_transform` executor: maps, filters, aggregates, normalizes or
 * applies JSONata to the step's input (see `schema.ts` for the config). The
 * work is done by the pure functions of `transform.ts`; this wrapper feeds
 * them the run context, heartbeats every 1000 items, and reports counts.
 */
function build(deps?: ExecutorDeps): ExecutorImplementation {
  // The pool the worker's configuration asks for (without deps, as in unit tests: the process default).
  const expressions = deps?.config ? expressionPool(deps.config.expressions) : undefined;
  // Counts of outputs this worker produced, for summarize(): a bare list output has no room for them.
  const statsOf = new WeakMap<object, TransformStats>();
  return {
    async execute(config, ctx) {
      const { output, stats, warnings } = await transformData(ctx.input, config, { run: ctx.run, expressions, signal: ctx.signal, items: ctx.items, pages: ctx.pages, ...executorProgress(ctx) });
      for (const warning of warnings) ctx.logger.warn(`data_transform: ${warning}`);
      if (stats.error_count) {
        ctx.logger.warn('data_transform: some values could not be converted', { error_count: stats.error_count, samples: stats.error_samples });
      }
      if (output !== null && typeof output === 'object') statsOf.set(output, stats);
      return output;
    },
    // Page by page for map, normalize and filter without expressions (an expression may read `$steps` whole).
    readsPages: (config) => ['map', 'normalize', 'filter'].includes(config.transform_type as string) && !mentionsExpression(config),
    summarize(output) {
      const stats = output !== null && typeof output === 'object' ? statsOf.get(output) : undefined;
      if (stats) return { ...stats };
      return Array.isArray(output) ? { output_count: output.length } : {};
    },
  };
}

/** Whether a config has a JSONata expression anywhere (`expression` keys: a filter's, a mapping rule's). */
function mentionsExpression(config: Record<string, unknown>): boolean {
  return JSON.stringify(config).includes('"expression"');
}

/** The `data_transform` step executor: its config (type and validator, from schema.ts) and its factory. */
export { DATA_TRANSFORM_STEP_TYPE };

export const dataTransformExecutorModule = defineExecutor({ config: dataTransformConfig, create: build });

/** Builds the executor; without deps (unit tests) expressions run in the process's default pool. */
export function createDataTransformExecutor(deps?: ExecutorDeps): StepExecutor {
  return dataTransformExecutorModule.create(deps as ExecutorDeps);
}

export { transformData, mapItems, filterItems, aggregateItems, normalizeItems, applyJsonata } from './transform';
export { validateDataTransformConfig, checkTransformConfig, resolveTransformConfig } from './schema';
