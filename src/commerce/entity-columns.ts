import { getMetadataArgsStorage } from 'typeorm';

/** A column's SQL type as `database_query` binds and checks it. */
export type EntityColumnType = 'text' | `varchar(${number})` | `char(${number})` | 'integer' | 'bigint' | 'numeric' | 'boolean' | 'jsonb' | 'timestamptz';

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
type EntityClass = Function;

function sqlType(type: unknown, length: unknown, where: string): EntityColumnType {
  const t = typeof type === 'string' ? type : type === Number ? 'integer' : type === String ? 'varchar' : type === Boolean ? 'boolean' : String(type);
  const n = typeof length === 'number' ? length : typeof length === 'string' && /^\d+$/.test(length) ? Number(length) : null;
  switch (t) {
    case 'varchar':
    case 'character varying':
      if (n === null) return 'text';
      return `varchar(${n})`;
    case 'char':
    case 'character':
      return `char(${n ?? 1})`;
    case 'int':
    case 'int4':
    case 'integer':
    case 'increment':
      return 'integer';
    case 'bigint':
    case 'int8':
      return 'bigint';
    case 'numeric':
    case 'decimal':
      return 'numeric';
    case 'boolean':
    case 'bool':
      return 'boolean';
    case 'jsonb':
      return 'jsonb';
    case 'timestamptz':
    case 'timestamp with time zone':
      return 'timestamptz';
    case 'text':
      return 'text';
  }
  throw new Error(`${where}: column type ${t} is not one database_query can bind`);
}

/**
 * The table and the columns (name → SQL type) of a TypeORM entity, from its
 * decorators (inherited columns included), so the `database_query` allow-list
 * is derived from the entities rather than written a second time.
 *
 * @example entityColumns(Supplier) // { table: 'suppliers', columns: { id: 'integer', code: 'varchar(50)', ... } }
 */
export function entityColumns(entity: EntityClass): { table: string; columns: Record<string, EntityColumnType> } {
  const storage = getMetadataArgsStorage();
  const table = storage.tables.find((t) => t.target === entity);
  if (!table?.name) throw new Error(`${entity.name} is not an @Entity with a table name`);
  const lineage: EntityClass[] = [];
  for (let c: unknown = entity; typeof c === 'function' && c !== Function.prototype; c = Object.getPrototypeOf(c)) lineage.push(c as EntityClass);
  const columns: Record<string, EntityColumnType> = {};
  // Base classes first, so the declaration order matches the table's.
  for (const target of lineage.reverse()) {
    for (const col of storage.columns.filter((c) => c.target === target)) {
      const name = col.options.name ?? col.propertyName;
      const generated = storage.generations.find((g) => g.target === target && g.propertyName === col.propertyName);
      const type = col.options.type ?? (generated?.strategy === 'increment' ? 'integer' : col.mode === 'createDate' || col.mode === 'updateDate' ? 'timestamptz' : undefined);
      columns[name] = sqlType(type, col.options.length, `${entity.name}.${col.propertyName}`);
    }
  }
  return { table: table.name, columns };
}
