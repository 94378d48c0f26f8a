import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

/** A raw record fetched from a supplier or marketplace, with lineage to the run and step that wrote it. */
@Entity('source_data')
export class SourceData {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  /** e.g. supplier_product, supplier_inventory, marketplace_order. */
  @Column({ type: 'varchar', length: 50 })
  source_type: string;

  @Column({ type: 'varchar', length: 100, nullable: true })
  source_name: string | null;

  @Column({ type: 'varchar', length: 200, nullable: true })
  external_id: string | null;

  @Column({ type: 'integer', nullable: true })
  supplier_id: number | null;

  @Column({ type: 'integer', nullable: true })
  marketplace_id: number | null;

  @Column({ type: 'jsonb' })
  raw_data: unknown;

  /** sha256 of raw_data: an unchanged record is not rewritten. */
  @Column({ type: 'char', length: 64 })
  content_hash: string;

  @Column({ type: 'varchar', length: 20, default: 'new' })
  status: string;

  @Column({ type: 'varchar', length: 100, nullable: true })
  execution_id: string | null;

  @Column({ type: 'varchar', length: 63, nullable: true })
  step_key: string | null;

  @CreateDateColumn({ type: 'timestamptz' })
  created_at: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updated_at: Date;
}
