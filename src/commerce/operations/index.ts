/**
 * Named domain operations of `database_query` (`query_type: "operation"`):
 * the allow-list of what steps may do to the commerce tables beyond generic
 * select/insert/upsert/update. Each is a TypeScript function over one pooled
 * connection, in transactions, with a parameter schema checked when the
 * definition is saved and again once references are resolved.
 *
 * @example
 * { "query_type": "operation", "operation": "reserve_inventory",
 *   "params": { "marketplace_id": "$config.marketplace_id", "orders": "$.items" } }
 */
import type { OperationSpec } from './types';
import { fetchListableProducts, importProducts, recordListings, updateSupplierStatistics } from './products';
import { inventoryPositions, recordInventorySync, revertInventorySync } from './inventory';
import { checkAvailability, failOrders, recordOrders, releaseReservations, reserveInventory, updateOrderStatus } from './orders';

export type { OperationContext, OperationSpec } from './types';
export { reservationKey } from './orders';
export { enrichmentOf } from './products';

/** Every operation a step may name, by name. */
export const DATABASE_OPERATIONS: Readonly<Record<string, OperationSpec>> = Object.freeze(
  Object.fromEntries(
    [
      importProducts,
      updateSupplierStatistics,
      fetchListableProducts,
      recordListings,
      inventoryPositions,
      recordInventorySync,
      revertInventorySync,
      checkAvailability,
      reserveInventory,
      releaseReservations,
      recordOrders,
      failOrders,
      updateOrderStatus,
    ].map((op) => [op.name, op]),
  ),
);

export function hasOperation(name: unknown): name is string {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(DATABASE_OPERATIONS, name);
}
