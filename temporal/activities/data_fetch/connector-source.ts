/**
 * `data_fetch` with `source_type: "supplier" | "marketplace"` and no `url`:
 * loads the supplier or marketplace row, resolves its credentials secret
 * through the step context (so the runner scrubs the value from errors and
 * output), and fetches under the row's shared rate budget
 * (src/commerce/connectors/rate-budget.ts): a supplier through the adapter of
 * the row's platform (see src/commerce/connectors/platforms), page by page,
 * recording the items its field mapping could not map in the item ledger
 * (status `invalid`, code `UNMAPPED`); a marketplace through its adapter too.
 */
import type { DataSource } from 'typeorm';
import type { HttpClient, RetryPolicy } from '@engine/activities/shared/http';
import type { StepExecutionContext } from '@engine/activities/runtime/executor';
import { StepError } from '@engine/activities/shared/errors';
import { budgetedClient, connectionKey, rateBudgetsFor } from '@src/commerce/connectors/rate-budget';
import { marketplaceAdapter, supplierAdapter, type ConnectionRow } from '@src/commerce/connectors/platforms';
import type { DataFetchOutput } from '@engine/activities/data_fetch/executor';
import { ErrorCodes } from '@engine/shared/contracts';
import { adapterDepsFor, loadConnectionRow } from '@engine/activities/shared/connection-row';

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

/** Most unmapped items a fetch reports in its output (all of them go to the item ledger). */
const MAX_UNMAPPED_IN_OUTPUT = 100;

/**
 * A supplier's products or stock through the adapter of its platform, page by
 * page. Unmapped items go to the item ledger (when the step has one) and, the
 * first {@link MAX_UNMAPPED_IN_OUTPUT}, to `unmapped` in the output.
 */
async function fetchFromSupplier(deps: { dataSource: DataSource; client: HttpClient }, req: ConnectorFetchRequest, row: ConnectionRow, ctx: StepExecutionContext): Promise<DataFetchOutput & { unmapped_count: number; unmapped: Array<{ reason: string; item: unknown }> }> {
  // Per-step overrides of timeout and retries apply to every request the adapter makes.
  const stepClient: Pick<HttpClient, 'request'> = {
    request: (method, url, options = {}) =>
      deps.client.request(method, url, {
        ...options,
        ...(req.timeout_seconds !== undefined ? { timeoutMs: req.timeout_seconds * 1000 } : {}),
        retry: { ...options.retry, ...req.retry },
      }),
  };
  // Every request the adapter makes spends the supplier's shared rate budget.
  const client = budgetedClient(stepClient, rateBudgetsFor(deps.dataSource), connectionKey('supplier', row.id));
  const adapter = await supplierAdapter(await adapterDepsFor(row, ctx, client));
  const read = { signal: ctx.signal, heartbeat: (d: unknown) => ctx.heartbeat(d), maxItems: req.max_items, pageSize: req.page_size };
  const pages = req.fetch_type === 'inventory' ? adapter.inventory(read) : adapter.products(read);
  // Long catalogues are stored page by page as they arrive (ITEM_PAGE_SIZE), never held whole.
  const items = ctx.pages?.writer('items');
  const held: unknown[] = [];
  let count = 0;
  const unmapped: Array<{ reason: string; item: unknown }> = [];
  let unmappedCount = 0;
  let pageCount = 0;
  for await (const page of pages) {
    pageCount++;
    count += page.items.length;
    if (items) await items.push(page.items);
    else for (const item of page.items) held.push(item);
    for (const u of page.unmapped ?? []) {
      ctx.items?.record({ key: unmappedKey(u.item, unmappedCount), status: 'invalid', code: 'UNMAPPED', message: u.reason, item: u.item });
      if (unmapped.length < MAX_UNMAPPED_IN_OUTPUT) unmapped.push({ reason: u.reason, item: u.item });
      unmappedCount++;
    }
  }
  if (unmappedCount > 0) ctx.logger.info('data_fetch: unmapped items', { supplier: row.code, unmapped: unmappedCount, first: unmapped[0]?.reason });
  return {
    items: items ? await items.finish() : held,
    count,
    pages: pageCount,
    next_cursor: null,
    source: { type: 'supplier', id: row.id, code: row.code, fetch_type: req.fetch_type },
    unmapped_count: unmappedCount,
    unmapped,
  };
}

/** The ledger key of an unmapped item: its id or SKU-looking field when it has one, else its position among the unmapped. */
function unmappedKey(item: unknown, n: number): string {
  if (item && typeof item === 'object') {
    for (const k of ['external_id', 'id', 'sku', 'product_code', 'code']) {
      const v = (item as Record<string, unknown>)[k];
      if ((typeof v === 'string' && v !== '') || typeof v === 'number') return String(v).slice(0, 200);
    }
  }
  return `unmapped:${n}`;
}

export async function fetchFromConnector(
  deps: { dataSource: DataSource; client: HttpClient },
  req: ConnectorFetchRequest,
  ctx: StepExecutionContext,
): Promise<DataFetchOutput> {
  const id = req.source_type === 'supplier' ? req.supplier_id : req.marketplace_id;
  if (id === undefined) throw new StepError(ErrorCodes.STEP_CONFIG_INVALID, `config.${req.source_type}_id: is required`, { details: { field: `${req.source_type}_id` } });
  if (req.source_type === 'marketplace') return fetchFromMarketplace(deps, { ...req, marketplace_id: id }, ctx);
  const row = await loadConnectionRow(deps.dataSource, 'supplier', id);
  const out = await fetchFromSupplier(deps, req, row, ctx);
  ctx.logger.debug('data_fetch completed', { source_type: 'supplier', platform: row.platform, fetch_type: req.fetch_type, id, count: out.count, pages: out.pages, unmapped: out.unmapped_count });
  return out;
}

/**
 * The marketplace source: orders or listings through the row's platform
 * adapter (sandbox, shopify, woocommerce), every page to the last (or
 * `max_items`). The step's `retry` and `timeout_seconds` apply to each request.
 */
async function fetchFromMarketplace(
  deps: { dataSource: DataSource; client: HttpClient },
  req: ConnectorFetchRequest & { marketplace_id: number },
  ctx: StepExecutionContext,
): Promise<DataFetchOutput> {
  const row = await loadConnectionRow(deps.dataSource, 'marketplace', req.marketplace_id);
  if (req.page_size !== undefined) row.settings = { ...row.settings, page_size: req.page_size };
  if (req.timeout_seconds !== undefined) row.settings = { ...row.settings, timeout_seconds: req.timeout_seconds };
  const stepClient: Pick<HttpClient, 'request'> = req.retry && Object.keys(req.retry).length > 0
    ? { request: (method, url, o) => deps.client.request(method, url, { ...o, retry: { ...o?.retry, ...req.retry } }) }
    : deps.client;
  // Every request the adapter makes spends the marketplace's shared rate budget.
  const client = budgetedClient(stepClient, rateBudgetsFor(deps.dataSource), connectionKey('marketplace', row.id));
  const adapter = await marketplaceAdapter(await adapterDepsFor(row, ctx, client));
  const opts = { signal: ctx.signal, heartbeat: (d: unknown) => ctx.heartbeat(d), maxItems: req.max_items };
  const pages =
    req.fetch_type === 'listings'
      ? adapter.listings(req.status && req.status !== 'all' ? { status: req.status } : {}, opts)
      : adapter.orders({ status: req.status ?? 'new' }, opts);
  const items: unknown[] = [];
  const unmapped: Array<{ item: unknown; reason: string }> = [];
  let count = 0;
  for await (const page of pages) {
    items.push(...page.items);
    unmapped.push(...(page.unmapped ?? []));
    count++;
  }
  ctx.logger.debug('data_fetch completed', { source_type: 'marketplace', platform: row.platform, fetch_type: req.fetch_type, id: row.id, count: items.length, pages: count });
  return {
    items,
    count: items.length,
    pages: count,
    next_cursor: null,
    source: { type: 'marketplace', id: row.id, code: row.code, fetch_type: req.fetch_type },
    ...(unmapped.length > 0 ? { unmapped: unmapped.slice(0, 100), unmapped_total: unmapped.length } : {}),
  };
}
