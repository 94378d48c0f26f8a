import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { STEP_TYPE_REGISTRY } from '@src/core/tokens';
import { createHash } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { IsNull } from 'typeorm';
import type { DefinitionInput, StepDefinition, StepTypeRegistry, WorkflowDefinition } from '@engine/dsl/types';
import { normalizeDefinition } from '@engine/dsl/normalize';
import { validateDefinition, formatIssues } from '@engine/dsl/validate';
import { inputSchemaProblem } from '@src/workflows/input-schema';
import { AppError, ConflictError, NotFoundError } from '@src/common/errors';
import { offsetOf, pageOf, type Page, type PageRequest } from '@src/common/pagination';
import { Workflow, WorkflowStep, WorkflowVersion } from '@src/workflows/workflow.entity';
import { definitionOf, toStepDefinition } from '@src/workflows/definition-rows';

/** What a caller gives to create a workflow. */
export interface CreateWorkflowInput extends DefinitionInput {
  description?: string;
  status?: 'active' | 'inactive';
  is_template?: boolean;
}

/** A change to a workflow; any definition field creates a new version. */
export type UpdateWorkflowInput = Partial<CreateWorkflowInput>;

/** Versions kept in memory per process (each a few KB). */
const VERSION_CACHE_SIZE = 500;

const DEFINITION_FIELDS = ['name', 'workflow_type', 'config', 'max_retries', 'retry_delay_seconds', 'max_parallel_steps', 'input_schema', 'fan_out', 'steps'] as const;

/** Filters of `list`. */
export interface WorkflowFilter {
  workflow_type?: string;
  status?: 'active' | 'inactive';
  is_template?: boolean;
  /** Matches code or name, case-insensitively. */
  search?: string;
}

export interface WorkflowWithDefinition {
  workflow: Workflow;
  definition: WorkflowDefinition;
}

/** The columns of a workflow that starting a run reads. */
export type StartableWorkflow = Pick<Workflow, 'id' | 'code' | 'name' | 'status' | 'current_version' | 'workflow_type'>;

/**
 * Stores workflow definitions. Every edit of the definition creates a new
 * immutable version; runs pin one version, so later edits never change a
 * running or replayed execution.
 */
@Injectable()
export class WorkflowsService {
  /** Immutable versions with their steps, by `workflow_id:version`. */
  private readonly versionCache = new Map<string, { version: WorkflowVersion; steps: StepDefinition[] }>();
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(STEP_TYPE_REGISTRY) private readonly registry: StepTypeRegistry,
  ) {}

  /** Normalises and validates a definition; throws DEFINITION_INVALID naming each step and field. */
  validate(input: unknown): WorkflowDefinition {
    const issues = validateDefinition(input, this.registry);
    const schema = (input as { input_schema?: unknown } | null)?.input_schema;
    if (schema && typeof schema === 'object' && !Array.isArray(schema)) {
      const problem = inputSchemaProblem(schema as Record<string, unknown>);
      if (problem) issues.push({ code: 'INVALID_INPUT_SCHEMA', step: null, field: 'input_schema', message: problem });
    }
    if (issues.length > 0) {
      throw new AppError('DEFINITION_INVALID', `definition invalid: ${formatIssues(issues)}`, 400, { issues });
    }
    return normalizeDefinition(input as DefinitionInput);
  }

  async create(input: CreateWorkflowInput, createdBy: string | null = null): Promise<WorkflowWithDefinition> {
    const def = this.validate(input);
    return this.dataSource.transaction(async (m) => {
      const existing = await m.findOne(Workflow, { where: { code: def.code, deleted_at: IsNull() } });
      if (existing) throw new ConflictError('WORKFLOW_EXISTS', `a workflow with code "${def.code}" already exists`, { code: def.code, id: existing.id });
      const wf = m.create(Workflow, {
        code: def.code,
        name: def.name,
        description: input.description ?? '',
        workflow_type: def.workflow_type,
        status: input.status ?? 'active',
        is_template: input.is_template ?? false,
        current_version: 1,
        config: def.config,
        max_retries: def.max_retries,
        retry_delay_seconds: def.retry_delay_seconds,
        max_parallel_steps: def.max_parallel_steps,
        created_by: createdBy,
      });
      await m.save(wf);
      const version = await this.insertVersion(m, wf.id, 1, def, createdBy);
      return { workflow: wf, definition: { ...def, workflow_id: wf.id, version_id: version.id, version: 1 } };
    });
  }

  /** Applies a change; a changed definition becomes a new version (identical ones do not). */
  async update(id: number, patch: UpdateWorkflowInput, updatedBy: string | null = null): Promise<WorkflowWithDefinition> {
    return this.dataSource.transaction(async (m) => {
      const wf = await m.findOne(Workflow, { where: { id, deleted_at: IsNull() }, lock: { mode: 'pessimistic_write' } });
      if (!wf) throw new NotFoundError('Workflow', id);
      const current = await this.loadDefinition(m, wf, wf.current_version);
      if (patch.code !== undefined && patch.code !== wf.code) {
        throw new AppError('CODE_IMMUTABLE', 'a workflow code cannot change; create a new workflow instead', 400, { field: 'code' });
      }
      const touchesDefinition = DEFINITION_FIELDS.some((f) => patch[f] !== undefined);
      let def = current;
      if (touchesDefinition) {
        const merged: DefinitionInput = {
          code: wf.code,
          name: patch.name ?? current.name,
          workflow_type: patch.workflow_type ?? current.workflow_type,
          config: patch.config ?? current.config,
          max_retries: patch.max_retries ?? current.max_retries,
          retry_delay_seconds: patch.retry_delay_seconds ?? current.retry_delay_seconds,
          max_parallel_steps: patch.max_parallel_steps ?? current.max_parallel_steps,
          // null removes the schema; absent keeps it.
          input_schema: patch.input_schema === undefined ? current.input_schema : patch.input_schema,
          // null removes the fan-out; absent keeps it.
          fan_out: patch.fan_out === undefined ? (current.fan_out ?? null) : patch.fan_out,
          steps: patch.steps ?? current.steps,
        };
        const next = this.validate(merged);
        if (checksum(next) !== checksum(current)) {
          const version = await this.insertVersion(m, wf.id, wf.current_version + 1, next, updatedBy);
          wf.current_version = version.version;
          def = { ...next, workflow_id: wf.id, version_id: version.id, version: version.version };
        }
        Object.assign(wf, {
          name: def.name,
          workflow_type: def.workflow_type,
          config: def.config,
          max_retries: def.max_retries,
          retry_delay_seconds: def.retry_delay_seconds,
          max_parallel_steps: def.max_parallel_steps,
        });
      }
      if (patch.description !== undefined) wf.description = patch.description;
      if (patch.status !== undefined) wf.status = patch.status;
      if (patch.is_template !== undefined) wf.is_template = patch.is_template;
      await m.save(wf);
      return { workflow: wf, definition: def };
    });
  }

  async get(id: number): Promise<Workflow> {
    const wf = await this.dataSource.getRepository(Workflow).findOne({ where: { id, deleted_at: IsNull() } });
    if (!wf) throw new NotFoundError('Workflow', id);
    return wf;
  }

  async getByCode(code: string): Promise<Workflow> {
    const wf = await this.dataSource.getRepository(Workflow).findOne({ where: { code, deleted_at: IsNull() } });
    if (!wf) throw new NotFoundError('Workflow', code);
    return wf;
  }

  /** The definition of a version (the current one by default), ready to run. */
  async definition(id: number, version?: number): Promise<WorkflowWithDefinition> {
    const wf = await this.get(id);
    return { workflow: wf, definition: await this.loadDefinition(this.dataSource.manager, wf, version ?? wf.current_version) };
  }

  /**
   * A live workflow's columns that a start reads, in one plain query: the
   * entity's `findOne` costs the API some 3 ms of CPU a call (query building
   * and hydration of every column), most of the execute path's own work.
   */
  async startable(id: number): Promise<StartableWorkflow> {
    const rows: StartableWorkflow[] = await this.dataSource.query(
      `SELECT id, code, name, status, current_version, workflow_type FROM workflows WHERE id = $1 AND deleted_at IS NULL`,
      [id],
    );
    if (!rows[0]) throw new NotFoundError('Workflow', id);
    return rows[0];
  }

  /** The definition of one version of `wf` (its current one by default), from the cache of immutable versions. */
  async definitionFor(wf: Pick<Workflow, 'id' | 'code' | 'workflow_type' | 'current_version'>, version?: number): Promise<WorkflowDefinition> {
    return this.loadDefinition(this.dataSource.manager, wf, version ?? wf.current_version);
  }

  async versions(id: number): Promise<WorkflowVersion[]> {
    await this.get(id);
    return this.dataSource.getRepository(WorkflowVersion).find({ where: { workflow_id: id }, order: { version: 'DESC' } });
  }

  /** Live workflows, newest first, with the number of main steps of their current version. */
  async list(filter: WorkflowFilter, page: PageRequest): Promise<Page<{ workflow: Workflow; step_count: number }>> {
    const qb = this.dataSource.getRepository(Workflow).createQueryBuilder('w').where('w.deleted_at IS NULL');
    if (filter.workflow_type) qb.andWhere('w.workflow_type = :type', { type: filter.workflow_type });
    if (filter.status) qb.andWhere('w.status = :status', { status: filter.status });
    if (filter.is_template !== undefined) qb.andWhere('w.is_template = :tpl', { tpl: filter.is_template });
    if (filter.search) {
      const like = `%${filter.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      qb.andWhere('(w.code ILIKE :like OR w.name ILIKE :like)', { like });
    }
    const [rows, count] = await qb.orderBy('w.id', 'DESC').skip(offsetOf(page)).take(page.page_size).getManyAndCount();
    const counts = await this.stepCounts(rows.map((w) => [w.id, w.current_version]));
    return pageOf(page, count, rows.map((workflow) => ({ workflow, step_count: counts.get(`${workflow.id}/${workflow.current_version}`) ?? 0 })));
  }

  /** Main-step counts keyed by `workflow_id/version`. */
  async stepCounts(pairs: Array<[number, number]>): Promise<Map<string, number>> {
    if (pairs.length === 0) return new Map();
    const rows: Array<{ workflow_id: number; version: number; n: string }> = await this.dataSource.query(
      `SELECT v.workflow_id, v.version, count(s.id) FILTER (WHERE s.role = 'main') AS n
       FROM workflow_versions v LEFT JOIN workflow_steps s ON s.workflow_version_id = v.id
       WHERE (v.workflow_id, v.version) IN (SELECT * FROM unnest($1::int[], $2::int[]))
       GROUP BY v.workflow_id, v.version`,
      [pairs.map((p) => p[0]), pairs.map((p) => p[1])],
    );
    return new Map(rows.map((r) => [`${r.workflow_id}/${r.version}`, Number(r.n)]));
  }

  /** Soft delete: runs keep their workflow; the code becomes free. Refused while schedules still start it. */
  async remove(id: number): Promise<void> {
    const wf = await this.get(id);
    const schedules: Array<{ id: number }> = await this.dataSource.query(`SELECT id FROM workflow_schedules WHERE workflow_id = $1 ORDER BY id`, [id]);
    if (schedules.length > 0) {
      throw new ConflictError('WORKFLOW_HAS_SCHEDULES', `workflow ${wf.code} still has schedules (${schedules.map((s) => s.id).join(', ')}); delete them first`, {
        schedule_ids: schedules.map((s) => s.id),
      });
    }
    await this.dataSource.getRepository(Workflow).softRemove(wf);
  }

  private async loadDefinition(m: EntityManager, wf: Pick<Workflow, 'id' | 'code' | 'workflow_type'>, version: number): Promise<WorkflowDefinition> {
    const key = `${wf.id}:${version}`;
    let stored = this.versionCache.get(key);
    if (!stored) {
      const v = await m.findOne(WorkflowVersion, { where: { workflow_id: wf.id, version } });
      if (!v) throw new NotFoundError('Workflow version', `${wf.id}/${version}`);
      const steps = await m.find(WorkflowStep, { where: { workflow_version_id: v.id }, order: { order: 'ASC', key: 'ASC' } });
      stored = { version: v, steps: steps.map(toStepDefinition) };
      // Versions never change once written, so every process may keep them.
      this.versionCache.set(key, stored);
      if (this.versionCache.size > VERSION_CACHE_SIZE) this.versionCache.delete(this.versionCache.keys().next().value as string);
    }
    return definitionOf(wf, stored.version, stored.steps);
  }

  private async insertVersion(m: EntityManager, workflowId: number, version: number, def: WorkflowDefinition, by: string | null): Promise<WorkflowVersion> {
    const v = m.create(WorkflowVersion, {
      workflow_id: workflowId,
      version,
      name: def.name,
      config: def.config,
      max_retries: def.max_retries,
      retry_delay_seconds: def.retry_delay_seconds,
      max_parallel_steps: def.max_parallel_steps,
      input_schema: def.input_schema,
      fan_out: def.fan_out ?? null,
      checksum: checksum(def),
      created_by: by,
    });
    await m.save(v);
    await m.save(def.steps.map((s) => m.create(WorkflowStep, { ...s, workflow_version_id: v.id })));
    return v;
  }
}

/** sha256 of the definition's content (not its identity), with object keys sorted. */
export function checksum(def: WorkflowDefinition): string {
  const { workflow_id: _w, version_id: _v, version: _n, input_schema, fan_out, ...rest } = def;
  // A definition without a schema (or a fan-out) keeps the checksum it had before they existed.
  const content = { ...rest, ...(input_schema ? { input_schema } : {}), ...(fan_out ? { fan_out } : {}) };
  return createHash('sha256').update(canonicalJson(content)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}
