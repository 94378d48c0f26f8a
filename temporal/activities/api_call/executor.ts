import { createHash } from 'node:crypto';
import { defineExecutor, type ExecutorImplementation, type ExecutorDeps, type StepExecutionContext } from '@engine/activities/runtime/executor';
import { StepError, errorCode, isRetryable, withPartialOutput } from '@engine/activities/shared/errors';
import { ItemFailures, failedItemsOf, itemKeyGuess, type FailedItemsReport } from '@engine/activities/shared/item-failures';
import { apiKeyAuth, bearerAuth, HttpClient, parseRetryAfter, type AuthProvider, type HttpBody, type HttpResponse } from '@engine/activities/shared/http';
import { isPlainObject, isReference, readsItemFields } from '@engine/dsl/references';
import { inputShapeError, requireObjectItems } from '@engine/activities/shared/input-shape';
import { OAuthProviderCache, authProviderOf, credentialHeaderNames, normalizeAuth, retryPolicyOf, scrubProviderSecrets, type RenderedAuth } from '@engine/activities/shared/http-config';
import { parseOrThrow } from '@engine/activities/shared/zod';
import { credentialsHostOf, hasItemReferences, readPath, renderTemplate, resolveSecretNames, secretNames, stringValues } from '@engine/activities/shared/template';
import { configError } from '@engine/activities/shared/config-issues';
import {
  API_CALL_DEFAULTS,
  API_CALL_SETTING_KEYS,
  apiCallRuntimeSettingsSchema,
  type ApiCallSettings,
  apiCallConfig,
} from '@engine/activities/api_call/schema';
import { ErrorCodes } from '@engine/shared/contracts';
import type { DataSource } from 'typeorm';
import { connectorSender } from '@engine/activities/api_call/connector-mode';
import {
  budgetGate,
  CONNECTION_TABLES,
  connectionDirectoryFor,
  parseConnectionKey,
  rateBudgetsFor,
  type ConnectionDirectory,
  type RateBudgets,
} from '@src/commerce/connectors/rate-budget';
import type { ApiCredentials } from '@src/commerce/entities/shared';

/** Methods that send the input as their body when the config gives none. */
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/** Once a per-item step is cancelled, how long its calls in flight may still answer before they are aborted. */
const CANCEL_GRACE_MS = 5_000;

/** Largest share of the results a per-item checkpoint carries (heartbeat details stay small); past it the checkpoint stops advancing. */
const CHECKPOINT_MAX_BYTES = 64 * 1024;

/**
 * How often a per-item attempt heartbeats its checkpoint at most, besides its
 * first item and when it stops (a retryable failure heartbeats its checkpoint
 * too). The SDK sends the server only the latest details, at most every 2 s
 * (the worker's heartbeat throttle, temporal/worker.ts), so more frequent
 * heartbeats only cost: each one scrubs the checkpoint and turns it into a
 * payload in the worker. It used to be one per item for lists of up to 200
 * items: about a third of an I/O-bound worker's CPU (docs/performance.md).
 */
export const CHECKPOINT_INTERVAL_MS = 1_000;

/**
 * What a per-item attempt heartbeats, and a retry resumes from: progress, and
 * the items `[0, through)` that finished, with their results, except the
 * `redo` ones that failed (a retry calls those again, with the same keys).
 */
export interface PerItemCheckpoint {
  done: number;
  total: number;
  failed: number;
  through: number;
  results: unknown[];
  redo: number[];
}

/** The finished items of an earlier attempt over the same list, or null. */
function perItemResume(checkpoint: unknown, total: number): Pick<PerItemCheckpoint, 'through' | 'results' | 'redo'> | null {
  const c = checkpoint as Partial<PerItemCheckpoint> | undefined;
  if (!c || c.total !== total || !Number.isSafeInteger(c.through) || !Array.isArray(c.results) || !Array.isArray(c.redo)) return null;
  if (c.results.length !== c.through || c.through! > total) return null;
  return { through: c.through!, results: c.results, redo: c.redo.filter((i) => Number.isSafeInteger(i) && i >= 0 && i < c.through!) };
}

/**
 * Output of a per-item call: `results[i]` is the (mapped) response for item `i`,
 * null when it failed. With `continue_on_item_error`, items that failed after
 * their retries are listed in `failed_items` (see activities/shared/item-failures).
 */
export interface ApiCallPerItemOutput extends FailedItemsReport {
  results: unknown[];
  succeeded: number;
  failed: number;
}

export interface ApiCallExecutorOptions {
  /** Replaces the client built from `deps.config` (tests inject DNS stubs). */
  client?: HttpClient;
}

/** The mapped part of a response body: `response_path`, `response_mapping`, or the whole body. */
export function mapResponse(body: unknown, config: { response_path?: unknown; response_mapping?: unknown }): unknown {
  const value = body === '' || body === undefined ? null : body;
  if (typeof config.response_path === 'string') return readPath(value, config.response_path) ?? null;
  if (config.response_mapping && typeof config.response_mapping === 'object') {
    const out: Record<string, unknown> = {};
    for (const [target, path] of Object.entries(config.response_mapping as Record<string, string>)) {
      out[target] = readPath(value, path) ?? null;
    }
    return out;
  }
  return value;
}

/**
 * The key part identifying an item in its `Idempotency-Key`: the value at
 * `keyField`, or the item's index. Keys that are not plain visible ASCII (or
 * are long) are hashed so the header stays valid.
 *
 * @example itemKeyOf({ sku: 'A-1' }, 3, 'sku') // 'A-1'
 */
export function itemKeyOf(item: unknown, index: number, keyField?: string): string {
  if (!keyField) return String(index);
  const v = readPath(item, keyField);
  if (!((typeof v === 'string' && v !== '') || (typeof v === 'number' && Number.isFinite(v)))) {
    throw new StepError(ErrorCodes.STEP_INPUT_INVALID, `item ${index} has no value at ${JSON.stringify(keyField)} (item_key_field) for its idempotency key`, {
      details: { index, field: keyField },
    });
  }
  const text = String(v);
  return /^[\x21-\x7e]{1,128}$/.test(text) ? text : `sha256-${createHash('sha256').update(text).digest('hex').slice(0, 40)}`;
}

/**
 * An item's key from what it is rather than where it is: in a run retrying a
 * subset of items, positions differ from the first run's, so a key by
 * position could name another item. Its sku / external_id / id / key, else a
 * hash of the item.
 */
export function contentKeyOf(item: unknown, index: number): string {
  const guess = itemKeyGuess(item, index);
  if (guess !== String(index)) return /^[\x21-\x7e]{1,128}$/.test(guess) ? `item-${guess}` : `item-sha256-${createHash('sha256').update(guess).digest('hex').slice(0, 40)}`;
  return `item-sha256-${createHash('sha256').update(JSON.stringify(item) ?? 'null').digest('hex').slice(0, 40)}`;
}

/**
 * The `Idempotency-Key` a config's `idempotency_key` template renders to for
 * `item` (`render` resolves references against the item and the run): a
 * non-empty string or number, kept as it is when it is visible ASCII of at
 * most 200 characters, hashed otherwise (a valid header either way).
 *
 * @example businessKeyOf('order:${config.marketplace_id}:$external_id:label', resolve, 0) // 'order:1:ord_000042:label'
 */
export function businessKeyOf(template: string, render: (s: string) => unknown, index: number): string {
  const v = render(template);
  if (!((typeof v === 'string' && v.trim() !== '') || (typeof v === 'number' && Number.isFinite(v)))) {
    throw new StepError(ErrorCodes.STEP_INPUT_INVALID, `item ${index}: idempotency_key rendered to ${describe(v)}, not a non-empty string`, {
      details: { index, field: 'idempotency_key' },
    });
  }
  const text = String(v);
  return /^[\x21-\x7e]{1,200}$/.test(text) ? text : `sha256-${createHash('sha256').update(text).digest('hex').slice(0, 40)}`;
}

/** The error for a response status outside `expected` (4xx except 408/429 never retry). */
export function unexpectedStatus(method: string, url: string, res: Pick<HttpResponse, 'status' | 'headers'>): StepError {
  const where = safeWhere(url);
  const status = res.status;
  const details = { status, method, url: where };
  if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
    return new StepError(ErrorCodes.HTTP_CLIENT_ERROR, `${method} ${where} responded ${status}`, { details });
  }
  if (status >= 400) {
    const retryAfterMs = parseRetryAfter(res.headers['retry-after']);
    return new StepError(ErrorCodes.HTTP_STATUS, `${method} ${where} responded ${status}`, {
      retryable: status !== 501 && status !== 505,
      details,
      nextRetryDelayMs: retryAfterMs,
    });
  }
  return new StepError(ErrorCodes.HTTP_UNEXPECTED_STATUS, `${method} ${where} responded ${status}, which is not in expected_status`, { details });
}

/** Origin and path, without query or fragment. */
function safeWhere(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return 'the configured URL';
  }
}

/** Runs `fn` over `count` indexes with at most `concurrency` at once; stops starting new ones once `stop()` is true. */
export async function runPool(count: number, concurrency: number, fn: (index: number) => Promise<void>, stop: () => boolean = () => false): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (next < count && !failed && !stop()) {
      const index = next++;
      try {
        await fn(index);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const results = await Promise.allSettled(Array.from({ length: Math.min(Math.max(1, concurrency), count) }, worker));
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected) throw rejected.reason;
}

/** Prefixes an error's message with the item it belongs to, keeping code, retryability and retry delay. */
function forItem(err: unknown, index: number, key: string): unknown {
  if (!(err instanceof StepError)) return err;
  const label = key === String(index) ? `item ${index}` : `item ${index} (${key})`;
  return new StepError(err.code, `${label}: ${err.message}`, {
    retryable: err.retryable,
    details: { ...err.info, item_index: index, item_key: key },
    nextRetryDelayMs: typeof err.nextRetryDelay === 'number' ? err.nextRetryDelay : undefined,
  });
}

class ApiCall {
  constructor(
    private readonly client: HttpClient,
    private readonly oauth: OAuthProviderCache,
    private readonly dataSource: DataSource | undefined,
    /** Connections: a URL under a connection's api_base_url spends that connection's budget; `connection` binds one. */
    private readonly budgets?: { db: { query(sql: string, params?: unknown[]): Promise<unknown> }; budgets: RateBudgets; directory: ConnectionDirectory },
  ) {}

  /**
   * The connection a step names (`connection: "carrier:3"`): its row (active), its base URL, and its
   * credentials as an auth provider, the secret resolved through the step (so the runner scrubs it).
   */
  private async bindConnection(ref: unknown, ctx: StepExecutionContext): Promise<BoundConnection> {
    if (!this.budgets) throw configError('connection', 'needs the database (connections live in the suppliers, marketplaces and carriers tables)');
    // "carrier:" (or "carrier:null", a config id left empty): the active one with the lowest id.
    const anyOf = typeof ref === 'string' ? /^(supplier|marketplace|carrier):(|null|undefined)$/.exec(ref.trim()) : null;
    let parsed: { kind: keyof typeof CONNECTION_TABLES; id: number | null };
    try {
      parsed = anyOf ? { kind: anyOf[1] as keyof typeof CONNECTION_TABLES, id: null } : parseConnectionKey(String(ref));
    } catch {
      throw configError('connection', `must resolve to "supplier:<id>", "marketplace:<id>" or "carrier:<id>", got ${describe(ref)}${typeof ref === 'string' ? ` ${JSON.stringify(ref.slice(0, 60))}` : ''}`);
    }
    const table = CONNECTION_TABLES[parsed.kind];
    const rows = (await this.budgets.db.query(
      parsed.id === null
        ? `SELECT id, code, api_base_url, credentials, is_active FROM ${table} WHERE is_active ORDER BY id LIMIT 1`
        : `SELECT id, code, api_base_url, credentials, is_active FROM ${table} WHERE id = $1`,
      parsed.id === null ? [] : [parsed.id],
    )) as Array<{
      id: number;
      code: string;
      api_base_url: string;
      credentials: ApiCredentials | null;
      is_active: boolean;
    }>;
    const row = rows[0];
    if (!row) {
      throw new StepError(
        ErrorCodes.SOURCE_NOT_FOUND,
        parsed.id === null ? `no active ${parsed.kind} (config.connection): add one (POST /${table}/)` : `${parsed.kind} ${parsed.id} (config.connection) does not exist`,
        { details: { field: 'connection', id: parsed.id } },
      );
    }
    if (!row.is_active) throw new StepError(ErrorCodes.SOURCE_INACTIVE, `${parsed.kind} ${row.code} (${row.id}) is disabled`, { details: { field: 'connection', id: row.id } });
    let base: URL;
    try {
      base = new URL(row.api_base_url);
    } catch {
      throw configError('connection', `the api_base_url of ${parsed.kind} ${row.code} is not a URL`);
    }
    const credentials = row.credentials ?? {};
    let auth: AuthProvider | undefined;
    let secret: string | undefined;
    if ((credentials.type ?? 'none') !== 'none') {
      if (!credentials.secret) throw new StepError(ErrorCodes.SECRET_NOT_FOUND, `the credentials of ${parsed.kind} ${row.code} name no secret`);
      secret = (await resolveSecretNames(ctx, [credentials.secret])).get(credentials.secret);
      if (!secret) throw new StepError(ErrorCodes.SECRET_NOT_FOUND, `secret ${credentials.secret} of ${parsed.kind} ${row.code} is not stored`);
      auth = credentials.type === 'bearer' ? bearerAuth(secret) : apiKeyAuth(secret, { headerName: credentials.header });
    }
    return {
      key: `${parsed.kind}:${row.id}`,
      label: `${parsed.kind} ${row.code}`,
      base: row.api_base_url.replace(/\/+$/, ''),
      origin: base.origin,
      path: base.pathname.replace(/\/+$/, ''),
      host: credentialsHostOf(row.api_base_url),
      auth,
      secret,
    };
  }

  async execute(config: Record<string, unknown>, ctx: StepExecutionContext): Promise<unknown> {
    const settings = parseOrThrow<ApiCallSettings>(
      apiCallRuntimeSettingsSchema,
      ctx.resolve(Object.fromEntries(API_CALL_SETTING_KEYS.filter((k) => config[k] !== undefined).map((k) => [k, config[k]]))),
    );

    const source = config.input !== undefined ? ctx.resolve(config.input) : ctx.input;
    const itemsField = config.items_field as string | undefined;
    let items = itemsField ? readPath(source, itemsField) : source;
    // A compensation whose step did nothing (no output, nothing at items_field) has nothing to undo.
    if (ctx.compensates && itemsField && (items === undefined || items === null)) items = [];
    if (itemsField && items === undefined) {
      throw inputShapeError({ expected: 'a list of items (items_field)', got: items, path: itemsField, details: { field: itemsField } });
    }

    if (config.connector !== undefined) {
      // Connector mode: one adapter call per item, through the same per-item machinery as URL calls.
      if (!Array.isArray(items)) {
        throw inputShapeError({ expected: 'a list of items (connector mode acts once per item)', got: items, path: itemsField, hint: itemsField ? undefined : 'set config.items_field to where the list is' });
      }
      if (!this.dataSource) throw new StepError(ErrorCodes.STEP_CONFIG_INVALID, 'connector mode needs the database (the worker has none)', { details: { field: 'connector' } });
      requireObjectItems(items, 'item_fields read fields of each item', itemsField);
      const send = await connectorSender({ dataSource: this.dataSource, client: this.client, budgets: this.budgets?.budgets }, config, settings, ctx);
      const output = await this.perItem(items, settings, config, ctx, send);
      ctx.logger.debug('api_call completed', { mode: 'connector', succeeded: output.succeeded, failed: output.failed });
      return output;
    }

    const templates = { url: config.url, headers: config.headers, query: config.query, body: config.body };
    const bodyMode = settings.body_mode ?? API_CALL_DEFAULTS.body_mode;
    const perItem = bodyMode === 'per_item' || (bodyMode === 'auto' && hasItemReferences(templates));
    if (perItem && !Array.isArray(items)) {
      throw inputShapeError({
        expected: 'a list of items (the request is sent once per item)',
        got: items,
        path: itemsField,
        hint: itemsField ? undefined : 'set config.items_field to where the list is',
      });
    }
    // Templates that read fields of the item ($sku, ${title}) would send nulls for an item that is not an object.
    if (perItem && readsItemFields(templates)) requireObjectItems(items as unknown[], 'url / headers / query / body read fields of each item', itemsField);
    const method = (settings.method ?? (config.body !== undefined ? 'POST' : 'GET')).toUpperCase();

    // Secrets: resolved through the context (so the runner scrubs them), from where the config writes them.
    const { auth: authTemplate } = normalizeAuth(config);
    const secrets = await resolveSecretNames(ctx, secretNames({ headers: config.headers, query: config.query, body: config.body, auth: authTemplate }));
    // A named connection: its credentials (unless the step gives its own auth) and its rate budget.
    const bound = config.connection !== undefined ? await this.bindConnection(ctx.resolve(config.connection), ctx) : null;
    const secretValues = [...secrets.values(), ...(bound?.secret ? [bound.secret] : [])];
    const auth = authTemplate === undefined ? undefined : (renderTemplate(authTemplate, (s) => ctx.resolve(s), secrets) as RenderedAuth);
    const provider = authProviderOf(auth, this.oauth) ?? bound?.auth;

    const credentialHeaders = credentialHeaderNames(config.headers);
    const payloadSecrets = secretNames({ query: config.query, body: config.body }).size > 0;
    const hasCredentials = provider !== undefined || credentialHeaders.length > 0 || payloadSecrets;
    const baseUrl = ctx.resolve(config.url);
    const credentialsHost = bound ? bound.host : typeof baseUrl === 'string' ? credentialsHostOf(baseUrl) : null;
    if (hasCredentials && credentialsHost === null) {
      throw configError('url', 'must resolve to an http(s) URL whose host does not depend on the item when credentials are sent');
    }

    const expected = settings.expected_status;
    const timeoutMs = (settings.timeout_seconds ?? API_CALL_DEFAULTS.timeout_seconds) * 1000;
    const retry = retryPolicyOf(settings.retry);
    const bodySecrets = secretNames(config.body).size > 0;

    const send = async (item: unknown, idempotencyKey: string, signal: AbortSignal = ctx.signal): Promise<unknown> => {
      const render = (t: unknown) => renderTemplate(t, (s) => ctx.resolve(s, item), secrets);
      // Item values inside a URL template are path/query components: encode them, so a SKU like
      // "a/b?c" cannot change the URL's shape. A URL that is one reference (`$url`) is taken as written.
      const urlItem = typeof config.url === 'string' && isReference(config.url) ? item : encodeForUrl(item);
      let url = renderTemplate(config.url, (s) => ctx.resolve(s, urlItem), secrets);
      if (bound && typeof url === 'string' && url.startsWith('/')) url = bound.base + url;
      if (typeof url !== 'string' || url === '') throw configError('url', `must resolve to a URL, got ${describe(url)}`);
      if (payloadSecrets && credentialsHostOf(url) !== credentialsHost) {
        throw configError('url', `secrets in query or body go only to ${credentialsHost}; this request is for another host`);
      }
      const body = config.body !== undefined ? render(config.body) : BODY_METHODS.has(method) ? item : undefined;
      if (bound && !isUnder(url, bound)) throw configError('url', `must lie under the api_base_url of ${bound.label} (config.connection)`);
      const connections = bound ? [bound.key] : this.budgets ? await this.budgets.directory.match(url) : [];
      const res = await this.client.request(method, url, {
        gate: connections.length > 0 ? budgetGate(this.budgets!.budgets, connections) : undefined,
        headers: stringValues(render(config.headers), 'headers'),
        query: stringValues(render(config.query), 'query'),
        body: body as HttpBody | undefined,
        auth: provider,
        credentialsHosts: credentialsHost ? [credentialsHost] : undefined,
        credentialHeaders,
        idempotencyKey,
        retry,
        timeoutMs,
        signal,
        // A 4xx the config expects must come back as a response, not an error.
        throwHttpErrors: !expected?.some((s) => s >= 400),
        // A 307/308 would send the body, secrets and all, to wherever the server points.
        followRedirects: !bodySecrets,
        secrets: secretValues,
      });
      const ok = expected ? expected.includes(res.status) : res.status >= 200 && res.status < 300;
      if (!ok) throw unexpectedStatus(method, url, res);
      return mapResponse(res.body, config);
    };

    const where = typeof baseUrl === 'string' ? safeWhere(baseUrl.split('$')[0]) : 'url';
    let output: unknown;
    if (!perItem) {
      ctx.heartbeat({ phase: 'request', method });
      const key = typeof config.idempotency_key === 'string' ? businessKeyOf(config.idempotency_key, (t) => ctx.resolve(t, items), 0) : ctx.idempotency_key;
      output = await send(items, key);
      ctx.logger.debug('api_call completed', { method, url: where, mode: 'batch' });
    } else {
      output = await this.perItem(items as unknown[], settings, config, ctx, send);
      const o = output as ApiCallPerItemOutput;
      ctx.logger.debug('api_call completed', { method, url: where, mode: 'per_item', succeeded: o.succeeded, failed: o.failed });
    }
    // Dynamic credentials (OAuth tokens) are not known to the runner: scrub them here.
    return scrubProviderSecrets(output, provider);
  }

  private async perItem(
    items: unknown[],
    settings: ApiCallSettings,
    config: Record<string, unknown>,
    ctx: StepExecutionContext,
    send: (item: unknown, key: string, signal: AbortSignal) => Promise<unknown>,
  ): Promise<ApiCallPerItemOutput> {
    const continueOnError = settings.continue_on_item_error ?? API_CALL_DEFAULTS.continue_on_item_error;
    const keyField = config.item_key_field as string | undefined;
    const results: unknown[] = new Array(items.length).fill(null);
    const failures = new ItemFailures();
    // A retried attempt skips the items an earlier one confirmed (its checkpoint) and keeps their results;
    // the items it calls use the keys they always had, so a call the receiver saw already is deduplicated.
    const resume = perItemResume(ctx.checkpoint, items.length);
    const finished: boolean[] = new Array(items.length).fill(false);
    const failedHere = new Set<number>();
    if (resume) {
      const redo = new Set(resume.redo);
      for (let i = 0; i < resume.through; i++) {
        finished[i] = !redo.has(i);
        if (finished[i]) results[i] = resume.results[i];
      }
    }
    const pending = Array.from({ length: items.length }, (_, i) => i).filter((i) => !finished[i]);
    let done = items.length - pending.length;
    let through = 0;
    let bytes = 0;
    let lastBeat = 0;
    const checkpoint = (): PerItemCheckpoint => {
      while (through < items.length && finished[through]) {
        const size = JSON.stringify(results[through] ?? null).length + 1;
        if (bytes + size > CHECKPOINT_MAX_BYTES) break;
        bytes += size;
        through++;
      }
      return { done, total: items.length, failed: failures.count, through, results: results.slice(0, through), redo: [...failedHere].filter((i) => i < through) };
    };
    let fatal: unknown;
    // Cancelled: no new item starts; calls in flight get a short grace to answer (so what they did is known
    // and can be undone), then they are aborted.
    const inflight = new AbortController();
    let grace: NodeJS.Timeout | undefined;
    const onCancel = () => {
      grace = setTimeout(() => inflight.abort(ctx.signal.reason), CANCEL_GRACE_MS);
      grace.unref();
    };
    if (ctx.signal.aborted) inflight.abort(ctx.signal.reason);
    else ctx.signal.addEventListener('abort', onCancel, { once: true });
    // What went through so far: the input of the step's compensation when it stops part way.
    const partial = () => {
      const through = results.filter((r) => r !== null);
      return { results: through, succeeded: through.length, failed: failures.count, ...failures.report(), partial: true };
    };
    try {
      await runPool(
        pending.length,
        settings.concurrency ?? API_CALL_DEFAULTS.concurrency,
        async (position) => {
          const index = pending[position];
          let key = String(index);
          // The ledger names an item by its key field, else by what it carries (its sku, id...) rather than its position.
          const ledgerKey = () => (keyField ? key : itemKeyGuess(items[index], index));
          try {
            key = itemKeyOf(items[index], index, keyField);
            // A business key (the same for every run acting on the entity) when the config gives one; else per run and step.
            const idempotencyKey =
              typeof config.idempotency_key === 'string'
                ? businessKeyOf(config.idempotency_key, (t) => ctx.resolve(t, items[index]), index)
                : `${ctx.item_idempotency_prefix ?? ctx.idempotency_key}:${ctx.items_subset && !keyField ? contentKeyOf(items[index], index) : key}`;
            results[index] = await send(items[index], idempotencyKey, inflight.signal);
            finished[index] = true;
            ctx.items?.record({ key: ledgerKey(), index, status: 'ok' });
          } catch (err) {
            const e = err as { message?: string; info?: Record<string, unknown> };
            ctx.items?.record({ key: ledgerKey(), index, status: 'failed', code: errorCode(err) ?? 'STEP_ERROR', message: String(e.message ?? err), item: items[index] });
            if (ctx.signal.aborted || !continueOnError) {
              fatal ??= forItem(err, index, key);
            } else {
              const status = e.info?.status;
              failedHere.add(index);
              finished[index] = true;
              failures.add(
                {
                  key,
                  index,
                  code: errorCode(err) ?? 'STEP_ERROR',
                  message: String(e.message ?? err),
                  ...(typeof status === 'number' ? { status } : {}),
                },
                { retryable: isRetryable(err) || !(err instanceof StepError) },
              );
            }
          }
          done++;
          if (done === items.length || Date.now() - lastBeat >= CHECKPOINT_INTERVAL_MS) {
            lastBeat = Date.now();
            ctx.heartbeat(checkpoint());
          }
        },
        () => fatal !== undefined || ctx.signal.aborted,
      );
    } catch (err) {
      fatal ??= err; // the heartbeat throws once the step is cancelled
    } finally {
      ctx.signal.removeEventListener('abort', onCancel);
      clearTimeout(grace);
    }
    if (ctx.signal.aborted) throw withPartialOutput(new StepError(ErrorCodes.HTTP_ABORTED, 'the step was cancelled'), partial());
    if (fatal !== undefined) {
      // Where a retry resumes: every item confirmed before the failure.
      if (isRetryable(fatal)) ctx.heartbeat(checkpoint());
      throw withPartialOutput(fatal, partial());
    }
    // Items that failed after their retries fail the step when there are too many (every one, by default);
    // what did go through is still the input of its compensation.
    try {
      failures.enforce(items.length, { max_failed_items: settings.max_failed_items }, 'items');
    } catch (err) {
      throw withPartialOutput(err, partial());
    }
    return { results, succeeded: items.length - failures.count, failed: failures.count, ...failures.report() };
  }
}

/** A connection a step names (see `connection`). */
interface BoundConnection {
  key: string;
  label: string;
  /** api_base_url without a trailing slash: what a path-only `url` is appended to. */
  base: string;
  origin: string;
  path: string;
  host: string | null;
  auth?: AuthProvider;
  secret?: string;
}

/** Same origin, and the path equal to the base path or below it (whole segments). */
function isUnder(url: string, base: Pick<BoundConnection, 'origin' | 'path'>): boolean {
  try {
    const u = new URL(url);
    return u.origin === base.origin && (base.path === '' || u.pathname === base.path || u.pathname.startsWith(base.path + '/'));
  } catch {
    return false;
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? 'an object' : typeof v;
}

/**
 * Builds the `api_call` executor. One HttpClient per worker (pooled
 * connections, SSRF policy from `HTTP_ALLOW_HOSTS`) and one OAuth token cache.
 */
function build(deps: ExecutorDeps, options: ApiCallExecutorOptions = {}): ExecutorImplementation {
  const client = options.client ?? new HttpClient({ allowHosts: deps.config.httpAllowHosts, logger: deps.logger, maxSocketsPerHost: deps.config.worker.httpMaxSocketsPerHost });
  // Without a database (unit tests of the executor alone) there are no connections, hence no budgets.
  const budgets = deps.dataSource ? { db: deps.dataSource, budgets: rateBudgetsFor(deps.dataSource), directory: connectionDirectoryFor(deps.dataSource) } : undefined;
  const call = new ApiCall(client, new OAuthProviderCache(), deps.dataSource, budgets);
  return {
    execute: (config, ctx) => call.execute(config, ctx),
    // Per-item outputs list their failed items; a batch call's output is the peer's answer, read as is.
    failedItems: (output) => (output && typeof output === 'object' && Array.isArray((output as ApiCallPerItemOutput).results) ? failedItemsOf(output) : null),
  };
}

/** The `api_call` step executor: its config (type and validator, from schema.ts) and its factory. */

export const apiCallExecutorModule = defineExecutor({ config: apiCallConfig, create: build });

/** Builds the executor for a worker (tests pass options). */
export const createApiCallExecutor = apiCallExecutorModule.create;

/** The item with every string inside it percent-encoded as a URL component. */
function encodeForUrl(value: unknown): unknown {
  if (typeof value === 'string') return encodeURIComponent(value);
  if (Array.isArray(value)) return value.map(encodeForUrl);
  if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, encodeForUrl(v)]));
  return value;
}
