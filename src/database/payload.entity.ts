import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';

/** The claim-check store: step outputs too large for workflow history, gzip-compressed JSON. */
@Entity('payloads')
export class Payload {
  @PrimaryColumn({ type: 'uuid' })
  id: string;

  @Index()
  @Column({ type: 'varchar', length: 100 })
  execution_id: string;

  @Column({ type: 'varchar', length: 63 })
  step_key: string;

  @Column({ type: 'bigint' })
  size_bytes: string;

  @Column({ type: 'char', length: 64 })
  sha256: string;

  @Column({ type: 'bytea' })
  data: Buffer;

  @CreateDateColumn({ type: 'timestamptz' })
  created_at: Date;
}
