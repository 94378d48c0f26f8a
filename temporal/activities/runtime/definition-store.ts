/**
 * The worker's definition versions, by version id, for step activities called
 * by reference (temporal/shared/step-call.ts). A version never changes once
 * written (an edit makes a new one), so a loaded version is kept: an LRU of at
 * most `maxEntries` versions, each loaded once however many steps ask for it at
 * the same time.
 */
import type { DataSource } from 'typeorm';
import type { WorkflowDefinition } from '@engine/dsl/types';
import { Workflow, WorkflowStep, WorkflowVersion } from '@src/workflows/workflow.entity';
import { definitionOf, toStepDefinition } from '@src/workflows/definition-rows';

/** Versions a worker keeps by default (each a few KB). */
export const DEFINITION_CACHE_ENTRIES = 500;

/** No version with this id (deleted with its workflow, or another database). */
export class DefinitionVersionNotFound extends Error {
  constructor(readonly versionId: number) {
    super(`definition version ${versionId} not found`);
    this.name = 'DefinitionVersionNotFound';
  }
}

export class DefinitionStore {
  /** Loaded or loading versions, least recently used first. */
  private readonly cache = new Map<number, Promise<WorkflowDefinition>>();
  /** Versions read from PostgreSQL (for tests and the bench). */
  loads = 0;

  constructor(
    private readonly dataSource: DataSource,
    private readonly maxEntries = DEFINITION_CACHE_ENTRIES,
  ) {}

  get(versionId: number): Promise<WorkflowDefinition> {
    const hit = this.cache.get(versionId);
    if (hit) {
      this.cache.delete(versionId);
      this.cache.set(versionId, hit);
      return hit;
    }
    const loading = this.load(versionId);
    this.cache.set(versionId, loading);
    // A failed load (an outage, a missing version) is not kept: the next call tries again.
    loading.catch(() => {
      if (this.cache.get(versionId) === loading) this.cache.delete(versionId);
    });
    while (this.cache.size > this.maxEntries) this.cache.delete(this.cache.keys().next().value as number);
    return loading;
  }

  /** Versions held now. */
  get size(): number {
    return this.cache.size;
  }

  private async load(versionId: number): Promise<WorkflowDefinition> {
    this.loads++;
    const m = this.dataSource.manager;
    const [version, steps] = await Promise.all([
      m.findOne(WorkflowVersion, { where: { id: versionId } }),
      m.find(WorkflowStep, { where: { workflow_version_id: versionId }, order: { order: 'ASC', key: 'ASC' } }),
    ]);
    if (!version) throw new DefinitionVersionNotFound(versionId);
    // withDeleted: a run of a workflow deleted (softly) since it started still runs its version.
    const wf = await m.findOne(Workflow, { where: { id: version.workflow_id }, withDeleted: true, select: { id: true, code: true, workflow_type: true } });
    if (!wf) throw new DefinitionVersionNotFound(versionId);
    return definitionOf(wf, version, steps.map(toStepDefinition));
  }
}
