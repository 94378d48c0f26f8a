import { CreateDateColumn, Entity, UpdateDateColumn } from 'typeorm';
import { ApiEndpointRow } from './shared';

/** A carrier API shipping labels are bought from. */
@Entity('carriers')
export class Carrier extends ApiEndpointRow {
  @CreateDateColumn({ type: 'timestamptz' })
  created_at: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updated_at: Date;
}
