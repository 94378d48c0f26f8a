import { Column, CreateDateColumn, Entity, JoinColumn, OneToOne, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import { Order } from './order.entity';

export const SHIPMENT_STATUSES = ['label_created', 'shipped', 'voided'] as const;
export type ShipmentStatus = (typeof SHIPMENT_STATUSES)[number];

/** The shipment of an order: one per order (unique order_id), so an order is never shipped twice. */
@Entity('shipments')
export class Shipment {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ type: 'bigint', unique: true })
  order_id: string;

  @OneToOne(() => Order, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'order_id' })
  order?: Order;

  @Column({ type: 'varchar', length: 100 })
  carrier: string;

  @Column({ type: 'varchar', length: 50, nullable: true })
  service: string | null;

  @Column({ type: 'varchar', length: 100 })
  tracking_number: string;

  @Column({ type: 'varchar', length: 100, nullable: true })
  label_id: string | null;

  @Column({ type: 'text', nullable: true })
  label_url: string | null;

  @Column({ type: 'varchar', length: 20, default: 'label_created' })
  status: ShipmentStatus;

  @Column({ type: 'timestamptz', nullable: true })
  shipped_at: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  voided_at: Date | null;

  @Column({ type: 'varchar', length: 100, nullable: true })
  execution_id: string | null;

  @CreateDateColumn({ type: 'timestamptz' })
  created_at: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updated_at: Date;
}
