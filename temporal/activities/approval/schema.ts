/**
 * Config of the `approval` step. The interpreter runs it itself (it waits for
 * a signal), so this folder has a schema and no executor.
 */
import { z } from 'zod';
import type { ConfigValidator } from '@engine/dsl/types';
import { defineStepConfig } from '@engine/activities/runtime/executor';
import { zodIssues } from '@engine/activities/shared/config-issues';

/** Step type id of the manual approval step. */
export const APPROVAL_STEP_TYPE = 'approval';

const TIMEOUT = 'must be a number of seconds from 0 (no timeout) to 31536000';

/**
 * Config of an `approval` step.
 * @example { "timeout_seconds": 86400, "on_timeout": "reject", "instructions": "Check the prices" }
 */
export const approvalConfigSchema = z.object({
  timeout_seconds: z.number({ error: TIMEOUT }).min(0, { message: TIMEOUT }).max(31_536_000, { message: TIMEOUT }).optional().describe('seconds to wait for a decision; 0 or unset: no timeout'),
  on_timeout: z.enum(['approve', 'reject'], { error: 'must be "approve" or "reject"' }).optional().describe('the decision taken when the timeout passes'),
  instructions: z.string({ error: 'must be a string' }).optional().describe('shown to the approver'),
});

export const validateApprovalConfig: ConfigValidator = (config) => {
  const parsed = approvalConfigSchema.safeParse(config);
  return parsed.success ? [] : zodIssues(parsed.error);
};

/** The `approval` step type as the API knows it: its id, config validator and schema. */
export const approvalConfig = defineStepConfig(APPROVAL_STEP_TYPE, validateApprovalConfig, { schema: approvalConfigSchema });
