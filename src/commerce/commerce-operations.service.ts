import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { withCommerceDb } from '@src/commerce/operations/db';
import { DATABASE_OPERATIONS, hasOperation, type OperationContext } from '@src/commerce/operations';

/**
 * The commerce domain's write and read operations (import products, record
 * listings, reserve inventory, record orders, ...), over the one data source:
 * one pooled connection per call, each transaction TypeORM's
 * `EntityManager.transaction` on it. `database_query` steps call
 * them by name (`query_type: "operation"`); params arrive checked against the
 * operation's schema.
 */
@Injectable()
export class CommerceOperationsService {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Names of every operation. */
  names(): string[] {
    return Object.keys(DATABASE_OPERATIONS);
  }

  /** Runs operation `name` for a step (lineage, heartbeats, cancellation and logging come from `step`). */
  run(name: string, params: Record<string, unknown>, step: OperationContext['step']): Promise<Record<string, unknown>> {
    if (!hasOperation(name)) throw new Error(`unknown commerce operation ${name}`);
    return withCommerceDb(this.dataSource, (client) => DATABASE_OPERATIONS[name].run(params, { client, step }));
  }
}
