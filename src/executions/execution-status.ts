/** The statuses of a run. */
export const RUN_STATUSES = ['pending', 'running', 'completed', 'failed', 'cancelled'] as const;

/** What an operator is shown: a run's status, or `completed_with_failures` for a completed run with failed items. */
export const RUN_OUTCOMES = [...RUN_STATUSES, 'completed_with_failures'] as const;
