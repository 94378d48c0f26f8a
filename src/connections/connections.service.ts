/**
 * Suppliers, marketplaces and carriers as managed resources: list, get,
 * create, update, disable (history stays), delete (refused while a schedule
 * uses the connection or rows refer to it) and a connection test that makes
 * one cheap authenticated read.
 */
import type { DataSource } from 'typeorm';
import { updated } from '@src/database/query-result';
import { ConflictError, NotFoundError, ValidationFailedError } from '@src/common/errors';
import type { AppConfig } from '@src/config/config';
import { SecretsService } from '@src/secrets/secrets.service';
import { HttpClient } from '@engine/activities/shared/http';
import { carrierAdapter, marketplaceAdapter, supplierAdapter, type ConnectionRow } from '@src/commerce/connectors/platforms';
import { redact } from '@engine/activities/shared/secrets';
import { errorCode } from '@engine/activities/shared/errors';
import { validateConnectionBody, type ConnectionInput, type ConnectionKind, type Problem } from '@src/connections/connection-validation';
import type { ApiCredentials, ConnectionPlatform, RateBudget } from '@src/commerce/entities/shared';

/** The read each marketplace platform's probe makes (for the report's `request` when the adapter does not say). */
const MARKETPLACE_PROBE_PATHS: Record<string, string> = { sandbox: '/listings', shopify: '/products.json', woocommerce: '/products' };

/** A connection as the API shows it. */
export interface ConnectionView {
  id: number;
  kind: ConnectionKind;
  code: string;
  name: string;
  endpoint: string;
  platform: string;
  credentials: ApiCredentials;
  settings: Record<string, unknown>;
  field_mapping: Record<string, string>;
  rate_budget: RateBudget;
  is_active: boolean;
  disabled_at: Date | null;
  created_at: Date;
  updated_at: Date;
  [extra: string]: unknown;
}

/** What the connection test saw. */
export interface ConnectionTestResult {
  ok: boolean;
  reachable: boolean;
  authenticated: boolean | null;
  request: string;
  status: number | null;
  sample: { item: unknown; mapped: Record<string, unknown> | null } | null;
  reason: string | null;
}

/** The key a workflow config or schedule input uses to name a connection of each kind, and its URL key, if any. */
const REFERENCE_KEYS: Record<ConnectionKind, { id: string; url: string | null }> = {
  suppliers: { id: 'supplier_id', url: null },
  marketplaces: { id: 'marketplace_id', url: 'marketplace_url' },
  carriers: { id: 'carrier_id', url: 'carrier_url' },
};

const SINGULAR: Record<ConnectionKind, string> = { suppliers: 'Supplier', marketplaces: 'Marketplace', carriers: 'Carrier' };

/** Which adapter side tests a connection of each kind. */
const PROBE_SIDE: Record<ConnectionKind, 'supplier' | 'marketplace' | 'carrier'> = { suppliers: 'supplier', marketplaces: 'marketplace', carriers: 'carrier' };

export class ConnectionsService {
  private readonly http: HttpClient;

  constructor(
    readonly kind: ConnectionKind,
    private readonly dataSource: DataSource,
    private readonly secrets: SecretsService,
    config: Pick<AppConfig, 'httpAllowHosts'>,
  ) {
    this.http = new HttpClient({ allowHosts: config.httpAllowHosts, retry: { attempts: 1 } });
  }

  close(): void {
    this.http.close();
  }

  private present(row: Record<string, unknown>): ConnectionView {
    const { api_base_url, ...rest } = row;
    const out = { ...rest, kind: this.kind, endpoint: api_base_url } as ConnectionView;
    if (out.markup_percent !== undefined && out.markup_percent !== null) out.markup_percent = Number(out.markup_percent);
    return out;
  }

  async list(filter: { active?: boolean } = {}): Promise<ConnectionView[]> {
    const rows: Array<Record<string, unknown>> = await this.dataSource.query(
      `SELECT * FROM ${this.kind} ${filter.active === undefined ? '' : 'WHERE is_active = $1'} ORDER BY id`,
      filter.active === undefined ? [] : [filter.active],
    );
    return rows.map((r) => this.present(r));
  }

  async get(id: number): Promise<ConnectionView> {
    const rows: Array<Record<string, unknown>> = await this.dataSource.query(`SELECT * FROM ${this.kind} WHERE id = $1`, [id]);
    if (!rows[0]) throw new NotFoundError(SINGULAR[this.kind], id);
    return this.present(rows[0]);
  }

  private async check(body: unknown, partial: boolean, current?: ConnectionView): Promise<ConnectionInput> {
    const { value, problems } = validateConnectionBody(this.kind, body, partial, current);
    const secret = value.credentials?.secret;
    if (secret && !problems.some((p) => p.field.startsWith('credentials')) && !(await this.secrets.exists(secret))) {
      problems.push({ field: 'credentials.secret', message: `no secret named ${secret}: store it first (POST /secrets/ or "merchflow secrets set ${secret}")` });
    }
    if (problems.length > 0) throw new ValidationFailedError(problems);
    return value;
  }

  async create(body: unknown): Promise<ConnectionView> {
    const v = await this.check(body, false);
    const cols = Object.keys(v) as Array<keyof ConnectionInput>;
    if (v.is_active === false) cols.push('disabled_at' as keyof ConnectionInput);
    const values = cols.map((c) => (c === ('disabled_at' as keyof ConnectionInput) ? new Date() : encode(v[c])));
    try {
      const rows: Array<Record<string, unknown>> = await this.dataSource.query(
        `INSERT INTO ${this.kind} (${cols.join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING *`,
        values,
      );
      return this.present(rows[0]);
    } catch (err) {
      throw this.conflict(err, v);
    }
  }

  async update(id: number, body: unknown): Promise<ConnectionView> {
    const current = await this.get(id);
    const v = await this.check(body, true, current);
    const sets = Object.entries(v).map(([c], i) => `${c} = $${i + 2}`);
    if (v.is_active === true) sets.push('disabled_at = NULL');
    if (v.is_active === false) sets.push('disabled_at = COALESCE(disabled_at, now())');
    if (sets.length === 0) return this.get(id);
    try {
      const rows = updated<Record<string, unknown>>(
        await this.dataSource.query(`UPDATE ${this.kind} SET ${sets.join(', ')}, updated_at = now() WHERE id = $1 RETURNING *`, [id, ...Object.values(v).map(encode)]),
      );
      return this.present(rows[0]);
    } catch (err) {
      throw this.conflict(err, v);
    }
  }

  /** Disables: runs stop using it; every row that refers to it (products, listings, orders, shipments) stays. */
  async disable(id: number): Promise<ConnectionView> {
    const rows = updated<Record<string, unknown>>(
      await this.dataSource.query(`UPDATE ${this.kind} SET is_active = false, disabled_at = COALESCE(disabled_at, now()), updated_at = now() WHERE id = $1 RETURNING *`, [id]),
    );
    if (!rows[0]) throw new NotFoundError(SINGULAR[this.kind], id);
    return this.present(rows[0]);
  }

  /** Schedules whose input (or whose workflow's config, when the input does not say) names this connection. */
  async schedulesUsing(id: number): Promise<Array<{ id: number; name: string; workflow_id: number }>> {
    const conn = await this.get(id);
    const keys = REFERENCE_KEYS[this.kind];
    const urlCond = keys.url
      ? `OR rtrim(s.input_data->>'${keys.url}', '/') = $2 OR (s.input_data->'${keys.url}' IS NULL AND rtrim(w.config->>'${keys.url}', '/') = $2)`
      : '';
    return this.dataSource.query(
      `SELECT s.id, s.name, s.workflow_id FROM workflow_schedules s JOIN workflows w ON w.id = s.workflow_id
       WHERE w.deleted_at IS NULL AND (
         s.input_data->>'${keys.id}' = $1::text OR (s.input_data->'${keys.id}' IS NULL AND w.config->>'${keys.id}' = $1::text) ${urlCond})
       ORDER BY s.id`,
      keys.url ? [String(id), conn.endpoint] : [String(id)],
    );
  }

  /** Deletes a connection nothing uses; 409 naming the schedules that use it, or when rows refer to it (disable it instead). */
  async delete(id: number): Promise<ConnectionView> {
    const conn = await this.get(id);
    const schedules = await this.schedulesUsing(id);
    if (schedules.length > 0) {
      throw new ConflictError(
        'CONNECTION_IN_USE',
        `${SINGULAR[this.kind].toLowerCase()} ${id} is used by schedule(s) ${schedules.map((s) => `${s.id} "${s.name}"`).join(', ')}: change or delete them first, or disable the ${SINGULAR[this.kind].toLowerCase()}`,
        { schedules },
      );
    }
    try {
      await this.dataSource.query(`DELETE FROM ${this.kind} WHERE id = $1`, [id]);
    } catch (err) {
      if (pgCode(err) === '23503' || pgCode(err) === '23001') {
        throw new ConflictError('CONNECTION_HAS_HISTORY', `${SINGULAR[this.kind].toLowerCase()} ${id} has history (products, listings or orders refer to it): disable it instead (POST .../${id}/disable/)`, {});
      }
      throw err;
    }
    return conn;
  }

  /**
   * One cheap authenticated read against the endpoint, through the adapter of
   * the connection's platform (its `probe()`). Reports whether it answered,
   * whether the credentials were accepted, and the first item as received and
   * as mapped by the field mapping. The secret's value is scrubbed from
   * everything reported.
   */
  async test(id: number): Promise<ConnectionTestResult> {
    const conn = await this.get(id);
    const result: ConnectionTestResult = { ok: false, reachable: false, authenticated: null, request: `GET ${conn.endpoint}`, status: null, sample: null, reason: null };
    const known: string[] = [];
    const cred = conn.credentials ?? {};
    let secret: string | null = null;
    if ((cred.type ?? 'none') !== 'none') {
      secret = cred.secret ? await this.secrets.resolve(cred.secret) : null;
      if (!secret) return { ...result, reason: `credentials.secret: no secret named ${cred.secret ?? '(unset)'} is stored` };
      // WooCommerce keeps "consumer_key:consumer_secret" in one secret: scrub each half too.
      known.push(secret, ...secret.split(':').filter((part) => part.length >= 8));
      if (cred.type === 'basic') known.push(Buffer.from(secret, 'utf8').toString('base64'));
    }
    const row: ConnectionRow = {
      id: conn.id,
      code: conn.code,
      platform: conn.platform as ConnectionPlatform,
      api_base_url: conn.endpoint,
      credentials: conn.credentials,
      settings: conn.settings,
      field_mapping: conn.field_mapping,
      rate_budget: conn.rate_budget,
    };
    const client: Pick<HttpClient, 'request'> = {
      request: (method, url, options = {}) => this.http.request(method, url, { ...options, timeoutMs: Math.min(options.timeoutMs ?? 10_000, 10_000), retry: { attempts: 1 } }),
    };
    try {
      const deps = { row, secret, client };
      const side = PROBE_SIDE[this.kind];
      const adapter = side === 'supplier' ? await supplierAdapter(deps) : side === 'marketplace' ? await marketplaceAdapter(deps) : await carrierAdapter(deps);
      const probe = await adapter.probe({});
      const mappingFailed = probe.raw !== undefined && probe.sample === undefined;
      const hasMapping = Object.keys(conn.field_mapping ?? {}).length > 0;
      Object.assign(result, {
        reachable: probe.reachable,
        authenticated: probe.reachable ? probe.authenticated : null,
        request: probe.request ?? (side === 'marketplace' ? `GET ${conn.endpoint}${MARKETPLACE_PROBE_PATHS[conn.platform] ?? ''}` : result.request),
        status: probe.status ?? null,
        reason: probe.reason ?? null,
        // Adapters that keep the remote item give it beside the mapped one; the others give the mapped sample only.
        sample:
          probe.raw !== undefined
            ? { item: probe.raw, mapped: hasMapping && !mappingFailed ? (probe.sample as Record<string, unknown>) : null }
            : probe.sample !== undefined
              ? { item: probe.sample, mapped: probe.sample as Record<string, unknown> }
              : null,
      });
      if (probe.reachable && !probe.authenticated && !(cred.secret && result.reason?.includes(cred.secret))) {
        result.reason = `the endpoint refused the credentials (HTTP ${probe.status ?? '?'})${cred.secret ? `: check secret ${cred.secret}` : ': it needs credentials'}${probe.reason ? ` (${probe.reason})` : ''}`;
      }
      const statusOk = probe.status === undefined || (probe.status >= 200 && probe.status < 300) || (probe.status === 404 && side === 'carrier');
      result.ok = probe.reachable && probe.authenticated && statusOk && !mappingFailed;
    } catch (err) {
      const code = errorCode(err);
      result.reason = `${code ? `${code}: ` : ''}${(err as Error).message}`;
    }
    return redact(result, known);
  }

  private conflict(err: unknown, v: ConnectionInput): unknown {
    const e = err as { constraint?: string; driverError?: { constraint?: string } };
    if (pgCode(err) === '23505' && /code/.test(e.constraint ?? e.driverError?.constraint ?? '')) {
      return new ValidationFailedError([{ field: 'code', message: `${v.code} is taken by another ${this.kind.slice(0, -1)}` } satisfies Problem]);
    }
    return err;
  }
}

/** The PostgreSQL error code of a failed query (TypeORM keeps the driver's error beside its own). */
function pgCode(err: unknown): string | undefined {
  const e = err as { code?: string; driverError?: { code?: string } };
  return e.driverError?.code ?? e.code;
}

function encode(v: unknown): unknown {
  return v !== null && typeof v === 'object' ? JSON.stringify(v) : v;
}
