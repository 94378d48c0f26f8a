import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Items an `ai_process` step held for an operator (`review.below_confidence`):
 * one row per item with the original and the AI's proposal, written when the
 * run starts waiting; each operator decision (approve, edit with the item as
 * it continues, reject with a reason) with who and when, the audit of the
 * review. The run itself learns the decisions by signal (its history is the
 * durable record); `applied` is set once the decided items were merged back
 * into the step's output. Deleting a run deletes its reviews.
 */
export class AiReviewItems1796235100000 implements MigrationInterface {
  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE ai_review_items (
        id bigserial PRIMARY KEY,
        execution_id varchar(100) NOT NULL REFERENCES workflow_executions(execution_id) ON DELETE CASCADE,
        step_key varchar(100) NOT NULL,
        item_key varchar(220) NOT NULL,
        item_index integer NOT NULL,
        confidence double precision,
        original jsonb NOT NULL,
        proposal jsonb NOT NULL,
        decision varchar(10) CHECK (decision IN ('approve', 'edit', 'reject')),
        edited jsonb,
        reason text,
        decided_by varchar(200),
        decided_at timestamptz,
        timed_out boolean NOT NULL DEFAULT false,
        applied boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (execution_id, step_key, item_key)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS ai_review_items`);
  }
}
