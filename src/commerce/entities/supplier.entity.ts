import { Column, CreateDateColumn, Entity, UpdateDateColumn } from 'typeorm';
import { ApiEndpointRow } from './shared';

/** One invalid record of the last import, as kept on the supplier row. */
export interface ImportError {
  index: number;
  external_id: string | null;
  sku: string | null;
  errors: Array<{ field: string | null; rule: string; message: string }>;
}

/** A supplier whose API the product import and inventory sync read, with the statistics of its last import. */
@Entity('suppliers')
export class Supplier extends ApiEndpointRow {

  @Column({ type: 'integer', default: 0 })
  products_total: number;

  @Column({ type: 'timestamptz', nullable: true })
  last_import_at: Date | null;

  @Column({ type: 'varchar', length: 100, nullable: true })
  last_import_execution_id: string | null;

  @Column({ type: 'integer', default: 0 })
  last_import_imported: number;

  @Column({ type: 'integer', default: 0 })
  last_import_updated: number;

  @Column({ type: 'integer', default: 0 })
  last_import_unchanged: number;

  @Column({ type: 'integer', default: 0 })
  last_import_invalid: number;

  /** The first invalid records of the last import with their reasons. */
  @Column({ type: 'jsonb', default: [] })
  last_import_errors: ImportError[];

  @CreateDateColumn({ type: 'timestamptz' })
  created_at: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updated_at: Date;
}
