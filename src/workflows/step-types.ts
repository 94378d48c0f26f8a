/**
 * The step types a definition may use, as editors need them: id, one line of
 * description, the config's JSON Schema (from the type's zod schema, when it
 * has one) and an example config.
 */
import { z } from 'zod';
import type { StepTypeRegistry } from '@engine/dsl/types';
import { STEP_TYPES } from '@engine/activities/registry';
import { STEP_TYPE_DOCS } from '@engine/activities/step-type-docs';

export interface StepTypeInfo {
  type: string;
  description: string | null;
  /** JSON Schema (draft 2020-12) of the config as written in a definition; null when the type publishes none. */
  config_schema: Record<string, unknown> | null;
  example: Record<string, unknown> | null;
}

/** The config's schema as JSON Schema; refinements (cross-field rules) stay with the validator. */
export function configJsonSchema(schema: z.ZodType): Record<string, unknown> {
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}

/** Every type of the registry (built-ins and extras), sorted by id. */
export function stepTypeCatalogue(registry: StepTypeRegistry): StepTypeInfo[] {
  const schemas = new Map(STEP_TYPES.map((t) => [t.config.type, t.config.schema]));
  return Object.keys(registry)
    .sort()
    .map((type) => {
      const schema = schemas.get(type);
      const doc = Object.prototype.hasOwnProperty.call(STEP_TYPE_DOCS, type) ? STEP_TYPE_DOCS[type] : null;
      return { type, description: doc?.description ?? null, config_schema: schema ? configJsonSchema(schema) : null, example: doc?.example ?? null };
    });
}
