import { temporal } from '@temporalio/proto';
import type { Client } from '@temporalio/client';

/** Size in bytes (protobuf-encoded, as Temporal stores it) and event count of a run's history. */
export async function historyStats(client: Client, workflowId: string): Promise<{ bytes: number; events: number }> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const bytes = temporal.api.history.v1.History.encode(history as temporal.api.history.v1.IHistory).finish().length;
  return { bytes, events: history.events?.length ?? 0 };
}
