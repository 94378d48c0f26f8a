import { Column, CreateDateColumn, Entity, JoinColumn, ManyToOne, PrimaryGeneratedColumn, Unique, UpdateDateColumn } from 'typeorm';
import { Marketplace } from './marketplace.entity';
import { Product } from './product.entity';
import { numeric } from './shared';

export const LISTING_STATUSES = ['pending', 'active', 'inactive', 'failed'] as const;
export type ListingStatus = (typeof LISTING_STATUSES)[number];

/** A product listed on a marketplace: one per product and marketplace (and per SKU and marketplace). */
@Entity('listings')
@Unique('UQ_listings_product_marketplace', ['product_id', 'marketplace_id'])
export class Listing {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ type: 'bigint' })
  product_id: string;

  @ManyToOne(() => Product, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'product_id' })
  product?: Product;

  @Column({ type: 'integer' })
  marketplace_id: number;

  @ManyToOne(() => Marketplace, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'marketplace_id' })
  marketplace?: Marketplace;

  /** The marketplace's id of the listing (`lst_000001`). */
  @Column({ type: 'varchar', length: 100, nullable: true })
  external_id: string | null;

  @Column({ type: 'varchar', length: 100 })
  sku: string;

  @Column({ type: 'varchar', length: 500 })
  title: string;

  @Column({ type: 'numeric', precision: 12, scale: 2, transformer: numeric })
  price: number;

  @Column({ type: 'char', length: 3 })
  currency: string;

  /** The quantity last pushed to the marketplace. */
  @Column({ type: 'integer', default: 0 })
  quantity: number;

  @Column({ type: 'varchar', length: 20, default: 'active' })
  status: ListingStatus;

  @Column({ type: 'timestamptz', nullable: true })
  last_synced_at: Date | null;

  @Column({ type: 'varchar', length: 100, nullable: true })
  execution_id: string | null;

  @Column({ type: 'varchar', length: 63, nullable: true })
  step_key: string | null;

  @CreateDateColumn({ type: 'timestamptz' })
  created_at: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updated_at: Date;
}
