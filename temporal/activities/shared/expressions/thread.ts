/**
 * The body of an expression pool thread (loaded by piscina): evaluates a
 * chunk with the JSONata guards of `@engine/dsl/expressions` (compiled
 * expressions are cached per thread by source), and keeps the shared state
 * up to date so the pool can stop a thread whose evaluation overruns.
 */
import { compileJsonata, ExpressionError, type CompiledExpression } from '@engine/dsl/expressions';
import { STATE, type EvaluationFailure, type ExpressionTask, type ExpressionTaskResult } from './protocol';
import { ErrorCodes } from '@engine/shared/contracts';

function failure(at: number, err: unknown): EvaluationFailure {
  if (err instanceof ExpressionError) {
    return { at, code: err.code, message: err.message, jsonataCode: err.jsonataCode, position: err.position };
  }
  // Errors outside JSONata's own (a RangeError from a builtin, say) mean a limit was hit.
  return { at, code: ErrorCodes.EXPRESSION_LIMIT, message: err instanceof Error ? err.message : String(err) };
}

export default async function evaluateChunk(task: ExpressionTask): Promise<ExpressionTaskResult> {
  const { sources, items, offset, bindings, timeoutMs, stopOn, state, epoch } = task;
  const values: unknown[] = [];
  const failures: EvaluationFailure[] = [];
  const compiled: Array<CompiledExpression | EvaluationFailure> = sources.map((s) => {
    try {
      return compileJsonata(s, { timeoutMs });
    } catch (err) {
      return failure(0, err);
    }
  });
  const n = sources.length;
  for (let i = 0; i < items.length; i++) {
    const vars = { ...bindings, index: offset + i };
    for (let e = 0; e < n; e++) {
      const at = i * n + e;
      const expr = compiled[e];
      let failed: EvaluationFailure | null = null;
      if ('evaluate' in expr) {
        Atomics.store(state, STATE.at, at);
        Atomics.store(state, STATE.startedAt, Date.now() - epoch);
        Atomics.store(state, STATE.busy, 1);
        try {
          values[at] = await expr.evaluate(items[i], vars);
        } catch (err) {
          failed = failure(at, err);
        }
        Atomics.store(state, STATE.busy, 0);
      } else {
        failed = { ...expr, at };
      }
      if (failed) {
        failures.push(failed);
        values.length = at + 1;
        if (stopOn === 'any' || failed.code !== ErrorCodes.EXPRESSION_FAILED) return { values, failures };
      }
    }
  }
  return { values, failures };
}
