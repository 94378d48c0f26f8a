/**
 * The JSONata field mapping of a connection (`field_mapping`: target field →
 * expression over one remote item), compiled once per read and applied item
 * by item. An item whose mapping throws, or that lacks what Merchflow needs
 * (an `external_id` or `sku` for a product, a numeric `quantity` for a stock
 * record), is returned as unmapped with the reason instead of failing the read.
 */
import jsonata from 'jsonata';
import { StepError } from '@engine/activities/shared/errors';
import { ErrorCodes } from '@engine/shared/contracts';
import type { SupplierInventoryRecord, SupplierProductRecord } from '../supplier.connector';
import type { Page } from './types';

/** A compiled target: a bare field name is read directly (what JSONata would do, without its evaluator), anything else is evaluated. */
type Compiled = Array<[target: string, compiled: { expr: jsonata.Expression; field: string | null }]>;

const BARE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const QUOTED_NAME = /^`([^`]+)`$/;
const JSONATA_WORDS = new Set(['and', 'or', 'in', 'true', 'false', 'null', 'function']);

/** The field a bare-name expression reads (`name`, `` `@id` ``), or null for any other expression. */
function bareField(expr: string): string | null {
  const text = expr.trim();
  if (BARE_NAME.test(text) && !JSONATA_WORDS.has(text)) return text;
  return QUOTED_NAME.exec(text)?.[1] ?? null;
}

export type MapOutcome<T> = { ok: true; value: T } | { ok: false; reason: string };

/** A compiled field mapping; an empty one passes items through as they are. */
export class FieldMapping {
  private constructor(
    private readonly compiled: Compiled,
    readonly connection: string,
  ) {}

  /** Compiles every expression; a bad one fails for good, naming the field. */
  static compile(mapping: Record<string, string> | null | undefined, connection: string): FieldMapping {
    const compiled: Compiled = [];
    for (const [target, expr] of Object.entries(mapping ?? {})) {
      try {
        const field = bareField(expr);
        compiled.push([target, { expr: jsonata(expr), field }]);
      } catch (err) {
        throw new StepError(ErrorCodes.STEP_CONFIG_INVALID, `connection ${connection}: field_mapping.${target} is not valid JSONata: ${(err as { message?: string }).message ?? String(err)}`, {
          details: { field: `field_mapping.${target}` },
        });
      }
    }
    return new FieldMapping(compiled, connection);
  }

  get empty(): boolean {
    return this.compiled.length === 0;
  }

  /** The mapped object (undefined results are left out), or why the item could not be mapped. */
  async apply(item: unknown): Promise<MapOutcome<Record<string, unknown>>> {
    if (this.compiled.length === 0) {
      return item !== null && typeof item === 'object' && !Array.isArray(item) ? { ok: true, value: { ...(item as Record<string, unknown>) } } : { ok: false, reason: 'the item is not an object' };
    }
    const out: Record<string, unknown> = {};
    const plain = item !== null && typeof item === 'object' && !Array.isArray(item) ? (item as Record<string, unknown>) : null;
    for (const [target, { expr, field }] of this.compiled) {
      let value: unknown;
      if (field !== null && plain) {
        // JSONata's answer for a bare name over a plain object: the own property, or nothing.
        value = Object.prototype.hasOwnProperty.call(plain, field) ? plain[field] : undefined;
        if (value !== undefined) out[target] = normalise(value);
        continue;
      }
      try {
        value = await expr.evaluate(item);
      } catch (err) {
        return { ok: false, reason: `field_mapping.${target}: ${(err as { message?: string }).message ?? String(err)}` };
      }
      if (value !== undefined) out[target] = normalise(value);
    }
    return { ok: true, value: out };
  }

  /** A product record: `external_id` falls back to `sku`; one of them is needed. */
  async product(item: unknown): Promise<MapOutcome<SupplierProductRecord>> {
    const r = await this.apply(item);
    if (!r.ok) return r;
    const v = r.value;
    const id = scalar(v.external_id) ?? scalar(v.sku);
    if (id === undefined) return { ok: false, reason: this.empty ? 'the item has no external_id or sku: set a field_mapping' : 'field_mapping gives neither external_id nor sku for this item' };
    if (v.sku !== undefined && v.sku !== null) v.sku = String(v.sku);
    return { ok: true, value: { ...v, external_id: id } as SupplierProductRecord };
  }

  /** A stock record from `quantity` (or `stock_quantity`): a finite number is needed. */
  async inventory(item: unknown): Promise<MapOutcome<SupplierInventoryRecord>> {
    const r = await this.apply(item);
    if (!r.ok) return r;
    const v = r.value;
    const id = scalar(v.external_id) ?? scalar(v.sku);
    if (id === undefined) return { ok: false, reason: 'neither external_id nor sku is mapped for this item' };
    const raw = v.quantity ?? v.stock_quantity;
    const quantity = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
    if (typeof quantity !== 'number' || !Number.isFinite(quantity)) return { ok: false, reason: `quantity: ${raw === undefined ? 'not mapped' : `${JSON.stringify(raw).slice(0, 60)} is not a number`}` };
    const record: SupplierInventoryRecord = { external_id: id, quantity };
    if (v.sku !== undefined && v.sku !== null) record.sku = String(v.sku);
    return { ok: true, value: record };
  }

  /** Maps a batch of remote items into one page. */
  async page<T>(items: readonly unknown[], map: (item: unknown) => Promise<MapOutcome<T>>): Promise<Page<T>> {
    const page: Page<T> = { items: [] };
    for (const item of items) {
      const r = await map(item);
      if (r.ok) page.items.push(r.value);
      else (page.unmapped ??= []).push({ item, reason: r.reason });
    }
    return page;
  }
}

function scalar(v: unknown): string | undefined {
  if (typeof v === 'string' && v.trim() !== '') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

/** JSONata sequences are arrays with extra flags; plain copies keep the output JSON-clean. */
function normalise(v: unknown): unknown {
  return Array.isArray(v) ? Array.from(v as unknown[], normalise) : v;
}
