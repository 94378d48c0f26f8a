import type { ExecutorDeps, StepExecutor } from '@engine/activities/runtime/executor';
import type { ExecutorModule } from '@engine/activities/registry';
import { createSecretResolver } from '@engine/activities/runtime/secret-store';
import { Logger } from '@src/logging/logger';
import type { Harness } from '@test/support/harness';

/**
 * Executor dependencies built the way the worker builds them, for tests that
 * register built-in executors through the harness. Call it lazily (inside the
 * executor factory) since the harness is created after the executors list:
 *
 *   h = await startHarness({ executors: lazyExecutors(() => h, [apiCallExecutorModule]) })
 */
export function executorDeps(h: Harness): ExecutorDeps {
  return {
    config: h.config,
    dataSource: h.dataSource,
    secrets: createSecretResolver(h.config, h.dataSource),
    logger: new Logger({ level: 'debug', format: 'json', sink: (l) => h.logLines.push(l) }),
  };
}

/**
 * Built-in executor modules as StepExecutors whose real instance is created on
 * first use, once the harness (and so the data source) exists.
 */
export function lazyExecutors(harness: () => Harness, modules: ExecutorModule[]): StepExecutor[] {
  return modules.map((m) => {
    let real: StepExecutor | null = null;
    const get = () => (real ??= m.create(executorDeps(harness())));
    return {
      type: m.type,
      validateConfig: m.validateConfig,
      execute: (config, ctx) => get().execute(config, ctx),
      summarize: (output) => get().summarize?.(output) ?? {},
      failedItems: (output) => get().failedItems?.(output) ?? null,
    };
  });
}
