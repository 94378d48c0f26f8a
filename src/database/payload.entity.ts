import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';

/** The claim-check store: step outputs too large for workflow history, JSON text, compressed by PostgreSQL's TOAST. */
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

  /** Rows written before the text column: sha256 of the JSON. */
  @Column({ type: 'char', length: 64, nullable: true })
  sha256: string | null;

  /** Rows written before the text column: gzip-compressed JSON. */
  @Column({ type: 'bytea', nullable: true })
  data: Buffer | null;

  /** The JSON (compressed by PostgreSQL). */
  @Column({ type: 'text', nullable: true })
  body: string | null;

  @CreateDateColumn({ type: 'timestamptz' })
  created_at: Date;
}
