import type { HttpClient } from '@engine/activities/shared/http';
import { ConnectorHttp, type CallOptions, type ConnectorOptions, type WriteOptions } from './connector-http';

export interface LabelRequest {
  order_id: string;
  ship_to: { name: string; line1: string; city: string; region?: string; postal_code: string; country: string };
  service?: 'ground' | 'express';
  weight_kg?: number;
}

export interface ShippingLabel {
  id: string;
  order_id: string;
  tracking_number: string;
  carrier: string;
  service: string;
  status: 'created' | 'voided';
  label_url: string;
  rate: { amount: number; currency: string };
  [field: string]: unknown;
}

/**
 * A carrier API: buying shipping labels (idempotent per key) and voiding them,
 * the compensation of buying one. A permanent refusal (4xx) throws a
 * non-retryable `HTTP_CLIENT_ERROR`.
 */
export class CarrierConnector {
  readonly http: ConnectorHttp;

  constructor(client: Pick<HttpClient, 'request'>, options: ConnectorOptions) {
    this.http = new ConnectorHttp(client, options);
  }

  async createLabel(input: LabelRequest, opts: WriteOptions & { idempotencyKey: string }): Promise<ShippingLabel> {
    const res = await this.http.request<ShippingLabel>('POST', this.http.url('/labels'), {
      body: input as unknown as Record<string, unknown>,
      idempotencyKey: opts.idempotencyKey,
      signal: opts.signal,
    });
    return res.body;
  }

  async getLabel(id: string, opts: CallOptions = {}): Promise<ShippingLabel> {
    return (await this.http.request<ShippingLabel>('GET', this.http.url('/labels/{id}', { id }), { signal: opts.signal })).body;
  }

  /** Voids a label; voiding twice is a no-op. */
  async voidLabel(id: string, opts: WriteOptions = {}): Promise<ShippingLabel> {
    return (await this.http.request<ShippingLabel>('POST', this.http.url('/labels/{id}/void', { id }), { idempotencyKey: opts.idempotencyKey, signal: opts.signal })).body;
  }
}
