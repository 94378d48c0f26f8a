/**
 * Input schemas: a workflow may declare a JSON Schema its runs' `input_data`
 * must match. Compiled with Ajv (JSON Schema draft 2020-12 subset Ajv's
 * default class supports: draft-07 keywords) and checked before a run starts —
 * by the API's execute, schedules and the CLI — so a bad input is a 400 naming
 * the field instead of a run that fails at its first step.
 */
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { AppError } from '@src/common/errors';

const ajv = new Ajv({ allErrors: true, strict: false, validateSchema: true });
addFormats(ajv);

/** Compiled validators by schema text: a workflow's schema is immutable per version. */
const compiled = new Map<string, ValidateFunction>();
const CACHE_SIZE = 500;

function compile(schema: Record<string, unknown>): ValidateFunction {
  const key = JSON.stringify(schema);
  let fn = compiled.get(key);
  if (!fn) {
    fn = ajv.compile(schema);
    compiled.set(key, fn);
    if (compiled.size > CACHE_SIZE) compiled.delete(compiled.keys().next().value as string);
  }
  return fn;
}

/** Why a schema cannot be used (not valid JSON Schema), or null. */
export function inputSchemaProblem(schema: Record<string, unknown>): string | null {
  try {
    compile(schema);
    return null;
  } catch (err) {
    return `is not a valid JSON Schema: ${(err as Error).message.replace(/^schema is invalid: /, '')}`;
  }
}

/** `input_data.supplier_id`-style field of one Ajv error. */
function fieldOf(e: ErrorObject): string {
  const parts = e.instancePath.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (e.keyword === 'required') parts.push(String((e.params as { missingProperty: string }).missingProperty));
  if (e.keyword === 'additionalProperties') parts.push(String((e.params as { additionalProperty: string }).additionalProperty));
  return ['input_data', ...parts].map((p, i) => (i > 0 && /^\d+$/.test(p) ? `[${p}]` : i > 0 ? `.${p}` : p)).join('');
}

function messageOf(e: ErrorObject): string {
  if (e.keyword === 'required') return 'is required';
  if (e.keyword === 'additionalProperties') return 'is not an input this workflow takes';
  if (e.keyword === 'enum') return `must be one of ${((e.params as { allowedValues: unknown[] }).allowedValues ?? []).map((v) => JSON.stringify(v)).join(', ')}`;
  return e.message ?? 'is invalid';
}

/** The problems of an input against a schema, each naming its field; empty when it matches. */
export function inputProblems(schema: Record<string, unknown> | null | undefined, input: unknown): Array<{ field: string; message: string }> {
  if (!schema) return [];
  const validate = compile(schema);
  if (validate(input)) return [];
  const seen = new Set<string>();
  const out: Array<{ field: string; message: string }> = [];
  for (const e of validate.errors ?? []) {
    const p = { field: fieldOf(e), message: messageOf(e) };
    const k = `${p.field}:${p.message}`;
    if (!seen.has(k)) {
      seen.add(k);
      out.push(p);
    }
  }
  return out;
}

/** Throws a 400 VALIDATION_FAILED naming each field of `input` the schema refuses. */
export function assertInputMatches(schema: Record<string, unknown> | null | undefined, input: unknown, workflowCode: string): void {
  const errors = inputProblems(schema, input);
  if (errors.length === 0) return;
  throw new AppError(
    'VALIDATION_FAILED',
    `${errors.map((e) => `${e.field}: ${e.message}`).join('; ')} (the input schema of workflow ${workflowCode})`,
    400,
    { errors },
  );
}
