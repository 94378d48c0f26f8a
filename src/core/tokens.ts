/** Injection tokens of values that are not classes. */
export const STEP_TYPE_REGISTRY = Symbol('STEP_TYPE_REGISTRY');
export const WORKFLOW_TEMPLATES = Symbol('WORKFLOW_TEMPLATES');
export const API_LOGGER = Symbol('API_LOGGER');
/** `() => Promise<Client>`: the Temporal client, connected on first use. */
export const TEMPORAL_CLIENT = Symbol('TEMPORAL_CLIENT');
/** The task queue runs are started on (the configured one; a test harness uses its own). */
export const TASK_QUEUE = Symbol('TASK_QUEUE');
/** `ExecutionLimits` of the executions service, from the configuration. */
export const EXECUTION_LIMITS = Symbol('EXECUTION_LIMITS');
/** `SchedulesOptions` of the schedules service, from the configuration. */
export const SCHEDULES_OPTIONS = Symbol('SCHEDULES_OPTIONS');
