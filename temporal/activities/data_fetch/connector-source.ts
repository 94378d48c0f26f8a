/**
 * `data_fetch` with `source_type: "supplier" | "marketplace"` and no `url`:
 * loads the supplier or marketplace row, resolves its credentials secret
 * through the step context (so the runner scrubs the value from errors and
 * output), and fetches through the commerce connector under the row's shared
 * rate budget (src/commerce/connectors/rate-budget.ts).
 */
import type { DataSource } from 'typeorm';
import type { HttpClient, RetryPolicy } from '@engine/activities/shared/http';
import type { StepExecutionContext } from '@engine/activities/runtime/executor';
import { StepError } from '@engine/activities/shared/errors';
import { connectionKey, connectorOptionsFrom, MarketplaceConnector, rateBudgetsFor, SupplierConnector, type ConnectorOptions } from '@src/commerce/connectors';
import type { ApiCredentials, ConnectorSettings } from '@src/commerce/entities/shared';
import type { DataFetchOutput } from '@engine/activities/data_fetch/executor';
import { ErrorCodes } from '@engine/shared/contracts';

export interface ConnectorFetchRequest {
  source_type: 'supplier' | 'marketplace';
  fetch_type: string;
  supplier_id?: number;
  marketplace_id?: number;
  status?: string;
  max_items?: number;
  page_size?: number;
  timeout_seconds?: number;
  retry?: Partial<RetryPolicy>;
}

interface SourceRow {
  id: number;
  code: string;
  api_base_url: string;
  credentials: ApiCredentials | null;
  settings: ConnectorSettings | null;
  is_active: boolean;
}

/** The row of a supplier or marketplace; a missing or inactive one fails the step for good. */
export async function loadSourceRow(dataSource: DataSource, kind: 'supplier' | 'marketplace', id: number): Promise<SourceRow> {
  const table = kind === 'supplier' ? 'suppliers' : 'marketplaces';
  const rows: SourceRow[] = await dataSource.query(`SELECT id, code, api_base_url, credentials, settings, is_active FROM ${table} WHERE id = $1`, [id]);
  const row = rows[0];
  if (!row) throw new StepError(ErrorCodes.SOURCE_NOT_FOUND, `${kind} ${id} does not exist`, { details: { field: `${kind}_id`, id } });
  if (!row.is_active) throw new StepError(ErrorCodes.SOURCE_INACTIVE, `${kind} ${row.code} (${id}) is inactive`, { details: { field: `${kind}_id`, id } });
  return row;
}

/** Connector options for a row, its secret resolved through the step (scrubbed from anything the step reports). */
export async function connectorOptionsForRow(row: SourceRow, ctx: Pick<StepExecutionContext, 'resolveSecrets'>): Promise<ConnectorOptions> {
  const credentials = row.credentials ?? {};
  let secret: string | null = null;
  if ((credentials.type ?? 'none') !== 'none') {
    if (!credentials.secret) throw new StepError(ErrorCodes.SECRET_NOT_FOUND, `credentials of ${row.code} name no secret`);
    secret = (await ctx.resolveSecrets({ secret: credentials.secret })) as string;
  }
  return connectorOptionsFrom(row, secret);
}

export async function fetchFromConnector(
  deps: { dataSource: DataSource; client: HttpClient },
  req: ConnectorFetchRequest,
  ctx: StepExecutionContext,
): Promise<DataFetchOutput> {
  const id = req.source_type === 'supplier' ? req.supplier_id : req.marketplace_id;
  if (id === undefined) throw new StepError(ErrorCodes.STEP_CONFIG_INVALID, `config.${req.source_type}_id: is required`, { details: { field: `${req.source_type}_id` } });
  const row = await loadSourceRow(deps.dataSource, req.source_type, id);
  const base = await connectorOptionsForRow(row, ctx);
  const options: ConnectorOptions = {
    ...base,
    pageSize: req.page_size ?? base.pageSize,
    maxItems: req.max_items ?? base.maxItems,
    timeoutMs: req.timeout_seconds !== undefined ? req.timeout_seconds * 1000 : base.timeoutMs,
    retry: { ...base.retry, ...req.retry },
    budget: { budgets: rateBudgetsFor(deps.dataSource), key: connectionKey(req.source_type, row.id) },
  };
  const call = { signal: ctx.signal, heartbeat: (d: unknown) => ctx.heartbeat(d) };
  let result: { items: unknown[]; count: number; pages: number; truncated: boolean };
  if (req.source_type === 'supplier') {
    const supplier = new SupplierConnector(deps.client, options);
    result = req.fetch_type === 'inventory' ? await supplier.fetchInventory(call) : await supplier.fetchProducts(call);
  } else {
    const marketplace = new MarketplaceConnector(deps.client, options);
    if (req.fetch_type === 'listings') {
      result = await marketplace.fetchListings(req.status && req.status !== 'all' ? { status: req.status } : {}, call);
    } else {
      const status = req.status ?? 'new';
      result = await marketplace.fetchOrders(status === 'all' ? {} : { status }, call);
    }
  }
  ctx.logger.debug('data_fetch completed', { source_type: req.source_type, fetch_type: req.fetch_type, id, count: result.count, pages: result.pages, truncated: result.truncated });
  return {
    items: result.items,
    count: result.count,
    pages: result.pages,
    next_cursor: null,
    source: { type: req.source_type, id: row.id, code: row.code, fetch_type: req.fetch_type },
  };
}
