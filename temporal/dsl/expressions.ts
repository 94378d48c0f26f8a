/**
 * JSONata for transforms, evaluated safely: bounded time, recursion depth and
 * sequence length, compile errors reported with code `EXPRESSION_INVALID`.
 *
 * For activities only. JSONata reads the clock (`$now()`, and the time guard),
 * so workflow code must not import this module; `index.ts` does not export it.
 * Executors do not evaluate here but in the expression pool
 * (`activities/shared/expressions`), whose threads run this module: the time
 * guard is checked between evaluation steps only, so one long builtin call
 * would otherwise block the event loop.
 */
import jsonata from 'jsonata';
import { isPlainObject } from './references';

/** Bounds on one evaluation. */
export interface ExpressionLimits {
  /** Wall-clock budget of one evaluation, checked at every evaluation step. */
  timeoutMs: number;
  /** Deepest nesting of evaluation (recursion) allowed. */
  maxDepth: number;
  /** Longest sequence an evaluation may build. */
  maxSequence: number;
}

export const DEFAULT_EXPRESSION_LIMITS: Readonly<ExpressionLimits> = { timeoutMs: 1000, maxDepth: 2000, maxSequence: 1_000_000 };

/** Longest expression accepted; longer text is almost certainly not hand-written. */
export const MAX_EXPRESSION_LENGTH = 10_000;

/** How many compiled expressions are kept. */
const CACHE_SIZE = 256;

/**
 * - `EXPRESSION_INVALID`: the expression does not compile;
 * - `EXPRESSION_LIMIT`: it ran too long, recursed too deep or built too long a sequence;
 * - `EXPRESSION_FAILED`: any other evaluation error (a type error on the data, say).
 * All are deterministic for the same expression and data: do not retry them.
 */
export type ExpressionErrorCode = 'EXPRESSION_INVALID' | 'EXPRESSION_LIMIT' | 'EXPRESSION_FAILED';

export class ExpressionError extends Error {
  constructor(
    readonly code: ExpressionErrorCode,
    message: string,
    /** JSONata's own error code (`S0201`, `D1012`, ...), when it gave one. */
    readonly jsonataCode?: string,
    /** Character position in the expression, when known. */
    readonly position?: number,
  ) {
    super(message);
    this.name = 'ExpressionError';
  }
}

/** A compiled expression. Shared through the cache, so it exposes nothing that mutates it. */
export interface CompiledExpression {
  readonly source: string;
  /** Evaluates against `data`; `bindings` become `$name` variables for this evaluation only. */
  evaluate(data: unknown, bindings?: Record<string, unknown>): Promise<unknown>;
}

/** JSONata's codes for the guards: depth, timeout, sequence length, range size. */
const LIMIT_CODES = new Set(['D1011', 'D1012', 'D2014', 'D2015']);

interface JsonataFailure {
  code?: string;
  message?: string;
  position?: number;
  /** `$eval` wraps the inner error here. */
  error?: JsonataFailure;
}

const asFailure = (err: unknown): JsonataFailure => (typeof err === 'object' && err !== null ? (err as JsonataFailure) : {});

function evaluationError(err: unknown, source: string): ExpressionError {
  const failure = asFailure(err);
  const inner = failure.error?.code;
  const limited =
    err instanceof RangeError || failure.error instanceof RangeError || LIMIT_CODES.has(failure.code ?? '') || LIMIT_CODES.has(inner ?? '');
  const message = failure.message ?? String(err);
  return new ExpressionError(
    limited ? 'EXPRESSION_LIMIT' : 'EXPRESSION_FAILED',
    `expression ${JSON.stringify(abbreviate(source))} failed: ${message}`,
    failure.code,
    failure.position,
  );
}

const abbreviate = (s: string): string => (s.length > 80 ? `${s.slice(0, 77)}...` : s);

/**
 * JSONata marks its result arrays with extra properties (`sequence`,
 * `keepSingleton`) and builds objects without a prototype; copy results into
 * ordinary arrays and objects.
 */
function toPlain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toPlain);
  // A lambda or a builtin as a result: not data (and cannot cross to another thread).
  if (typeof value === 'function' || isJsonataFunction(value)) return undefined;
  if (isPlainObject(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toPlain(v)]));
  }
  return value;
}

/** JSONata's own function values (`function($x){...}`, `$uppercase`): objects that are not data. */
const isJsonataFunction = (value: unknown): boolean =>
  typeof value === 'object' && value !== null && ((value as Record<string, unknown>)._jsonata_lambda === true || (value as Record<string, unknown>)._jsonata_function === true);

/**
 * Longest string `$pad` may build and `$split` may cut, in characters. Both
 * turn a few bytes of expression into one array proportional to the length,
 * and V8 aborts the whole process (not just the thread that asked) on an
 * array past its size limit or a single allocation far past the heap limit.
 */
export const MAX_BUILTIN_STRING = 10_000_000;

interface JsonataBuiltin {
  implementation: (this: unknown, ...args: unknown[]) => unknown;
}

// The builtins as JSONata defines them, to wrap with a size check.
const builtins = (jsonata('[$pad, $split]').evaluate({}) as Promise<JsonataBuiltin[]>).then(([pad, split]) => ({ pad, split }));

function tooLong(what: string, n: number): RangeError {
  return new RangeError(`${what} of ${n} characters is over the limit of ${MAX_BUILTIN_STRING}`);
}

/** Registers `$pad` and `$split` with a size check in front of JSONata's own. */
function guardBuiltins(expr: jsonata.Expression): void {
  expr.registerFunction(
    'pad',
    async function (this: unknown, str: unknown, width: unknown, char: unknown) {
      if (typeof width === 'number' && Math.abs(width) > MAX_BUILTIN_STRING) throw tooLong('$pad width', Math.abs(width));
      return (await builtins).pad.implementation.call(this, str, width, char);
    },
    '<s-ns?:s>',
  );
  expr.registerFunction(
    'split',
    async function (this: unknown, str: unknown, separator: unknown, limit: unknown) {
      if (typeof str === 'string' && str.length > MAX_BUILTIN_STRING) throw tooLong('$split input', str.length);
      return (await builtins).split.implementation.call(this, str, separator, limit);
    },
    '<s-(sf)n?:a<s>>',
  );
}

const cache = new Map<string, CompiledExpression>();

function compile(source: string, limits: ExpressionLimits): CompiledExpression {
  if (typeof source !== 'string' || source.trim() === '') throw new ExpressionError('EXPRESSION_INVALID', 'expression is empty');
  if (source.length > MAX_EXPRESSION_LENGTH) {
    throw new ExpressionError('EXPRESSION_INVALID', `expression is longer than ${MAX_EXPRESSION_LENGTH} characters`);
  }
  let expr: jsonata.Expression;
  try {
    expr = jsonata(source, { timeout: limits.timeoutMs, stack: limits.maxDepth, sequence: limits.maxSequence });
    guardBuiltins(expr);
  } catch (err) {
    const failure = asFailure(err);
    const where = failure.position === undefined ? '' : ` at position ${failure.position}`;
    throw new ExpressionError(
      'EXPRESSION_INVALID',
      `invalid JSONata${where}: ${failure.message ?? String(err)}`,
      failure.code,
      failure.position,
    );
  }
  return {
    source,
    async evaluate(data, bindings) {
      try {
        return toPlain(await expr.evaluate(data, bindings));
      } catch (err) {
        throw evaluationError(err, source);
      }
    },
  };
}

/**
 * Compiles (or takes from a bounded LRU cache) a JSONata expression.
 *
 * @throws ExpressionError with code `EXPRESSION_INVALID` and JSONata's message.
 * @example compileJsonata('products[price > 10].sku')
 */
export function compileJsonata(source: string, limits: Partial<ExpressionLimits> = {}): CompiledExpression {
  const bounds = { ...DEFAULT_EXPRESSION_LIMITS, ...limits };
  const cacheKey = `${bounds.timeoutMs}:${bounds.maxDepth}:${bounds.maxSequence}:${source}`;
  const hit = cache.get(cacheKey);
  if (hit) {
    // Re-insert to mark it most recently used.
    cache.delete(cacheKey);
    cache.set(cacheKey, hit);
    return hit;
  }
  const compiled = compile(source, bounds);
  cache.set(cacheKey, compiled);
  if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  return compiled;
}

/**
 * Evaluates a JSONata expression against `data`, within the limits.
 *
 * @throws ExpressionError (`EXPRESSION_INVALID`, `EXPRESSION_LIMIT` or `EXPRESSION_FAILED`).
 * @example await evaluateJsonata('$sum(items.price)', { items: [{ price: 2 }, { price: 3 }] }) // 5
 */
export async function evaluateJsonata(
  source: string,
  data: unknown,
  bindings?: Record<string, unknown>,
  limits?: Partial<ExpressionLimits>,
): Promise<unknown> {
  return compileJsonata(source, limits).evaluate(data, bindings);
}

/** The compile error of an expression, or null when it compiles: for config validators. */
export function jsonataProblem(source: string): string | null {
  try {
    compileJsonata(source);
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}
