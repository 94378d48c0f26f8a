/**
 * A connection row (supplier, marketplace or carrier) as the platform adapters
 * take it, loaded for one step, with its secret resolved through the step
 * context (so the runner scrubs the value from anything the step reports).
 */
import type { DataSource } from 'typeorm';
import type { HttpClient } from '@engine/activities/shared/http';
import type { StepExecutionContext } from '@engine/activities/runtime/executor';
import { StepError } from '@engine/activities/shared/errors';
import { ErrorCodes } from '@engine/shared/contracts';
import type { AdapterDeps, ConnectionRow } from '@src/commerce/connectors/platforms/types';

export type ConnectionKindSingular = 'supplier' | 'marketplace' | 'carrier';

const TABLES: Record<ConnectionKindSingular, string> = { supplier: 'suppliers', marketplace: 'marketplaces', carrier: 'carriers' };

/** The row of a connection; a missing or inactive one fails the step for good, naming `<kind>_id`. */
export async function loadConnectionRow(dataSource: DataSource, kind: ConnectionKindSingular, id: number): Promise<ConnectionRow> {
  const rows: Array<ConnectionRow & { is_active: boolean }> = await dataSource.query(
    `SELECT id, code, platform, api_base_url, credentials, settings, field_mapping, rate_budget, is_active FROM ${TABLES[kind]} WHERE id = $1`,
    [id],
  );
  const row = rows[0];
  if (!row) throw new StepError(ErrorCodes.SOURCE_NOT_FOUND, `${kind} ${id} does not exist`, { details: { field: `${kind}_id`, id } });
  if (!row.is_active) throw new StepError(ErrorCodes.SOURCE_INACTIVE, `${kind} ${row.code} (${id}) is inactive`, { details: { field: `${kind}_id`, id } });
  const { is_active: _active, ...connection } = row;
  return connection;
}

/** What an adapter is built from: the row, its secret resolved through the step, and the client. */
export async function adapterDepsFor(row: ConnectionRow, ctx: Pick<StepExecutionContext, 'resolveSecrets'>, client: Pick<HttpClient, 'request'>): Promise<AdapterDeps> {
  const credentials = row.credentials ?? {};
  let secret: string | null = null;
  if ((credentials.type ?? 'none') !== 'none') {
    if (!credentials.secret) throw new StepError(ErrorCodes.SECRET_NOT_FOUND, `credentials of ${row.code} name no secret`, { details: { field: 'credentials.secret' } });
    secret = (await ctx.resolveSecrets({ secret: credentials.secret })) as string;
  }
  return { row, secret, client };
}
