import { ConnectorHttp, type CallOptions, type ConnectorOptions } from './connector-http';
import type { HttpClient } from '@engine/activities/shared/http';

/** A supplier product as supplier APIs in the sandbox's shape return it (fields beyond these are kept). */
export interface SupplierProductRecord {
  sku?: string;
  external_id: string;
  name?: string;
  cost_price?: number;
  [field: string]: unknown;
}

export interface SupplierInventoryRecord {
  sku?: string;
  external_id: string;
  quantity: number;
}

/** What a paginated read returns. */
export interface FetchResult<T> {
  items: T[];
  count: number;
  pages: number;
  /** Set when `maxItems` stopped the walk before the end. */
  truncated: boolean;
}

/**
 * A supplier API: the product catalogue and stock levels, both cursor
 * paginated (`GET /products`, `GET /inventory`), and single products.
 *
 * @example
 * const supplier = new SupplierConnector(client, connectorOptionsFrom(row, secret));
 * const { items } = await supplier.fetchProducts({ signal });
 */
export class SupplierConnector {
  readonly http: ConnectorHttp;

  constructor(client: Pick<HttpClient, 'request'>, options: ConnectorOptions) {
    this.http = new ConnectorHttp(client, options);
  }

  async fetchProducts(opts: CallOptions & { maxItems?: number } = {}): Promise<FetchResult<SupplierProductRecord>> {
    const r = await this.http.list('/products', {}, opts);
    return { items: r.items as SupplierProductRecord[], count: r.count, pages: r.pages, truncated: r.truncated };
  }

  async fetchInventory(opts: CallOptions & { maxItems?: number } = {}): Promise<FetchResult<SupplierInventoryRecord>> {
    const r = await this.http.list('/inventory', {}, opts);
    return { items: r.items as SupplierInventoryRecord[], count: r.count, pages: r.pages, truncated: r.truncated };
  }

  /** One product, or null when the supplier does not know the SKU. */
  async getProduct(sku: string, opts: CallOptions = {}): Promise<SupplierProductRecord | null> {
    const res = await this.http.request<SupplierProductRecord>('GET', this.http.url('/products/{sku}', { sku }), { signal: opts.signal, accept: [404] });
    return res.status === 404 ? null : res.body;
  }
}
