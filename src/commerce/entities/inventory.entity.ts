import { Column, CreateDateColumn, Entity, JoinColumn, ManyToOne, PrimaryGeneratedColumn, Unique, UpdateDateColumn } from 'typeorm';
import { Supplier } from './supplier.entity';

/**
 * Stock of one SKU at one supplier. `reserved` is held for orders (changed
 * only by the reservation operations, under row locks); `available` is a
 * generated column, `quantity - reserved`.
 */
@Entity('inventory')
@Unique('UQ_inventory_supplier_sku', ['supplier_id', 'sku'])
export class Inventory {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ type: 'integer' })
  supplier_id: number;

  @ManyToOne(() => Supplier, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'supplier_id' })
  supplier?: Supplier;

  @Column({ type: 'varchar', length: 100 })
  sku: string;

  @Column({ type: 'integer', default: 0 })
  quantity: number;

  @Column({ type: 'integer', default: 0 })
  reserved: number;

  /**
   * `GENERATED ALWAYS AS (quantity - reserved) STORED` in the migration. Mapped
   * as a plain read-only column: declaring the expression here would make
   * TypeORM keep a `typeorm_metadata` table of its own, and the schema is the
   * migrations' business.
   */
  @Column({ type: 'integer', insert: false, update: false })
  available: number;

  @Column({ type: 'integer', default: 10 })
  low_stock_threshold: number;

  @Column({ type: 'timestamptz', nullable: true })
  last_synced_at: Date | null;

  @CreateDateColumn({ type: 'timestamptz' })
  created_at: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updated_at: Date;
}
