import type { DataSource, EntityManager } from 'typeorm';

/** Rows of a statement, and how many rows it changed (UPDATE/DELETE/INSERT). */
export interface SqlResult<R> {
  rows: R[];
  rowCount: number | null;
}

/**
 * What the commerce operations run SQL through: statements outside a
 * transaction autocommit on a pooled connection; `transaction(fn)` runs `fn`
 * in `dataSource.transaction` (commit when it resolves, rollback when it
 * throws) with a `Db` bound to that transaction's connection.
 *
 * @example
 * await db.transaction(async (tx) => { await tx.query('SELECT ... FOR UPDATE', [ids]); await tx.query('UPDATE ...', [..]); });
 */
export interface Db {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  query<R = any>(text: string, params?: unknown[]): Promise<SqlResult<R>>;
  transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T>;
}

/** A `Db` over the data source, or over one transaction's entity manager. */
export function commerceDb(dataSource: DataSource, manager?: EntityManager): Db {
  const db: Db = {
    async query(text, params) {
      const runner = manager?.queryRunner ?? dataSource.createQueryRunner();
      try {
        const res = await runner.query(text, params as unknown[], true);
        return { rows: res.records ?? [], rowCount: res.affected ?? null };
      } finally {
        if (!manager) await runner.release();
      }
    },
    // Inside a transaction a nested one is the same transaction.
    transaction: (fn) => (manager ? fn(db) : dataSource.transaction((tx) => fn(commerceDb(dataSource, tx)))),
  };
  return db;
}
