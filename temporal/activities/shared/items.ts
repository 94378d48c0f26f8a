/**
 * What data_transform and data_validate share at run time: reading the list of
 * items out of a step's input, putting results back in the same shape, walking
 * long lists with progress reports, and the variables of their expressions.
 */
import { isPlainObject } from '@engine/dsl/references';
import type { RunContext } from '@engine/dsl/types';
import { ExpressionError } from '@engine/dsl/expressions';
import { StepError } from '@engine/activities/shared/errors';
import { configInvalid } from '@engine/activities/shared/config-issues';
import { inputShapeError } from '@engine/activities/shared/input-shape';
import { getIn, parsePath, setIn, type Path } from '@engine/activities/shared/paths';
import { isPagedRef, type PagedRef } from '@engine/dsl/types';
import type { ItemRecorder } from '@engine/activities/runtime/item-ledger';
import type { ItemPages } from '@engine/activities/runtime/executor';

// ---------------------------------------------------------------- input and output shapes

/**
 * Where the items came from, so the output can take the same shape:
 * - `list`: the input was an array; the output is an array;
 * - `single`: the input was one object; it is processed as a list of one;
 * - `field`: the input was an object holding the list at `source_field`; the
 *   output is an object with the result list at `output_field` (default: the
 *   same path) next to the step's counts.
 */
export type InputShape = { kind: 'list' } | { kind: 'single' } | { kind: 'field'; source: string; outputPath: Path };

export interface SelectedItems {
  items: readonly unknown[];
  shape: InputShape;
  /** For a single object read without source_field: why that may not be what was meant. */
  warning?: string;
}

/**
 * Picks the items out of a step's input.
 * - with `sourceField`: the input must be an object with an array at that path;
 * - else an array is the list, a plain object is a single item, and null or
 *   undefined (an upstream step with no output) is an empty list.
 *
 * @throws StepError `STEP_INPUT_INVALID` (non-retryable) when the input does not have that shape.
 */
export function selectItems(input: unknown, sourceField?: string, outputField?: string): SelectedItems {
  if (sourceField !== undefined) {
    const parsed = parsePath(sourceField);
    if ('error' in parsed) throw configInvalid([{ field: 'source_field', message: `source_field ${parsed.error}` }]);
    const list = getIn(input, parsed.path);
    if (!Array.isArray(list)) {
      const keys = isPlainObject(input) ? Object.keys(input).slice(0, 20) : [];
      throw inputShapeError({
        expected: 'a list of items (source_field)',
        got: list,
        path: sourceField,
        hint: keys.length > 0 ? `the input's fields are ${keys.join(', ')}; set source_field to the one holding the list` : 'set source_field to where the list is, or remove it',
        details: { source_field: sourceField, input_fields: keys },
      });
    }
    let outputPath = parsed.path;
    if (outputField !== undefined) {
      const out = parsePath(outputField);
      if ('error' in out) throw configInvalid([{ field: 'output_field', message: `output_field ${out.error}` }]);
      outputPath = out.path;
    }
    return { items: list, shape: { kind: 'field', source: sourceField, outputPath } };
  }
  if (Array.isArray(input)) return { items: input, shape: { kind: 'list' } };
  if (input === null || input === undefined) return { items: [], shape: { kind: 'list' } };
  if (isPlainObject(input)) {
    // Not guessed: an order with its own `items` is a single item. Say so instead, since a fetch result read this way is a mistake.
    const lists = Object.keys(input).filter((k) => Array.isArray(input[k]));
    const warning =
      lists.length > 0
        ? `the input is an object, processed as one item; it holds lists at ${lists.slice(0, 5).join(', ')}: set source_field (e.g. "${lists[0]}") to process a list`
        : undefined;
    return { items: [input], shape: { kind: 'single' }, ...(warning ? { warning } : {}) };
  }
  throw inputShapeError({ expected: 'a list of items, or an object (one item, or one holding the list at source_field)', got: input });
}

/** Puts a result list where the items were read from, with `counts` beside it for the `field` shape. */
export function shapeOutput(shape: InputShape, items: unknown[], counts: Record<string, unknown>, single: 'item' | 'list' = 'item'): unknown {
  if (shape.kind === 'list') return items;
  if (shape.kind === 'single') return single === 'list' ? items : (items[0] ?? null);
  const out: Record<string, unknown> = { ...counts };
  if (shape.outputPath.length === 0) return items;
  setIn(out, shape.outputPath, items);
  return out;
}

// ---------------------------------------------------------------- long lists

/** How often (in items) long loops report progress and let the event loop breathe. */
export const PROGRESS_EVERY = 1000;

/** Progress reporting for the pure functions; the executor heartbeats and checks cancellation here. */
export interface ProgressHooks {
  /** Called every `every` items with how many are done; awaited, so it may yield or throw to stop. */
  progress?(done: number, total: number): void | Promise<void>;
  /** Items between two progress calls (default {@link PROGRESS_EVERY}). */
  every?: number;
}

/** The run context for references and for the `$input`, `$config`, `$steps`, `$execution` variables of expressions. */
export const EMPTY_RUN: RunContext = Object.freeze({ input: undefined, steps: {}, config: {}, execution: {} }) as RunContext;

/** JSONata variables every expression of these executors sees. */
export function expressionBindings(run: RunContext): Record<string, unknown> {
  return { input: run.input, config: run.config, steps: run.steps, execution: run.execution };
}

/** An ExpressionError as a non-retryable step failure with the same code (evaluation is deterministic). */
export function expressionFailure(err: unknown, where: string, extra: Record<string, unknown> = {}): unknown {
  if (!(err instanceof ExpressionError)) return err;
  return new StepError(err.code, `${where}: ${err.message}`, { retryable: false, details: { ...extra, jsonata_code: err.jsonataCode ?? null } });
}

// ---------------------------------------------------------------- executor glue

/**
 * Progress hooks for an executor: every `every` items it heartbeats with the
 * count, stops if Temporal cancelled the step, and yields to the event loop so
 * timers, heartbeats and cancellation get through during long lists.
 */
export function executorProgress(ctx: { heartbeat(details?: unknown): void; signal: AbortSignal }, every = PROGRESS_EVERY): ProgressHooks {
  return {
    every,
    async progress(done, total) {
      ctx.signal.throwIfAborted();
      ctx.heartbeat({ processed: done, total });
      if (done < total) await new Promise<void>((resolve) => setImmediate(resolve));
    },
  };
}

// ---------------------------------------------------------------- page by page

/**
 * The paged list at `sourceField` of an input (a reference the step runner
 * left for a step that reads pages, PayloadStore.pageWriter), or null when the
 * list there is a plain array or there is no `sourceField`.
 */
export function pagedListAt(input: unknown, sourceField: string | undefined): PagedRef | null {
  if (sourceField === undefined) return null;
  const parsed = parsePath(sourceField);
  if ('error' in parsed) return null;
  const list = getIn(input, parsed.path);
  return isPagedRef(list) ? list : null;
}

/**
 * Walks a paged list a page at a time: `body` gets each page with progress
 * hooks and a ledger whose item indexes count from the start of the whole
 * list, the page's offset and its number in the list. Resolves to the number
 * of items walked.
 */
export async function forEachPage<O extends ProgressHooks & { items?: ItemRecorder }>(
  list: PagedRef,
  opts: O & { pages: ItemPages },
  body: (page: readonly unknown[], pageOpts: O, offset: number, pageNumber: number) => Promise<void>,
): Promise<number> {
  const total = list.$payload.items;
  let offset = 0;
  let k = 0;
  for await (const page of opts.pages.of(list)!) {
    await body(page, { ...opts, ...pageProgress(opts, offset, total), items: pageRecorder(opts.items, offset) }, offset, k++);
    offset += page.length;
  }
  return offset;
}

/**
 * A ledger recorder for one page: indexes counted from the start of the whole
 * list (and an item keyed by its index, having no id, keyed by that index).
 */
function pageRecorder(ledger: ItemRecorder | undefined, offset: number): ItemRecorder | undefined {
  if (!ledger || offset === 0) return ledger;
  return {
    record: (o) => {
      if (o.index === undefined) return ledger.record(o);
      const index = o.index + offset;
      ledger.record({ ...o, index, key: o.key === String(o.index) ? String(index) : o.key });
    },
  };
}

/** Progress hooks for one page: done and total counted over the whole list. */
function pageProgress(hooks: ProgressHooks, offset: number, total: number): ProgressHooks {
  return { every: hooks.every, progress: hooks.progress ? (done) => hooks.progress!(offset + done, total) : undefined };
}
