/**
 * The typed HTTP client of the Merchflow API: `openapi-fetch` over the types
 * generated from the API's own OpenAPI document (openapi.generated.ts), so a
 * changed route, body or response breaks this client at compile time. Used by
 * the CLI's remote mode (src/cli/api-client.ts).
 *
 * @example
 * const api = createApiClient({ baseUrl: 'http://127.0.0.1:3000/orchestration/api', apiKey: 'mf_...' });
 * const run = unwrap(await api.POST('/workflows/{id}/execute', { params: { path: { id: 3 } }, body: { input_data: {} } }));
 */
import createClient, { type Client } from 'openapi-fetch';
import type { components, paths } from '@src/api-client/openapi.generated';

export type ApiClient = Client<paths>;
export type Schemas = components['schemas'];
export type ErrorBody = Schemas['Error'];

/** An error answer of the API, with its status and `{code, message, details}`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface ApiClientOptions {
  /** The API's base URL, with its base path (`http://127.0.0.1:3000/orchestration/api`). */
  baseUrl: string;
  apiKey?: string;
  /** For tests: another fetch. */
  fetch?: typeof fetch;
}

export function createApiClient(opts: ApiClientOptions): ApiClient {
  return createClient<paths>({
    baseUrl: opts.baseUrl.replace(/\/+$/, ''),
    headers: opts.apiKey ? { Authorization: `Bearer ${opts.apiKey}` } : {},
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
  });
}

/** The body of a success answer, or an {@link ApiError} built from the error body. */
export function unwrap<T>(res: { data?: T; error?: unknown; response: Response }): T {
  if (res.response.ok) return res.data as T;
  const body = res.error as Partial<ErrorBody> | string | undefined;
  if (body && typeof body === 'object' && typeof body.code === 'string') {
    throw new ApiError(res.response.status, body.code, body.message ?? body.code, (body.details as Record<string, unknown>) ?? {});
  }
  throw new ApiError(res.response.status, 'HTTP_' + res.response.status, `the API answered ${res.response.status} ${res.response.statusText}`);
}
