import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn, Unique, UpdateDateColumn } from 'typeorm';
import { SourceData } from '@src/commerce/source-data.entity';
import { Supplier } from './supplier.entity';
import { numeric } from './shared';

export const PRODUCT_STATUSES = ['imported', 'ready_for_listing', 'listed', 'inactive'] as const;
export type ProductStatus = (typeof PRODUCT_STATUSES)[number];

/**
 * A supplier product in normalised form. `(supplier_id, external_id)` is its
 * identity; `content_hash` covers the supplier-derived fields, so an import of
 * unchanged data rewrites nothing. AI additions live in `enrichment`.
 */
@Entity('products')
@Unique('UQ_products_supplier_external', ['supplier_id', 'external_id'])
@Index('IDX_products_supplier_sku', ['supplier_id', 'sku'])
export class Product {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ type: 'integer' })
  supplier_id: number;

  @ManyToOne(() => Supplier, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'supplier_id' })
  supplier?: Supplier;

  @Column({ type: 'varchar', length: 200 })
  external_id: string;

  @Column({ type: 'varchar', length: 100 })
  sku: string;

  @Column({ type: 'varchar', length: 500 })
  title: string;

  @Column({ type: 'text', nullable: true })
  description: string | null;

  @Column({ type: 'varchar', length: 200, nullable: true })
  brand: string | null;

  @Column({ type: 'varchar', length: 200, nullable: true })
  category: string | null;

  @Column({ type: 'numeric', precision: 12, scale: 2, nullable: true, transformer: numeric })
  cost_price: number | null;

  @Column({ type: 'char', length: 3, default: 'USD' })
  currency: string;

  @Column({ type: 'numeric', precision: 10, scale: 3, nullable: true, transformer: numeric })
  weight_kg: number | null;

  @Column({ type: 'jsonb', default: [] })
  images: string[];

  @Column({ type: 'jsonb', default: {} })
  attributes: Record<string, unknown>;

  @Column({ type: 'varchar', length: 20, default: 'imported' })
  status: ProductStatus;

  @Column({ type: 'char', length: 64 })
  content_hash: string;

  @Column({ type: 'bigint', nullable: true })
  source_data_id: string | null;

  @ManyToOne(() => SourceData, { onDelete: 'SET NULL' })
  @JoinColumn({ name: 'source_data_id' })
  source_data?: SourceData | null;

  /** What AI enrichment added: description, bullet points, keywords, attributes, model and confidence. */
  @Column({ type: 'jsonb', nullable: true })
  enrichment: Record<string, unknown> | null;

  /** The run and step that last wrote the row. */
  @Column({ type: 'varchar', length: 100, nullable: true })
  execution_id: string | null;

  @Column({ type: 'varchar', length: 63, nullable: true })
  step_key: string | null;

  @CreateDateColumn({ type: 'timestamptz' })
  created_at: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updated_at: Date;
}
