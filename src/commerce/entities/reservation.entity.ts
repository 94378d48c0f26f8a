import { Column, CreateDateColumn, Entity, JoinColumn, ManyToOne, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import { Inventory } from './inventory.entity';

export const RESERVATION_STATUSES = ['active', 'released', 'consumed'] as const;
export type ReservationStatus = (typeof RESERVATION_STATUSES)[number];

/**
 * Stock held for one order line. Made before the order row exists (the order
 * processing workflow reserves first), so it names the order by marketplace
 * and external id and is linked to the rows once they are recorded. The
 * idempotency key (`<marketplace>:<order>:<line>`) makes reserving twice a no-op.
 */
@Entity('reservations')
export class Reservation {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ type: 'integer' })
  marketplace_id: number;

  @Column({ type: 'varchar', length: 100 })
  order_external_id: string;

  @Column({ type: 'varchar', length: 100 })
  line_external_id: string;

  @Column({ type: 'bigint', nullable: true })
  order_id: string | null;

  @Column({ type: 'bigint', nullable: true })
  order_line_id: string | null;

  @Column({ type: 'bigint' })
  inventory_id: string;

  @ManyToOne(() => Inventory, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'inventory_id' })
  inventory?: Inventory;

  @Column({ type: 'varchar', length: 100 })
  sku: string;

  @Column({ type: 'integer' })
  quantity: number;

  @Column({ type: 'varchar', length: 20, default: 'active' })
  status: ReservationStatus;

  @Column({ type: 'varchar', length: 255, unique: true })
  idempotency_key: string;

  @Column({ type: 'varchar', length: 100, nullable: true })
  execution_id: string | null;

  @Column({ type: 'timestamptz', nullable: true })
  released_at: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  consumed_at: Date | null;

  @CreateDateColumn({ type: 'timestamptz' })
  created_at: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updated_at: Date;
}
