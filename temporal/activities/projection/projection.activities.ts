import type { RunProjectionEvent, StepProjection } from '@engine/shared/contracts';

/** The bookkeeping activities the interpreter calls as local activities. */
export interface ProjectionActivities {
  projectRun(event: RunProjectionEvent): Promise<void>;
  projectSteps(req: { rows: StepProjection[] }): Promise<void>;
}
