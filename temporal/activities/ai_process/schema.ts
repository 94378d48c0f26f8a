/**
 * Config of an `ai_process` step. Items come from the step input (a list, or
 * the list at `source_field`); each is sent to an OpenAI-compatible API in
 * batches and its structured answer is applied when `confidence` reaches
 * `min_confidence`, otherwise attached as `ai_suggestion` with
 * `needs_review: true`.
 *
 * | field           | default               | notes                                                   |
 * |-----------------|-----------------------|---------------------------------------------------------|
 * | task_type       | (required)            | enrich_product, optimize_listing, translate, categorize, detect_fraud |
 * | source_field    | the input itself      | path of the item list in the input (`products`)         |
 * | model           | OPENAI_MODEL          |                                                         |
 * | api_key         | OPENAI_API_KEY        | `{"secret": "NAME"}` only                               |
 * | batch_size      | 10                    | items per request, 1-50                                 |
 * | concurrency     | 2                     | requests in flight, 1-16                                |
 * | min_confidence  | 0.7                   | 0-1                                                     |
 * | target_language | (translate: required) | e.g. "de" or "German"                                   |
 * | fields          | ["title","description"] | translate: fields to translate                        |
 * | translate_mode  | replace               | or `add`: under `translations.<lang>`                   |
 * | categories      | (categorize: required)| allowed categories (strings)                            |
 * | category_field  | category              | categorize: where the category goes                     |
 * | include_fields  | all                   | item fields sent to the model                           |
 * | instructions    | none                  | extra guidance appended to the prompt                   |
 * | temperature     | 0                     | 0-2                                                     |
 * | timeout_seconds | 120                   | per request                                             |
 * | max_failed_items| unset                 | items left unanswered after a re-ask are `failed_items`; the step fails when more than this failed (unset: when every item failed) |
 * | review          | unset                 | `{below_confidence, timeout_seconds?, on_timeout?}`: answers below `below_confidence` wait for an operator (see below) |
 *
 * With `review`, items whose answer is below `review.below_confidence` are
 * held: the run waits (the step shows `waiting`) while an operator approves
 * (the AI's proposal continues), edits (their JSON object continues) or
 * rejects (the item is dropped, `skipped` in the ledger with the reason) each
 * of them (`GET /executions/{id}/reviews/`, `merchflow executions review`, the
 * run page's review panel). Then the decided items are merged back into the
 * step's output in their places and the run goes on. `timeout_seconds` (0 or
 * unset: none) decides the items left when it passes, by `on_timeout`
 * (`reject`, the default, or `approve`). `min_confidence` still flags answers
 * between the two thresholds.
 *
 * @example The specification's config
 * { "task_type": "enrich_product", "source_field": "products" }
 * @example
 * { "task_type": "categorize", "source_field": "products", "categories": ["Shoes", "Bags", "Accessories"],
 *   "batch_size": 20, "concurrency": 4, "min_confidence": 0.8 }
 * @example Answers below 0.8 wait for an operator for a day at most
 * { "task_type": "enrich_product", "review": { "below_confidence": 0.8, "timeout_seconds": 86400, "on_timeout": "reject" } }
 * @example
 * { "task_type": "translate", "target_language": "$config.marketplace_language", "fields": ["title", "description"] }
 */
import { z } from 'zod';
import { defineStepConfig } from '@engine/activities/runtime/executor';
import type { ConfigValidator } from '@engine/dsl/types';
import { isReference } from '@engine/dsl/references';
import { SECRET_NAME_PATTERN } from '@engine/activities/shared/secrets';
import { TASK_TYPES } from './tasks';
import { maxFailedItemsSchema } from '@engine/activities/shared/item-failures';
import { zodIssues, type ConfigIssue } from '@engine/activities/shared/config-issues';

export type { ConfigIssue };

const REVIEW_TIMEOUT = 'must be a whole number of seconds from 0 (no timeout) to 31536000';

export const AI_PROCESS_DEFAULTS = {
  batchSize: 10,
  concurrency: 2,
  minConfidence: 0.7,
  temperature: 0,
  timeoutSeconds: 120,
  fields: ['title', 'description'],
  categoryField: 'category',
} as const;


const reference = z.string().refine((s) => isReference(s), { message: 'must be a reference like "$input.x"' });
const refOr = <T extends z.ZodType>(schema: T, what: string) => z.union([schema, reference], { error: `must be ${what} or a reference like "$input.x"` });
const int = (min: number, max: number) => refOr(z.number().int().min(min).max(max), `an integer from ${min} to ${max}`);
const fieldName = z.string().min(1).max(200);

const configSchema = z.strictObject({
  task_type: z.enum(TASK_TYPES).describe('what the model does with each item'),
  description: z.string().optional(),
  input: z.unknown().optional(),
  source_field: fieldName.optional().describe('path of the item list in the input (default: the input itself)'),
  model: z.string().min(1).max(200).optional().describe('default OPENAI_MODEL'),
  api_key: z.strictObject({ secret: z.string().regex(SECRET_NAME_PATTERN, 'must be a secret name') }, { error: 'must be {"secret": "NAME"}' }).optional(),
  batch_size: int(1, 50).optional().describe('items per request, default 10'),
  concurrency: int(1, 16).optional().describe('requests in flight, default 2'),
  min_confidence: refOr(z.number().min(0).max(1), 'a number from 0 to 1').optional().describe('answers below it are attached for review, default 0.7'),
  target_language: z.string().min(1).max(100).optional().describe('translate: required'),
  source_language: z.string().min(1).max(100).optional(),
  fields: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'must be a plain field name')).min(1).max(20).optional(),
  translate_mode: z.enum(['replace', 'add']).optional(),
  categories: refOr(z.array(z.string().min(1).max(200)).min(1).max(500), 'a list of categories').optional().describe('categorize: required, the allowed categories'),
  category_field: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'must be a plain field name').optional(),
  include_fields: z.array(fieldName).min(1).max(200).optional(),
  instructions: z.string().max(4000).optional(),
  temperature: refOr(z.number().min(0).max(2), 'a number from 0 to 2').optional(),
  timeout_seconds: int(1, 600).optional(),
  max_failed_items: refOr(maxFailedItemsSchema, 'a whole number of items, 0 or more').optional(),
  review: z
    .strictObject(
      {
        below_confidence: z.number({ error: 'must be a number from 0 to 1' }).min(0, 'must be a number from 0 to 1').max(1, 'must be a number from 0 to 1'),
        timeout_seconds: z
          .number({ error: REVIEW_TIMEOUT })
          .int(REVIEW_TIMEOUT)
          .min(0, REVIEW_TIMEOUT)
          .max(31_536_000, REVIEW_TIMEOUT)
          .optional()
          .describe('seconds to wait for the decisions; 0 or unset: no timeout'),
        on_timeout: z.enum(['approve', 'reject'], { error: 'must be "approve" or "reject"' }).optional().describe('what happens to the items left undecided at the timeout; default reject'),
      },
      { error: 'must be {"below_confidence": 0.8, "timeout_seconds"?: 86400, "on_timeout"?: "reject" | "approve"}' },
    )
    .optional()
    .describe('answers below below_confidence wait for an operator to approve, edit or reject each item'),
});

/** Validates an `ai_process` config; every issue names its field. */
export const validateAiProcessConfig: ConfigValidator = (config) => {
  const parsed = configSchema.safeParse(config);
  if (!parsed.success) return zodIssues(parsed.error);
  const c = parsed.data;
  const issues: ConfigIssue[] = [];
  if (c.task_type === 'translate' && c.target_language === undefined) issues.push({ field: 'target_language', message: 'is required for translate' });
  if (c.task_type === 'categorize' && c.categories === undefined) issues.push({ field: 'categories', message: 'is required for categorize' });
  if (Array.isArray(c.categories) && new Set(c.categories).size !== c.categories.length) issues.push({ field: 'categories', message: 'has duplicates' });
  const only: Array<[keyof typeof c, string]> = [
    ['target_language', 'translate'],
    ['source_language', 'translate'],
    ['fields', 'translate'],
    ['translate_mode', 'translate'],
    ['categories', 'categorize'],
    ['category_field', 'categorize'],
  ];
  for (const [field, task] of only) {
    if (c[field] !== undefined && c.task_type !== task) issues.push({ field, message: `applies to ${task} only` });
  }
  return issues;
};

/** Step type id of `ai_process`. */
export const AI_PROCESS_STEP_TYPE = 'ai_process';

/** The `ai_process` step type as the API knows it: its id, config validator and schema. */
export const aiProcessConfig = defineStepConfig(AI_PROCESS_STEP_TYPE, validateAiProcessConfig, { schema: configSchema });
