/**
 * The Merchflow sandbox: supplier, marketplace and carrier APIs as one real
 * loopback HTTP server, so every predefined workflow runs end to end with no
 * outside service. `startSandbox` is the entry point; `npm run sandbox` runs it
 * standalone (see `main.ts`).
 */
export { startSandbox, API_PREFIXES, type Sandbox, type SandboxOptions } from './server';
export { Catalogue, MAX_CATALOGUE_SIZE, PRODUCT_DEFECTS, type CatalogueOptions, type ProductDefect, type SupplierProduct } from './catalogue';
export type { AdminControls } from './apis/admin';
export type { InventoryRecord } from './apis/supplier';
export { MAX_BULK_INVENTORY } from './apis/marketplace';
export { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, type CursorBody, type ErrorBody, type PageBody } from './http';
export { TokenBucket, FaultInjector, type FaultConfig, type RateLimit } from './limits';
export {
  SandboxState,
  API_NAMES,
  type Address,
  type ApiName,
  type CarrierFailure,
  type Label,
  type Listing,
  type Order,
  type OrderItem,
  type OrderStatus,
  type SandboxCounters,
  type Shipment,
  type StockChange,
} from './state';
