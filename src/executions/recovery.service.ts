import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { isPagedRef, isPayloadRef, type StepDefinition } from '@engine/dsl/types';
import { PayloadStore } from '@engine/activities/runtime/payload-store';
import { AppError, ConflictError, NotFoundError } from '@src/common/errors';
import { LATEST } from '@src/executions/execution-items.service';
import { ExecutionsService, assertFinished } from '@src/executions/executions.service';
import type { WorkflowExecution } from '@src/executions/execution.entity';
import { downstreamOf, itemOrigin, itemsAt, OriginError, outputShapeIssues, topologicalMain, withItemsAt, type VersionChoice } from '@src/executions/recovery-plan';

export interface RetryItemsOptions {
  /** Only these item keys (of any step, unless `step` names one). */
  keys?: string[];
  /** Only items with these reason codes. */
  reasons?: string[];
  /** Only items of this step; default: the first step (in dependency order) with items that did not go through. */
  step?: string;
  /** Per item key: fields shallow-merged into that item before it is retried. */
  overrides?: Record<string, Record<string, unknown>>;
  version?: VersionChoice;
  triggered_by?: string | null;
  task_queue?: string;
}

export interface RetryPlanView {
  step: string;
  count: number;
  /** The first keys retried (at most 100). */
  keys: string[];
  version: number;
  version_choice: VersionChoice;
  /** Matching items of later steps, left for another retry (`step`): they went through `step`. */
  other_steps: Record<string, number>;
  /** Matching items whose payload was not kept (too large): not retried. */
  not_retryable: number;
}

export interface EditOutputOptions {
  output: unknown;
  reason?: string | null;
  edited_by?: string | null;
  task_queue?: string;
}

/** One audited edit of a step's output. */
export interface StepOutputEdit {
  id: number;
  execution_id: string;
  step_key: string;
  new_execution_id: string | null;
  edited_by: string | null;
  reason: string | null;
  before: unknown;
  after: unknown;
  created_at: string;
}

/** Largest edited output accepted (it travels in the new run's start input). */
const MAX_EDIT_BYTES = 1024 * 1024;
/** A re-wrapped list larger than this is stored as a payload and passed by reference. */
const INLINE_BYTES = 256 * 1024;
const NOT_OK = ['invalid', 'failed', 'skipped'];

/**
 * Item-level recovery: re-running only the items that did not go through
 * (`retryItems`), and continuing from an operator's edit of a step's output
 * (`editOutput`). Both start a new run linked by `restarted_from` that reuses
 * the earlier run's outputs (as a restart does), with per-item idempotency
 * keys derived from the first run of the chain. Temporal's history is never
 * rewritten.
 */
@Injectable()
export class RecoveryService {
  private readonly payloads: PayloadStore;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly executions: ExecutionsService,
  ) {
    this.payloads = new PayloadStore(dataSource, { thresholdBytes: INLINE_BYTES, cacheBytes: 0 });
  }

  async retryItems(id: string, opts: RetryItemsOptions = {}): Promise<{ run: WorkflowExecution; retry: RetryPlanView }> {
    const old = await this.executions.get(id);
    assertFinished(old);
    const { original, definition, choice } = await this.executions.chooseVersion(old, opts.version);
    if (opts.step !== undefined && !original.steps.some((s) => s.key === opts.step && s.role === 'main')) {
      throw new AppError('STEP_NOT_FOUND', `step: workflow ${original.code} v${original.version} has no step "${opts.step}"`, 400, { field: 'step' });
    }
    const rows = await this.selected(old.execution_id, opts);
    if (rows.length === 0) {
      throw new AppError('NO_ITEMS_TO_RETRY', `no item of ${old.execution_id} that did not go through matches ${describeFilter(opts)}`, 422, {
        field: opts.keys ? 'keys' : opts.reasons ? 'reasons' : opts.step ? 'step' : null,
        keys: opts.keys ?? null,
        reasons: opts.reasons ?? null,
        step: opts.step ?? null,
      });
    }
    // The first step, in dependency order, where the selected items did not go through.
    const order = topologicalMain(original);
    const stepKey = order.find((k) => rows.some((r) => r.step_key === k))!;
    if (!definition.steps.some((s) => s.key === stepKey && s.role === 'main')) {
      throw new AppError('RETRY_NOT_POSSIBLE', `version: v${definition.version} has no step "${stepKey}" to retry the items in; use version "original"`, 422, { field: 'version' });
    }
    const other: Record<string, number> = {};
    for (const r of rows) if (r.step_key !== stepKey) other[r.step_key] = (other[r.step_key] ?? 0) + 1;
    const mine = rows.filter((r) => r.step_key === stepKey);
    const kept = mine.filter((r) => r.payload !== null && !(isObject(r.payload) && r.payload.$truncated === true));
    if (kept.length === 0) {
      throw new AppError('NO_ITEMS_TO_RETRY', `the ${mine.length} matching items of step "${stepKey}" kept no payload (each was larger than the ledger keeps), so they cannot be retried`, 422, {
        step: stepKey,
      });
    }
    const overrides = opts.overrides ?? {};
    const keySet = new Set(kept.map((r) => r.item_key));
    for (const k of Object.keys(overrides)) {
      if (!keySet.has(k)) throw new AppError('BAD_REQUEST', `overrides.${k}: no item with that key is retried in step "${stepKey}"`, 400, { field: `overrides.${k}` });
      if (!isObject(overrides[k])) throw new AppError('BAD_REQUEST', `overrides.${k}: must be an object of fields`, 400, { field: `overrides.${k}` });
    }
    const items = kept.map((r) => (overrides[r.item_key] && isObject(r.payload) ? { ...r.payload, ...overrides[r.item_key] } : r.payload));

    const outputs = await this.executions.completedOutputs(old.execution_id);
    const stepRows = await this.executions.steps(old.execution_id);
    const plan = this.executions.reuse(old, original, definition, outputs, stepRows, [stepKey]);
    // Where the step read its list: the new run finds only the kept items there.
    let origin;
    try {
      origin = itemOrigin(definition, stepKey, new Set(plan.skipped));
    } catch (err) {
      if (err instanceof OriginError) throw new AppError('RETRY_NOT_POSSIBLE', err.message, 422, { step: stepKey });
      throw err;
    }
    let input = old.input_data;
    if (origin.kind === 'input') {
      input = withItemsAt(old.input_data, origin.path, items);
    } else {
      if (!(origin.step in plan.completed)) {
        throw new AppError(
          'RETRY_NOT_POSSIBLE',
          `step "${stepKey}" reads its items from step "${origin.step}", which the new run would run again (it ${plan.recovery.changed_steps.includes(origin.step) ? 'changed in the chosen version' : 'has no output to reuse'}); ` +
            `retry with version "original", or restart the run`,
          422,
          { step: stepKey, source_step: origin.step, field: 'version' },
        );
      }
      const before = await this.resolve(plan.completed[origin.step]);
      const list = itemsAt(before, origin.path);
      if (!Array.isArray(list) && !isPagedRef(list) && origin.path.length > 0) {
        throw new AppError('RETRY_NOT_POSSIBLE', `step "${origin.step}" has no list at ${origin.path.join('.')} in its output`, 422, { step: stepKey });
      }
      plan.completed[origin.step] = await this.maybeOffload(old.execution_id, origin.step, withItemsAt(before, origin.path, items));
    }
    const retry: RetryPlanView = {
      step: stepKey,
      count: items.length,
      keys: kept.slice(0, 100).map((r) => r.item_key),
      version: definition.version,
      version_choice: choice,
      other_steps: other,
      not_retryable: mine.length - kept.length,
    };
    const run = await this.executions.start(
      old.workflow_id,
      {
        input_data: input,
        trigger_type: 'retry_items',
        triggered_by: opts.triggered_by ?? null,
        version: definition.version,
        task_queue: opts.task_queue,
        idempotency_root: plan.recovery.idempotency_root,
        items_subset: true,
        recovery: {
          ...plan.recovery,
          kind: 'retry_items',
          version_choice: choice,
          step: stepKey,
          items: items.length,
          keys: retry.keys,
          filter: { keys: opts.keys ?? null, reasons: opts.reasons ?? null, step: opts.step ?? null },
          overridden: Object.keys(overrides),
        },
      },
      { from_execution_id: old.execution_id, completed_outputs: plan.completed, skipped_steps: plan.skipped },
      old.execution_id,
    );
    return { run, retry };
  }

  /**
   * A step's output as a later step would read it (from the run's Temporal
   * history or the payload store), for an operator about to edit it: left out
   * when larger than an edit may be.
   */
  async stepOutput(id: string, stepKey: string): Promise<{ step_key: string; status: string; editable: boolean; bytes: number; output?: unknown }> {
    const run = await this.executions.get(id);
    const row = (await this.executions.steps(run.execution_id)).find((r) => r.step_key === stepKey && r.role === 'main');
    if (!row) throw new NotFoundError('Step', `${run.execution_id}/${stepKey}`);
    const finished = run.status !== 'running' && run.status !== 'pending';
    const outputs = finished ? await this.executions.completedOutputs(run.execution_id) : {};
    const output = stepKey in outputs ? await this.resolve(outputs[stepKey]) : null;
    const bytes = Buffer.byteLength(JSON.stringify(output));
    const editable = finished && (row.status === 'completed' || row.status === 'failed');
    return { step_key: stepKey, status: row.status, editable, bytes, ...(bytes <= MAX_EDIT_BYTES ? { output } : {}) };
  }

  /**
   * Records an operator's edit of a step's output (audited: who, when, why,
   * before and after) and starts a run that reuses the outputs up to and
   * including that step, the edited one in place of the step's, and runs what
   * comes after it. Always the run's own definition version (the edit is of
   * that version's step).
   */
  async editOutput(id: string, stepKey: string, opts: EditOutputOptions): Promise<{ run: WorkflowExecution; edit: StepOutputEdit }> {
    const old = await this.executions.get(id);
    assertFinished(old);
    const { original: definition } = await this.executions.chooseVersion(old, 'original');
    const step: StepDefinition | undefined = definition.steps.find((s) => s.key === stepKey && s.role === 'main');
    if (!step) throw new AppError('STEP_NOT_FOUND', `step_key: workflow ${definition.code} v${definition.version} has no main step "${stepKey}"`, 400, { field: 'step_key' });
    const stepRows = await this.executions.steps(old.execution_id);
    const row = stepRows.find((r) => r.step_key === stepKey);
    if (!row || (row.status !== 'completed' && row.status !== 'failed')) {
      throw new ConflictError('STEP_NOT_EDITABLE', `step "${stepKey}" of ${old.execution_id} is ${row?.status ?? 'not run'}; only a completed or failed step's output can be edited`, {
        step_key: stepKey,
        status: row?.status ?? null,
      });
    }
    const size = Buffer.byteLength(JSON.stringify(opts.output ?? null));
    if (size > MAX_EDIT_BYTES) throw new AppError('OUTPUT_INVALID', `output: ${size} bytes, more than the ${MAX_EDIT_BYTES} an edit may have`, 422, { field: 'output' });
    const outputs = await this.executions.completedOutputs(old.execution_id);
    const before = stepKey in outputs ? await this.resolve(outputs[stepKey]) : null;
    const issues = outputShapeIssues(step, before ?? undefined, opts.output);
    if (issues.length > 0) throw new AppError('OUTPUT_INVALID', issues.join('; '), 422, { field: issues[0].split(':')[0], issues });

    // Everything after the step runs again; the step itself and what it does not lead to are reused.
    const later = downstreamOf(definition, [stepKey]);
    const after = topologicalMain(definition).filter((k) => k !== stepKey && later.has(k));
    const plan = this.executions.reuse(old, definition, definition, { ...outputs, [stepKey]: opts.output }, stepRows, after);
    if (!(stepKey in plan.completed)) {
      throw new ConflictError('STEP_NOT_EDITABLE', `step "${stepKey}" would run again in the new run (its saga undid it), so an edit of its output would not be used`, { step_key: stepKey });
    }
    plan.completed[stepKey] = await this.maybeOffload(old.execution_id, stepKey, opts.output);
    const edits: Array<{ id: string; created_at: Date }> = await this.dataSource.query(
      `INSERT INTO step_output_edits (execution_id, step_key, edited_by, reason, before, after) VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb) RETURNING id, created_at`,
      [old.execution_id, stepKey, opts.edited_by ?? null, opts.reason ?? null, JSON.stringify(auditedBefore(outputs[stepKey], before)), JSON.stringify(opts.output)],
    );
    const editId = Number(edits[0].id);
    let run: WorkflowExecution;
    try {
      run = await this.executions.start(
        old.workflow_id,
        {
          input_data: old.input_data,
          trigger_type: 'edit_output',
          triggered_by: opts.edited_by ?? null,
          version: definition.version,
          task_queue: opts.task_queue,
          idempotency_root: plan.recovery.idempotency_root,
          recovery: {
            ...plan.recovery,
            kind: 'edit_output',
            version_choice: 'original',
            step: stepKey,
            edits: [{ id: editId, step_key: stepKey, edited_by: opts.edited_by ?? null, reason: opts.reason ?? null, at: new Date(edits[0].created_at).toISOString() }],
          },
        },
        { from_execution_id: old.execution_id, completed_outputs: plan.completed, skipped_steps: plan.skipped },
        old.execution_id,
      );
    } catch (err) {
      await this.dataSource.query(`DELETE FROM step_output_edits WHERE id = $1`, [editId]).catch(() => undefined);
      throw err;
    }
    await this.dataSource.query(`UPDATE step_output_edits SET new_execution_id = $2 WHERE id = $1`, [editId, run.execution_id]);
    const edit: StepOutputEdit = {
      id: editId,
      execution_id: old.execution_id,
      step_key: stepKey,
      new_execution_id: run.execution_id,
      edited_by: opts.edited_by ?? null,
      reason: opts.reason ?? null,
      before: auditedBefore(outputs[stepKey], before),
      after: opts.output,
      created_at: new Date(edits[0].created_at).toISOString(),
    };
    return { run, edit };
  }

  /** Each matching item's latest outcome that was not ok, in step and input order. */
  private async selected(
    executionId: string,
    opts: RetryItemsOptions,
  ): Promise<Array<{ step_key: string; item_key: string; item_index: number | null; payload: unknown }>> {
    const params: unknown[] = [executionId];
    const stepFilter = opts.step ? `AND b.step_key = $${params.push(opts.step)}` : '';
    const where = [`i.status = ANY($${params.push(NOT_OK)}::text[])`];
    if (opts.keys && opts.keys.length > 0) where.push(`i.item_key = ANY($${params.push(opts.keys)}::text[])`);
    if (opts.reasons && opts.reasons.length > 0) where.push(`i.reason_code = ANY($${params.push(opts.reasons)}::text[])`);
    return this.dataSource.query(
      `SELECT step_key, item_key, item_index, payload FROM (${LATEST(stepFilter)}) i WHERE ${where.join(' AND ')} ORDER BY step_key, item_index NULLS LAST, item_key`,
      params,
    );
  }

  /** A stored output as written: its claim-checked parts loaded, its paged lists (PayloadStore.pageWriter) left as references. */
  private async resolve(value: unknown): Promise<unknown> {
    return this.payloads.hydrate(value, { keepPaged: true });
  }

  /** A large value goes to the payload store (under the earlier run, which it is derived from). */
  private async maybeOffload(executionId: string, stepKey: string, value: unknown): Promise<unknown> {
    return this.payloads.offload(executionId, `${stepKey.slice(0, 40)}~${randomUUID().slice(0, 8)}`, value);
  }
}

/**
 * What the audit keeps of the output before an edit: the output itself, or,
 * past MAX_EDIT_BYTES, the reference to it in the payload store (kept as long
 * as the run's payloads), so an edit of a 100,000-item output does not copy it.
 */
function auditedBefore(stored: unknown, before: unknown): unknown {
  if (before === undefined || before === null) return null;
  if (isPayloadRef(stored) && Buffer.byteLength(JSON.stringify(before)) > MAX_EDIT_BYTES) return { $payload: stored.$payload, note: 'larger than an edit may be: a reference to the stored output' };
  return before;
}

function describeFilter(o: RetryItemsOptions): string {
  const parts: string[] = [];
  if (o.step) parts.push(`step "${o.step}"`);
  if (o.keys?.length) parts.push(`keys ${o.keys.slice(0, 5).join(', ')}${o.keys.length > 5 ? ', …' : ''}`);
  if (o.reasons?.length) parts.push(`reasons ${o.reasons.join(', ')}`);
  return parts.length > 0 ? parts.join(' and ') : 'the filter (none: every item went through)';
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
