/**
 * What the overlapping-run chaos tests share: a shop with products, listings
 * and stock, runs started straight through Temporal (distinct ids, so the
 * singleton guard of the API cannot refuse them), and PostgreSQL's own
 * deadlock counter.
 */
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { workflowTypeName, type InterpreterInput } from '@engine/shared/contracts';
import { searchAttributes } from '@src/executions/executions.service';
import type { Harness } from '@test/support/harness';
import { assertCompleted, runWorkflow, type Shop } from '@test/integration/commerce/support';

/** Deadlocks PostgreSQL detected in this database so far (SQLSTATE 40P01, pg_stat_database.deadlocks). */
export async function deadlocks(ds: DataSource): Promise<number> {
  // The statistics are a snapshot per transaction: clear it so the counter is read fresh.
  const qr = ds.createQueryRunner();
  await qr.connect();
  try {
    await qr.query('SELECT pg_stat_clear_snapshot()');
    const r = (await qr.query(`SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()`)) as Array<{ deadlocks: string }>;
    return Number(r[0].deadlocks);
  } finally {
    await qr.release();
  }
}

/** Imports the supplier's catalogue, lists it and syncs its stock: a shop ready to take orders. */
export async function stockShop(h: Harness, shop: Shop): Promise<void> {
  for (const [name, wf, input] of [
    ['product import', shop.workflow.product_import, { supplier_id: shop.supplierId }],
    ['listing creation', shop.workflow.listing_creation, {}],
    ['inventory sync', shop.workflow.inventory_sync, { supplier_id: shop.supplierId }],
  ] as const) {
    assertCompleted(await runWorkflow(h, wf, input), name);
  }
}

/** Creates `count` new orders at the marketplace and gives every SKU plenty of stock. */
export async function newOrders(h: Harness, shop: Shop, count: number): Promise<Array<{ id: string; items: Array<{ line_id: string; sku: string; quantity: number }> }>> {
  const res = await fetch(`${shop.sandbox.urls.admin}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ count }),
  });
  const { items } = (await res.json()) as { items: Array<{ id: string; items: Array<{ line_id: string; sku: string; quantity: number }> }> };
  if (items.length !== count) throw new Error(`the sandbox made ${items.length} of ${count} orders`);
  await h.dataSource.query(`UPDATE inventory SET quantity = 100000 WHERE supplier_id = $1`, [shop.supplierId]);
  return items;
}

/**
 * Starts a run of `workflowId` directly through Temporal under a fresh id, as
 * a second API, a script or a misconfigured schedule would: nothing but the
 * claims and the business keys stands between it and the other runs.
 */
export async function startDirect(h: Harness, workflowId: number, input: unknown = {}): Promise<string> {
  const { definition } = await h.workflows.definition(workflowId);
  const executionId = `${definition.code}-direct-${randomUUID()}`;
  const args: InterpreterInput = { execution_id: executionId, definition, input, trigger_type: 'api', triggered_by: 'chaos' };
  await h.client.workflow.start(workflowTypeName(definition.workflow_type), {
    workflowId: executionId,
    taskQueue: h.taskQueue,
    args: [args],
    typedSearchAttributes: searchAttributes(definition, 'api'),
    memo: { workflow_id: workflowId, workflow_name: definition.code, version: definition.version, restarted_from: null },
  });
  return executionId;
}
