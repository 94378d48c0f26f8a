import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The five models of the specification plus the claim-check payload store. */
export class InitialSchema1764230400000 implements MigrationInterface {
  name = 'InitialSchema1764230400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE workflows (
        id serial PRIMARY KEY,
        code varchar(100) NOT NULL,
        name varchar(200) NOT NULL,
        description text NOT NULL DEFAULT '',
        workflow_type varchar(50) NOT NULL,
        status varchar(20) NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive')),
        is_template boolean NOT NULL DEFAULT false,
        current_version integer NOT NULL DEFAULT 1 CHECK (current_version >= 1),
        config jsonb NOT NULL DEFAULT '{}',
        max_retries integer NOT NULL DEFAULT 3 CHECK (max_retries BETWEEN 0 AND 100),
        retry_delay_seconds integer NOT NULL DEFAULT 5 CHECK (retry_delay_seconds >= 0),
        max_parallel_steps integer NOT NULL DEFAULT 10 CHECK (max_parallel_steps BETWEEN 1 AND 100),
        total_executions integer NOT NULL DEFAULT 0,
        successful_executions integer NOT NULL DEFAULT 0,
        failed_executions integer NOT NULL DEFAULT 0,
        average_duration_seconds numeric(12,3),
        last_executed_at timestamptz,
        created_by varchar(150),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        deleted_at timestamptz
      )`);
    // Codes are unique among live workflows; a deleted workflow frees its code.
    await q.query(`CREATE UNIQUE INDEX "UQ_workflows_code" ON workflows (code) WHERE deleted_at IS NULL`);
    await q.query(`CREATE INDEX "IDX_workflows_type" ON workflows (workflow_type)`);

    await q.query(`
      CREATE TABLE workflow_versions (
        id serial PRIMARY KEY,
        workflow_id integer NOT NULL REFERENCES workflows(id) ON DELETE CASCADE,
        version integer NOT NULL CHECK (version >= 1),
        name varchar(200) NOT NULL,
        config jsonb NOT NULL DEFAULT '{}',
        max_retries integer NOT NULL DEFAULT 3,
        retry_delay_seconds integer NOT NULL DEFAULT 5,
        max_parallel_steps integer NOT NULL DEFAULT 10,
        checksum char(64) NOT NULL,
        created_by varchar(150),
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "UQ_workflow_versions_workflow_version" UNIQUE (workflow_id, version)
      )`);

    await q.query(`
      CREATE TABLE workflow_steps (
        id serial PRIMARY KEY,
        workflow_version_id integer NOT NULL REFERENCES workflow_versions(id) ON DELETE CASCADE,
        key varchar(63) NOT NULL,
        name varchar(200) NOT NULL,
        step_type varchar(50) NOT NULL,
        "order" integer NOT NULL CHECK ("order" >= 0),
        config jsonb NOT NULL DEFAULT '{}',
        depends_on_steps jsonb NOT NULL DEFAULT '[]',
        is_optional boolean NOT NULL DEFAULT false,
        can_run_parallel boolean NOT NULL DEFAULT false,
        parallel_group varchar(100),
        condition jsonb,
        timeout_seconds integer NOT NULL DEFAULT 300 CHECK (timeout_seconds > 0),
        can_retry boolean NOT NULL DEFAULT true,
        max_retries integer CHECK (max_retries BETWEEN 0 AND 100),
        retry_delay_seconds integer CHECK (retry_delay_seconds >= 0),
        retry_backoff real NOT NULL DEFAULT 2 CHECK (retry_backoff >= 1),
        max_retry_delay_seconds integer NOT NULL DEFAULT 300,
        role varchar(20) NOT NULL DEFAULT 'main' CHECK (role IN ('main', 'compensation', 'on_failure')),
        compensates varchar(63),
        CONSTRAINT "UQ_workflow_steps_version_key" UNIQUE (workflow_version_id, key)
      )`);
    await q.query(`CREATE INDEX "IDX_workflow_steps_version" ON workflow_steps (workflow_version_id)`);

    await q.query(`
      CREATE TABLE workflow_schedules (
        id serial PRIMARY KEY,
        workflow_id integer NOT NULL REFERENCES workflows(id) ON DELETE CASCADE,
        name varchar(200) NOT NULL,
        cron_expression varchar(120) NOT NULL,
        timezone varchar(64) NOT NULL DEFAULT 'UTC',
        input_data jsonb NOT NULL DEFAULT '{}',
        is_active boolean NOT NULL DEFAULT true,
        temporal_schedule_id varchar(200) NOT NULL UNIQUE,
        sync_state varchar(20) NOT NULL DEFAULT 'synced',
        next_run_at timestamptz,
        last_run_at timestamptz,
        total_runs integer NOT NULL DEFAULT 0,
        created_by varchar(150),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX "IDX_workflow_schedules_workflow" ON workflow_schedules (workflow_id)`);

    await q.query(`
      CREATE TABLE workflow_executions (
        id bigserial PRIMARY KEY,
        execution_id varchar(100) NOT NULL UNIQUE,
        workflow_id integer NOT NULL REFERENCES workflows(id) ON DELETE RESTRICT,
        workflow_version_id integer NOT NULL REFERENCES workflow_versions(id) ON DELETE RESTRICT,
        version integer NOT NULL,
        temporal_run_id varchar(100),
        status varchar(20) NOT NULL DEFAULT 'pending'
          CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
        trigger_type varchar(20) NOT NULL DEFAULT 'manual',
        triggered_by varchar(150),
        input_data jsonb NOT NULL DEFAULT '{}',
        output_data jsonb,
        error_message text,
        error_details jsonb,
        total_steps integer NOT NULL DEFAULT 0,
        completed_steps integer NOT NULL DEFAULT 0,
        failed_steps integer NOT NULL DEFAULT 0,
        skipped_steps integer NOT NULL DEFAULT 0,
        current_step varchar(63),
        started_at timestamptz,
        completed_at timestamptz,
        duration_seconds numeric(12,3),
        restarted_from varchar(100),
        idempotency_key varchar(200) UNIQUE,
        schedule_id integer REFERENCES workflow_schedules(id) ON DELETE SET NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX "IDX_executions_workflow_created" ON workflow_executions (workflow_id, created_at)`);
    await q.query(`CREATE INDEX "IDX_executions_status_created" ON workflow_executions (status, created_at)`);
    await q.query(`CREATE INDEX "IDX_executions_trigger" ON workflow_executions (trigger_type)`);

    await q.query(`
      CREATE TABLE workflow_step_executions (
        id bigserial PRIMARY KEY,
        execution_id varchar(100) NOT NULL REFERENCES workflow_executions(execution_id) ON DELETE CASCADE,
        step_key varchar(63) NOT NULL,
        step_name varchar(200) NOT NULL,
        step_type varchar(50) NOT NULL,
        role varchar(20) NOT NULL DEFAULT 'main',
        status varchar(20) NOT NULL
          CHECK (status IN ('pending', 'running', 'waiting', 'completed', 'failed', 'skipped', 'cancelled')),
        attempt integer NOT NULL DEFAULT 0,
        max_attempts integer,
        output_summary jsonb,
        output_payload_id uuid,
        error_message text,
        error_details jsonb,
        started_at timestamptz,
        completed_at timestamptz,
        duration_ms integer,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "UQ_step_executions_execution_step" UNIQUE (execution_id, step_key)
      )`);

    await q.query(`
      CREATE TABLE payloads (
        id uuid PRIMARY KEY,
        execution_id varchar(100) NOT NULL,
        step_key varchar(63) NOT NULL,
        size_bytes bigint NOT NULL,
        sha256 char(64) NOT NULL,
        data bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX "IDX_payloads_execution" ON payloads (execution_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['payloads', 'workflow_step_executions', 'workflow_executions', 'workflow_schedules', 'workflow_steps', 'workflow_versions', 'workflows']) {
      await q.query(`DROP TABLE IF EXISTS ${t}`);
    }
  }
}
