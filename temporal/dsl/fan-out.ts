/**
 * Fan-out: one run for every active supplier or marketplace. Pure and
 * deterministic (the interpreter's parent path, temporal/workflows/fan-out.ts,
 * builds on it; the API and the docs read the same rules).
 *
 * A definition with `fan_out` runs as usual when its run names the field
 * (`{"supplier_id": 3}`, or a config with `marketplace_id: 2`). When neither
 * the run's input nor the definition's config names it, the run is a PARENT:
 * it lists the active rows of `over`, starts one child run per row (the same
 * definition version; the field set in the child's input and config) and ends
 * with a summary of each child's outcome. Levels are tried outermost first, so
 * `[suppliers, marketplaces]` makes a supplier child with no marketplace a
 * parent in turn.
 */
import type { FanOutInput, FanOutLevel, FanOutOver, WorkflowDefinition } from './types';

/** Children of one parent that run at once unless `max_concurrent` says otherwise. */
export const DEFAULT_FAN_OUT_CONCURRENCY = 4;
/** Upper bound of `max_concurrent`. */
export const MAX_FAN_OUT_CONCURRENCY = 50;

/** The field a level sets when the definition does not name one. */
export const FAN_OUT_DEFAULT_FIELD: Record<FanOutOver, string> = { suppliers: 'supplier_id', marketplaces: 'marketplace_id' };

/**
 * Config keys a child also gets from its row: a marketplace child's
 * `$config.marketplace_url` is that marketplace's endpoint (when the
 * definition has that key), so every API call of the child goes to it.
 */
export const FAN_OUT_URL_KEY: Partial<Record<FanOutOver, string>> = { marketplaces: 'marketplace_url' };

/** One active supplier or marketplace, as the parent's listing activity returns it. */
export interface FanOutTarget {
  id: number;
  code: string;
  name: string;
  /** Its API base URL (`api_base_url`). */
  endpoint: string | null;
}

/** How one child ended, as the parent reports it. */
export interface FanOutChildOutcome {
  execution_id: string;
  /** `supplier` / `marketplace` */
  kind: string;
  id: number;
  code: string;
  status: 'completed' | 'completed_with_failures' | 'failed' | 'cancelled';
  /** The child's main steps by end state (null when it failed: its row has them). */
  steps: { completed: number; skipped: number; failed: number } | null;
  failed_items_total: number;
  error: string | null;
}

/** What a parent run ends with (its output). */
export interface FanOutSummary {
  fan_out: { over: FanOutOver; field: string; max_concurrent: number };
  total: number;
  completed: number;
  completed_with_failures: number;
  failed: number;
  cancelled: number;
  summary: string;
  children: FanOutChildOutcome[];
}

/** `fan_out` as written (one level, a list, null) as the levels the interpreter reads. */
export function normalizeFanOut(input: FanOutInput | FanOutInput[] | null | undefined): FanOutLevel[] | null {
  if (input === null || input === undefined) return null;
  const levels = Array.isArray(input) ? input : [input];
  if (levels.length === 0) return null;
  return levels.map((l) => ({
    over: l.over,
    field: l.field ?? FAN_OUT_DEFAULT_FIELD[l.over],
    max_concurrent: l.max_concurrent ?? DEFAULT_FAN_OUT_CONCURRENCY,
  }));
}

/** Whether a value names a row: anything but absent, null and the empty string. */
function names(v: unknown): boolean {
  return v !== undefined && v !== null && v !== '';
}

function asObject(v: unknown): Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/**
 * The level a run of `def` with `input` fans out at, or null when it runs its
 * steps itself: the first level whose field neither the input nor the config names.
 *
 * @example fanOutLevel({ fan_out: [{ over: 'suppliers', field: 'supplier_id', max_concurrent: 4 }], config: {} }, {}) // the suppliers level
 */
export function fanOutLevel(def: Pick<WorkflowDefinition, 'fan_out' | 'config'>, input: unknown): FanOutLevel | null {
  const given = asObject(input);
  for (const level of def.fan_out ?? []) {
    if (names(given[level.field]) || names(def.config?.[level.field])) continue;
    return level;
  }
  return null;
}

/** The input key that narrows a parent to some rows: `supplier_ids` for `supplier_id`. */
export function restrictionKey(level: Pick<FanOutLevel, 'field'>): string {
  return `${level.field}s`;
}

/** The ids a parent's input narrows it to (`{"supplier_ids": [1, 2]}`), or null for every active row. */
export function restrictedIds(level: Pick<FanOutLevel, 'field'>, input: unknown): number[] | null {
  const ids = asObject(input)[restrictionKey(level)];
  if (!Array.isArray(ids)) return null;
  return ids.filter((v): v is number => typeof v === 'number' && Number.isInteger(v));
}

/** `supplier` for `suppliers`. */
export function kindOf(over: FanOutOver): string {
  return over === 'suppliers' ? 'supplier' : 'marketplace';
}

/** The longest execution id the projection stores (`workflow_executions.execution_id`). */
export const MAX_EXECUTION_ID_LENGTH = 100;

/**
 * The workflow id of a child, derived from its parent's: the same parent
 * never starts two children for one row (`<parent>:supplier-3`; `:`, not
 * `/`, because execution ids travel in URL paths). Should that
 * be longer than an execution id may be (a long workflow code, or a second
 * level), the parent's part is cut short and a hash of the whole parent id
 * keeps it unique: still a function of the parent id alone.
 */
export function childWorkflowId(parentId: string, level: Pick<FanOutLevel, 'over'>, target: Pick<FanOutTarget, 'id'>): string {
  const suffix = `:${kindOf(level.over)}-${target.id}`;
  if (parentId.length + suffix.length <= MAX_EXECUTION_ID_LENGTH) return `${parentId}${suffix}`;
  const hash = `+${fnv1a(parentId)}`;
  return `${parentId.slice(0, MAX_EXECUTION_ID_LENGTH - suffix.length - hash.length)}${hash}${suffix}`;
}

/** 32-bit FNV-1a of a string, as 8 hex digits (deterministic: no crypto in workflow code). */
function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/** The child's input: the parent's, with the field set (and the narrowing list left out). */
export function childInput(input: unknown, level: FanOutLevel, target: FanOutTarget): Record<string, unknown> {
  const { [restrictionKey(level)]: _narrowed, ...rest } = asObject(input);
  return { ...rest, [level.field]: target.id };
}

/**
 * The child's definition: the parent's version with the field set in its
 * config too (so `$config.marketplace_id` reads the child's marketplace), and
 * a marketplace's endpoint as `marketplace_url` when the config has that key.
 */
export function childDefinition<D extends Pick<WorkflowDefinition, 'config' | 'config_overrides'>>(def: D, level: FanOutLevel, target: FanOutTarget): D {
  const overrides: Record<string, unknown> = { ...def.config_overrides, [level.field]: target.id };
  const urlKey = FAN_OUT_URL_KEY[level.over];
  if (urlKey && urlKey in def.config && target.endpoint) overrides[urlKey] = target.endpoint;
  return { ...def, config: { ...def.config, ...overrides }, config_overrides: overrides };
}

/**
 * The parent's end: `failed` when every child failed (or was cancelled) and
 * there was at least one, else `completed`; a completed parent with failed
 * children is "completed with failures" (its failed items are the failed children).
 */
export function fanOutSummary(level: FanOutLevel, children: FanOutChildOutcome[]): FanOutSummary {
  const count = (s: FanOutChildOutcome['status']) => children.filter((c) => c.status === s).length;
  const kind = kindOf(level.over);
  const out = {
    fan_out: { over: level.over, field: level.field, max_concurrent: level.max_concurrent },
    total: children.length,
    completed: count('completed'),
    completed_with_failures: count('completed_with_failures'),
    failed: count('failed'),
    cancelled: count('cancelled'),
    children,
  };
  let summary: string;
  if (children.length === 0) summary = `no active ${level.over}: nothing to run`;
  else {
    const parts = [`${out.completed} completed`];
    if (out.completed_with_failures > 0) parts.push(`${out.completed_with_failures} completed with failed items`);
    if (out.failed > 0) parts.push(`${out.failed} failed (${children.filter((c) => c.status === 'failed').map((c) => `${kind} ${c.id} ${c.code}: ${c.error ?? 'unknown error'}`).join('; ')})`);
    if (out.cancelled > 0) parts.push(`${out.cancelled} cancelled`);
    summary = `${children.length} ${children.length === 1 ? kind : level.over}: ${parts.join(', ')}`;
  }
  return { ...out, summary };
}

/** Whether a parent with these children failed: all of them did not complete. */
export function fanOutFailed(children: FanOutChildOutcome[]): boolean {
  return children.length > 0 && children.every((c) => c.status === 'failed' || c.status === 'cancelled');
}
