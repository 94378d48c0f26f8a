/**
 * The four predefined workflows of the specification as templates. The
 * specification's `create_workflow_from_template` is `createWorkflowFromTemplate`
 * in src/workflows/templates, whose registry includes these.
 */
import type { CreateWorkflowInput } from '@src/workflows/workflows.service';
import { inventorySyncTemplate } from './inventory-sync';
import { listingCreationTemplate } from './listing-creation';
import { orderProcessingTemplate } from './order-processing';
import { productImportTemplate } from './product-import';
import type { TemplateDefinition } from './types';

export type { TemplateDefinition } from './types';
export { SANDBOX_DEFAULTS } from './types';
export { productImportTemplate, listingCreationTemplate, inventorySyncTemplate, orderProcessingTemplate };

/** The predefined templates by name (`product_import`, ...); each installs as `<name>_template`. */
export const COMMERCE_TEMPLATES: Readonly<Record<string, TemplateDefinition>> = Object.freeze({
  product_import: productImportTemplate,
  listing_creation: listingCreationTemplate,
  inventory_sync: inventorySyncTemplate,
  order_processing: orderProcessingTemplate,
});

/** A template by name (`product_import`) or by code (`product_import_template`). */
export function findTemplate(nameOrCode: string): { name: string; template: TemplateDefinition } | null {
  if (Object.prototype.hasOwnProperty.call(COMMERCE_TEMPLATES, nameOrCode)) return { name: nameOrCode, template: COMMERCE_TEMPLATES[nameOrCode] };
  const hit = Object.entries(COMMERCE_TEMPLATES).find(([, t]) => t.code === nameOrCode);
  return hit ? { name: hit[0], template: hit[1] } : null;
}

export interface CreateFromTemplateOptions {
  /** Display name; default the template's. */
  name?: string;
  description?: string;
  created_by?: string | null;
  /** Default: the template's code without a name, else derived from the name (made unique). */
  code?: string;
  /** Merged over the template's config (e.g. `{ "marketplace_id": 3 }`). */
  config?: Record<string, unknown>;
}

/** The definition a workflow made from `template` is stored with. */
export function templateDefinition(template: TemplateDefinition, opts: CreateFromTemplateOptions = {}): CreateWorkflowInput {
  return {
    code: opts.code ?? template.code,
    name: opts.name ?? template.name,
    description: opts.description ?? template.description,
    workflow_type: template.workflow_type,
    config: { ...template.config, ...(opts.config ?? {}) },
    max_retries: template.max_retries,
    retry_delay_seconds: template.retry_delay_seconds,
    max_parallel_steps: template.max_parallel_steps,
    input_schema: template.input_schema ? structuredClone(template.input_schema) : null,
    fan_out: template.fan_out ? structuredClone(template.fan_out) : null,
    // Deep copies: a stored workflow is edited independently of the template.
    steps: structuredClone(template.steps),
  };
}
