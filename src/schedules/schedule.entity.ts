import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import { Workflow } from '@src/workflows/workflow.entity';

/** A cron schedule of a workflow, mirrored from the Temporal Schedule of the same id. */
@Entity('workflow_schedules')
export class WorkflowSchedule {
  @PrimaryGeneratedColumn()
  id: number;

  @Index()
  @Column({ type: 'integer' })
  workflow_id: number;

  @ManyToOne(() => Workflow, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'workflow_id' })
  workflow: Workflow;

  @Column({ type: 'varchar', length: 200 })
  name: string;

  @Column({ type: 'varchar', length: 120 })
  cron_expression: string;

  @Column({ type: 'varchar', length: 64, default: 'UTC' })
  timezone: string;

  @Column({ type: 'jsonb', default: {} })
  input_data: unknown;

  /** The definition version the Temporal Schedule's action runs; re-pinned to the current one on every update. */
  @Column({ type: 'integer', nullable: true })
  workflow_version: number | null;

  @Column({ type: 'boolean', default: true })
  is_active: boolean;

  @Column({ type: 'varchar', length: 200, unique: true })
  temporal_schedule_id: string;

  /** 'synced' or 'pending' while a Temporal change is being applied; repaired on the next read. */
  @Column({ type: 'varchar', length: 20, default: 'synced' })
  sync_state: string;

  /** Why the last attempt to apply this row to Temporal failed (null once synced). */
  @Column({ type: 'text', nullable: true })
  sync_error: string | null;

  @Column({ type: 'timestamptz', nullable: true })
  next_run_at: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  last_run_at: Date | null;

  @Column({ type: 'integer', default: 0 })
  total_runs: number;

  @Column({ type: 'varchar', length: 150, nullable: true })
  created_by: string | null;

  @CreateDateColumn({ type: 'timestamptz' })
  created_at: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updated_at: Date;
}
