/**
 * The CLI's remote mode: with `--api-url URL` (or `MERCHFLOW_API_URL`) and a key
 * in `MERCHFLOW_API_KEY`, the run, executions and schedules commands go through
 * the API with the typed client generated from its OpenAPI document, instead of
 * opening PostgreSQL and Temporal. Setup commands (create-workflow-templates,
 * worker, api-keys) stay direct: they are what makes an API usable.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiError, createApiClient, unwrap, type ApiClient, type Schemas } from '@src/api-client/client';
import type { paths } from '@src/api-client/openapi.generated';
import { UsageError } from '@src/cli/options';
import type { Io } from '@src/cli/context';
import { ProgressRenderer, type RunOutcome, type Snapshot } from '@src/cli/progress';

export type Execution = Schemas['Execution'];
export type ExecutionDetail = Schemas['ExecutionDetail'];
export type Schedule = Schemas['Schedule'];

/** Statuses after which a run changes no more. */
const FINAL = new Set(['completed', 'failed', 'cancelled', 'terminated', 'timed_out']);

/** Where the remote API is: `--api-url` (taken out of argv) or MERCHFLOW_API_URL; null for direct mode. */
export function remoteTarget(argv: string[], env: NodeJS.ProcessEnv): { argv: string[]; url: string | null; key: string | null } {
  const rest: string[] = [];
  let url: string | null = env.MERCHFLOW_API_URL?.trim() || null;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    if (arg === '--api-url' || arg.startsWith('--api-url=')) {
      const value = arg === '--api-url' ? argv[++i] : arg.slice('--api-url='.length);
      if (!value) throw new UsageError('--api-url needs a URL, like http://127.0.0.1:3000/orchestration/api');
      url = value;
      continue;
    }
    rest.push(arg);
  }
  if (url !== null) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new UsageError(`--api-url / MERCHFLOW_API_URL: "${url}" is not a URL (like http://127.0.0.1:3000/orchestration/api)`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new UsageError('--api-url / MERCHFLOW_API_URL: must be an http(s) URL');
  }
  return { argv: rest, url, key: env.MERCHFLOW_API_KEY?.trim() || null };
}

/** The API operations the CLI uses, over the generated client. Errors are {@link ApiError}s. */
export class RemoteApi {
  readonly client: ApiClient;

  constructor(
    readonly baseUrl: string,
    apiKey: string | null,
  ) {
    if (!apiKey) throw new UsageError('remote mode needs an API key in MERCHFLOW_API_KEY');
    this.client = createApiClient({ baseUrl, apiKey });
  }

  /** The workflow with this code (the list's search matches codes and names; the code must match exactly). */
  async workflowByCode(code: string): Promise<Schemas['Workflow'] | null> {
    for (let page = 1; ; page++) {
      const res = unwrap(await this.client.GET('/workflows', { params: { query: { search: code, page, page_size: 100 } } }));
      const hit = res.results.find((w) => w.code === code);
      if (hit) return hit;
      if (page * res.page_size >= res.count) return null;
    }
  }

  async execute(workflowId: number, body: Schemas['ExecuteWorkflowDto']): Promise<Execution> {
    return unwrap(await this.client.POST('/workflows/{id}/execute', { params: { path: { id: workflowId } }, body }));
  }

  async execution(id: string): Promise<ExecutionDetail> {
    return unwrap(await this.client.GET('/executions/{id}', { params: { path: { id } } }));
  }

  async executions(query: NonNullable<paths['/executions']['get']['parameters']['query']>) {
    return unwrap(await this.client.GET('/executions', { params: { query } }));
  }

  async items(id: string, query: NonNullable<paths['/executions/{id}/items']['get']['parameters']['query']>) {
    return unwrap(await this.client.GET('/executions/{id}/items', { params: { path: { id }, query } }));
  }

  async reviews(id: string) {
    return unwrap(await this.client.GET('/executions/{id}/reviews', { params: { path: { id } } }));
  }

  async reviewItem(id: string, step: string, key: string, body: Schemas['ReviewItemDecisionDto']) {
    return unwrap(await this.client.POST('/executions/{id}/reviews/{step}/items/{key}', { params: { path: { id, step, key } }, body }));
  }

  async reviewRest(id: string, step: string, body: Schemas['ReviewRestDecisionDto']) {
    return unwrap(await this.client.POST('/executions/{id}/reviews/{step}/rest', { params: { path: { id, step } }, body }));
  }

  /** The items export as text (CSV or JSON Lines), streamed to `write` line by line as it arrives. */
  async exportItems(id: string, query: Record<string, string>, write: (chunk: string) => void): Promise<void> {
    const res = await this.client.GET('/executions/{id}/items/export', { params: { path: { id }, query }, parseAs: 'stream' });
    if (!res.response.ok || !res.data) unwrap({ ...res, error: res.error ?? (await res.response.json().catch(() => undefined)) });
    const decoder = new TextDecoder();
    for await (const chunk of res.data as unknown as AsyncIterable<Uint8Array>) write(decoder.decode(chunk, { stream: true }));
    const rest = decoder.decode();
    if (rest) write(rest);
  }

  async cancel(id: string): Promise<Execution> {
    return unwrap(await this.client.POST('/executions/{id}/cancel', { params: { path: { id } } }));
  }

  async restart(id: string, body: Schemas['RestartExecutionDto']): Promise<Execution> {
    return unwrap(await this.client.POST('/executions/{id}/restart', { params: { path: { id } }, body }));
  }

  /** `overrides` items and `output` are any JSON: the generated body types cannot say so. */
  async retryItems(id: string, body: Omit<Schemas['RetryItemsDto'], 'overrides'> & { overrides?: Record<string, Record<string, unknown>> }) {
    return unwrap(await this.client.POST('/executions/{id}/retry-items', { params: { path: { id } }, body: body as Schemas['RetryItemsDto'] }));
  }

  async editOutput(id: string, stepKey: string, body: { output: unknown; reason?: string }) {
    return unwrap(await this.client.POST('/executions/{id}/steps/{step_key}/output', { params: { path: { id, step_key: stepKey } }, body: body as Schemas['EditStepOutputDto'] }));
  }

  async schedules(query: { workflow?: number; page?: number; page_size?: number }) {
    return unwrap(await this.client.GET('/schedules', { params: { query } }));
  }

  async schedule(id: number): Promise<Schedule> {
    return unwrap(await this.client.GET('/schedules/{id}', { params: { path: { id } } }));
  }

  async createSchedule(body: Schemas['CreateScheduleDto']): Promise<Schedule> {
    return unwrap(await this.client.POST('/schedules', { body }));
  }

  async updateSchedule(id: number, body: Schemas['UpdateScheduleDto']): Promise<Schedule> {
    return unwrap(await this.client.PATCH('/schedules/{id}', { params: { path: { id } }, body }));
  }

  channels(): RemoteChannels {
    const c = this.client;
    const path = (id: number) => ({ params: { path: { id } } });
    return {
      list: async () => unwrap(await c.GET('/channels')).results,
      create: async (body) => unwrap(await c.POST('/channels', { body: body as never })),
      update: async (id, body) => unwrap(await c.PATCH('/channels/{id}', { ...path(id), body: body as never })),
      disable: async (id) => unwrap(await c.POST('/channels/{id}/disable', path(id))),
      delete: async (id) => unwrap(await c.DELETE('/channels/{id}', path(id))),
      test: async (id) => unwrap(await c.POST('/channels/{id}/test', path(id))) as { ok: boolean; result: unknown; reason: string | null },
    };
  }

  async scheduleAction(action: 'pause' | 'unpause' | 'trigger' | 'delete', id: number, note?: string): Promise<Schedule | null> {
    const path = { params: { path: { id } } };
    switch (action) {
      case 'pause':
        return unwrap(await this.client.POST('/schedules/{id}/pause', { ...path, body: { note } }));
      case 'unpause':
        return unwrap(await this.client.POST('/schedules/{id}/unpause', { ...path, body: { note } }));
      case 'trigger':
        return unwrap(await this.client.POST('/schedules/{id}/trigger', path));
      case 'delete':
        unwrap(await this.client.DELETE('/schedules/{id}', path));
        return null;
    }
  }
}

/** The channels operations of the CLI, through the API (`/channels/`). */
export interface RemoteChannels {
  list(): Promise<Array<Schemas['Channel']>>;
  create(body: Record<string, unknown>): Promise<Schemas['Channel']>;
  update(id: number, body: Record<string, unknown>): Promise<Schemas['Channel']>;
  disable(id: number): Promise<Schemas['Channel']>;
  delete(id: number): Promise<unknown>;
  test(id: number): Promise<{ ok: boolean; result: unknown; reason: string | null }>;
}

/** A run's progress as the progress renderer draws it. */
export function snapshotOfDetail(d: ExecutionDetail): Snapshot {
  const running = new Set(d.progress.running_steps);
  return {
    status: d.status,
    total: d.progress.total_steps,
    completed: d.progress.completed_steps,
    failed: d.progress.failed_steps,
    skipped: d.progress.skipped_steps,
    failedItems: d.progress.failed_items_total,
    running: d.steps.filter((s) => running.has(s.step_key)).map((s) => ({ key: s.step_key, attempt: s.attempt, status: s.status })),
  };
}

/** Follows a run through the API until it ends (polling `GET /executions/{id}`), drawing its progress. */
export async function followRemoteRun(api: RemoteApi, io: Io, executionId: string, opts: { pollMs?: number; timeoutMs?: number; signal?: AbortSignal } = {}): Promise<RunOutcome> {
  const renderer = new ProgressRenderer(io);
  const started = Date.now();
  let d: ExecutionDetail;
  try {
    for (;;) {
      d = await api.execution(executionId);
      renderer.update(snapshotOfDetail(d));
      if (FINAL.has(d.status)) break;
      if (opts.timeoutMs !== undefined && Date.now() - started > opts.timeoutMs) return { status: 'still_running' };
      try {
        await sleep(opts.pollMs ?? 500, undefined, { signal: opts.signal });
      } catch {
        return { status: 'still_running' };
      }
    }
  } finally {
    renderer.finish();
  }
  if (d.status === 'completed') return { status: 'completed', output: d.output_data ?? null, failedItems: d.failed_items_total };
  return { status: d.status as RunOutcome['status'], error: d.error_message ?? undefined };
}

export { ApiError };
