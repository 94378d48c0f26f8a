/**
 * What the expression pool and its threads exchange. One task evaluates a few
 * expressions on a chunk of items (item-major: every expression on item 0,
 * then on item 1, ...), so a bulk transform costs one message per chunk, not
 * one per item.
 */
import type { ExpressionErrorCode } from '@engine/dsl/expressions';

/** A chunk of evaluations for one thread. */
export interface ExpressionTask {
  /** The expressions, evaluated on each item in this order. */
  sources: string[];
  items: unknown[];
  /** Index of `items[0]` in the whole list: each evaluation sees `$index`. */
  offset: number;
  /** Variables of every evaluation (`$input`, `$config`, ...); `index` is added per item. */
  bindings: Record<string, unknown>;
  /** Budget of one evaluation (JSONata's own guard; the pool enforces it hard). */
  timeoutMs: number;
  /** `any`: stop at the first error; `limit`: record EXPRESSION_FAILED and go on, stop on the others. */
  stopOn: 'any' | 'limit';
  /** Shared with the pool's watchdog: see {@link STATE}. */
  state: Int32Array;
  /** `Date.now()` when the task was made; the thread writes times as offsets from it. */
  epoch: number;
}

/** Slots of {@link ExpressionTask.state}, written by the thread and read by the watchdog. */
export const STATE = {
  /** 1 while an evaluation runs, else 0. */
  busy: 0,
  /** When the running evaluation started, in ms after `epoch`. */
  startedAt: 1,
  /** Which evaluation runs: item index within the chunk * sources.length + expression index. */
  at: 2,
  length: 3,
} as const;

/** An evaluation that threw, as plain data (errors do not keep their class across threads). */
export interface EvaluationFailure {
  /** Evaluation index: item * sources.length + expression. */
  at: number;
  code: ExpressionErrorCode;
  message: string;
  jsonataCode?: string;
  position?: number;
}

/** The outcome of a task: values for evaluations `0 .. values.length-1` (holes where one failed). */
export interface ExpressionTaskResult {
  values: unknown[];
  failures: EvaluationFailure[];
}
