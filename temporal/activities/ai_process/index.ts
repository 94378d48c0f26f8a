/** The `ai_process` step executor: batched, structured-output AI tasks with confidence gating. */
export { AI_PROCESS_STEP_TYPE, aiProcessExecutorModule, createAiProcessExecutor, type AiProcessSummary } from './executor';
export { validateAiProcessConfig, AI_PROCESS_DEFAULTS } from './schema';
export { TASK_TYPES, type TaskType } from './tasks';
