import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runRow } from '@src/executions/executions.service';
import { WorkflowExecution } from '@src/executions/execution.entity';

describe(runRow.name, () => {
  const sut = runRow;

  it('makes the entity of a row as PostgreSQL returns it, the numeric duration a number', () => {
    const created = new Date('2026-12-03T10:00:00Z');
    const row = sut({ id: '42', execution_id: 'wf-1', workflow_id: 7, status: 'completed', input_data: { n: 1 }, duration_seconds: '12.345', created_at: created });
    assert.ok(row instanceof WorkflowExecution);
    assert.deepEqual(
      [row.id, row.execution_id, row.workflow_id, row.status, row.input_data, row.duration_seconds, row.created_at],
      ['42', 'wf-1', 7, 'completed', { n: 1 }, 12.345, created],
    );
  });

  it('keeps a missing duration null', () => {
    assert.equal(sut({ id: '1', duration_seconds: null }).duration_seconds, null);
    assert.equal(sut({ id: '1' }).duration_seconds, null);
  });
});
