import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];
export const KEY_SOURCES = ['api', 'cli', 'env'] as const;
export type KeySource = (typeof KEY_SOURCES)[number];

/** An API key. Only its sha256 is stored; the prefix (visible in the key itself) finds the row. */
@Entity('api_keys')
export class ApiKey {
  @PrimaryGeneratedColumn()
  id: number;

  @Column({ type: 'varchar', length: 100 })
  name: string;

  /** `mf_<8 chars>`: shown in listings so operators can tell keys apart. */
  @Column({ type: 'varchar', length: 32, unique: true })
  prefix: string;

  @Column({ type: 'char', length: 64, unique: true, select: false })
  key_hash: string;

  @Column({ type: 'varchar', length: 10 })
  role: Role;

  /** Where the key came from: the API, the CLI, or MERCHFLOW_ADMIN_API_KEY. */
  @Column({ type: 'varchar', length: 10, default: 'api' })
  source: KeySource;

  @Column({ type: 'varchar', length: 150, nullable: true })
  created_by: string | null;

  @CreateDateColumn({ type: 'timestamptz' })
  created_at: Date;

  @Column({ type: 'timestamptz', nullable: true })
  expires_at: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  last_used_at: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  revoked_at: Date | null;
}
