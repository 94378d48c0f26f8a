import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import { numeric, type ApiCredentials, type ConnectorSettings } from './shared';

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
export class Marketplace {
  @PrimaryGeneratedColumn()
  id: number;

  @Column({ type: 'varchar', length: 50, unique: true })
  code: string;

  @Column({ type: 'varchar', length: 200 })
  name: string;

  /** e.g. `http://127.0.0.1:4010/marketplace/v1` */
  @Column({ type: 'text' })
  api_base_url: string;

  @Column({ type: 'jsonb', default: {} })
  credentials: ApiCredentials;

  @Column({ type: 'jsonb', default: {} })
  settings: ConnectorSettings;

  @Column({ type: 'boolean', default: true })
  is_active: boolean;

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
