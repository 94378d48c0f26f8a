import {
  Column,
  CreateDateColumn,
  DeleteDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  OneToMany,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
} from 'typeorm';
import type { Condition, FanOutLevel, StepRole } from '@engine/dsl/types';
import { numericTransformer } from '@src/database/column-transformers';

export const WORKFLOW_TYPES = ['product_import', 'listing_creation', 'inventory_sync', 'order_processing', 'custom'] as const;
export type WorkflowType = (typeof WORKFLOW_TYPES)[number];
export type WorkflowStatus = 'active' | 'inactive';

export { numericTransformer };

/** A reusable workflow: identity, settings, statistics. Its steps live in immutable versions. */
@Entity('workflows')
export class Workflow {
  @PrimaryGeneratedColumn()
  id: number;

  /** Unique among live workflows (partial unique index in the migration). */
  @Column({ type: 'varchar', length: 100 })
  code: string;

  @Column({ type: 'varchar', length: 200 })
  name: string;

  @Column({ type: 'text', default: '' })
  description: string;

  @Index()
  @Column({ type: 'varchar', length: 50 })
  workflow_type: string;

  @Column({ type: 'varchar', length: 20, default: 'active' })
  status: WorkflowStatus;

  @Column({ type: 'boolean', default: false })
  is_template: boolean;

  @Column({ type: 'integer', default: 1 })
  current_version: number;

  @Column({ type: 'jsonb', default: {} })
  config: Record<string, unknown>;

  @Column({ type: 'integer', default: 3 })
  max_retries: number;

  @Column({ type: 'integer', default: 5 })
  retry_delay_seconds: number;

  @Column({ type: 'integer', default: 10 })
  max_parallel_steps: number;

  // Statistics, recomputed from executions when a run ends.
  @Column({ type: 'integer', default: 0 })
  total_executions: number;

  @Column({ type: 'integer', default: 0 })
  successful_executions: number;

  @Column({ type: 'integer', default: 0 })
  failed_executions: number;

  @Column({ type: 'numeric', precision: 12, scale: 3, nullable: true, transformer: numericTransformer })
  average_duration_seconds: number | null;

  @Column({ type: 'timestamptz', nullable: true })
  last_executed_at: Date | null;

  @Column({ type: 'varchar', length: 150, nullable: true })
  created_by: string | null;

  @CreateDateColumn({ type: 'timestamptz' })
  created_at: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updated_at: Date;

  @DeleteDateColumn({ type: 'timestamptz', nullable: true })
  deleted_at: Date | null;

  @OneToMany(() => WorkflowVersion, (v) => v.workflow)
  versions: WorkflowVersion[];

  get success_rate(): number | null {
    return this.total_executions > 0 ? this.successful_executions / this.total_executions : null;
  }
}

/** An immutable snapshot of a workflow's settings and steps; runs pin exactly one. */
@Entity('workflow_versions')
@Index(['workflow_id', 'version'], { unique: true })
export class WorkflowVersion {
  @PrimaryGeneratedColumn()
  id: number;

  @Column({ type: 'integer' })
  workflow_id: number;

  @ManyToOne(() => Workflow, (w) => w.versions, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'workflow_id' })
  workflow: Workflow;

  @Column({ type: 'integer' })
  version: number;

  @Column({ type: 'varchar', length: 200 })
  name: string;

  @Column({ type: 'jsonb', default: {} })
  config: Record<string, unknown>;

  @Column({ type: 'integer', default: 3 })
  max_retries: number;

  @Column({ type: 'integer', default: 5 })
  retry_delay_seconds: number;

  @Column({ type: 'integer', default: 10 })
  max_parallel_steps: number;

  /** JSON Schema of the runs' input_data; null for none. */
  @Column({ type: 'jsonb', nullable: true })
  input_schema: Record<string, unknown> | null;

  /** Fan-out levels (temporal/dsl/fan-out.ts); null for none. */
  @Column({ type: 'jsonb', nullable: true })
  fan_out: FanOutLevel[] | null;

  /** sha256 of the canonical definition; identical edits do not create versions. */
  @Column({ type: 'char', length: 64 })
  checksum: string;

  @Column({ type: 'varchar', length: 150, nullable: true })
  created_by: string | null;

  @CreateDateColumn({ type: 'timestamptz' })
  created_at: Date;

  @OneToMany(() => WorkflowStep, (s) => s.version_ref)
  steps: WorkflowStep[];
}

/** One step of one workflow version. */
@Entity('workflow_steps')
@Index(['workflow_version_id', 'key'], { unique: true })
export class WorkflowStep {
  @PrimaryGeneratedColumn()
  id: number;

  @Index()
  @Column({ type: 'integer' })
  workflow_version_id: number;

  @ManyToOne(() => WorkflowVersion, (v) => v.steps, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'workflow_version_id' })
  version_ref: WorkflowVersion;

  @Column({ type: 'varchar', length: 63 })
  key: string;

  @Column({ type: 'varchar', length: 200 })
  name: string;

  @Column({ type: 'varchar', length: 50 })
  step_type: string;

  @Column({ type: 'integer' })
  order: number;

  @Column({ type: 'jsonb', default: {} })
  config: Record<string, unknown>;

  @Column({ type: 'jsonb', default: [] })
  depends_on_steps: string[];

  @Column({ type: 'boolean', default: false })
  is_optional: boolean;

  @Column({ type: 'boolean', default: false })
  can_run_parallel: boolean;

  @Column({ type: 'varchar', length: 100, nullable: true })
  parallel_group: string | null;

  @Column({ type: 'jsonb', nullable: true })
  condition: Condition | null;

  @Column({ type: 'integer', default: 300 })
  timeout_seconds: number;

  @Column({ type: 'boolean', default: true })
  can_retry: boolean;

  @Column({ type: 'integer', nullable: true })
  max_retries: number | null;

  @Column({ type: 'integer', nullable: true })
  retry_delay_seconds: number | null;

  @Column({ type: 'real', default: 2 })
  retry_backoff: number;

  @Column({ type: 'integer', default: 300 })
  max_retry_delay_seconds: number;

  @Column({ type: 'varchar', length: 20, default: 'main' })
  role: StepRole;

  @Column({ type: 'varchar', length: 63, nullable: true })
  compensates: string | null;
}
