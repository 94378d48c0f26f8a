import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { RunStatus, StepStatus } from '@engine/dsl/types';
import type { FailedItemRecord } from '@engine/shared/contracts';
import { Workflow, WorkflowVersion, numericTransformer } from '@src/workflows/workflow.entity';

/** `fan_out`: a child run started by a fan-out parent (its `parent_execution_id`). */
export const TRIGGER_TYPES = ['manual', 'api', 'schedule', 'restart', 'cli', 'retry_items', 'edit_output', 'fan_out'] as const;
export type TriggerType = (typeof TRIGGER_TYPES)[number];

/** The projection of one run, kept current by the worker; Temporal stays the source of truth. */
@Entity('workflow_executions')
@Index(['workflow_id', 'created_at'])
@Index(['status', 'created_at'])
export class WorkflowExecution {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  /** Also the Temporal workflow id. */
  @Column({ type: 'varchar', length: 100, unique: true })
  execution_id: string;

  @Column({ type: 'integer' })
  workflow_id: number;

  @ManyToOne(() => Workflow, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'workflow_id' })
  workflow: Workflow;

  @Column({ type: 'integer' })
  workflow_version_id: number;

  @ManyToOne(() => WorkflowVersion, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'workflow_version_id' })
  workflow_version: WorkflowVersion;

  @Column({ type: 'integer' })
  version: number;

  @Column({ type: 'varchar', length: 100, nullable: true })
  temporal_run_id: string | null;

  @Column({ type: 'varchar', length: 20, default: 'pending' })
  status: RunStatus;

  @Index()
  @Column({ type: 'varchar', length: 20, default: 'manual' })
  trigger_type: TriggerType;

  @Column({ type: 'varchar', length: 150, nullable: true })
  triggered_by: string | null;

  @Column({ type: 'jsonb', default: {} })
  input_data: unknown;

  @Column({ type: 'jsonb', nullable: true })
  output_data: unknown;

  @Column({ type: 'text', nullable: true })
  error_message: string | null;

  @Column({ type: 'jsonb', nullable: true })
  error_details: Record<string, unknown> | null;

  @Column({ type: 'integer', default: 0 })
  total_steps: number;

  @Column({ type: 'integer', default: 0 })
  completed_steps: number;

  @Column({ type: 'integer', default: 0 })
  failed_steps: number;

  @Column({ type: 'integer', default: 0 })
  skipped_steps: number;

  /** Items its main steps could not process after their retries (a completed run with some is "completed with failures"). */
  @Column({ type: 'integer', default: 0 })
  failed_items_total: number;

  @Column({ type: 'varchar', length: 63, nullable: true })
  current_step: string | null;

  @Column({ type: 'timestamptz', nullable: true })
  started_at: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  completed_at: Date | null;

  @Column({ type: 'numeric', precision: 12, scale: 3, nullable: true, transformer: numericTransformer })
  duration_seconds: number | null;

  /** The run this one restarts, when it was started by a restart. */
  @Column({ type: 'varchar', length: 100, nullable: true })
  restarted_from: string | null;

  /** For a run started by a restart, a retry of items or an edited output: what it reuses and retries (src/executions/recovery.service.ts). */
  @Column({ type: 'jsonb', nullable: true })
  recovery: Record<string, unknown> | null;

  @Column({ type: 'varchar', length: 200, nullable: true, unique: true })
  idempotency_key: string | null;

  @Column({ type: 'integer', nullable: true })
  schedule_id: number | null;

  /** The fan-out parent that started this run (docs/definitions.md#fan-out); null for any other run. */
  @Column({ type: 'varchar', length: 100, nullable: true })
  parent_execution_id: string | null;

  /** At most one pending or running run per key (the order workflow per marketplace); see docs/exactly-once.md. */
  @Column({ type: 'varchar', length: 200, nullable: true })
  singleton_key: string | null;

  @CreateDateColumn({ type: 'timestamptz' })
  created_at: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updated_at: Date;
}

/** The projection of one step of one run; one row per step, its latest attempt. */
@Entity('workflow_step_executions')
@Index(['execution_id', 'step_key'], { unique: true })
export class WorkflowStepExecution {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ type: 'varchar', length: 100 })
  execution_id: string;

  @ManyToOne(() => WorkflowExecution, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'execution_id', referencedColumnName: 'execution_id' })
  execution: WorkflowExecution;

  @Column({ type: 'varchar', length: 63 })
  step_key: string;

  @Column({ type: 'varchar', length: 200 })
  step_name: string;

  @Column({ type: 'varchar', length: 50 })
  step_type: string;

  /** main, compensation or on_failure. */
  @Column({ type: 'varchar', length: 20, default: 'main' })
  role: string;

  @Column({ type: 'varchar', length: 20 })
  status: StepStatus;

  @Column({ type: 'integer', default: 0 })
  attempt: number;

  @Column({ type: 'integer', nullable: true })
  max_attempts: number | null;

  @Column({ type: 'jsonb', nullable: true })
  output_summary: Record<string, unknown> | null;

  /** Items that failed after their retries; the first few are listed in `failed_items`. */
  @Column({ type: 'integer', default: 0 })
  failed_items_total: number;

  @Column({ type: 'jsonb', nullable: true })
  failed_items: FailedItemRecord[] | null;

  /** Claim-check payload id when the output was too large for history. */
  @Column({ type: 'uuid', nullable: true })
  output_payload_id: string | null;

  @Column({ type: 'text', nullable: true })
  error_message: string | null;

  @Column({ type: 'jsonb', nullable: true })
  error_details: Record<string, unknown> | null;

  @Column({ type: 'timestamptz', nullable: true })
  started_at: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  completed_at: Date | null;

  @Column({ type: 'integer', nullable: true })
  duration_ms: number | null;

  @CreateDateColumn({ type: 'timestamptz' })
  created_at: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updated_at: Date;
}
