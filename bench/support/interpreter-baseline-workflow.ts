/**
 * The interpreter bench's baseline: a hand-written Temporal workflow calling
 * ten no-op activities in sequence, with the activity options the interpreter
 * gives a step of the same definition (see activityOptions in
 * temporal/workflows/interpreter.ts).
 */
import { ActivityCancellationType, proxyActivities } from '@temporalio/workflow';

interface Activities {
  noop(req: { step: number; input: unknown }): Promise<{ ok: boolean; step: number }>;
}

export async function tenActivitiesWorkflow(input: { steps: number; data: unknown }): Promise<{ status: string; output: unknown }> {
  let last: unknown = input.data;
  for (let i = 0; i < input.steps; i++) {
    const acts = proxyActivities<Activities>({
      activityId: `step_${i + 1}`,
      startToCloseTimeout: '660 seconds',
      heartbeatTimeout: '30 seconds',
      cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
      retry: { maximumAttempts: 3, initialInterval: '1 seconds', backoffCoefficient: 2, maximumInterval: '60 seconds' },
    });
    last = await acts.noop({ step: i + 1, input: last });
  }
  return { status: 'completed', output: last };
}
