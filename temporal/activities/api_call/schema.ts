import { z } from 'zod';
import { defineStepConfig } from '@engine/activities/runtime/executor';
import type { ConfigValidator } from '@engine/dsl/types';
import { maxFailedItemsSchema } from '@engine/activities/shared/item-failures';
import { LEGACY_AUTH_KEYS, headersSchema, methodSchema, pathSchema, querySchema, retrySchema, timeoutSchema, urlSchema, validateAuth, type RetryConfig } from '@engine/activities/shared/http-config';
import { intIn, refOr, referenceString, type SchemaMode } from '@engine/activities/shared/zod';
import { zodIssues, type ConfigIssue } from '@engine/activities/shared/config-issues';

/** Defaults of an `api_call` step. */
export const API_CALL_DEFAULTS = {
  body_mode: 'auto',
  concurrency: 4,
  timeout_seconds: 30,
  continue_on_item_error: false,
} as const;

/** The config fields that are plain values (references resolved once per step), as opposed to request templates. */
const settingsShape = (mode: SchemaMode) => ({
  method: methodSchema(mode).optional(),
  body_mode: refOr(
    mode,
    z.enum(['auto', 'batch', 'per_item'], { error: 'must be "auto", "batch" or "per_item"' }),
    '"auto", "batch" or "per_item"',
  ).optional(),
  concurrency: refOr(mode, intIn(1, 50), 'an integer from 1 to 50').optional(),
  timeout_seconds: timeoutSchema(mode).optional(),
  retry: retrySchema(mode).optional(),
  expected_status: refOr(
    mode,
    z.array(intIn(100, 599), { error: 'must be a list of HTTP status codes' }).min(1, { message: 'must list at least one status code' }),
    'a list of HTTP status codes',
  ).optional(),
  continue_on_item_error: refOr(mode, z.boolean({ error: 'must be true or false' }), 'true or false').optional(),
  max_failed_items: refOr(mode, maxFailedItemsSchema, 'a whole number of items, 0 or more').optional(),
});

/** The value fields, resolved: what the executor runs with. */
export interface ApiCallSettings {
  method?: string;
  body_mode?: 'auto' | 'batch' | 'per_item';
  concurrency?: number;
  timeout_seconds?: number;
  retry?: RetryConfig;
  expected_status?: number[];
  continue_on_item_error?: boolean;
  max_failed_items?: number;
}

export const API_CALL_SETTING_KEYS = Object.keys(settingsShape('runtime')) as Array<keyof ApiCallSettings>;

/** Checks the settings after their references were resolved. */
export const apiCallRuntimeSettingsSchema = z.object(settingsShape('runtime'));

/** What connector mode does per item, through the connection's platform adapter. */
export const CONNECTOR_ACTIONS = ['upsert_listing', 'acknowledge_order', 'notify_shipment', 'push_inventory'] as const;
export type ConnectorAction = (typeof CONNECTOR_ACTIONS)[number];

const idOrRef = z.union([z.number().int().positive(), referenceString], { error: 'must be a connection id (a positive integer) or a reference like "$config.marketplace_id"' });

/** `connector`: the marketplace (by id) and the action each item performs through its adapter. */
export const connectorSchema = z.strictObject(
  {
    marketplace_id: idOrRef.describe('the marketplace connection (GET /marketplaces/)'),
    action: z.enum(CONNECTOR_ACTIONS, { error: `must be one of ${CONNECTOR_ACTIONS.join(', ')}` }),
  },
  { error: 'must be an object like {"marketplace_id": "$config.marketplace_id", "action": "upsert_listing"}' },
);

export interface ApiCallConnector {
  marketplace_id: number;
  action: ConnectorAction;
}

/** The connector once its references are resolved. */
export const connectorRuntimeSchema = z.strictObject({
  marketplace_id: z.number({ error: 'must resolve to a marketplace id (a positive integer)' }).int().positive(),
  action: z.enum(CONNECTOR_ACTIONS),
});

const definitionSchema = z
  .strictObject({
    url: z
      .string({ error: 'is required: an http or https URL' })
      .min(1, { message: 'is required: an http or https URL' })
      .optional()
      .describe('http(s) URL; may interpolate references ($sku per item); with connection, a path under its api_base_url ("/labels"); not with connector'),
    connector: connectorSchema.optional().describe('connector mode: each item goes through the marketplace\'s platform adapter instead of a URL'),
    item_fields: z
      .record(z.string().min(1), z.unknown(), { error: 'must be an object of action field → template over the item' })
      .optional()
      .describe('connector mode: the action\'s fields, templated per item ($sku, $price...)'),
    headers: headersSchema.optional(),
    query: querySchema.optional(),
    body: z.unknown().optional().describe('any JSON, templated; default: the item (per item) or the input list (batch)'),
    input: referenceString.optional().describe('a reference to read instead of the step input'),
    items_field: pathSchema.optional().describe('path of the item list in the input'),
    item_key_field: pathSchema.optional().describe("path of each item's id, for its Idempotency-Key"),
    idempotency_key: z
      .string({ error: 'must be a string template, e.g. "order:${config.marketplace_id}:$external_id:label"' })
      .min(1, { message: 'must not be empty' })
      .max(500, { message: 'must be at most 500 characters' })
      .optional(),
    response_mapping: z
      .record(z.string().min(1), pathSchema, { error: 'must be an object of output fields to paths in the response' })
      .optional(),
    response_path: pathSchema.optional(),
    auth: z.unknown().optional().describe('{type: bearer | api_key | basic | oauth2_client_credentials, ...} with secrets by reference'),
    connection: z
      .string({ error: 'must be a connection like "carrier:3" or "carrier:${config.carrier_id}"' })
      .min(1, { message: 'must not be empty' })
      .max(200)
      .optional()
      .describe('"supplier|marketplace|carrier:<id>" (no id: the first active one): url is a path under its api_base_url or a URL there; its credentials are sent (unless auth is given) and its rate budget spent'),
    ...Object.fromEntries(LEGACY_AUTH_KEYS.map((k) => [k, z.unknown().optional()])),
    ...settingsShape('definition'),
  })
  .superRefine((c, ctx) => {
    if (c.url === undefined && c.connector === undefined) ctx.addIssue({ code: 'custom', path: ['url'], message: 'is required (or give connector)' });
    if (c.connector !== undefined) {
      for (const k of ['url', 'headers', 'query', 'body', 'auth', 'method', 'expected_status', 'connection', ...LEGACY_AUTH_KEYS] as const) {
        if ((c as Record<string, unknown>)[k] !== undefined) ctx.addIssue({ code: 'custom', path: [k], message: 'is not used with connector (the adapter makes the requests)' });
      }
      if (c.body_mode === 'batch') ctx.addIssue({ code: 'custom', path: ['body_mode'], message: 'connector mode runs once per item' });
      if (c.item_fields === undefined) ctx.addIssue({ code: 'custom', path: ['item_fields'], message: 'is required with connector' });
    } else if (c.item_fields !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['item_fields'], message: 'is only used with connector (use body for a URL call)' });
    }
    // A path ("/labels") is relative to the api_base_url of the connection the step names; anything else is a URL.
    if (c.url !== undefined && c.connector === undefined && !(c.connection !== undefined && c.url.startsWith('/'))) {
      for (const issue of urlSchema.safeParse(c.url).error?.issues ?? []) ctx.addIssue({ code: 'custom', path: ['url'], message: issue.message });
    }
    if (c.response_mapping !== undefined && c.response_path !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['response_path'], message: 'give either response_path or response_mapping, not both' });
    }
    if (c.max_failed_items !== undefined && c.continue_on_item_error === undefined) {
      ctx.addIssue({ code: 'custom', path: ['max_failed_items'], message: 'is only used with continue_on_item_error (without it the first failed item fails the step)' });
    }
    if (c.body_mode === 'batch' && c.item_key_field !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['item_key_field'], message: 'is only used with body_mode "per_item"' });
    }
  });

/**
 * Validates an `api_call` step config: one HTTP request with the step's
 * input (`body_mode: "batch"`), or one request per item of the input list
 * (`"per_item"`, where `$field` in `url`, `query`, `headers` and `body` reads
 * the item). `"auto"` (the default) is per-item when those templates refer to
 * the item.
 *
 * Fields (defaults in brackets):
 * - `url` (required): http(s) URL, may interpolate references (`https://api.example.com/products/$sku`).
 * - `method` [POST when `body` is given, else GET]: any HTTP method.
 * - `headers`, `query`: values are strings (templated), numbers, booleans or `{"secret": "NAME"}`.
 * - `body`: any JSON, templated; `$` is the item (per-item) or the step's input list (batch).
 *   Without `body`, POST/PUT/PATCH send the item (per-item) or the input list (batch).
 * - `body_mode` ["auto"]: `"batch"`, `"per_item"` or `"auto"`.
 * - `input`: a reference to read instead of the step's input (`"$steps.fetch.items"`).
 * - `items_field`: path of the list inside the input (`"products"`).
 * - `item_key_field`: path of each item's id, for its `Idempotency-Key` (default: the item's index).
 * - `idempotency_key`: the `Idempotency-Key` as a template over the item and the run context, replacing
 *   the default `<execution_id>:<step_key>:<item key>`. Use a business key, the same for every run that
 *   performs the same effect on the same entity, so the receiver deduplicates across overlapping runs:
 *   `"order:${config.marketplace_id}:$external_id:label"`. It must render to a non-empty string or
 *   number; values that are not visible ASCII or longer than 200 characters are hashed.
 * - `connection`: `"carrier:3"`, usually templated (`"carrier:${config.carrier_id}"`; an empty or null
 *   id picks the active connection of that kind with the lowest id): the supplier, marketplace or carrier
 *   the step calls. `url` may then be a path (`"/labels"`) under its `api_base_url`, and every URL must
 *   lie there; its credentials secret is resolved in the worker and sent (unless the step gives `auth` of
 *   its own), never written to the config or history; its shared rate budget is spent. Without it, a URL
 *   under a connection's `api_base_url` still spends that connection's budget (docs/rate-budgets.md).
 * - `concurrency` [4]: requests in flight at once in per-item mode (1-50).
 * - `auth`: `{type: "bearer"|"api_key"|"basic"|"oauth2_client_credentials", ...}` with secrets by reference;
 *   the specification's `"auth_type": "bearer"` with `"token": {"secret": "NAME"}` works too.
 * - `timeout_seconds` [30]: per request.
 * - `retry` [3 attempts, 0.25 s backoff x2, Retry-After honoured up to 60 s]:
 *   `{attempts, backoff_seconds, factor, max_delay_seconds, max_retry_after_seconds}`.
 * - `expected_status` [any 2xx]: status codes that count as success.
 * - `response_mapping` (`{"listing_id": "data.id"}`) or `response_path` (`"data"`): what to keep of each response.
 * - `continue_on_item_error` [false]: an item that fails after its retries is listed in the output's
 *   `failed_items` (key, code, message; the first 100, with `failed_items_total`) instead of failing
 *   the step at once; the step then completes with failures.
 * - `max_failed_items` [unset]: with `continue_on_item_error`, the step fails (`ITEMS_FAILED`) when more
 *   items than this failed; unset, it fails only when every item failed. `0` fails on any failed item.
 *
 * Connector mode (instead of `url`): `connector: {marketplace_id, action}` and `item_fields` (templated per
 * item) send each item through the marketplace's platform adapter (sandbox, shopify, woocommerce), with the
 * row's endpoint and secret; items, concurrency, idempotency keys, retries, checkpoints and the item ledger
 * work as for URL calls. Actions and their fields: `upsert_listing` (sku, title, price, quantity, currency,
 * description, images, category, brand, status) → `{listing_id, sku, created, status}`; `acknowledge_order`
 * (order_id) → `{id, status}`; `notify_shipment` (order_id, tracking_number, carrier, label_id) → `{id, status}`;
 * `push_inventory` (sku, quantity) → `{sku, quantity}` (a SKU the marketplace does not list fails the item).
 *
 * Values may be references (`"$config.concurrency"`); they are checked again once resolved.
 *
 * @example
 * {
 *   "url": "https://api.marketplace.example/listings",
 *   "method": "POST",
 *   "auth": { "type": "bearer", "token": { "secret": "MARKETPLACE_TOKEN" } },
 *   "items_field": "listings",
 *   "item_key_field": "sku",
 *   "body": { "title": "$title", "price": "$price" },
 *   "response_mapping": { "listing_id": "id" },
 *   "continue_on_item_error": true
 * }
 */
export const validateApiCallConfig: ConfigValidator = (config) => {
  const issues: ConfigIssue[] = [];
  const parsed = definitionSchema.safeParse(config);
  if (!parsed.success) issues.push(...zodIssues(parsed.error));
  issues.push(...validateAuth(config));
  return issues;
};

/** Step type id of `api_call`. */
export const API_CALL_STEP_TYPE = 'api_call';

/** The `api_call` step type as the API knows it: its id, config validator and schema. */
export const apiCallConfig = defineStepConfig(API_CALL_STEP_TYPE, validateApiCallConfig, { schema: definitionSchema });
