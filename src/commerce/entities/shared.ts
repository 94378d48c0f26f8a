import { Column, PrimaryGeneratedColumn } from 'typeorm';

export { numericTransformer as numeric } from '@src/database/column-transformers';

/**
 * How a supplier or marketplace API authenticates: by the NAME of a secret
 * (secrets table or environment), never its value. The migration's check
 * constraint refuses any other key in this column.
 *
 * @example { "type": "bearer", "secret": "ACME_API_TOKEN" }
 * @example { "type": "api_key", "secret": "ACME_KEY", "header": "X-Api-Key" }
 */
export interface ApiCredentials {
  /** `basic`: the secret holds `username:password`. */
  type?: 'none' | 'bearer' | 'api_key' | 'basic';
  secret?: string;
  header?: string;
}

/** API shapes a connection may speak. Only `sandbox` has a connector today; the others are reserved. */
export const CONNECTION_PLATFORMS = ['sandbox', 'generic_rest', 'feed', 'shopify', 'woocommerce'] as const;
export type ConnectionPlatform = (typeof CONNECTION_PLATFORMS)[number];

/** A connection's request budget. */
export interface RateBudget {
  requests_per_second?: number;
  burst?: number;
  max_concurrent?: number;
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

/** The columns suppliers and marketplaces share: identity, API endpoint, credentials by secret name, connector settings. */
export abstract class ApiEndpointRow {
  @PrimaryGeneratedColumn()
  id: number;

  @Column({ type: 'varchar', length: 50, unique: true })
  code: string;

  @Column({ type: 'varchar', length: 200 })
  name: string;

  /** e.g. `http://127.0.0.1:4010/supplier/v1` */
  @Column({ type: 'text' })
  api_base_url: string;

  /** Secret by name only. */
  @Column({ type: 'jsonb', default: {} })
  credentials: ApiCredentials;

  @Column({ type: 'jsonb', default: {} })
  settings: ConnectorSettings;

  /** Which API shape the endpoint speaks (see CONNECTION_PLATFORMS). */
  @Column({ type: 'varchar', length: 30, default: 'sandbox' })
  platform: ConnectionPlatform;

  /** Target field → JSONata expression over one remote item. */
  @Column({ type: 'jsonb', default: {} })
  field_mapping: Record<string, string>;

  /** Held across every run and worker process: src/commerce/connectors/rate-budget.ts. */
  @Column({ type: 'jsonb', default: {} })
  rate_budget: RateBudget;

  @Column({ type: 'boolean', default: true })
  is_active: boolean;

  /** When it was last disabled (null while active). Disabling keeps every row that refers to it. */
  @Column({ type: 'timestamptz', nullable: true })
  disabled_at: Date | null;
}
