import {
  Router,
  asObject,
  invalid,
  optionalBoolean,
  optionalNumber,
  optionalString,
  optionalStringArray,
  requiredNumber,
  requiredObjectArray,
  requiredString,
} from '../http';
import type { FaultConfig, RateLimit } from '../limits';
import { API_NAMES, type ApiName, type CarrierFailure, type SandboxState, type StockChange } from '../state';

/** The runtime controls the admin API drives; the sandbox handle exposes the same ones to tests. */
export interface AdminControls {
  readonly state: SandboxState;
  /** Current latency, fault and rate-limit settings, snake_case as the admin API reports them. */
  settings(): Record<string, unknown>;
  setFaults(config: FaultConfig): void;
  setLatency(ms: number): void;
  setRateLimit(limit: RateLimit | null): void;
  setCarrierFailure(failure: boolean | Partial<CarrierFailure>): void;
  /** API requests (not admin ones) that arrived at or after `since` (epoch ms), oldest first; the last {@link REQUEST_LOG_SIZE} are kept. */
  requests(since?: number, api?: ApiName): RequestLogEntry[];
  reset(): void;
}

/** One API request as the sandbox saw it: when it arrived (epoch ms), where, and what was answered (null while in flight). */
export interface RequestLogEntry {
  at: number;
  api: ApiName;
  method: string;
  path: string;
  status: number | null;
}

/** How many requests the log keeps. */
export const REQUEST_LOG_SIZE = 50_000;

/** Most orders or stock changes one admin request may create. */
const MAX_ADMIN_BATCH = 10_000;

/**
 * Admin API, mounted at `/_admin`: inspects counts and drives the simulation
 * (faults, latency, rate limits, new orders, stock movement, carrier failure).
 * Never rate limited, delayed or faulted.
 */
export function adminRoutes(controls: AdminControls): Router {
  const { state } = controls;
  const stateBody = () => ({ ...state.snapshot(), settings: controls.settings() });
  return new Router()
    .on('GET', '/state', () => ({ body: stateBody() }))
    // The request log, e.g. to check a client's rate: `GET /_admin/requests?since=<epoch ms>&api=supplier`.
    .on('GET', '/requests', (req) => {
      const sinceText = req.query.get('since');
      const since = sinceText === null ? 0 : Number(sinceText);
      if (!Number.isFinite(since) || since < 0) throw invalid('since', 'must be epoch milliseconds (a number >= 0)');
      const api = req.query.get('api');
      if (api !== null && !(API_NAMES as readonly string[]).includes(api)) throw invalid('api', `must be one of ${API_NAMES.join(', ')}`);
      const items = controls.requests(since, (api ?? undefined) as ApiName | undefined);
      return { body: { items, count: items.length } };
    })
    .on('POST', '/reset', () => {
      controls.reset();
      return { body: stateBody() };
    })
    .on('POST', '/faults', async (req) => {
      const body = asObject(await req.json());
      const rate = { min: 0, max: 1 };
      controls.setFaults({
        errorRate: optionalNumber(body, 'error_rate', rate),
        timeoutRate: optionalNumber(body, 'timeout_rate', rate),
        seed: optionalNumber(body, 'seed', { integer: true, min: 0 }),
        hangMs: optionalNumber(body, 'hang_ms', { integer: true, min: 1 }),
      });
      return { body: controls.settings() };
    })
    .on('POST', '/latency', async (req) => {
      controls.setLatency(requiredNumber(asObject(await req.json()), 'latency_ms', { integer: true, min: 0, max: 600_000 }));
      return { body: controls.settings() };
    })
    .on('POST', '/rate-limit', async (req) => {
      const body = asObject(await req.json());
      const rps = optionalNumber(body, 'requests_per_second', { exclusiveMin: 0 });
      // An empty body (or no requests_per_second) turns rate limiting off.
      controls.setRateLimit(rps === undefined ? null : { requestsPerSecond: rps, burst: optionalNumber(body, 'burst', { min: 1 }) ?? Math.max(1, Math.ceil(rps)) });
      return { body: controls.settings() };
    })
    .on('POST', '/orders', async (req) => {
      const body = asObject(await req.json());
      const count = optionalNumber(body, 'count', { integer: true, min: 1, max: MAX_ADMIN_BATCH }) ?? 1;
      const skus = optionalStringArray(body, 'skus');
      if (skus?.length === 0) throw invalid('skus', 'must not be empty');
      skus?.forEach((sku, i) => {
        if (!state.isSellableSku(sku)) throw invalid(`skus[${i}]`, `${sku} is neither listed nor a valid supplier product`);
      });
      const items = state.createOrders(count, { skus });
      return { status: 201, body: { items } };
    })
    .on('POST', '/inventory', async (req) => {
      const body = asObject(await req.json());
      if (body.items === undefined && body.simulate === undefined) throw invalid('items', 'give items and/or simulate');
      const entries = body.items === undefined ? [] : requiredObjectArray(body, 'items', MAX_ADMIN_BATCH);
      // Validate every entry before changing any stock.
      const updates = entries.map((entry, i) => {
        const path = `items[${i}].`;
        const quantity = optionalNumber(entry, 'quantity', { integer: true, min: 0 }, path);
        const delta = optionalNumber(entry, 'delta', { integer: true }, path);
        if ((quantity === undefined) === (delta === undefined)) throw invalid(`${path}quantity`, 'give exactly one of quantity and delta');
        const sku = requiredString(entry, 'sku', path);
        if (state.catalogue.indexOfSku(sku) === undefined) throw invalid(`${path}sku`, `unknown supplier SKU ${sku}`);
        return { sku, quantity, delta };
      });
      let simulate: { count: number; lowStock: number } | undefined;
      if (body.simulate !== undefined) {
        const sim = asObject(body.simulate, 'simulate');
        const count = requiredNumber(sim, 'count', { integer: true, min: 1, max: MAX_ADMIN_BATCH }, 'simulate.');
        simulate = { count, lowStock: optionalNumber(sim, 'low_stock', { integer: true, min: 0, max: count }, 'simulate.') ?? 0 };
      }
      const changes: StockChange[] = updates.map(({ sku, quantity, delta }) => state.changeStock(sku, { quantity, delta }));
      if (simulate) changes.push(...state.simulateStockMovement(simulate.count, simulate.lowStock));
      return { body: { changes, low_stock_threshold: state.catalogue.lowStockThreshold } };
    })
    .on('POST', '/carrier/fail', async (req) => {
      const body = asObject(await req.json());
      const enabled = optionalBoolean(body, 'enabled');
      if (enabled === undefined) throw invalid('enabled', 'is required and must be a boolean');
      controls.setCarrierFailure(
        enabled && {
          status: optionalNumber(body, 'status', { integer: true, min: 400, max: 499 }),
          code: optionalString(body, 'code'),
          message: optionalString(body, 'message'),
          order_ids: optionalStringList(body, 'order_ids'),
        },
      );
      return { body: { carrier_failure: state.carrierFailure } };
    })
    .on('POST', '/marketplace/reject-listing', async (req) => {
      const body = asObject(await req.json());
      const sku = optionalString(body, 'sku');
      if (!sku) throw invalid('sku', 'is required');
      const enabled = optionalBoolean(body, 'enabled') ?? true;
      if (!enabled) state.listingRejections.delete(sku);
      else {
        state.listingRejections.set(sku, {
          status: optionalNumber(body, 'status', { integer: true, min: 400, max: 599 }) ?? 422,
          code: optionalString(body, 'code') ?? 'listing_rejected',
          message: optionalString(body, 'message') ?? `the marketplace refuses to list SKU ${sku}`,
        });
      }
      return { body: { listing_rejections: Object.fromEntries(state.listingRejections) } };
    });
}

/** An optional list of non-empty strings (e.g. the orders whose labels fail). */
function optionalStringList(body: Record<string, unknown>, field: string): string[] | undefined {
  const v = body[field];
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || x === '')) throw invalid(field, 'must be a list of non-empty strings');
  return v as string[];
}
