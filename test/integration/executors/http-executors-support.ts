/**
 * Helpers for executor integration tests: a routed loopback HTTP server, a
 * one-call way to run a definition and read back its result and step rows,
 * and a text dump of everything a run left behind (Temporal history with
 * payloads decoded, projection rows, stored payloads) for leak checks.
 */
import { payloadDataText } from '@engine/activities/runtime/payload-store';
import type http from 'node:http';
import type { Harness } from '@test/support/harness';
import type { WorkflowStepExecution } from '@src/executions/execution.entity';
import { startServer, type RecordedRequest, type TestServer } from '@test/integration/http/support';

export type Route = (req: http.IncomingMessage, res: http.ServerResponse, body: string, count: number) => unknown;

export interface RoutedServer extends TestServer {
  /** Registers the handler for a path; `count` is how many earlier requests that path received. */
  route(path: string, handler: Route): void;
  requestsTo(path: string): RecordedRequest[];
}

const pathOf = (url: string) => new URL(url, 'http://x').pathname;

/** A loopback server that dispatches on the request path (404 for unknown paths). */
export async function startRoutedServer(): Promise<RoutedServer> {
  const routes = new Map<string, Route>();
  const counts = new Map<string, number>();
  const server = await startServer((req, res, body) => {
    const path = pathOf(req.url ?? '/');
    const handler = routes.get(path);
    if (!handler) return json(res, 404, { error: 'no route' });
    const count = counts.get(path) ?? 0;
    counts.set(path, count + 1);
    return handler(req, res, body, count);
  });
  return Object.assign(server, {
    route: (path: string, handler: Route) => void routes.set(path, handler),
    requestsTo: (path: string) => server.requests.filter((r) => pathOf(r.url) === path),
  });
}

export function json(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

export interface StepRun {
  executionId: string;
  status: string;
  /** The run result's `steps[key].output`, or the run's final output. */
  output: unknown;
  error?: unknown;
  steps: WorkflowStepExecution[];
  step(key: string): WorkflowStepExecution;
}

/** Stores `steps` as a definition, runs it with `input` and waits for the end. */
export async function runDefinition(h: Harness, steps: Array<Record<string, unknown>>, input: unknown = {}): Promise<StepRun> {
  const id = await h.createWorkflow({ steps } as never);
  const run = await h.start(id, input);
  const res = await h.wait(run.execution_id);
  const rows = await h.executions.steps(run.execution_id);
  const result = res.result as { output?: unknown; steps?: Record<string, { output?: unknown }> } | undefined;
  return {
    executionId: run.execution_id,
    status: res.status,
    output: result?.output,
    error: res.error,
    steps: rows,
    step: (key) => {
      const row = rows.find((s) => s.step_key === key);
      if (!row) throw new Error(`no step row for ${key}`);
      return row;
    },
  };
}

/** JSON of a value with byte arrays (Temporal payload data) decoded as UTF-8 text. */
function textOf(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
    if (v && typeof v === 'object' && (v as { type?: unknown }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data)) {
      return Buffer.from((v as { data: number[] }).data).toString('utf8');
    }
    return v;
  });
}

/**
 * Everything a run left behind, as text: its Temporal history (payloads
 * decoded), its workflow_executions and workflow_step_executions rows, and
 * its stored payloads (decompressed).
 */
export async function runFootprint(h: Harness, executionId: string): Promise<string> {
  const history = await h.history(executionId);
  const execution = await h.dataSource.query(`SELECT * FROM workflow_executions WHERE execution_id = $1`, [executionId]);
  const steps = await h.dataSource.query(`SELECT * FROM workflow_step_executions WHERE execution_id = $1`, [executionId]);
  const payloads: Array<{ body: string | null; data: Buffer | null }> = await h.dataSource.query(`SELECT body, data FROM payloads WHERE execution_id = $1`, [executionId]);
  return [textOf(history), textOf(execution), textOf(steps), ...payloads.map((p) => p.body ?? payloadDataText(p.data!))].join('\n');
}
