/**
 * `api_call` connector mode: `connector: {marketplace_id, action}` with
 * `item_fields` sends each item through the marketplace's platform adapter
 * (sandbox, shopify, woocommerce) instead of a URL. The executor's per-item
 * machinery is reused as is: concurrency, the Idempotency-Key of each item,
 * checkpoints a retry resumes from, `continue_on_item_error` and the item
 * ledger. The step's `retry` and `timeout_seconds` apply to every request the
 * adapter makes.
 */
import type { DataSource } from 'typeorm';
import type { StepExecutionContext } from '@engine/activities/runtime/executor';
import { StepError } from '@engine/activities/shared/errors';
import type { HttpClient } from '@engine/activities/shared/http';
import { retryPolicyOf } from '@engine/activities/shared/http-config';
import { renderTemplate } from '@engine/activities/shared/template';
import { parseOrThrow } from '@engine/activities/shared/zod';
import { ErrorCodes } from '@engine/shared/contracts';
import { adapterDepsFor, loadConnectionRow } from '@engine/activities/shared/connection-row';
import { marketplaceAdapter } from '@src/commerce/connectors/platforms';
import { budgetedClient, connectionKey, type RateBudgets } from '@src/commerce/connectors/rate-budget';
import type { ListingInput, ShipmentNotice } from '@src/commerce/connectors/marketplace.connector';
import { mapResponse } from '@engine/activities/api_call/executor';
import { API_CALL_DEFAULTS, connectorRuntimeSchema, type ApiCallConnector, type ApiCallSettings } from '@engine/activities/api_call/schema';

const LISTING_FIELDS = ['sku', 'title', 'price', 'currency', 'quantity', 'description', 'images', 'category', 'brand', 'status'] as const;

/** A field of the rendered item_fields, required to be a non-empty string (or a number, as text). */
function text(fields: Record<string, unknown>, key: string, index?: number): string {
  const v = fields[key];
  if ((typeof v === 'string' && v.trim() !== '') || (typeof v === 'number' && Number.isFinite(v))) return String(v);
  throw new StepError(ErrorCodes.STEP_INPUT_INVALID, `item_fields.${key} rendered to ${v === undefined ? 'nothing' : JSON.stringify(v)}, not a non-empty string`, {
    details: { field: `item_fields.${key}`, ...(index !== undefined ? { index } : {}) },
  });
}

function numberField(fields: Record<string, unknown>, key: string, opts: { integer?: boolean; min?: number }): number {
  const v = typeof fields[key] === 'string' && fields[key] !== '' ? Number(fields[key]) : fields[key];
  if (typeof v !== 'number' || !Number.isFinite(v) || (opts.integer && !Number.isInteger(v)) || (opts.min !== undefined && v < opts.min)) {
    throw new StepError(ErrorCodes.STEP_INPUT_INVALID, `item_fields.${key} rendered to ${JSON.stringify(fields[key] ?? null)}, not ${opts.integer ? 'a whole number' : 'a number'}${opts.min !== undefined ? ` >= ${opts.min}` : ''}`, {
      details: { field: `item_fields.${key}` },
    });
  }
  return v;
}

/**
 * Builds the per-item sender of a connector-mode step: loads the marketplace
 * row once, resolves its secret through the step, and builds one adapter for
 * the attempt (so what it caches, like Shopify's SKU index, serves every item).
 */
export async function connectorSender(
  deps: { dataSource: DataSource; client: HttpClient; budgets?: RateBudgets },
  config: Record<string, unknown>,
  settings: ApiCallSettings,
  ctx: StepExecutionContext,
): Promise<(item: unknown, idempotencyKey: string, signal: AbortSignal) => Promise<unknown>> {
  const connector = parseOrThrow<ApiCallConnector>(connectorRuntimeSchema, ctx.resolve(config.connector), ['connector']);
  const row = await loadConnectionRow(deps.dataSource, 'marketplace', connector.marketplace_id);
  const retry = retryPolicyOf(settings.retry);
  const timeoutMs = (settings.timeout_seconds ?? API_CALL_DEFAULTS.timeout_seconds) * 1000;
  // The step's retry and timeout, not the row's, govern each request the adapter makes.
  const stepClient: Pick<HttpClient, 'request'> = {
    request: (method, url, o) => deps.client.request(method, url, { ...o, retry: { ...o?.retry, ...retry }, timeoutMs }),
  };
  // Every request the adapter makes spends the marketplace's shared rate budget.
  const client = deps.budgets ? budgetedClient(stepClient, deps.budgets, connectionKey('marketplace', row.id)) : stepClient;
  const adapter = await marketplaceAdapter(await adapterDepsFor(row, ctx, client));
  const secrets = new Map<string, string>();

  return async (item, idempotencyKey, signal) => {
    const rendered = renderTemplate(config.item_fields, (s) => ctx.resolve(s, item), secrets);
    if (!rendered || typeof rendered !== 'object' || Array.isArray(rendered)) {
      throw new StepError(ErrorCodes.STEP_CONFIG_INVALID, 'item_fields must render to an object', { details: { field: 'item_fields' } });
    }
    const fields = rendered as Record<string, unknown>;
    const opts = { signal, idempotencyKey };
    let result: unknown;
    switch (connector.action) {
      case 'upsert_listing': {
        const input: Record<string, unknown> = {};
        for (const k of LISTING_FIELDS) if (fields[k] !== undefined && fields[k] !== null && fields[k] !== '') input[k] = fields[k];
        input.sku = text(fields, 'sku');
        input.title = text(fields, 'title');
        input.price = numberField(fields, 'price', { min: 0 });
        if (input.quantity !== undefined) input.quantity = numberField(fields, 'quantity', { integer: true, min: 0 });
        const { listing, created } = await adapter.upsertListing(input as unknown as ListingInput, opts);
        result = { listing_id: listing.id, sku: listing.sku, created, status: listing.status };
        break;
      }
      case 'acknowledge_order': {
        const order = await adapter.acknowledgeOrder(text(fields, 'order_id'), opts);
        result = { id: order.id, status: order.status };
        break;
      }
      case 'notify_shipment': {
        const shipment: ShipmentNotice = { tracking_number: text(fields, 'tracking_number'), carrier: text(fields, 'carrier') };
        if (fields.label_id !== undefined && fields.label_id !== null && fields.label_id !== '') shipment.label_id = String(fields.label_id);
        const order = await adapter.notifyShipment(text(fields, 'order_id'), shipment, opts);
        result = { id: order.id, status: order.status };
        break;
      }
      case 'push_inventory': {
        const sku = text(fields, 'sku');
        const quantity = numberField(fields, 'quantity', { integer: true, min: 0 });
        const r = await adapter.pushInventory([{ sku, quantity }], opts);
        if (r.not_found.length > 0) {
          throw new StepError(ErrorCodes.HTTP_CLIENT_ERROR, `marketplace ${row.code} (${row.platform}) has no listing for SKU ${sku}`, { details: { status: 404, sku, field: 'item_fields.sku' } });
        }
        result = { sku, quantity };
        break;
      }
    }
    return config.response_mapping !== undefined || config.response_path !== undefined ? mapResponse(result, config) : result;
  };
}
