/**
 * The AI tasks: for each, the structured result the model must return (a zod
 * schema, sent to the API as a strict JSON schema and checked again on the
 * way back), the instructions, and how an accepted result changes the item.
 * Pure: no network.
 */
import { z } from 'zod';

export const TASK_TYPES = ['enrich_product', 'optimize_listing', 'translate', 'categorize', 'detect_fraud'] as const;
export type TaskType = (typeof TASK_TYPES)[number];

/** What a task needs from the step config, already resolved. */
export interface TaskOptions {
  targetLanguage?: string;
  sourceLanguage?: string;
  /** translate: item fields to translate. */
  fields: string[];
  /** translate: `replace` the fields, or `add` the translation under `translations.<lang>`. */
  translateMode: 'replace' | 'add';
  categories: string[];
  categoryField: string;
  instructions?: string;
}

export interface TaskDefinition {
  /** Fields of one result besides `index` and `confidence`. */
  fields(options: TaskOptions): z.ZodRawShape;
  /** What the model is asked to do. */
  instructions(options: TaskOptions): string;
  /** The item with an accepted result applied (a new object). */
  apply(item: Record<string, unknown>, result: Record<string, unknown>, options: TaskOptions): Record<string, unknown>;
}

const strings = z.array(z.string());

export const TASKS: Record<TaskType, TaskDefinition> = {
  enrich_product: {
    fields: () => ({
      description: z.string(),
      bullet_points: strings,
      keywords: strings,
      attributes: z.array(z.strictObject({ name: z.string(), value: z.string() })),
    }),
    instructions: () =>
      'Enrich each product for an online catalogue: write a clear description, 3 to 6 bullet points, search keywords, and ' +
      'attributes (name/value pairs such as material, colour, size) that the input supports.',
    apply: (item, r) => {
      const fromModel = Object.fromEntries((r.attributes as Array<{ name: string; value: string }>).map((a) => [a.name, a.value]));
      const own = isRecord(item.attributes) ? item.attributes : {};
      // Supplier attributes are facts; the model only fills gaps.
      return { ...item, description: r.description, bullet_points: r.bullet_points, keywords: r.keywords, attributes: { ...fromModel, ...own } };
    },
  },
  optimize_listing: {
    fields: () => ({ title: z.string(), description: z.string(), bullet_points: strings, search_terms: strings }),
    instructions: () =>
      'Optimise each marketplace listing: a concise, keyword-rich title (at most 200 characters), a persuasive but factual ' +
      'description, 3 to 5 bullet points and search terms. Keep brand names and model numbers exactly as given.',
    apply: (item, r) => ({ ...item, title: r.title, description: r.description, bullet_points: r.bullet_points, search_terms: r.search_terms }),
  },
  translate: {
    // One nullable string per field: null when the item has no text there.
    fields: (o) => Object.fromEntries(o.fields.map((f) => [f, z.string().nullable()])),
    instructions: (o) =>
      `Translate the fields ${o.fields.join(', ')} of each item into ${o.targetLanguage}` +
      `${o.sourceLanguage ? ` from ${o.sourceLanguage}` : ''}. Keep brand names, model numbers, units and HTML tags unchanged. ` +
      'Return null for a field the item does not have.',
    apply: (item, r, o) => {
      const translated = Object.fromEntries(o.fields.filter((f) => typeof r[f] === 'string' && item[f] !== undefined).map((f) => [f, r[f]]));
      if (o.translateMode === 'add') {
        const existing = isRecord(item.translations) ? item.translations : {};
        return { ...item, translations: { ...existing, [o.targetLanguage!]: translated } };
      }
      return { ...item, ...translated, language: o.targetLanguage };
    },
  },
  categorize: {
    fields: (o) => ({ category: z.enum(o.categories as [string, ...string[]]) }),
    instructions: (o) => `Assign each item exactly one category from this list: ${o.categories.map((c) => JSON.stringify(c)).join(', ')}.`,
    apply: (item, r, o) => ({ ...item, [o.categoryField]: r.category }),
  },
  detect_fraud: {
    fields: () => ({
      risk_score: z.number().min(0).max(1),
      is_fraud: z.boolean(),
      reasons: strings,
      recommended_action: z.enum(['approve', 'review', 'reject']),
    }),
    instructions: () =>
      'Assess each order for fraud risk from its contents (amounts, addresses, quantities, customer history if given). ' +
      'Give a risk score from 0 (safe) to 1 (certain fraud), a verdict, short reasons, and a recommended action.',
    apply: (item, r) => ({
      ...item,
      fraud_check: { risk_score: r.risk_score, is_fraud: r.is_fraud, reasons: r.reasons, recommended_action: r.recommended_action },
    }),
  },
};

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The schema of one result: `index` (the item's position in the request), the task's fields, and `confidence`. */
export function resultSchema(task: TaskType, options: TaskOptions) {
  return z.strictObject({ index: z.number().int().min(0), ...TASKS[task].fields(options), confidence: z.number().min(0).max(1) });
}

/** The whole response: one result per item of the request. */
export function responseSchema(task: TaskType, options: TaskOptions) {
  return z.strictObject({ results: z.array(resultSchema(task, options)) });
}

/**
 * The JSON schema sent as `response_format.json_schema.schema` (strict mode:
 * every property required, no additional properties, nullable instead of
 * optional), generated from the same zod schema that checks the answer.
 */
export function responseJsonSchema(task: TaskType, options: TaskOptions): Record<string, unknown> {
  const schema = z.toJSONSchema(responseSchema(task, options), { target: 'draft-7' }) as Record<string, unknown>;
  delete schema.$schema;
  return schema;
}

/** The system message for a task. */
export function systemPrompt(task: TaskType, options: TaskOptions): string {
  return [
    'You process e-commerce data for Merchflow.',
    TASKS[task].instructions(options),
    'The user message is JSON: {"items": [{"index": n, "data": {...}}]}. Answer with one entry in "results" per item, ' +
      'carrying that item\'s "index". Set "confidence" from 0 to 1 to how well the input supports your answer; use a low ' +
      'value rather than inventing facts.',
    options.instructions ? `Additional instructions: ${options.instructions}` : '',
  ]
    .filter(Boolean)
    .join('\n\n');
}

/** The user message for a batch: items numbered from 0, optionally reduced to `includeFields`. */
export function userMessage(items: readonly Record<string, unknown>[], includeFields?: readonly string[]): string {
  const pick = (item: Record<string, unknown>) =>
    includeFields ? Object.fromEntries(includeFields.filter((f) => Object.prototype.hasOwnProperty.call(item, f)).map((f) => [f, item[f]])) : item;
  return JSON.stringify({ items: items.map((item, index) => ({ index, data: pick(item) })) });
}

export type ParsedResults = { results: Map<number, Record<string, unknown>>; problems: Map<number, string>; error?: string };

/**
 * Checks a model answer for a batch of `count` items. Returns the valid
 * result per index, what was wrong for each other index, and `error` when the
 * answer as a whole was unusable (not JSON, wrong shape).
 */
export function parseResults(task: TaskType, options: TaskOptions, content: string | null | undefined, count: number): ParsedResults {
  const results = new Map<number, Record<string, unknown>>();
  const problems = new Map<number, string>();
  const all = (why: string): ParsedResults => {
    for (let i = 0; i < count; i++) problems.set(i, why);
    return { results, problems, error: why };
  };
  if (typeof content !== 'string' || content.trim() === '') return all('the model returned no content');
  let json: unknown;
  try {
    json = JSON.parse(content);
  } catch (err) {
    return all(`the model returned invalid JSON: ${(err as Error).message}`);
  }
  const envelope = z.object({ results: z.array(z.unknown()) }).safeParse(json);
  if (!envelope.success) return all('the model output has no "results" list');
  const one = resultSchema(task, options);
  for (const raw of envelope.data.results) {
    const index = isRecord(raw) && Number.isInteger(raw.index) ? (raw.index as number) : -1;
    if (index < 0 || index >= count) continue;
    if (results.has(index)) continue; // the first answer for an item counts
    const parsed = one.safeParse(raw);
    if (parsed.success) {
      results.set(index, parsed.data);
      problems.delete(index);
    } else {
      const issue = parsed.error.issues[0];
      problems.set(index, `the model output does not match the schema at ${issue.path.join('.') || 'result'}: ${issue.message}`);
    }
  }
  for (let i = 0; i < count; i++) if (!results.has(i) && !problems.has(i)) problems.set(i, 'the model returned no result for this item');
  return { results, problems };
}
