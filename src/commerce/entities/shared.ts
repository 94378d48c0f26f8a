/** numeric columns come back from pg as strings; the commerce model keeps them as numbers. */
export const numeric = {
  to: (v: number | null | undefined) => v,
  from: (v: string | null) => (v === null || v === undefined ? null : Number(v)),
};

/**
 * How a supplier or marketplace API authenticates: by the NAME of a secret
 * (secrets table or environment), never its value. The migration's check
 * constraint refuses any other key in this column.
 *
 * @example { "type": "bearer", "secret": "ACME_API_TOKEN" }
 * @example { "type": "api_key", "secret": "ACME_KEY", "header": "X-Api-Key" }
 */
export interface ApiCredentials {
  type?: 'none' | 'bearer' | 'api_key';
  secret?: string;
  header?: string;
}

/** Connector settings of a supplier or marketplace row (all optional). */
export interface ConnectorSettings {
  /** Items per page (default 500, at most 1000 on the sandbox). */
  page_size?: number;
  /** Most items one fetch returns (default 1,000,000). */
  max_items?: number;
  /** Per request, seconds (default 30). */
  timeout_seconds?: number;
  /** HTTP attempts per request, including the first (default 5). */
  retry_attempts?: number;
  /** Client-side request rate limit (default: none; 429/Retry-After is always honoured). */
  requests_per_second?: number;
  [extra: string]: unknown;
}
