import type { ConfigValidator } from '@engine/dsl/types';

/** Step type id of the manual approval step; the interpreter runs it itself (it waits for a signal). */
export const APPROVAL_STEP_TYPE = 'approval';

/**
 * Config of an `approval` step.
 * @example { "timeout_seconds": 86400, "on_timeout": "reject", "instructions": "Check the prices" }
 */
export const validateApprovalConfig: ConfigValidator = (config) => {
  const issues: Array<{ field: string; message: string }> = [];
  const t = config.timeout_seconds;
  if (t !== undefined && (typeof t !== 'number' || !Number.isFinite(t) || t < 0 || t > 31_536_000)) {
    issues.push({ field: 'timeout_seconds', message: 'must be a number of seconds from 0 (no timeout) to 31536000' });
  }
  if (config.on_timeout !== undefined && config.on_timeout !== 'approve' && config.on_timeout !== 'reject') {
    issues.push({ field: 'on_timeout', message: 'must be "approve" or "reject"' });
  }
  if (config.instructions !== undefined && typeof config.instructions !== 'string') {
    issues.push({ field: 'instructions', message: 'must be a string' });
  }
  return issues;
};
