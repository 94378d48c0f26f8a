/**
 * The allow-list of what `database_query` may touch. A step names a model
 * (`"model": "SourceData"`); the table, every column name and every column
 * type it can reach come from this registry, never from the step config, so
 * identifiers in generated SQL are constants and only values are bound as
 * parameters. Table and columns are derived from the TypeORM entity
 * (`entityColumns`, src/commerce/entity-columns.ts); this file adds the policy.
 *
 * To expose another entity, add an entry: `...entityColumns(Entity)`, which
 * columns the engine manages (`readOnly`), the columns a new row needs, and,
 * for insert/upsert idempotency, the columns of a unique index (`conflictKeys`).
 */
import { entityColumns, type EntityColumnType } from '@src/commerce/entity-columns';
import { Inventory, Listing, Marketplace, Order, OrderLine, Product, Reservation, Shipment, Supplier } from '@src/commerce/entities';
import { SourceData } from '@src/commerce/source-data.entity';

/** SQL types the executor knows how to bind and check. `varchar(n)`/`char(n)` lengths are checked before writing. */
export type ColumnType = EntityColumnType;

export interface ModelSpec {
  /** Table name (schema search path applies). */
  table: string;
  /** Every column a step may select, filter and order on, with its SQL type. */
  columns: Record<string, ColumnType>;
  /** Columns steps may read but never write (keys, timestamps, lineage): managed by the database or the engine. */
  readOnly?: readonly string[];
  /** Columns an inserted row must have (NOT NULL without a default, and not derived below). */
  required?: readonly string[];
  /**
   * Columns of a unique index that insert/upsert conflict on. The index must
   * treat NULLs as equal (NULLS NOT DISTINCT) or the columns must be NOT NULL,
   * because rows of one batch are de-duplicated on these values.
   */
  conflictKeys?: readonly string[];
  /** jsonb columns whose inner paths steps may filter and order on (`raw_data.sku`). */
  jsonColumns?: readonly string[];
  /** A column holding sha256 of another's canonical JSON; computed when a mapping does not set it. */
  contentHash?: { column: string; of: string };
  /** Columns that record the run and step that last wrote a row; set automatically on every write. */
  lineage?: { executionId: string; stepKey: string };
  /** Set to now() whenever a row is updated. */
  updatedAt?: string;
  /**
   * When a mapping leaves this conflict-key column unset, fill it with
   * `prefix + content hash`, so identical records dedupe and distinct records
   * never collapse onto one all-NULL key.
   */
  identityFallback?: { column: string; prefix: string };
  /** `delete` is refused unless the model opts in. */
  allowDelete?: boolean;
}

export type ModelRegistry = Readonly<Record<string, ModelSpec>>;


/**
 * The commerce tables (migration 1764230900000-Commerce). Reads are open;
 * generic writes are limited to columns whose invariants the database
 * enforces on its own. What needs more (stock reservations, shipments,
 * supplier statistics, the product import) goes through the named operations
 * in ./operations, which keep those invariants in transactions.
 */
export const COMMERCE_MODELS: ModelRegistry = {
  Supplier: {
    ...entityColumns(Supplier),
    // Statistics are written by the update_supplier_statistics operation only.
    readOnly: [
      'id',
      'products_total',
      'last_import_at',
      'last_import_execution_id',
      'last_import_imported',
      'last_import_updated',
      'last_import_unchanged',
      'last_import_invalid',
      'last_import_errors',
      'created_at',
      'updated_at',
    ],
    required: ['code', 'name', 'api_base_url'],
    conflictKeys: ['code'],
    jsonColumns: ['settings'],
    updatedAt: 'updated_at',
  },
  Marketplace: {
    ...entityColumns(Marketplace),
    readOnly: ['id', 'listings_total', 'orders_total', 'created_at', 'updated_at'],
    required: ['code', 'name', 'api_base_url'],
    conflictKeys: ['code'],
    jsonColumns: ['settings', 'requirements'],
    updatedAt: 'updated_at',
  },
  Product: {
    ...entityColumns(Product),
    readOnly: ['id', 'source_data_id', 'created_at', 'updated_at'],
    required: ['supplier_id', 'external_id', 'sku', 'title', 'content_hash'],
    conflictKeys: ['supplier_id', 'external_id'],
    jsonColumns: ['attributes', 'enrichment'],
    lineage: { executionId: 'execution_id', stepKey: 'step_key' },
    updatedAt: 'updated_at',
  },
  Listing: {
    ...entityColumns(Listing),
    readOnly: ['id', 'created_at', 'updated_at'],
    required: ['product_id', 'marketplace_id', 'sku', 'title', 'price', 'currency'],
    conflictKeys: ['product_id', 'marketplace_id'],
    lineage: { executionId: 'execution_id', stepKey: 'step_key' },
    updatedAt: 'updated_at',
  },
  Inventory: {
    ...entityColumns(Inventory),
    // `reserved` moves only with reservations (operations); `available` is generated.
    readOnly: ['id', 'reserved', 'available', 'created_at', 'updated_at'],
    required: ['supplier_id', 'sku'],
    conflictKeys: ['supplier_id', 'sku'],
    updatedAt: 'updated_at',
  },
  Order: {
    ...entityColumns(Order),
    readOnly: ['id', 'created_at', 'updated_at'],
    required: ['marketplace_id', 'external_id'],
    conflictKeys: ['marketplace_id', 'external_id'],
    jsonColumns: ['buyer', 'shipping_address', 'fraud_check'],
    lineage: { executionId: 'execution_id', stepKey: 'step_key' },
    updatedAt: 'updated_at',
  },
  OrderLine: {
    ...entityColumns(OrderLine),
    readOnly: ['id', 'created_at'],
    required: ['order_id', 'line_external_id', 'sku', 'quantity'],
    conflictKeys: ['order_id', 'line_external_id'],
  },
  // Reservations and shipments change only through operations (stock and "shipped once" invariants): read-only here.
  Reservation: {
    ...entityColumns(Reservation),
    readOnly: [
      'id',
      'marketplace_id',
      'order_external_id',
      'line_external_id',
      'order_id',
      'order_line_id',
      'inventory_id',
      'sku',
      'quantity',
      'status',
      'idempotency_key',
      'execution_id',
      'released_at',
      'consumed_at',
      'created_at',
      'updated_at',
    ],
  },
  Shipment: {
    ...entityColumns(Shipment),
    readOnly: [
      'id',
      'order_id',
      'carrier',
      'service',
      'tracking_number',
      'label_id',
      'label_url',
      'status',
      'shipped_at',
      'voided_at',
      'execution_id',
      'created_at',
      'updated_at',
    ],
  },
};

/** The models steps may use. Keys are what a step writes as `model`. */
export const DATABASE_MODELS: ModelRegistry = {
  SourceData: {
    ...entityColumns(SourceData),
    readOnly: ['id', 'execution_id', 'step_key', 'created_at', 'updated_at'],
    required: ['source_type', 'raw_data'],
    conflictKeys: ['source_type', 'supplier_id', 'marketplace_id', 'external_id'],
    jsonColumns: ['raw_data'],
    contentHash: { column: 'content_hash', of: 'raw_data' },
    lineage: { executionId: 'execution_id', stepKey: 'step_key' },
    updatedAt: 'updated_at',
    identityFallback: { column: 'external_id', prefix: 'sha256:' },
    allowDelete: true,
  },
  ...COMMERCE_MODELS,
};

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;
const COLUMN_TYPE = /^(text|varchar\(\d+\)|char\(\d+\)|integer|bigint|numeric|boolean|jsonb|timestamptz)$/;

/**
 * Checks a registry once, when an executor or validator is built: every name
 * must be a plain lower-case identifier (they are spliced into SQL quoted) and
 * every referenced column must exist. Throws on a programming error.
 */
export function assertModels(models: ModelRegistry): void {
  for (const [name, m] of Object.entries(models)) {
    const fail = (why: string) => {
      throw new Error(`database_query model ${name}: ${why}`);
    };
    if (!IDENTIFIER.test(m.table)) fail(`table name ${JSON.stringify(m.table)} is not a plain identifier`);
    for (const [col, type] of Object.entries(m.columns)) {
      if (!IDENTIFIER.test(col)) fail(`column name ${JSON.stringify(col)} is not a plain identifier`);
      if (!COLUMN_TYPE.test(type)) fail(`column ${col} has an unknown type ${type}`);
    }
    const named = [
      ...(m.readOnly ?? []),
      ...(m.required ?? []),
      ...(m.conflictKeys ?? []),
      ...(m.jsonColumns ?? []),
      ...(m.contentHash ? [m.contentHash.column, m.contentHash.of] : []),
      ...(m.lineage ? [m.lineage.executionId, m.lineage.stepKey] : []),
      ...(m.updatedAt ? [m.updatedAt] : []),
      ...(m.identityFallback ? [m.identityFallback.column] : []),
    ];
    for (const col of named) if (!(col in m.columns)) fail(`names column ${col}, which is not in columns`);
    for (const col of m.jsonColumns ?? []) if (m.columns[col] !== 'jsonb') fail(`json column ${col} is not jsonb`);
  }
}

export function hasModel(models: ModelRegistry, name: string): boolean {
  return Object.prototype.hasOwnProperty.call(models, name);
}

export function hasColumn(model: ModelSpec, column: string): boolean {
  return Object.prototype.hasOwnProperty.call(model.columns, column);
}

/** Columns a mapping or `set` may write: not read-only and not lineage. */
export function writableColumns(model: ModelSpec): string[] {
  const managed = new Set([...(model.readOnly ?? []), ...(model.lineage ? [model.lineage.executionId, model.lineage.stepKey] : [])]);
  return Object.keys(model.columns).filter((c) => !managed.has(c));
}

/** A filter/order target: a column, or a path inside one of the model's json columns (`raw_data.sku`). */
export type FieldTarget = { kind: 'column'; column: string } | { kind: 'json'; column: string; path: string[] };

/** Resolves a field name against the allow-list, or returns null when the model does not expose it. */
export function fieldTarget(model: ModelSpec, field: string): FieldTarget | null {
  if (hasColumn(model, field)) return { kind: 'column', column: field };
  const dot = field.indexOf('.');
  if (dot <= 0) return null;
  const column = field.slice(0, dot);
  if (!(model.jsonColumns ?? []).includes(column)) return null;
  const path = field.slice(dot + 1).split('.');
  // Path keys are bound as parameters; this only keeps them readable and bounded.
  if (path.length > 16 || path.some((p) => !/^[A-Za-z0-9_-]{1,128}$/.test(p))) return null;
  return { kind: 'json', column, path };
}
