/**
 * Config of a `data_validate` step.
 *
 * - `validation_rules` (required): a non-empty list of rules, each
 *   `{type, field, message?, ...}` (`message` replaces the default reason):
 *   - `required`: the field is present, not null, not a blank string and not
 *     an empty list (`allow_empty: true` accepts `""` and `[]`);
 *   - `min_value` / `max_value` (`{"min_value": 0.01}` / `{"max_value": 999}`):
 *     inclusive bounds; numbers and numeric strings compare numerically, a
 *     string bound compares strings by code unit (ISO dates);
 *   - `type` with `expected`: string, number, integer, boolean, array,
 *     object, date (ISO 8601), email, url (http or https);
 *   - `min_length` / `max_length`: characters of a string or elements of a list;
 *   - `pattern` with `pattern` (and `flags` from `imsu`): a guarded regular
 *     expression (see safe-regex: length limit, no nested quantifiers or
 *     backreferences, values over 10000 characters never match);
 *   - `enum` (alias `in`) with `values` (and `case_insensitive`);
 *   - `unique` on `field` (or several `fields`): across the batch; the first
 *     occurrence passes, later ones are invalid (`case_insensitive` optional);
 *   - `custom` with `expression`: JSONata over the item that must be truthy
 *     (`field` optional, for the report). An expression that fails on an
 *     item's data makes that item invalid.
 *   Every rule except `required`, `unique` and `custom` passes a missing or
 *   null value: combine with `required` to demand one.
 * - `input`, `source_field` (alias `items_field`): where the items are (as for data_transform);
 * - `max_invalid_ratio` (0 to 1) / `max_invalid_count` (>= 0): the step fails
 *   with `VALIDATION_FAILED` when more items than that are invalid;
 *   `fail_on_invalid: true` fails on any invalid item; default: never fail;
 * - `include_invalid_items` (default true): whether each invalid entry carries the item.
 *
 * Output: `{valid, invalid, total, valid_count, invalid_count}` where
 * `invalid` is `[{index, item, errors: [{field, rule, message}]}]`. With
 * `source_field`, the valid items stay at that path instead of `valid`, so a
 * validate step can sit between a fetch and a transform that address the same field.
 *
 * @example
 * { "validation_rules": [
 *     { "type": "required", "field": "sku" },
 *     { "type": "min_value", "field": "price", "min_value": 0.01 },
 *     { "type": "pattern", "field": "sku", "pattern": "^[A-Z0-9-]{3,32}$" },
 *     { "type": "unique", "field": "sku" },
 *     { "type": "custom", "expression": "price >= cost_price", "message": "price below cost" } ],
 *   "source_field": "products", "max_invalid_ratio": 0.1 }
 */
import { z } from 'zod';
import { defineStepConfig } from '@engine/activities/runtime/executor';
import type { RunContext } from '@engine/dsl/types';
import { isPlainObject, parseReference, resolveReferences } from '@engine/dsl/references';
import { zodIssues, type ConfigIssue } from '@engine/activities/shared/config-issues';
import { CROSS_FIELD, isRunReference, itemPath, itemPathProblem, jsonataExpression, numberIn, oneOfOr, refOr, unknownKeysHint, type SchemaMode } from '@engine/activities/shared/zod';
import { parsePath } from '@engine/activities/shared/paths';
import { regexProblem } from '@engine/activities/shared/safe-regex';

export const RULE_TYPES = ['required', 'min_value', 'max_value', 'type', 'min_length', 'max_length', 'pattern', 'enum', 'in', 'unique', 'custom'] as const;
export type RuleType = (typeof RULE_TYPES)[number];

export const VALUE_TYPES = ['string', 'number', 'integer', 'boolean', 'array', 'object', 'date', 'email', 'url'] as const;
export type ValueType = (typeof VALUE_TYPES)[number];

/** Output fields next to the valid items; `source_field` may not take these names. */
export const RESULT_FIELDS = ['invalid', 'total', 'valid_count', 'invalid_count'] as const;

export interface ValidationRule {
  type: RuleType;
  field?: string;
  fields?: string[];
  message?: string;
  allow_empty?: boolean;
  min_value?: number | string;
  max_value?: number | string;
  expected?: ValueType;
  expected_type?: ValueType;
  min_length?: number;
  max_length?: number;
  pattern?: string;
  flags?: string;
  values?: unknown[];
  case_insensitive?: boolean;
  expression?: string;
}

export interface ValidateConfig {
  validation_rules: ValidationRule[];
  input?: unknown;
  source_field?: string;
  items_field?: string;
  max_invalid_ratio?: number;
  max_invalid_count?: number;
  fail_on_invalid?: boolean;
  include_invalid_items?: boolean;
}

type Ctx = z.core.$RefinementCtx;
const add = (ctx: Ctx, path: Array<string | number>, message: string) => ctx.addIssue({ code: 'custom', path, message });
const RULES_REQUIRED = 'validation_rules is required: a non-empty list such as [{"type": "required", "field": "sku"}]';

function validateSchema(mode: SchemaMode) {
  const opt = (schema: z.ZodType, what: string) => refOr(mode, schema, what, isRunReference);
  const bool = opt(z.boolean({ error: 'must be true or false' }), 'true or false').optional();
  const count = (what: string) => opt(z.number({ error: 'must be an integer >= 0' }).int('must be an integer >= 0').min(0, 'must be an integer >= 0'), 'an integer >= 0').describe(what);
  const bound = (what: string) =>
    opt(z.union([z.number(), z.string().min(1)], { error: 'must be a number (or a string, compared as text)' }), 'a number (or a string, compared as text)').describe(what);
  const deferred = (v: unknown) => mode === 'definition' && isRunReference(v);

  const values = opt(z.array(z.unknown(), { error: 'must be a non-empty list of allowed values' }).min(1, 'must be a non-empty list of allowed values'), 'a non-empty list of allowed values');
  /** Options each rule type takes besides `type`, `field` and `message`. */
  const RULE_OPTIONS: Record<RuleType, Record<string, z.ZodType>> = {
    required: { allow_empty: bool.describe('Accept "" and [] (default false)') },
    min_value: { min_value: bound('Inclusive lower bound; a string bound compares as text (ISO dates)') },
    max_value: { max_value: bound('Inclusive upper bound; a string bound compares as text (ISO dates)') },
    type: { expected: oneOfOr(mode, VALUE_TYPES, isRunReference).optional().describe('The type the value must have'), expected_type: oneOfOr(mode, VALUE_TYPES, isRunReference).optional().describe('Alias of expected') },
    min_length: { min_length: count('Fewest characters of a string or elements of a list') },
    max_length: { max_length: count('Most characters of a string or elements of a list') },
    pattern: {
      pattern: z.string({ error: 'must be a regular expression' }).describe('A guarded regular expression (no nested quantifiers or backreferences)'),
      flags: z.string({ error: 'must be a string of flags (i, m, s, u)' }).optional().describe('Regular expression flags from i, m, s, u'),
    },
    enum: { values: values.describe('Allowed values'), case_insensitive: bool },
    in: { values: values.describe('Allowed values'), case_insensitive: bool },
    unique: { fields: z.array(itemPath, { error: 'must be a non-empty list of field paths' }).min(1, 'must be a non-empty list of field paths').optional().describe('Unique as a combination of fields'), case_insensitive: bool },
    custom: { expression: jsonataExpression.describe('JSONata over the item that must be truthy') },
  };

  const rule = (t: RuleType) =>
    z
      .strictObject(
        {
          type: z.literal(t),
          field: (t === 'custom' || t === 'unique' ? itemPath.optional() : itemPath).describe('Field path of the item to check'),
          message: z.string({ error: 'must be a non-empty string' }).min(1, 'must be a non-empty string').optional().describe('Replaces the default reason'),
          ...RULE_OPTIONS[t],
        },
        unknownKeysHint(`rule '${t}' takes ${['field', 'message', ...Object.keys(RULE_OPTIONS[t])].join(', ')}`),
      )
      .superRefine((r: Record<string, unknown>, ctx) => {
        if (t === 'unique') {
          if (r.fields !== undefined && r.field !== undefined) add(ctx, ['fields'], 'give field or fields, not both');
          if (r.fields === undefined && r.field === undefined) add(ctx, ['field'], itemPathProblem(undefined)!);
        }
        if (t === 'type') {
          if (r.expected !== undefined && r.expected_type !== undefined) add(ctx, ['expected_type'], 'give expected or expected_type, not both');
          if (r.expected === undefined && r.expected_type === undefined) add(ctx, ['expected'], `rule 'type' needs expected`);
        }
        if (t === 'pattern' && typeof r.pattern === 'string' && !deferred(r.pattern)) {
          const problem = regexProblem(r.pattern, typeof r.flags === 'string' && !deferred(r.flags) ? r.flags : '');
          if (problem) add(ctx, [/^flags/.test(problem) ? 'flags' : 'pattern'], `pattern ${problem}`);
        }
      }, CROSS_FIELD);

  const ruleSchema = z.discriminatedUnion('type', RULE_TYPES.map(rule) as unknown as [z.ZodObject, ...z.ZodObject[]], {
    error: (issue) =>
      issue.code === 'invalid_union' ? `type must be one of ${RULE_TYPES.join(', ')}` : issue.code === 'invalid_type' ? 'must be a rule such as {"type": "required", "field": "sku"}' : undefined,
  });

  const source = (what: string) =>
    itemPath
      .superRefine((p, ctx) => {
        const parsed = parsePath(p);
        const first = 'path' in parsed ? parsed.path[0] : undefined;
        if ((RESULT_FIELDS as readonly string[]).includes(first!)) add(ctx, [], `'${first}' is taken by the result (${RESULT_FIELDS.join(', ')}); read the items from another field`);
      })
      .optional()
      .describe(what);
  return z
    .strictObject(
      {
        input: z.unknown().optional().describe('The data to validate, usually a reference ("$steps.fetch.products"); default: the step input'),
        source_field: source('Path of the item list inside the input ("products"); the valid items stay at that path'),
        items_field: source('Alias of source_field'),
        max_invalid_ratio: opt(numberIn(0, 1), 'a number from 0 to 1').optional().describe('Fail with VALIDATION_FAILED when a larger share of the items is invalid'),
        max_invalid_count: count('Fail with VALIDATION_FAILED when more items are invalid').optional(),
        fail_on_invalid: bool.describe('Fail on any invalid item (default false: never fail)'),
        include_invalid_items: bool.describe('Whether each invalid entry carries the item (default true)'),
        validation_rules: z
          .array(ruleSchema, { error: RULES_REQUIRED })
          .min(1, RULES_REQUIRED)
          .describe('Rules {type, field, message?, ...}: required, min_value, max_value, type, min_length, max_length, pattern, enum (in), unique, custom'),
      },
      unknownKeysHint('data_validate takes validation_rules, input, source_field, items_field, max_invalid_ratio, max_invalid_count, fail_on_invalid, include_invalid_items'),
    )
    .superRefine((c, ctx) => {
      if (c.source_field !== undefined && c.items_field !== undefined) add(ctx, ['items_field'], 'give source_field or items_field, not both');
    }, CROSS_FIELD);
}

const SCHEMAS = { definition: validateSchema('definition'), runtime: validateSchema('runtime') };

/** The zod schema of a `data_validate` config as written in a definition (run references may stand in for option values). */
export const dataValidateConfigSchema = SCHEMAS.definition;

/**
 * Checks a data_validate config. In `definition` mode (saving a workflow) run
 * references stand in for option values; at `runtime` they were resolved.
 */
export function checkValidateConfig(config: Record<string, unknown>, mode: SchemaMode = 'definition'): ConfigIssue[] {
  const parsed = SCHEMAS[mode].safeParse(config);
  return parsed.success ? [] : zodIssues(parsed.error);
}

/** The validator a workflow definition runs for data_validate steps. */
export const validateDataValidateConfig = (config: Record<string, unknown>): ConfigIssue[] => checkValidateConfig(config, 'definition');

// ---------------------------------------------------------------- run-time resolution

const RESOLVED_RULE_KEYS = ['allow_empty', 'min_value', 'max_value', 'expected', 'expected_type', 'min_length', 'max_length', 'flags', 'values', 'case_insensitive'];

/**
 * Resolves the references a data_validate config may hold, against the run:
 * option values and limits are resolved; field paths, expressions and
 * messages are kept as written, and a pattern only when it is a whole
 * reference (`$` is also a regex anchor).
 */
export function resolveValidateConfig(config: Record<string, unknown>, run: RunContext): Record<string, unknown> {
  const out: Record<string, unknown> = { ...config };
  for (const k of ['input', 'max_invalid_ratio', 'max_invalid_count', 'fail_on_invalid', 'include_invalid_items']) {
    if (config[k] !== undefined) out[k] = resolveReferences(config[k], run);
  }
  if (Array.isArray(config.validation_rules)) {
    out.validation_rules = config.validation_rules.map((rule) => {
      if (!isPlainObject(rule)) return rule;
      const r: Record<string, unknown> = { ...rule };
      for (const k of RESOLVED_RULE_KEYS) if (rule[k] !== undefined) r[k] = resolveReferences(rule[k], run);
      if (typeof rule.pattern === 'string' && parseReference(rule.pattern)) r.pattern = resolveReferences(rule.pattern, run);
      return r;
    });
  }
  return out;
}

/** Step type id of `data_validate`. */
export const DATA_VALIDATE_STEP_TYPE = 'data_validate';

/** The `data_validate` step type as the API knows it: its id, config validator and schema. */
export const dataValidateConfig = defineStepConfig(DATA_VALIDATE_STEP_TYPE, validateDataValidateConfig, { schema: dataValidateConfigSchema });
