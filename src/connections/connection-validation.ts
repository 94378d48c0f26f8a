/**
 * Validation of a connection's fields, shared by create and update. Every
 * problem names its field; inline credentials anywhere are refused, pointing
 * at the secret store.
 */
import jsonata from 'jsonata';
import { CONNECTION_PLATFORMS, type ApiCredentials, type ConnectionPlatform, type RateBudget } from '@src/commerce/entities/shared';
import { PLATFORM_SIDES, platformSettingsProblems } from '@src/commerce/connectors/platforms/settings';
import { SECRET_NAME_PATTERN } from '@engine/activities/shared/secrets';

export const CONNECTION_KINDS = ['suppliers', 'marketplaces', 'carriers'] as const;
export type ConnectionKind = (typeof CONNECTION_KINDS)[number];

/** Platforms with an adapter (src/commerce/connectors/platforms), per kind of connection. */
export const AVAILABLE_PLATFORMS_BY_KIND: Record<ConnectionKind, readonly string[]> = {
  suppliers: platformsFor('suppliers'),
  marketplaces: platformsFor('marketplaces'),
  carriers: platformsFor('carriers'),
};

function platformsFor(kind: ConnectionKind): string[] {
  return Object.entries(PLATFORM_SIDES)
    .filter(([, sides]) => sides?.includes(kind))
    .map(([platform]) => platform);
}

export type Problem = { field: string; message: string };

/** Field names that hold a credential when they carry a value. */
const CREDENTIAL_NAME = /^(token|access_token|api_key|apikey|key|password|passwd|client_secret|secret_value|value|authorization|bearer|private_key|consumer_secret|consumer_key)$/i;

const INLINE_HINT = 'inline credentials are refused: store the value as a secret (POST /secrets/ or "merchflow secrets set NAME") and name it in credentials.secret';

export interface ConnectionInput {
  code?: string;
  name?: string;
  api_base_url?: string;
  platform?: string;
  credentials?: ApiCredentials;
  settings?: Record<string, unknown>;
  field_mapping?: Record<string, string>;
  rate_budget?: RateBudget;
  is_active?: boolean;
  markup_percent?: number;
  currency?: string;
  requirements?: Record<string, unknown>;
}

const COMMON_FIELDS = ['code', 'name', 'endpoint', 'api_base_url', 'platform', 'credentials', 'settings', 'field_mapping', 'rate_budget', 'is_active'];
const MARKETPLACE_FIELDS = ['markup_percent', 'currency', 'requirements'];

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Checks a create (`partial` false) or update body and returns what to store,
 * or the list of problems. `current` is the stored row of an update: the
 * platform's settings are checked against what the row will hold.
 */
export function validateConnectionBody(
  kind: ConnectionKind,
  body: unknown,
  partial: boolean,
  current?: { platform?: string; settings?: Record<string, unknown> | null },
): { value: ConnectionInput; problems: Problem[] } {
  const problems: Problem[] = [];
  const value: ConnectionInput = {};
  if (!isObject(body)) return { value, problems: [{ field: '', message: 'the body must be a JSON object' }] };
  const known = kind === 'marketplaces' ? [...COMMON_FIELDS, ...MARKETPLACE_FIELDS] : COMMON_FIELDS;
  for (const k of Object.keys(body)) {
    if (known.includes(k)) continue;
    problems.push({ field: k, message: CREDENTIAL_NAME.test(k) ? INLINE_HINT : 'is not a known field' });
  }
  const has = (k: string) => body[k] !== undefined;
  const required = (k: string) => {
    if (!partial && !has(k)) problems.push({ field: k, message: 'is required' });
  };

  required('code');
  if (has('code')) {
    if (typeof body.code !== 'string' || !/^[a-z0-9][a-z0-9_-]{0,49}$/.test(body.code)) problems.push({ field: 'code', message: 'must be 1-50 lower-case letters, digits, "_" or "-"' });
    else value.code = body.code;
  }
  required('name');
  if (has('name')) {
    if (typeof body.name !== 'string' || !body.name.trim() || body.name.length > 200) problems.push({ field: 'name', message: 'must be a non-empty string of at most 200 characters' });
    else value.name = body.name.trim();
  }
  // `endpoint` is the API's name for the column api_base_url; either is accepted.
  const endpointField = has('endpoint') ? 'endpoint' : 'api_base_url';
  if (has('endpoint') && has('api_base_url')) problems.push({ field: 'api_base_url', message: 'give endpoint or api_base_url, not both' });
  if (!partial && !has('endpoint') && !has('api_base_url')) problems.push({ field: 'endpoint', message: 'is required' });
  if (has(endpointField)) {
    const url = body[endpointField];
    let parsed: URL | null = null;
    try {
      parsed = typeof url === 'string' ? new URL(url) : null;
    } catch {
      parsed = null;
    }
    if (!parsed || !['http:', 'https:'].includes(parsed.protocol)) problems.push({ field: endpointField, message: 'must be an http(s) URL' });
    else if (parsed.username || parsed.password) problems.push({ field: endpointField, message: `must not carry a user or password: ${INLINE_HINT}` });
    else if ([...parsed.searchParams.keys()].some((k) => CREDENTIAL_NAME.test(k))) problems.push({ field: endpointField, message: `must not carry a credential in its query: ${INLINE_HINT}` });
    else value.api_base_url = (url as string).replace(/\/+$/, '');
  }
  if (has('platform')) {
    if (!CONNECTION_PLATFORMS.includes(body.platform as never)) problems.push({ field: 'platform', message: `must be one of ${CONNECTION_PLATFORMS.join(', ')}` });
    else if (!AVAILABLE_PLATFORMS_BY_KIND[kind].includes(body.platform as string)) {
      problems.push({ field: 'platform', message: `${String(body.platform)} has no ${kind.slice(0, -1)} adapter yet; available for ${kind} today: ${AVAILABLE_PLATFORMS_BY_KIND[kind].join(', ')}` });
    }
    else value.platform = body.platform as string;
  }
  if (has('credentials')) {
    const c = body.credentials;
    if (!isObject(c)) problems.push({ field: 'credentials', message: 'must be an object like {"type": "bearer", "secret": "SECRET_NAME"}' });
    else {
      for (const k of Object.keys(c)) if (!['type', 'secret', 'header'].includes(k)) problems.push({ field: `credentials.${k}`, message: INLINE_HINT });
      const type = c.type ?? 'none';
      if (!['none', 'bearer', 'api_key', 'basic'].includes(type as string)) problems.push({ field: 'credentials.type', message: 'must be none, bearer, api_key or basic (the secret holds "username:password")' });
      if (c.secret !== undefined && (typeof c.secret !== 'string' || !SECRET_NAME_PATTERN.test(c.secret))) {
        problems.push({ field: 'credentials.secret', message: 'must be the NAME of a secret (a letter, then letters, digits, "_", "." or "-"), never its value' });
      }
      if (type !== 'none' && c.secret === undefined) problems.push({ field: 'credentials.secret', message: `is required for credentials of type ${String(type)}` });
      if (c.header !== undefined && (typeof c.header !== 'string' || !/^[A-Za-z0-9-]{1,100}$/.test(c.header))) problems.push({ field: 'credentials.header', message: 'must be an HTTP header name' });
      value.credentials = { type: type as ApiCredentials['type'], ...(c.secret !== undefined ? { secret: c.secret as string } : {}), ...(c.header !== undefined ? { header: c.header as string } : {}) };
    }
  }
  if (has('settings')) {
    if (!isObject(body.settings)) problems.push({ field: 'settings', message: 'must be an object' });
    else {
      for (const k of Object.keys(body.settings)) if (CREDENTIAL_NAME.test(k) || /secret|token|password/i.test(k)) problems.push({ field: `settings.${k}`, message: INLINE_HINT });
      const query = body.settings.query;
      if (isObject(query)) for (const k of Object.keys(query)) if (CREDENTIAL_NAME.test(k) || /secret|token|password/i.test(k)) problems.push({ field: `settings.query.${k}`, message: INLINE_HINT });
      // A path's own query (a feed's "/catalogue.csv?key=...") must not carry a credential either.
      for (const k of ['products_path', 'inventory_path']) {
        const path = body.settings[k];
        if (typeof path !== 'string' || !path.includes('?')) continue;
        const keys = [...new URLSearchParams(path.slice(path.indexOf('?') + 1)).keys()];
        if (keys.some((q) => CREDENTIAL_NAME.test(q) || /secret|token|password/i.test(q))) problems.push({ field: `settings.${k}`, message: `must not carry a credential in its query: ${INLINE_HINT}` });
      }
      value.settings = body.settings;
    }
  }
  if (has('field_mapping')) {
    const m = body.field_mapping;
    if (!isObject(m)) problems.push({ field: 'field_mapping', message: 'must be an object of target field → JSONata expression, like {"sku": "product_code", "title": "$trim(name)"}' });
    else {
      for (const [target, expr] of Object.entries(m)) {
        if (!/^[a-z_][a-z0-9_]{0,63}$/.test(target)) problems.push({ field: `field_mapping.${target}`, message: 'target field names are lower-case letters, digits and "_"' });
        else if (typeof expr !== 'string' || !expr.trim()) problems.push({ field: `field_mapping.${target}`, message: 'must be a JSONata expression (a string)' });
        else if (expr.length > 2000) problems.push({ field: `field_mapping.${target}`, message: 'must be at most 2000 characters' });
        else {
          try {
            jsonata(expr);
          } catch (err) {
            problems.push({ field: `field_mapping.${target}`, message: `is not valid JSONata: ${(err as { message?: string }).message ?? String(err)}` });
          }
        }
      }
      value.field_mapping = m as Record<string, string>;
    }
  }
  if (has('rate_budget')) {
    const r = body.rate_budget;
    if (!isObject(r)) problems.push({ field: 'rate_budget', message: 'must be an object like {"requests_per_second": 10, "burst": 20, "max_concurrent": 4}' });
    else {
      const budget: RateBudget = {};
      for (const k of Object.keys(r)) if (!['requests_per_second', 'burst', 'max_concurrent'].includes(k)) problems.push({ field: `rate_budget.${k}`, message: 'is not a known field (requests_per_second, burst, max_concurrent)' });
      if (r.requests_per_second !== undefined) {
        if (typeof r.requests_per_second !== 'number' || !(r.requests_per_second > 0) || r.requests_per_second > 10_000) problems.push({ field: 'rate_budget.requests_per_second', message: 'must be a number above 0 and at most 10000' });
        else budget.requests_per_second = r.requests_per_second;
      }
      for (const k of ['burst', 'max_concurrent'] as const) {
        if (r[k] === undefined) continue;
        if (!Number.isInteger(r[k]) || (r[k] as number) < 1 || (r[k] as number) > 10_000) problems.push({ field: `rate_budget.${k}`, message: 'must be an integer from 1 to 10000' });
        else budget[k] = r[k] as number;
      }
      value.rate_budget = budget;
    }
  }
  if ((has('platform') || has('settings') || !partial) && !problems.some((p) => p.field === 'platform' || p.field === 'settings')) {
    const platform = (value.platform ?? current?.platform ?? 'sandbox') as ConnectionPlatform;
    const settings = value.settings ?? current?.settings ?? {};
    problems.push(...platformSettingsProblems(platform, kind, settings));
  }
  if (has('is_active')) {
    if (typeof body.is_active !== 'boolean') problems.push({ field: 'is_active', message: 'must be true or false' });
    else value.is_active = body.is_active;
  }
  if (kind === 'marketplaces') {
    if (has('markup_percent')) {
      if (typeof body.markup_percent !== 'number' || body.markup_percent < 0 || body.markup_percent > 10_000) problems.push({ field: 'markup_percent', message: 'must be a number from 0 to 10000' });
      else value.markup_percent = body.markup_percent;
    }
    if (has('currency')) {
      if (typeof body.currency !== 'string' || !/^[A-Z]{3}$/.test(body.currency)) problems.push({ field: 'currency', message: 'must be a three-letter ISO code like USD' });
      else value.currency = body.currency;
    }
    if (has('requirements')) {
      if (!isObject(body.requirements)) problems.push({ field: 'requirements', message: 'must be an object' });
      else value.requirements = body.requirements;
    }
  }
  return { value, problems };
}
