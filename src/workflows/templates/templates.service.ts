import { Inject, Injectable, Optional } from '@nestjs/common';
import { WORKFLOW_TEMPLATES } from '@src/core/tokens';
import type { ValidationIssue } from '@engine/dsl/types';
import { AppError } from '@src/common/errors';
import { Workflow } from '@src/workflows/workflow.entity';
import { WorkflowsService, type WorkflowWithDefinition } from '@src/workflows/workflows.service';
import {
  createWorkflowFromTemplate,
  TEMPLATES,
  TemplateNotFoundError,
  type CreateFromTemplateOptions,
  type TemplateDefinition,
  type TemplateRegistry,
} from '@src/workflows/templates';

export interface TemplateSummary {
  name: string;
  display_name: string;
  description: string;
  workflow_type: string;
  step_count: number;
  steps: Array<{ key: string; name: string; step_type: string; is_optional: boolean }>;
  /** False when the template uses a step type this process does not know (its executor is not registered). */
  valid: boolean;
  issues: ValidationIssue[];
  /** The code `create-workflow-templates` installs it under. */
  install_code: string;
}

export type InstallResult = {
  template: string;
  code: string;
  status: 'created' | 'updated' | 'unchanged';
  workflow: Workflow;
  version: number;
  /** Config keys whose workflow value was kept over the template's default (empty with `force`). */
  kept_config: string[];
};

/**
 * The template catalogue: lists templates, creates workflows from them, and
 * installs each as `<name>_template` (what `merchflow run-workflow
 * product_import_template` runs).
 */
@Injectable()
export class TemplatesService {
  constructor(
    private readonly workflows: WorkflowsService,
    @Inject(WORKFLOW_TEMPLATES) @Optional() private readonly templates: TemplateRegistry = TEMPLATES,
  ) {}

  names(): string[] {
    return Object.keys(this.templates).sort();
  }

  get(name: string): TemplateDefinition {
    if (!Object.prototype.hasOwnProperty.call(this.templates, name)) throw new TemplateNotFoundError(name, this.names());
    return this.templates[name];
  }

  list(): TemplateSummary[] {
    return this.names().map((name) => {
      const t = this.templates[name];
      let issues: ValidationIssue[] = [];
      try {
        this.workflows.validate({ ...t, code: installCode(name) });
      } catch (err) {
        issues = err instanceof AppError ? ((err.details.issues as ValidationIssue[]) ?? []) : [];
      }
      return {
        name,
        display_name: t.name,
        description: t.description,
        workflow_type: t.workflow_type,
        step_count: t.steps.length,
        steps: t.steps.map((s) => ({ key: s.key, name: s.name, step_type: s.step_type, is_optional: s.is_optional ?? false })),
        valid: issues.length === 0,
        issues,
        install_code: installCode(name),
      };
    });
  }

  createWorkflow(templateName: string, opts: CreateFromTemplateOptions): Promise<WorkflowWithDefinition> {
    return createWorkflowFromTemplate(templateName, opts, { workflows: this.workflows, templates: this.templates });
  }

  /**
   * Stores the template as the workflow `<name>_template`: created when
   * missing, given a new version when the template changed, else left alone.
   * The workflow's own config values (a supplier id, a marketplace URL set by
   * an operator or the seed) are kept over the template's defaults; keys the
   * template added since are filled in. `force` resets the config to the
   * template's.
   */
  async install(templateName: string, createdBy: string | null = null, opts: { force?: boolean } = {}): Promise<InstallResult> {
    const t = this.get(templateName);
    const code = installCode(templateName);
    let existing: Workflow | null = null;
    try {
      existing = await this.workflows.getByCode(code);
    } catch (err) {
      if ((err as AppError).code !== 'NOT_FOUND') throw err;
    }
    if (!existing) {
      const { workflow, definition } = await this.createWorkflow(templateName, { code, name: t.name, description: t.description, created_by: createdBy, is_template: true });
      return { template: templateName, code, status: 'created', workflow, version: definition.version, kept_config: [] };
    }
    const before = existing.current_version;
    const defaults = t.config ?? {};
    const own = existing.config ?? {};
    const kept = opts.force ? [] : Object.keys(own).filter((k) => JSON.stringify(own[k]) !== JSON.stringify(defaults[k])).sort();
    const { workflow, definition } = await this.workflows.update(
      existing.id,
      {
        name: t.name,
        description: t.description,
        workflow_type: t.workflow_type,
        config: opts.force ? defaults : { ...defaults, ...own },
        max_retries: t.max_retries,
        retry_delay_seconds: t.retry_delay_seconds,
        max_parallel_steps: t.max_parallel_steps,
        input_schema: t.input_schema ?? null,
        fan_out: t.fan_out ?? null,
        steps: t.steps,
        is_template: true,
      },
      createdBy,
    );
    return { template: templateName, code, status: definition.version === before ? 'unchanged' : 'updated', workflow, version: definition.version, kept_config: kept };
  }
}

export function installCode(templateName: string): string {
  return `${templateName}_template`;
}
