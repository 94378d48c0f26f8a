import type { ConfigValidator, StepTypeRegistry } from '@engine/dsl/types';
import type { ExecutorDeps, StepExecutor } from '@engine/activities/runtime/executor';
import { APPROVAL_STEP_TYPE, validateApprovalConfig } from '@engine/activities/approval/approval.executor';
import { apiCallExecutorModule } from '@engine/activities/api_call';
import { dataFetchExecutorModule } from '@engine/activities/data_fetch';
import { dataTransformExecutorModule } from '@engine/activities/data_transform';
import { dataValidateExecutorModule } from '@engine/activities/data_validate';
import { databaseQueryExecutorModule } from '@engine/activities/database_query';
import { notificationExecutorModule } from '@engine/activities/notification';
import { aiProcessExecutorModule } from '@engine/activities/ai_process';

/** One built-in step type: its id, its config validator, and how to build it for a worker. */
export interface ExecutorModule {
  type: string;
  validateConfig: ConfigValidator;
  create(deps: ExecutorDeps): StepExecutor;
}

/** The step executors that ship with Merchflow, one folder each under temporal/activities. */
export const EXECUTOR_MODULES: ExecutorModule[] = [
  dataFetchExecutorModule,
  dataTransformExecutorModule,
  dataValidateExecutorModule,
  apiCallExecutorModule,
  databaseQueryExecutorModule,
  aiProcessExecutorModule,
  notificationExecutorModule,
];

/** The built-in executors, built for a worker. */
export function builtinExecutors(deps: ExecutorDeps): StepExecutor[] {
  return EXECUTOR_MODULES.map((m) => m.create(deps));
}

/** The step types a definition may use, with their config validators (built-ins, approval, and any extra). */
export function stepTypeRegistry(extra: Array<Pick<StepExecutor, 'type' | 'validateConfig'>> = []): StepTypeRegistry {
  const registry: StepTypeRegistry = { [APPROVAL_STEP_TYPE]: validateApprovalConfig };
  for (const m of EXECUTOR_MODULES) registry[m.type] = m.validateConfig;
  for (const e of extra) registry[e.type] = e.validateConfig;
  return registry;
}
