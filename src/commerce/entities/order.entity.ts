import { Column, CreateDateColumn, Entity, JoinColumn, ManyToOne, OneToMany, PrimaryGeneratedColumn, Unique, UpdateDateColumn } from 'typeorm';
import { Marketplace } from './marketplace.entity';
import { numeric } from './shared';

/** received → validated → reserved → acknowledged → label_created → shipped, or failed / cancelled. */
export const ORDER_STATUSES = ['received', 'validated', 'reserved', 'acknowledged', 'label_created', 'shipped', 'failed', 'cancelled'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

/** A marketplace order, recorded once per marketplace and external id. */
@Entity('orders')
@Unique('UQ_orders_marketplace_external', ['marketplace_id', 'external_id'])
export class Order {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ type: 'integer' })
  marketplace_id: number;

  @ManyToOne(() => Marketplace, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'marketplace_id' })
  marketplace?: Marketplace;

  /** The marketplace's order id (`ord_000001`). */
  @Column({ type: 'varchar', length: 100 })
  external_id: string;

  @Column({ type: 'varchar', length: 20, default: 'received' })
  status: OrderStatus;

  @Column({ type: 'char', length: 3, default: 'USD' })
  currency: string;

  @Column({ type: 'jsonb', default: {} })
  buyer: { name?: string; email?: string };

  @Column({ type: 'jsonb', default: {} })
  shipping_address: Record<string, string>;

  @Column({ type: 'numeric', precision: 12, scale: 2, default: 0, transformer: numeric })
  subtotal: number;

  @Column({ type: 'numeric', precision: 12, scale: 2, default: 0, transformer: numeric })
  shipping_cost: number;

  @Column({ type: 'numeric', precision: 12, scale: 2, default: 0, transformer: numeric })
  total: number;

  @Column({ type: 'numeric', precision: 10, scale: 3, nullable: true, transformer: numeric })
  weight_kg: number | null;

  /** 0 (safe) to 1, when fraud detection ran. */
  @Column({ type: 'numeric', precision: 4, scale: 3, nullable: true, transformer: numeric })
  fraud_score: number | null;

  @Column({ type: 'jsonb', nullable: true })
  fraud_check: Record<string, unknown> | null;

  /** Why the order failed. */
  @Column({ type: 'text', nullable: true })
  error: string | null;

  @Column({ type: 'timestamptz', nullable: true })
  placed_at: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  acknowledged_at: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  shipped_at: Date | null;

  @Column({ type: 'varchar', length: 100, nullable: true })
  execution_id: string | null;

  @Column({ type: 'varchar', length: 63, nullable: true })
  step_key: string | null;

  @OneToMany(() => OrderLine, (l) => l.order)
  lines?: OrderLine[];

  @CreateDateColumn({ type: 'timestamptz' })
  created_at: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updated_at: Date;
}

/** One line of an order. */
@Entity('order_lines')
@Unique('UQ_order_lines_order_line', ['order_id', 'line_external_id'])
export class OrderLine {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ type: 'bigint' })
  order_id: string;

  @ManyToOne(() => Order, (o) => o.lines, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'order_id' })
  order?: Order;

  @Column({ type: 'varchar', length: 100 })
  line_external_id: string;

  @Column({ type: 'varchar', length: 100 })
  sku: string;

  @Column({ type: 'bigint', nullable: true })
  listing_id: string | null;

  @Column({ type: 'bigint', nullable: true })
  product_id: string | null;

  @Column({ type: 'varchar', length: 500, nullable: true })
  title: string | null;

  @Column({ type: 'integer' })
  quantity: number;

  @Column({ type: 'numeric', precision: 12, scale: 2, default: 0, transformer: numeric })
  unit_price: number;

  @CreateDateColumn({ type: 'timestamptz' })
  created_at: Date;
}
