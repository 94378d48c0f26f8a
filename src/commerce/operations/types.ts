import type { Db } from './db';
import type { z } from 'zod';
import type { SchemaMode } from '@engine/activities/shared/zod';
import type { StepExecutionContext } from '@engine/activities/runtime/executor';

/** What an operation runs with: one pooled connection for the whole step, and the step's context. */
export interface OperationContext {
  client: Db;
  /** The run and step writing (lineage), heartbeats, cancellation and logging; `items`, the per-item ledger, when there is one. */
  step: Pick<StepExecutionContext, 'execution_id' | 'step_key' | 'heartbeat' | 'logger' | 'signal'> & Partial<Pick<StepExecutionContext, 'items' | 'pages'>>;
}

/**
 * A named domain operation of `database_query` (`query_type: "operation"`):
 * what generic SQL cannot do safely, as a TypeScript function over the data
 * source, in transactions, with its own parameter schema.
 */
export interface OperationSpec<P = Record<string, unknown>> {
  name: string;
  /** One line for docs and error messages. */
  summary: string;
  /** `params` in `definition` mode (values may be references) or `runtime` mode (resolved). */
  params(mode: SchemaMode): z.ZodType;
  /**
   * Params that may be paged lists (PayloadStore.pageWriter), read page by
   * page with `step.pages`: they reach `run` as the list or its reference
   * (checked as a list), never loaded whole.
   */
  pagedParams?: readonly string[];
  run(params: P, octx: OperationContext): Promise<Record<string, unknown>>;
}

/** Declares an operation with typed params. */
export function operation<P>(spec: OperationSpec<P>): OperationSpec {
  return spec as unknown as OperationSpec;
}
