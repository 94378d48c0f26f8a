import type { Client } from '@temporalio/client';
import type { StepExecutor } from '@engine/activities/runtime/executor';
import type { AppConfig } from '@src/config/config';
import type { ExecutionLimits } from '@src/executions/executions.service';
import type { Logger } from '@src/logging/logger';
import type { TemplateRegistry } from '@src/workflows/templates';

/** What differs between the production API and the same modules built by the CLI or a test. */
export interface AppOptions {
  config?: AppConfig;
  /** Step types beyond the built-in ones (tests register their executors' validators). */
  stepTypes?: Array<Pick<StepExecutor, 'type' | 'validateConfig'>>;
  /** Replaces the template registry (tests use templates built on their executors). */
  templates?: TemplateRegistry;
  logger?: Logger;
  /** The Temporal client (default: `TemporalClientService.client()`, connected on first use). */
  temporalClient?: () => Promise<Client>;
  /** Task queue runs are started on (default: TEMPORAL_TASK_QUEUE); a test harness uses one of its own. */
  taskQueue?: string;
  /** Overrides of the limits derived from the configuration. */
  executionLimits?: Partial<ExecutionLimits>;
  /** Runs when the app closes, after the HTTP server stopped (the API flushes its spans). */
  onShutdown?: () => Promise<void>;
}
