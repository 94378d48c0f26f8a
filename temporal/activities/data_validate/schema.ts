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
import { defineStepConfig } from '@engine/activities/runtime/executor';
import type { ConfigValidator, RunContext } from '@engine/dsl/types';
import { isPlainObject, parseReference, resolveReferences } from '@engine/dsl/references';
import { jsonataProblem } from '@engine/dsl/expressions';
import { Issues, join, type CheckMode, type ConfigIssue } from '@engine/activities/shared/config-check';
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

const TOP_KEYS = ['validation_rules', 'input', 'source_field', 'items_field', 'max_invalid_ratio', 'max_invalid_count', 'fail_on_invalid', 'include_invalid_items'];

/** Options each rule type takes besides `type`, `field` and `message`. */
const RULE_OPTIONS: Record<RuleType, string[]> = {
  required: ['allow_empty'],
  min_value: ['min_value'],
  max_value: ['max_value'],
  type: ['expected', 'expected_type'],
  min_length: ['min_length'],
  max_length: ['max_length'],
  pattern: ['pattern', 'flags'],
  enum: ['values', 'case_insensitive'],
  in: ['values', 'case_insensitive'],
  unique: ['fields', 'case_insensitive'],
  custom: ['expression'],
};

/**
 * Checks a data_validate config. In `definition` mode (saving a workflow) run
 * references stand in for option values; in `run` mode they were resolved.
 */
export function checkValidateConfig(config: Record<string, unknown>, mode: CheckMode = 'definition'): ConfigIssue[] {
  const is = new Issues(mode);
  is.unknownKeys('', config, TOP_KEYS);
  if (config.source_field !== undefined && config.items_field !== undefined) is.add('items_field', 'give source_field or items_field, not both');
  for (const key of ['source_field', 'items_field'] as const) {
    const path = is.path(key, config[key], false);
    if (path && (RESULT_FIELDS as readonly string[]).includes(path[0])) {
      is.add(key, `'${path[0]}' is taken by the result (${RESULT_FIELDS.join(', ')}); read the items from another field`);
    }
  }
  is.number('max_invalid_ratio', config.max_invalid_ratio, { min: 0, max: 1 });
  is.number('max_invalid_count', config.max_invalid_count, { min: 0, integer: true });
  is.boolean('fail_on_invalid', config.fail_on_invalid);
  is.boolean('include_invalid_items', config.include_invalid_items);
  const rules = config.validation_rules;
  if (!Array.isArray(rules) || rules.length === 0) {
    is.add('validation_rules', 'validation_rules is required: a non-empty list such as [{"type": "required", "field": "sku"}]');
    return is.list;
  }
  rules.forEach((rule, i) => checkRule(is, `validation_rules[${i}]`, rule));
  return is.list;
}

/** The validator a workflow definition runs for data_validate steps. */
export const validateDataValidateConfig: ConfigValidator = (config) => checkValidateConfig(config, 'definition');

function checkRule(is: Issues, at: string, rule: unknown): void {
  if (!isPlainObject(rule)) {
    is.add(at, 'must be a rule such as {"type": "required", "field": "sku"}');
    return;
  }
  const type = rule.type;
  if (typeof type !== 'string' || !(RULE_TYPES as readonly string[]).includes(type)) {
    is.add(join(at, 'type'), `type must be one of ${RULE_TYPES.join(', ')}`);
    return;
  }
  const t = type as RuleType;
  is.unknownKeys(at, rule, ['type', 'field', 'message', ...RULE_OPTIONS[t]], `rule '${t}' takes field, message${RULE_OPTIONS[t].length ? `, ${RULE_OPTIONS[t].join(', ')}` : ''}`);
  if (rule.message !== undefined && (typeof rule.message !== 'string' || rule.message === '')) is.add(join(at, 'message'), 'must be a non-empty string');
  if (t === 'custom') {
    is.path(join(at, 'field'), rule.field, false);
    if (typeof rule.expression !== 'string' || rule.expression.trim() === '') is.add(join(at, 'expression'), 'custom rules need a JSONata expression that must be truthy');
    else {
      const problem = jsonataProblem(rule.expression);
      if (problem) is.add(join(at, 'expression'), problem);
    }
    return;
  }
  if (t === 'unique' && rule.fields !== undefined) {
    if (rule.field !== undefined) is.add(join(at, 'fields'), 'give field or fields, not both');
    if (!Array.isArray(rule.fields) || rule.fields.length === 0) is.add(join(at, 'fields'), 'must be a non-empty list of field paths');
    else rule.fields.forEach((f, i) => is.path(`${join(at, 'fields')}[${i}]`, f));
  } else {
    is.path(join(at, 'field'), rule.field);
  }
  const need = (key: string) => {
    if (rule[key] === undefined) is.add(join(at, key), `rule '${t}' needs ${key}`);
    return rule[key] !== undefined;
  };
  switch (t) {
    case 'required':
      is.boolean(join(at, 'allow_empty'), rule.allow_empty);
      return;
    case 'min_value':
    case 'max_value':
      if (need(t)) is.check(join(at, t), rule[t], (x) => (typeof x === 'number' && Number.isFinite(x)) || (typeof x === 'string' && x !== ''), 'a number (or a string, compared as text)');
      return;
    case 'type': {
      if (rule.expected !== undefined && rule.expected_type !== undefined) is.add(join(at, 'expected_type'), 'give expected or expected_type, not both');
      const key = rule.expected_type !== undefined ? 'expected_type' : 'expected';
      if (need(key)) is.oneOf(join(at, key), rule[key], VALUE_TYPES);
      return;
    }
    case 'min_length':
    case 'max_length':
      if (need(t)) is.number(join(at, t), rule[t], { min: 0, integer: true });
      return;
    case 'pattern': {
      if (!need('pattern') || is.deferred(rule.pattern)) return;
      const flags = rule.flags === undefined || is.deferred(rule.flags) ? '' : rule.flags;
      const problem = regexProblem(rule.pattern, flags as string);
      if (problem) is.add(join(at, /^flags/.test(problem) ? 'flags' : 'pattern'), `pattern ${problem}`);
      return;
    }
    case 'enum':
    case 'in':
      if (need('values')) is.check(join(at, 'values'), rule.values, (x) => Array.isArray(x) && x.length > 0, 'a non-empty list of allowed values');
      is.boolean(join(at, 'case_insensitive'), rule.case_insensitive);
      return;
    case 'unique':
      is.boolean(join(at, 'case_insensitive'), rule.case_insensitive);
      return;
  }
}

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

/** The `data_validate` step type as the API knows it: its id and config validator. */
export const dataValidateConfig = defineStepConfig(DATA_VALIDATE_STEP_TYPE, validateDataValidateConfig);
