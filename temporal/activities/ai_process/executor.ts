/**
 * `ai_process`: product enrichment, listing optimisation, translation,
 * categorisation and fraud screening through an OpenAI-compatible chat
 * completions API with structured (JSON-schema) output.
 *
 * Each batch's answer is validated against the task's schema; items the model
 * answered badly are asked once more, then recorded as item errors, so one
 * bad answer never fails a 10,000-item step. API failures are different: rate
 * limits, 5xx and connection errors fail the attempt as retryable (Temporal
 * retries it), authentication and request errors fail it for good.
 */
import { createHash } from 'node:crypto';
import OpenAI, { APIConnectionError, APIError, APIUserAbortError } from 'openai';
import { getPath, isPlainObject } from '@engine/dsl/references';
import { defineExecutor, type ExecutorImplementation, type ExecutorDeps, type StepExecutionContext } from '@engine/activities/runtime/executor';
import { StepError } from '@engine/activities/shared/errors';
import { inputShapeError } from '@engine/activities/shared/input-shape';
import { ItemFailures, failedItemsOf, itemKeyGuess } from '@engine/activities/shared/item-failures';
import { parseRetryAfter } from '@engine/activities/shared/http';
import { AI_PROCESS_DEFAULTS, AI_PROCESS_STEP_TYPE, aiProcessConfig } from './schema';
import { TASKS, parseResults, responseJsonSchema, systemPrompt, userMessage, type TaskOptions, type TaskType } from './tasks';
import { ErrorCodes } from '@engine/shared/contracts';

/** Items larger than this (as JSON) are not sent; they become item errors. */
const MAX_ITEM_JSON_CHARS = 32_000;
/** Retries the openai client makes itself (honouring Retry-After) before the attempt fails. */
const CLIENT_MAX_RETRIES = 2;
const DEFAULT_BASE_URL = 'https://api.openai.com/v1';

/** Counts reported under `ai_process` in the output. */
export interface AiProcessSummary {
  task_type: TaskType;
  model: string;
  processed: number;
  applied: number;
  flagged: number;
  failed: number;
  requests: number;
  /** With `review`: items held for an operator. */
  held?: number;
  usage: { prompt_tokens: number; completion_tokens: number };
}

type Outcome =
  | { kind: 'applied'; item: Record<string, unknown> }
  | { kind: 'flagged'; item: Record<string, unknown> }
  | { kind: 'held'; item: Record<string, unknown> }
  | { kind: 'failed'; item: unknown; code: string; message: string };

function configError(field: string, message: string): StepError {
  return new StepError(ErrorCodes.STEP_CONFIG_INVALID, `${field}: ${message}`, { details: { field } });
}

/** Maps an openai client error to a StepError with the right retryability. */
export function apiFailure(err: unknown): unknown {
  if (err instanceof StepError || err instanceof APIUserAbortError) return err;
  if (err instanceof APIConnectionError) {
    return new StepError(ErrorCodes.AI_API_ERROR, `AI API unreachable: ${err.message}`, { retryable: true });
  }
  if (err instanceof APIError) {
    const status = err.status ?? 0;
    const details = { status, request_id: err.requestID ?? null };
    if (status === 429) {
      const headers = err.headers as Headers | undefined;
      const ms = parseRetryAfter(headers?.get('retry-after-ms') ? String(Number(headers.get('retry-after-ms')) / 1000) : headers?.get('retry-after'));
      return new StepError(ErrorCodes.AI_RATE_LIMITED, `AI API rate limit: ${err.message}`, { retryable: true, details, nextRetryDelayMs: ms });
    }
    if (status === 401 || status === 403) return new StepError(ErrorCodes.AI_AUTH_FAILED, `AI API refused the credentials: ${err.message}`, { details });
    if (status >= 400 && status < 500 && status !== 408 && status !== 409) {
      return new StepError(ErrorCodes.AI_REQUEST_REJECTED, `AI API rejected the request: ${err.message}`, { details });
    }
    return new StepError(ErrorCodes.AI_API_ERROR, `AI API error: ${err.message}`, { retryable: true, details });
  }
  return err;
}

/** Runs `tasks` with at most `limit` in flight; stops starting new ones after the first failure and rethrows it. */
export async function runBounded<T>(tasks: ReadonlyArray<() => Promise<T>>, limit: number): Promise<T[]> {
  const results = new Array<T>(tasks.length);
  let next = 0;
  let failure: { err: unknown } | null = null;
  const worker = async () => {
    while (failure === null && next < tasks.length) {
      const i = next++;
      try {
        results[i] = await tasks[i]();
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  if (failure !== null) throw (failure as { err: unknown }).err;
  return results;
}

function build(deps: ExecutorDeps): ExecutorImplementation {
  // One client per (base URL, key): it pools connections across steps.
  const clients = new Map<string, OpenAI>();
  const clientFor = (apiKey: string): OpenAI => {
    const baseURL = deps.config.openai.baseUrl ?? DEFAULT_BASE_URL;
    const id = createHash('sha256').update(`${baseURL}\n${apiKey}`).digest('hex');
    let client = clients.get(id);
    if (!client) {
      const log = deps.logger.child({ component: 'openai' });
      client = new OpenAI({
        apiKey,
        baseURL,
        maxRetries: CLIENT_MAX_RETRIES,
        logLevel: 'warn',
        logger: { error: (m) => log.error(String(m)), warn: (m) => log.warn(String(m)), info: (m) => log.info(String(m)), debug: (m) => log.debug(String(m)) },
      });
      clients.set(id, client);
    }
    return client;
  };

  return {

    async execute(config, ctx) {
      const task = config.task_type as TaskType;
      const input = config.input !== undefined ? ctx.resolve(config.input) : ctx.input;
      const sourceField = config.source_field as string | undefined;
      const list = sourceField ? getPath(input, sourceField) : input;
      if (!Array.isArray(list)) {
        throw inputShapeError({
          expected: 'a list of items',
          got: list,
          path: sourceField,
          hint: sourceField ? 'set source_field to where the list is' : 'set config.source_field (e.g. "items" after a data_fetch)',
        });
      }

      const num = (field: string, fallback: number, min: number, max: number, integer: boolean): number => {
        const v = config[field] === undefined ? fallback : ctx.resolve(config[field], input);
        if (typeof v !== 'number' || v < min || v > max || (integer && !Number.isInteger(v))) throw configError(field, `must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`);
        return v;
      };
      const batchSize = num('batch_size', AI_PROCESS_DEFAULTS.batchSize, 1, 50, true);
      const concurrency = num('concurrency', AI_PROCESS_DEFAULTS.concurrency, 1, 16, true);
      const minConfidence = num('min_confidence', AI_PROCESS_DEFAULTS.minConfidence, 0, 1, false);
      const review = config.review as { below_confidence: number; timeout_seconds?: number; on_timeout?: 'approve' | 'reject' } | undefined;
      const temperature = num('temperature', AI_PROCESS_DEFAULTS.temperature, 0, 2, false);
      const timeoutMs = num('timeout_seconds', AI_PROCESS_DEFAULTS.timeoutSeconds, 1, 600, true) * 1000;
      const options = taskOptions(config, input, ctx);
      const model = (config.model as string | undefined) ?? deps.config.openai.model;
      const apiKey = config.api_key !== undefined ? await ctx.resolveSecrets(config.api_key as { secret: string }) : deps.config.openai.apiKey;
      // Nothing to process needs no model: a run with no items passes even where AI is not configured.
      if (!apiKey && list.length > 0) throw new StepError(ErrorCodes.AI_NOT_CONFIGURED, 'no model configured: set OPENAI_API_KEY on the worker or give the step "api_key": {"secret": "NAME"}');
      const client = apiKey ? clientFor(apiKey) : null;
      const schema = responseJsonSchema(task, options);
      const system = systemPrompt(task, options);
      const includeFields = config.include_fields as string[] | undefined;

      const summary: AiProcessSummary = {
        task_type: task,
        model,
        processed: list.length,
        applied: 0,
        flagged: 0,
        failed: 0,
        requests: 0,
        ...(review ? { held: 0 } : {}),
        usage: { prompt_tokens: 0, completion_tokens: 0 },
      };
      // Aborts requests in flight when the activity is cancelled or another batch failed for good.
      const abort = new AbortController();
      const onCancel = () => abort.abort(ctx.signal.reason);
      ctx.signal.addEventListener('abort', onCancel, { once: true });

      /** One request for `items`; returns the raw content of the answer. */
      const ask = async (items: Record<string, unknown>[]): Promise<string | null> => {
        summary.requests++;
        try {
          // Batches exist only when there are items, and then the key was checked above.
          const completion = await client!.chat.completions.create(
            {
              model,
              temperature,
              messages: [
                { role: 'system', content: system },
                { role: 'user', content: userMessage(items, includeFields) },
              ],
              response_format: { type: 'json_schema', json_schema: { name: `${task}_results`, schema, strict: true } },
            },
            { signal: abort.signal, timeout: timeoutMs },
          );
          summary.usage.prompt_tokens += completion.usage?.prompt_tokens ?? 0;
          summary.usage.completion_tokens += completion.usage?.completion_tokens ?? 0;
          const message = completion.choices[0]?.message;
          if (message?.refusal) return JSON.stringify({ refusal: message.refusal });
          return message?.content ?? null;
        } catch (err) {
          throw apiFailure(err);
        }
      };

      /** Outcomes for one batch: asks, re-asks once for items answered badly, then records the rest as errors. */
      const processBatch = async (batch: unknown[]): Promise<Outcome[]> => {
        const outcomes = new Array<Outcome>(batch.length);
        let pending: number[] = [];
        batch.forEach((item, i) => {
          if (!isPlainObject(item)) outcomes[i] = { kind: 'failed', item, code: 'ITEM_NOT_OBJECT', message: 'the item is not an object' };
          else if (JSON.stringify(item).length > MAX_ITEM_JSON_CHARS) outcomes[i] = failedItem(item, task, `item is larger than ${MAX_ITEM_JSON_CHARS} characters of JSON`, 'ITEM_TOO_LARGE');
          else pending.push(i);
        });
        const lastProblems = new Map<number, string>();
        for (let round = 0; round < 2 && pending.length > 0; round++) {
          const items = pending.map((i) => batch[i] as Record<string, unknown>);
          const parsed = parseResults(task, options, await ask(items), items.length);
          const still: number[] = [];
          pending.forEach((original, local) => {
            const result = parsed.results.get(local);
            if (!result) {
              still.push(original);
              lastProblems.set(original, parsed.problems.get(local) ?? 'no result');
              return;
            }
            outcomes[original] = decide(task, options, items[local], result, model, minConfidence, review?.below_confidence);
          });
          if (still.length > 0) ctx.logger.warn('AI output invalid for some items', { task_type: task, items: still.length, round: round + 1 });
          pending = still;
        }
        for (const i of pending) outcomes[i] = failedItem(batch[i] as Record<string, unknown>, task, lastProblems.get(i) ?? 'no result', 'AI_NO_RESULT');
        return outcomes;
      };

      const batches: unknown[][] = [];
      for (let i = 0; i < list.length; i += batchSize) batches.push(list.slice(i, i + batchSize));
      let done = 0;
      let outcomes: Outcome[][];
      try {
        outcomes = await runBounded(
          batches.map((batch) => async () => {
            const out = await processBatch(batch);
            done++;
            ctx.heartbeat({ batches_done: done, batches_total: batches.length });
            return out;
          }),
          concurrency,
        );
      } catch (err) {
        abort.abort();
        throw err;
      } finally {
        ctx.signal.removeEventListener('abort', onCancel);
      }

      // Items the model did not answer well even when asked again pass through unchanged (with `ai_error`) and are failed items.
      const failures = new ItemFailures();
      const heldKeys = new Set<string>();
      const items = outcomes.flat().map((o, index) => {
        if (o.kind === 'held') summary.held = (summary.held ?? 0) + 1;
        else summary[o.kind === 'applied' ? 'applied' : o.kind === 'flagged' ? 'flagged' : 'failed']++;
        const key = itemKeyGuess(o.item, index);
        if (o.kind === 'failed') {
          failures.add({ key, index, code: o.code, message: o.message });
          ctx.items?.record({ key, index, status: 'failed', code: o.code, message: o.message, item: o.item });
        } else if (o.kind === 'held') {
          // Held for an operator, under a key unique in the step (a repeated key gets its index).
          const reviewKey = heldKeys.has(key) ? `${key}#${index}` : key;
          heldKeys.add(reviewKey);
          const held: Record<string, unknown> = { ...o.item, ai_review: { ...(o.item.ai_review as Record<string, unknown>), key: reviewKey, index } };
          const { ai_review: _r, needs_review: _n, ai_suggestion: _s, ...original } = held;
          ctx.items?.record({ key, index, status: 'skipped', code: 'AI_REVIEW_PENDING', message: 'waiting for an operator to approve, edit or reject the answer', item: original });
          return held;
        } else ctx.items?.record({ key, index, status: 'ok', ...(o.kind === 'flagged' ? { code: 'AI_FLAGGED' } : {}) });
        return o.item;
      });
      const maxFailed = config.max_failed_items === undefined ? undefined : ctx.resolve(config.max_failed_items, input);
      if (maxFailed !== undefined && !(typeof maxFailed === 'number' && Number.isInteger(maxFailed) && maxFailed >= 0)) {
        throw configError('max_failed_items', 'must be a whole number of items, 0 or more');
      }
      failures.enforce(list.length, { max_failed_items: maxFailed as number | undefined }, 'items');
      // Under `ai_process`, so they never mix with what the input carries through from earlier steps.
      const report = {
        ...summary,
        ...(review
          ? {
              review: {
                below_confidence: review.below_confidence,
                pending: summary.held ?? 0,
                timeout_seconds: review.timeout_seconds ?? 0,
                on_timeout: review.on_timeout ?? 'reject',
                items_field: Array.isArray(input) || !sourceField ? 'items' : sourceField,
              },
            }
          : {}),
        ...(failures.count > 0 ? failures.report() : {}),
      };
      if (Array.isArray(input) || !sourceField) return { items, ai_process: report };
      return { ...setPath(input as Record<string, unknown>, sourceField.split('.'), items), ai_process: report };
    },

    failedItems: (output) => (isPlainObject(output) ? failedItemsOf(output.ai_process) : null),

    summarize(output) {
      const s = isPlainObject(output) ? output.ai_process : undefined;
      if (!isPlainObject(s)) return {};
      const { task_type, processed, applied, flagged, failed, requests, held } = s;
      // `review_pending`: what the interpreter reads to hold the run for the review.
      return { task_type, processed, applied, flagged, failed, requests, ...(typeof held === 'number' ? { held, review_pending: held } : {}) };
    },
  };
}

/**
 * Applies a result that meets `minConfidence`; otherwise keeps the item and attaches the suggestion for review.
 * Below `reviewBelow` (the step's `review`), the item is held for an operator with the AI's proposal: the
 * item as it would continue if approved.
 */
function decide(
  task: TaskType,
  options: TaskOptions,
  item: Record<string, unknown>,
  result: Record<string, unknown>,
  model: string,
  minConfidence: number,
  reviewBelow?: number,
): Outcome {
  const { index: _index, confidence, ...suggestion } = result;
  const c = confidence as number;
  if (reviewBelow !== undefined && c < reviewBelow) {
    const ai = isPlainObject(item.ai) ? item.ai : {};
    const proposal = { ...TASKS[task].apply(item, suggestion, options), ai: { ...ai, [task]: { model, confidence: c, reviewed: true } } };
    return { kind: 'held', item: { ...item, needs_review: true, ai_suggestion: { task_type: task, model, confidence: c, ...suggestion }, ai_review: { status: 'pending', confidence: c, proposal } } };
  }
  if (c < minConfidence) {
    return { kind: 'flagged', item: { ...item, needs_review: true, ai_suggestion: { task_type: task, model, confidence: c, ...suggestion } } };
  }
  const applied = TASKS[task].apply(item, suggestion, options);
  const ai = isPlainObject(item.ai) ? item.ai : {};
  return { kind: 'applied', item: { ...applied, ai: { ...ai, [task]: { model, confidence: c } } } };
}

function failedItem(item: Record<string, unknown>, task: TaskType, message: string, code: string): Outcome {
  return { kind: 'failed', item: { ...item, ai_error: { task_type: task, message } }, code, message };
}

/** The task's options from the config, with references resolved against the run and the input. */
function taskOptions(config: Record<string, unknown>, input: unknown, ctx: StepExecutionContext): TaskOptions {
  const str = (field: string): string | undefined => {
    if (config[field] === undefined) return undefined;
    const v = ctx.resolve(config[field], input);
    if (typeof v !== 'string' || v.trim() === '') throw configError(field, 'must resolve to a non-empty string');
    return v.trim();
  };
  let categories: string[] = [];
  if (config.categories !== undefined) {
    const v = ctx.resolve(config.categories, input);
    if (!Array.isArray(v) || v.length === 0 || v.some((c) => typeof c !== 'string' || c === '')) throw configError('categories', 'must resolve to a non-empty list of strings');
    categories = [...new Set(v as string[])];
  }
  return {
    targetLanguage: str('target_language'),
    sourceLanguage: str('source_language'),
    fields: (config.fields as string[] | undefined) ?? [...AI_PROCESS_DEFAULTS.fields],
    translateMode: (config.translate_mode as 'replace' | 'add' | undefined) ?? 'replace',
    categories,
    categoryField: (config.category_field as string | undefined) ?? AI_PROCESS_DEFAULTS.categoryField,
    instructions: config.instructions as string | undefined,
  };
}

/** A copy of `obj` with the value at `path` replaced (objects along the path are copied, not mutated). */
function setPath(obj: Record<string, unknown>, path: string[], value: unknown): Record<string, unknown> {
  const [head, ...rest] = path;
  if (rest.length === 0) return { ...obj, [head]: value };
  const child = isPlainObject(obj[head]) ? (obj[head] as Record<string, unknown>) : {};
  return { ...obj, [head]: setPath(child, rest, value) };
}

/** The `ai_process` step executor: its config (type and validator, from schema.ts) and its factory. */
export { AI_PROCESS_STEP_TYPE };

export const aiProcessExecutorModule = defineExecutor({ config: aiProcessConfig, create: build });

/** Builds the executor for a worker (tests pass options). */
export const createAiProcessExecutor = aiProcessExecutorModule.create;
