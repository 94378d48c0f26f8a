import type { StepTypeRegistry } from '@engine/dsl/types';
import type { StepExecutor } from '@engine/activities/runtime/executor';
import { APPROVAL_STEP_TYPE, validateApprovalConfig } from '@engine/activities/approval/approval.executor';

/** The executors that ship with Merchflow. */
export function builtinExecutors(): StepExecutor[] {
  return [];
}

/** The step types a definition may use, with their config validators, for the given executors. */
export function stepTypeRegistry(executors: StepExecutor[] = builtinExecutors()): StepTypeRegistry {
  const registry: StepTypeRegistry = { [APPROVAL_STEP_TYPE]: validateApprovalConfig };
  for (const e of executors) registry[e.type] = e.validateConfig;
  return registry;
}
