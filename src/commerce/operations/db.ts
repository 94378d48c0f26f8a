import type { DataSource, EntityManager } from 'typeorm';

/** Rows of a statement, and how many rows it changed (UPDATE/DELETE/INSERT). */
export interface SqlResult<R> {
  rows: R[];
  rowCount: number | null;
}

/**
 * What the commerce operations run SQL through: one pooled connection for the
 * whole step. Statements outside a transaction autocommit; `transaction(fn)`
 * runs `fn` in TypeORM's `EntityManager.transaction` on that connection
 * (commit when it resolves, rollback when it throws).
 *
 * @example
 * await db.transaction(async (tx) => { await tx.query('SELECT ... FOR UPDATE', [ids]); await tx.query('UPDATE ...', [..]); });
 */
export interface Db {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  query<R = any>(text: string, params?: unknown[]): Promise<SqlResult<R>>;
  transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T>;
}

/** A `Db` over an entity manager bound to one query runner (a connection). */
function dbOver(manager: EntityManager): Db {
  const runner = manager.queryRunner;
  if (!runner) throw new Error('commerce operations need an entity manager bound to a connection');
  const db: Db = {
    async query(text, params) {
      const res = await runner.query(text, params as unknown[], true);
      return { rows: res.records ?? [], rowCount: res.affected ?? null };
    },
    // Inside a transaction a nested one is the same transaction.
    transaction: (fn) => (runner.isTransactionActive ? fn(db) : manager.transaction((tx) => fn(dbOver(tx)))),
  };
  return db;
}

/**
 * Runs `fn` with a `Db` on one connection taken from the data source's pool
 * (as each step held one before), released whatever happens. Holding one
 * connection per step keeps overlapping runs from queueing for the pool at
 * every statement.
 */
export async function withCommerceDb<T>(dataSource: DataSource, fn: (db: Db) => Promise<T>): Promise<T> {
  const runner = dataSource.createQueryRunner();
  try {
    await runner.connect();
    return await fn(dbOver(runner.manager));
  } finally {
    await runner.release();
  }
}
