import type { DataSource } from 'typeorm';
import type { PayloadRef } from '@engine/dsl/types';
import { defineExecutor, type ExecutorImplementation, type ExecutorDeps, type StepExecutionContext } from '@engine/activities/runtime/executor';
import { HttpClient, type HttpBody } from '@engine/activities/shared/http';
import { OAuthProviderCache, authProviderOf, credentialHeaderNames, normalizeAuth, retryPolicyOf, scrubProviderSecrets, type RenderedAuth } from '@engine/activities/shared/http-config';
import { parseOrThrow } from '@engine/activities/shared/zod';
import { credentialsHostOf, renderTemplate, resolveSecretNames, secretNames, stringValues } from '@engine/activities/shared/template';
import { configError } from '@engine/activities/shared/config-issues';
import {
  DATA_FETCH_DEFAULTS,
  INCREMENTAL_KEY_PATTERN,
  connectorRuntimeSchema,
  httpRuntimeSchema,
  sourceDataRuntimeSchema,
  type ConnectorSourceSettings,
  type HttpSourceSettings,
  type SourceDataSettings,
  dataFetchConfig,
} from '@engine/activities/data_fetch/schema';
import { fetchPaginated, latestValue } from '@engine/activities/shared/pagination';
import { FetchCursorStore } from '@engine/activities/data_fetch/cursor-store';
import { buildSourceDataQuery, decodeWatermark, encodeWatermark, rowToJson } from '@engine/activities/data_fetch/source-data';
import { fetchFromConnector } from '@engine/activities/data_fetch/connector-source';

/** What a `data_fetch` step returns (large item lists are claim-checked by the runner). */
export interface DataFetchOutput {
  /** The items, or past ITEM_PAGE_SIZE from a supplier, a paged list (PayloadStore.pageWriter). */
  items: unknown[] | PayloadRef;
  count: number;
  pages: number;
  /** Where to continue: the stored cursor of an incremental fetch, or where max_pages/max_items stopped; else null. */
  next_cursor: string | null;
  /** Connector sources: which supplier or marketplace was read. */
  source?: { type: 'supplier' | 'marketplace'; id: number; code: string; fetch_type: string };
}

export interface DataFetchExecutorOptions {
  /** Replaces the client built from `deps.config` (tests inject DNS stubs). */
  client?: HttpClient;
}

const pick = (config: Record<string, unknown>, keys: readonly string[]) =>
  Object.fromEntries(keys.filter((k) => config[k] !== undefined).map((k) => [k, config[k]]));

function incrementalKey(key: string): string {
  if (!INCREMENTAL_KEY_PATTERN.test(key)) {
    throw configError('incremental.key', `must resolve to 1-200 letters, digits, "_", ".", ":", "/" or "-", got ${JSON.stringify(key.slice(0, 60))}`);
  }
  return key;
}

class DataFetch {
  private readonly cursors: FetchCursorStore;

  constructor(
    private readonly client: HttpClient,
    private readonly oauth: OAuthProviderCache,
    private readonly dataSource: DataSource,
  ) {
    this.cursors = new FetchCursorStore(dataSource);
  }

  async execute(config: Record<string, unknown>, ctx: StepExecutionContext): Promise<DataFetchOutput> {
    if (config.source_type === 'source_data') return this.sourceData(config, ctx);
    if ((config.source_type === 'supplier' || config.source_type === 'marketplace') && config.url === undefined) return this.connector(config, ctx);
    return this.http(config, ctx);
  }

  /** A supplier or marketplace source: the row gives URL, credentials and paging; its connector does the walking. */
  private async connector(config: Record<string, unknown>, ctx: StepExecutionContext): Promise<DataFetchOutput> {
    const settings = parseOrThrow<ConnectorSourceSettings>(
      connectorRuntimeSchema,
      ctx.resolve(pick(config, ['supplier_id', 'marketplace_id', 'status', 'max_items', 'page_size', 'timeout_seconds', 'retry'])),
    );
    return fetchFromConnector(
      { dataSource: this.dataSource, client: this.client },
      { source_type: config.source_type as 'supplier' | 'marketplace', fetch_type: config.fetch_type as string, ...settings, retry: retryPolicyOf(settings.retry) },
      ctx,
    );
  }

  private async sourceData(config: Record<string, unknown>, ctx: StepExecutionContext): Promise<DataFetchOutput> {
    const settings = parseOrThrow<SourceDataSettings>(
      sourceDataRuntimeSchema,
      ctx.resolve(pick(config, ['filters', 'supplier_id', 'marketplace_id', 'limit', 'order_by', 'output', 'incremental'])),
    );
    const key = settings.incremental ? incrementalKey(settings.incremental.key) : null;
    const watermark = key ? decodeWatermark(await this.cursors.read(key, ctx.idempotency_key)) : null;
    const { sql, params } = buildSourceDataQuery(settings, watermark);
    const rows: Array<Record<string, unknown>> = await this.dataSource.query(sql, params);
    ctx.heartbeat({ page: 1, items: rows.length });
    const output = settings.output ?? DATA_FETCH_DEFAULTS.output;
    const items = output === 'rows' ? rows.map(rowToJson) : rows.map((r) => r.raw_data);
    let nextCursor: string | null = null;
    if (key) {
      const last = rows[rows.length - 1];
      nextCursor = last ? encodeWatermark({ updated_at: String(last.updated_at_exact), id: String(last.id) }) : watermark ? encodeWatermark(watermark) : null;
      await this.cursors.write(key, nextCursor, ctx.idempotency_key);
    }
    ctx.logger.debug('data_fetch completed', { source_type: 'source_data', count: items.length, incremental: key !== null });
    return { items, count: items.length, pages: 1, next_cursor: nextCursor };
  }

  private async http(config: Record<string, unknown>, ctx: StepExecutionContext): Promise<DataFetchOutput> {
    const settings = parseOrThrow<HttpSourceSettings>(httpRuntimeSchema, ctx.resolve(pick(config, ['method', 'timeout_seconds', 'retry', 'pagination', 'incremental'])));
    const { auth: authTemplate } = normalizeAuth(config);
    const secrets = await resolveSecretNames(ctx, secretNames({ headers: config.headers, query: config.query, body: config.body, auth: authTemplate }));
    const render = (t: unknown) => renderTemplate(t, (s) => ctx.resolve(s), secrets);
    const auth = authTemplate === undefined ? undefined : (render(authTemplate) as RenderedAuth);
    const provider = authProviderOf(auth, this.oauth);

    const url = render(config.url);
    if (typeof url !== 'string' || url === '') throw configError('url', 'must resolve to an http(s) URL');
    const credentialHeaders = credentialHeaderNames(config.headers);
    const credentialsHost = credentialsHostOf(url);
    if ((provider || credentialHeaders.length > 0 || secrets.size > 0) && credentialsHost === null) {
      throw configError('url', 'must resolve to an http(s) URL');
    }
    const query = stringValues(render(config.query), 'query');

    const incremental = settings.incremental;
    const key = incremental ? incrementalKey(incremental.key) : null;
    const mode = incremental?.mode ?? (settings.pagination?.type === 'cursor' ? 'cursor' : 'updated_since');
    const stored = key ? await this.cursors.read(key, ctx.idempotency_key) : null;
    if (key && mode === 'updated_since' && stored !== null) query[incremental?.param ?? DATA_FETCH_DEFAULTS.incremental.param] = stored;

    const result = await fetchPaginated(
      this.client,
      {
        url,
        method: (settings.method ?? (config.body !== undefined ? 'POST' : 'GET')).toUpperCase(),
        headers: stringValues(render(config.headers), 'headers'),
        query,
        body: config.body === undefined ? undefined : (render(config.body) as HttpBody),
        auth: provider,
        credentialsHosts: credentialsHost ? [credentialsHost] : undefined,
        credentialHeaders,
        secrets: [...secrets.values()],
        timeoutMs: (settings.timeout_seconds ?? DATA_FETCH_DEFAULTS.timeout_seconds) * 1000,
        retry: retryPolicyOf(settings.retry),
        pagination: settings.pagination,
        startCursor: key && mode === 'cursor' ? stored : null,
      },
      { signal: ctx.signal, heartbeat: (details) => ctx.heartbeat(details) },
    );

    let nextCursor = result.next_cursor;
    if (key) {
      nextCursor = mode === 'cursor' ? (result.resume_cursor ?? stored) : (latestValue(result.items, incremental?.field ?? DATA_FETCH_DEFAULTS.incremental.field) ?? stored);
      await this.cursors.write(key, nextCursor, ctx.idempotency_key);
    }
    ctx.logger.debug('data_fetch completed', { source_type: config.source_type, count: result.count, pages: result.pages, truncated: result.truncated });
    const output: DataFetchOutput = { items: result.items, count: result.count, pages: result.pages, next_cursor: nextCursor };
    return scrubProviderSecrets(output, provider);
  }
}

/**
 * Builds the `data_fetch` executor: source_data queries on the worker's data
 * source, and paginated HTTP through one SSRF-safe client per worker.
 */
function build(deps: ExecutorDeps, options: DataFetchExecutorOptions = {}): ExecutorImplementation {
  const client = options.client ?? new HttpClient({ allowHosts: deps.config.httpAllowHosts, logger: deps.logger, maxSocketsPerHost: deps.config.worker.httpMaxSocketsPerHost });
  const fetcher = new DataFetch(client, new OAuthProviderCache(), deps.dataSource);
  return {
    execute: (config, ctx) => fetcher.execute(config, ctx),
  };
}

/** The `data_fetch` step executor: its config (type and validator, from schema.ts) and its factory. */

export const dataFetchExecutorModule = defineExecutor({ config: dataFetchConfig, create: build });

/** Builds the executor for a worker (tests pass options). */
export const createDataFetchExecutor = dataFetchExecutorModule.create;
