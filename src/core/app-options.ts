import type { StepExecutor } from '@engine/activities/runtime/executor';
import type { AppConfig } from '@src/config/config';
import type { Logger } from '@src/logging/logger';
import type { TemplateRegistry } from '@src/workflows/templates';

/** What differs between the production API and one a test starts in-process. */
export interface AppOptions {
  config?: AppConfig;
  /** Step types beyond the built-in ones (tests register their executors' validators). */
  stepTypes?: Array<Pick<StepExecutor, 'type' | 'validateConfig'>>;
  /** Replaces the template registry (tests use templates built on their executors). */
  templates?: TemplateRegistry;
  logger?: Logger;
}
