import type { DataSource } from 'typeorm';
import type { ZodType } from 'zod';
import type { ConfigValidator, RunContext } from '@engine/dsl/types';
import type { AppConfig } from '@src/config/config';
import type { Logger } from '@src/logging/logger';
import type { SecretResolver, SecretsResolved } from '@engine/activities/shared/secrets';
import type { FailedItemRecord } from '@engine/shared/contracts';
import type { ItemRecorder } from '@engine/activities/runtime/item-ledger';
import type { PageWriter } from '@engine/activities/runtime/payload-store';

/** Lists page by page through the payload store (see `StepExecutor.readsPages`). */
export interface ItemPages {
  /** Items in one page. */
  readonly pageItems: number;
  /** The pages of a list: a plain array is one page, a paged reference yields its pages in order; undefined when the value is not a list. */
  of(value: unknown): AsyncIterable<readonly unknown[]> | undefined;
  /** A writer of one list (`field`: its name in the output) of this attempt's output: pages are stored as they fill. */
  writer(field: string): PageWriter;
}

/** What executor factories get from the worker: one configuration, one data source, one secrets resolver. */
export interface ExecutorDeps {
  config: AppConfig;
  dataSource: DataSource;
  secrets: SecretResolver;
  logger: Logger;
}

/** What an executor sees while it runs one attempt of one step. */
export interface StepExecutionContext {
  execution_id: string;
  workflow_code: string;
  step_key: string;
  attempt: number;
  max_attempts: number;
  /** `${execution_id}:${step_key}`; add an item id for per-item outside calls. */
  idempotency_key: string;
  /**
   * Prefix of per-item idempotency keys (`${prefix}:${item}`): `idempotency_key`,
   * except in a recovery run, where it is `${first run}:${step_key}` so an item
   * the first run already sent is not sent twice.
   */
  item_idempotency_prefix?: string;
  /** The run retries a subset of the step's items: an item's key comes from the item, not its position. */
  items_subset?: boolean;
  /** The step's input with payload refs loaded. */
  input: unknown;
  /** What references resolve against, with payload refs loaded. */
  run: RunContext;
  /** Resolves references in a config value; `item` binds `$` and bare `$field` references. */
  resolve<T = unknown>(value: T, item?: unknown): unknown;
  /**
   * Records progress (a checkpoint: `details` come back as `checkpoint` when
   * the step is retried) and lets Temporal know the step is alive; throws when
   * the step was cancelled. Once an executor heartbeats, its silence counts:
   * quiet for longer than a minute, the attempt is ended as hung and retried.
   */
  heartbeat(details?: unknown): void;
  /**
   * The last details the previous attempt of this step heartbeat (undefined on
   * a first attempt, or when it reported none): where a per-item step resumes.
   */
  checkpoint?: unknown;
  /** Aborted when Temporal cancels the activity. */
  signal: AbortSignal;
  logger: Logger;
  /** For compensation steps: the step being undone. */
  compensates: string | null;
  /**
   * Replaces `{"secret": "NAME"}` references in a value by the secrets'
   * values. Resolved values are scrubbed from this step's error messages and
   * output before anything leaves the activity.
   */
  resolveSecrets<T>(value: T): Promise<SecretsResolved<T>>;
  /**
   * The per-item ledger of this attempt (runtime/item-ledger): an item-wise
   * step records each item's outcome here. Absent in unit tests that do not
   * ask for it and on a worker with ITEM_LEDGER=false.
   */
  items?: ItemRecorder;
  /**
   * Lists page by page (the worker's payload store). With it, an item-wise
   * step writes its output lists as pages (`writer`), and, when its executor
   * says it `readsPages`, finds the paged lists of its input and `$steps`
   * left as references to read with `of`.
   */
  pages?: ItemPages;
}

/**
 * A step executor: its type id, its config validator (used when a definition
 * is saved) and its implementation, exported together.
 */
export interface StepExecutor {
  type: string;
  validateConfig: ConfigValidator;
  /** Returns the step's output; large outputs are claim-checked by the runner. */
  execute(config: Record<string, unknown>, ctx: StepExecutionContext): Promise<unknown>;
  /** Optional short summary of an output for the projection (item counts, ids). */
  summarize?(output: unknown): Record<string, unknown>;
  /**
   * The items this step could not process after their retries, read from its
   * output (see activities/shared/item-failures). Only executors that process
   * items have it, so a step that merely passes an earlier step's output on
   * never counts that step's failed items again.
   */
  failedItems?(output: unknown): { total: number; items: FailedItemRecord[] } | null;
  /**
   * Whether this config's step reads paged lists page by page (`ctx.pages.of`):
   * the runner then leaves them as references in its input and `$steps`
   * instead of loading them whole. Absent: every list arrives whole.
   */
  readsPages?(config: Record<string, unknown>): boolean;
}

export { StepError } from '@engine/activities/shared/errors';

/**
 * What a step type's `schema.ts` exports: its type id and the validator of its
 * config as written in a definition (a run reference may stand for a value).
 * This is all the API loads of a step type.
 *
 * @example export const notificationConfig = defineStepConfig('notification', validateNotificationConfig);
 */
export interface StepConfig<T extends string = string> {
  readonly type: T;
  readonly validate: ConfigValidator;
  /**
   * The zod schema of the config as written in a definition, when the type has
   * one: what the API publishes (as JSON Schema) for editors and docs. The
   * validator stays the authority (it adds checks a schema cannot express).
   */
  readonly schema?: ZodType;
}

/** Declares a step type's id, config validator and (optionally) its zod schema, once, in its `schema.ts`. */
export function defineStepConfig<T extends string>(type: T, validate: ConfigValidator, options: { schema?: ZodType } = {}): StepConfig<T> {
  return Object.freeze({ type, validate, ...(options.schema ? { schema: options.schema } : {}) });
}

/**
 * What an executor's factory builds: the implementation, without the type it
 * takes from its config. `validateConfig` only where the configs an executor
 * accepts depend on its options (database_query's model allow-list).
 */
export type ExecutorImplementation = Omit<StepExecutor, 'type' | 'validateConfig'> & { validateConfig?: ConfigValidator };

/** One step type as the worker builds it: its config (type and validator) and its factory. */
export interface ExecutorModule<O = never> {
  readonly type: string;
  readonly config: StepConfig;
  readonly validateConfig: ConfigValidator;
  create(deps: ExecutorDeps, options?: O): StepExecutor;
}

/**
 * Defines a step executor from its config (`schema.ts`: type id and
 * validator, declared once) and a factory that builds its implementation for
 * a worker. The step runner validates the config with `config.validate` before
 * every attempt, so `execute` starts from a config known to be well formed.
 *
 * @example
 * export const notificationExecutor = defineExecutor({
 *   config: notificationConfig,
 *   create: (deps) => ({ execute: (config, ctx) => send(deps, config, ctx) }),
 * });
 */
export function defineExecutor<O = never>(def: { config: StepConfig; create(deps: ExecutorDeps, options?: O): ExecutorImplementation }): ExecutorModule<O> {
  const { type, validate } = def.config;
  return Object.freeze({
    type,
    config: def.config,
    validateConfig: validate,
    create: (deps: ExecutorDeps, options?: O): StepExecutor => {
      const impl = def.create(deps, options);
      return { ...impl, type, validateConfig: impl.validateConfig ?? validate };
    },
  });
}
