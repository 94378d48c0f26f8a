/**
 * The workflow templates: definitions `create_workflow_from_template` (here
 * `createWorkflowFromTemplate`), `POST /templates/{name}/create/` and
 * `merchflow create-workflow-templates` turn into stored workflows.
 *
 * TEMPLATES holds the four predefined templates of the specification
 * (product_import, listing_creation, inventory_sync, order_processing, from
 * src/commerce/templates) and `manual_approval`. Tests hand the API and the
 * services a registry of their own.
 */
import type { FanOutInput, StepInput } from '@engine/dsl/types';
import { AppError } from '@src/common/errors';
import type { WorkflowsService, WorkflowWithDefinition } from '@src/workflows/workflows.service';
import { COMMERCE_TEMPLATES } from '@src/commerce/templates';

/** A template: a definition without a code (each workflow made from it gets its own). */
export interface TemplateDefinition {
  /** Default display name of workflows created from the template. */
  name: string;
  description: string;
  /** The definition's `workflow_type`; predefined types run as their named Temporal workflow type. */
  workflow_type: string;
  config?: Record<string, unknown>;
  max_retries?: number;
  retry_delay_seconds?: number;
  max_parallel_steps?: number;
  /** JSON Schema of the runs' input_data (see docs/definitions.md). */
  input_schema?: Record<string, unknown> | null;
  /** Run once per active supplier / marketplace when a run names none (docs/definitions.md#fan-out). */
  fan_out?: FanOutInput | FanOutInput[] | null;
  steps: StepInput[];
}

export type TemplateRegistry = Record<string, TemplateDefinition>;

/**
 * Templates that ship today. `manual_approval` uses only the built-in
 * `approval` step (the interpreter runs it itself), so it works before any
 * executor is registered.
 */
export const TEMPLATES: TemplateRegistry = {
  manual_approval: {
    name: 'Manual Approval',
    description: 'Waits for an operator to approve or reject the request in its input; the approved data becomes the output.',
    workflow_type: 'custom',
    config: {},
    steps: [
      {
        key: 'review',
        name: 'Review the request',
        step_type: 'approval',
        config: { instructions: 'Approve to continue, reject to fail the run.', timeout_seconds: 0 },
      },
    ],
  },
  ...COMMERCE_TEMPLATES,
};

export interface CreateFromTemplateOptions {
  name?: string;
  description?: string;
  created_by?: string | null;
  /** The new workflow's code; by default derived from its name (made unique). */
  code?: string;
  is_template?: boolean;
}

/** Turns a display name into a workflow code: lowercase letters, digits and _. */
export function codeFromName(name: string): string {
  const slug = name
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 50)
    .replace(/_+$/, '');
  return slug === '' ? 'workflow' : /^[a-z0-9]/.test(slug) ? slug : `w_${slug}`.slice(0, 50);
}

/**
 * The specification's `create_workflow_from_template(template_name, name,
 * description, created_by)`: stores a new workflow built from a template.
 *
 * @example await createWorkflowFromTemplate('manual_approval', { name: 'Price review', created_by: 'ops' }, { workflows })
 */
export async function createWorkflowFromTemplate(
  templateName: string,
  opts: CreateFromTemplateOptions,
  ctx: { workflows: WorkflowsService; templates?: TemplateRegistry },
): Promise<WorkflowWithDefinition> {
  const templates = ctx.templates ?? TEMPLATES;
  const template = Object.prototype.hasOwnProperty.call(templates, templateName) ? templates[templateName] : undefined;
  if (!template) throw new TemplateNotFoundError(templateName, Object.keys(templates));
  const name = opts.name ?? template.name;
  const base = {
    name,
    description: opts.description ?? template.description,
    workflow_type: template.workflow_type,
    config: template.config ?? {},
    max_retries: template.max_retries,
    retry_delay_seconds: template.retry_delay_seconds,
    max_parallel_steps: template.max_parallel_steps,
    input_schema: template.input_schema ?? null,
    fan_out: template.fan_out ?? null,
    steps: template.steps,
    is_template: opts.is_template ?? false,
  };
  if (opts.code) return ctx.workflows.create({ ...base, code: opts.code }, opts.created_by ?? null);
  // No code given: the name's slug, with a numeric suffix when it is taken.
  const stem = codeFromName(name);
  for (let n = 1; ; n++) {
    const code = n === 1 ? stem : `${stem}_${n}`;
    try {
      return await ctx.workflows.create({ ...base, code }, opts.created_by ?? null);
    } catch (err) {
      if ((err as { code?: string }).code !== 'WORKFLOW_EXISTS' || n >= 50) throw err;
    }
  }
}

export class TemplateNotFoundError extends AppError {
  constructor(template: string, known: string[]) {
    super('TEMPLATE_NOT_FOUND', `template "${template}" not found; known templates: ${known.join(', ') || 'none'}`, 404, { template, known_templates: known });
  }
}
