/**
 * The step types of Merchflow: one line each. A line names the type's config
 * (`<type>/schema.ts`: type id and validator) and, for types a worker runs,
 * how to load its executor (`<type>/executor.ts`). The API validates
 * definitions with the configs alone; executors (and what they import:
 * openai, nodemailer, the HTTP client) are loaded only by a worker, through
 * {@link builtinExecutors}.
 */
import type { StepTypeRegistry } from '@engine/dsl/types';
import type { ExecutorDeps, ExecutorModule, StepConfig, StepExecutor } from '@engine/activities/runtime/executor';
import { approvalConfig } from '@engine/activities/approval/schema';
import { dataFetchConfig } from '@engine/activities/data_fetch/schema';
import { dataTransformConfig } from '@engine/activities/data_transform/schema';
import { dataValidateConfig } from '@engine/activities/data_validate/schema';
import { apiCallConfig } from '@engine/activities/api_call/schema';
import { databaseQueryConfig } from '@engine/activities/database_query/schema';
import { aiProcessConfig } from '@engine/activities/ai_process/schema';
import { notificationConfig } from '@engine/activities/notification/schema';

export type { ExecutorModule };

/** One step type: its config and, unless the interpreter runs it itself, how a worker loads its executor. */
export interface StepType {
  config: StepConfig;
  executor?: () => Promise<ExecutorModule>;
}

/** Every built-in step type, one line each. */
export const STEP_TYPES: readonly StepType[] = [
  { config: approvalConfig }, // run by the interpreter (it waits for a signal)
  { config: dataFetchConfig, executor: () => import('./data_fetch/executor').then((m) => m.dataFetchExecutorModule) },
  { config: dataTransformConfig, executor: () => import('./data_transform/executor').then((m) => m.dataTransformExecutorModule) },
  { config: dataValidateConfig, executor: () => import('./data_validate/executor').then((m) => m.dataValidateExecutorModule) },
  { config: apiCallConfig, executor: () => import('./api_call/executor').then((m) => m.apiCallExecutorModule) },
  { config: databaseQueryConfig, executor: () => import('./database_query/executor').then((m) => m.databaseQueryExecutorModule) },
  { config: aiProcessConfig, executor: () => import('./ai_process/executor').then((m) => m.aiProcessExecutorModule) },
  { config: notificationConfig, executor: () => import('./notification/executor').then((m) => m.notificationExecutorModule) },
];

/** The built-in executors' modules, loaded (what a worker registers). */
export async function builtinExecutorModules(): Promise<ExecutorModule[]> {
  return Promise.all(STEP_TYPES.flatMap((t) => (t.executor ? [t.executor()] : [])));
}

/** The built-in executors, built for a worker. */
export async function builtinExecutors(deps: ExecutorDeps): Promise<StepExecutor[]> {
  return (await builtinExecutorModules()).map((m) => m.create(deps));
}

/** The step types a definition may use, with their config validators (built-ins and any extra). */
export function stepTypeRegistry(extra: ReadonlyArray<Pick<StepExecutor, 'type' | 'validateConfig'>> = []): StepTypeRegistry {
  const registry: StepTypeRegistry = {};
  for (const t of STEP_TYPES) registry[t.config.type] = t.config.validate;
  for (const e of extra) registry[e.type] = e.validateConfig;
  return registry;
}
