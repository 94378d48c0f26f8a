import { Column, CreateDateColumn, Entity, UpdateDateColumn } from 'typeorm';
import { ApiEndpointRow, numeric } from './shared';

/**
 * What a marketplace demands of a listing. Listing creation validates against
 * these (with the defaults of {@link DEFAULT_REQUIREMENTS} for what is unset).
 */
export interface MarketplaceRequirements {
  /** Product fields that must be present and non-empty. */
  required_fields?: string[];
  title_max_length?: number;
  /** Lowest listing price; a lower computed price is raised to it. */
  min_price?: number;
  min_images?: number;
}

export const DEFAULT_REQUIREMENTS: Required<MarketplaceRequirements> = {
  required_fields: ['sku', 'title', 'cost_price'],
  title_max_length: 200,
  min_price: 0.01,
  min_images: 0,
};

/** A marketplace listings are created on, orders come from, and inventory is pushed to. */
@Entity('marketplaces')
export class Marketplace extends ApiEndpointRow {

  /** Listing price = cost price × (1 + markup_percent / 100). */
  @Column({ type: 'numeric', precision: 7, scale: 2, default: 0, transformer: numeric })
  markup_percent: number;

  @Column({ type: 'char', length: 3, default: 'USD' })
  currency: string;

  @Column({ type: 'jsonb', default: {} })
  requirements: MarketplaceRequirements;

  @Column({ type: 'integer', default: 0 })
  listings_total: number;

  @Column({ type: 'integer', default: 0 })
  orders_total: number;

  @CreateDateColumn({ type: 'timestamptz' })
  created_at: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updated_at: Date;
}
