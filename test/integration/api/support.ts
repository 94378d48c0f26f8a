import type { INestApplication } from '@nestjs/common';
import { loadConfig, type AppConfig } from '@src/config/config';
import { Logger } from '@src/logging/logger';
import { createApp } from '@src/main';
import { ApiKeysService } from '@src/auth/api-keys.service';
import type { Role } from '@src/auth/api-key.entity';
import { TEMPLATES, type TemplateRegistry } from '@src/workflows/templates';
import { eventually, startHarness, type Harness } from '@test/support/harness';
import { testExecutors } from '@test/support/executors';

export interface Reply<T = Record<string, unknown>> {
  status: number;
  body: T;
  headers: Headers;
  text: string;
}

export interface RequestOptions {
  key?: string | null;
  body?: unknown;
  /** Sent as is (for malformed bodies). */
  raw?: string;
  headers?: Record<string, string>;
}

/** The API started in-process on port 0 over the harness's Postgres and Temporal, with a worker on its task queue. */
export interface ApiHarness {
  h: Harness;
  app: INestApplication;
  config: AppConfig;
  base: string;
  keys: Record<Role, string>;
  logLines: string[];
  request<T = Record<string, unknown>>(method: string, path: string, opts?: RequestOptions): Promise<Reply<T>>;
  close(): Promise<void>;
}

/** Templates built on the test executors, beside the shipped ones. */
export const TEST_TEMPLATES: TemplateRegistry = {
  ...TEMPLATES,
  echo_pair: {
    name: 'Echo Pair',
    description: 'Two test_echo steps in a row',
    workflow_type: 'custom',
    steps: [
      { key: 'first', name: 'First', step_type: 'test_echo', config: { output: { n: '$input.n' } } },
      { key: 'second', name: 'Second', step_type: 'test_echo', config: {}, depends_on_steps: ['first'] },
    ],
  },
};

/** `env`: the API's variables; `workerEnv`: the worker's (the harness's), e.g. HTTP_ALLOW_HOSTS for steps calling a stub. */
export async function startApi(opts: { env?: Record<string, string>; workerEnv?: Record<string, string>; templates?: TemplateRegistry } = {}): Promise<ApiHarness> {
  let h: Harness | null = null;
  h = await startHarness({ executors: testExecutors(() => h!.dataSource), env: opts.workerEnv });
  const harness = h;
  const config = loadConfig({ ...process.env, ...(opts.env ?? {}), TEMPORAL_TASK_QUEUE: harness.taskQueue });
  const logLines: string[] = [];
  const logger = new Logger({ level: 'warn', format: 'json', sink: (l) => logLines.push(l) });
  const app = await createApp(config, { stepTypes: testExecutors(() => harness.dataSource), templates: opts.templates ?? TEST_TEMPLATES, logger });
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  const base = `http://127.0.0.1:${address.port}${config.http.basePath}`;
  const keyService = new ApiKeysService(harness.dataSource);
  const keys = {} as Record<Role, string>;
  for (const role of ['viewer', 'operator', 'admin'] as const) {
    keys[role] = (await keyService.create({ name: `test-${role}-${address.port}`, role })).key;
  }
  const request = <T>(method: string, path: string, o: RequestOptions = {}): Promise<Reply<T>> => requestAt<T>(base, keys.admin, method, path, o);
  return {
    h: harness,
    app,
    config,
    base,
    keys,
    logLines,
    request,
    async close() {
      await app.close();
      await harness.close();
    },
  };
}

/** Another API process over the same database and Temporal (a second replica), with its own configuration. */
export interface ApiReplica {
  app: INestApplication;
  base: string;
  request: ApiHarness['request'];
  close(): Promise<void>;
}

export async function startReplica(api: ApiHarness, env: Record<string, string> = {}): Promise<ApiReplica> {
  const config = loadConfig({ ...process.env, ...env, TEMPORAL_TASK_QUEUE: api.h.taskQueue });
  const logger = new Logger({ level: 'warn', format: 'json', sink: (l) => api.logLines.push(l) });
  const app = await createApp(config, { stepTypes: testExecutors(() => api.h.dataSource), templates: TEST_TEMPLATES, logger });
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  const base = `http://127.0.0.1:${address.port}${config.http.basePath}`;
  return {
    app,
    base,
    request: (method, path, o = {}) => requestAt(base, api.keys.admin, method, path, o),
    close: () => app.close(),
  };
}

async function requestAt<T>(base: string, defaultKey: string, method: string, path: string, o: RequestOptions = {}): Promise<Reply<T>> {
  const headers: Record<string, string> = { ...(o.headers ?? {}) };
  const key = o.key === undefined ? defaultKey : o.key;
  if (key) headers.authorization = `Bearer ${key}`;
  let body: string | undefined;
  if (o.raw !== undefined) body = o.raw;
  else if (o.body !== undefined) body = JSON.stringify(o.body);
  if (body !== undefined && !Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}${path}`, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  return { status: res.status, body: parsed as T, headers: res.headers, text };
}

/** A minimal definition on the test executors. */
export function echoDefinition(code: string, extra: Record<string, unknown> = {}) {
  return {
    code,
    name: `Echo ${code}`,
    steps: [
      { key: 'first', name: 'First', step_type: 'test_echo', config: { output: { n: '$input.n' } } },
      { key: 'second', name: 'Second', step_type: 'test_echo', config: {}, depends_on_steps: ['first'] },
    ],
    ...extra,
  };
}

export function uniqueCode(prefix = 'api'): string {
  return `${prefix}-${Math.random().toString(36).slice(2, 10)}`;
}

/** Asserts the one error shape. */
export function isErrorShape(body: unknown): boolean {
  const b = body as { code?: unknown; message?: unknown; details?: unknown } | null;
  return !!b && typeof b.code === 'string' && typeof b.message === 'string' && typeof b.details === 'object' && b.details !== null && !Array.isArray(b.details);
}

/**
 * Creates a workflow of `steps` through the API, starts it with `input` and
 * waits until it completes; returns its execution_id.
 */
export async function runToCompletion(api: ApiHarness, steps: unknown[], input: Record<string, unknown>, prefix = 'run'): Promise<string> {
  const code = uniqueCode(prefix);
  const wf = await api.request<{ id: number }>('POST', '/workflows/', { body: { code, name: code, steps } });
  if (wf.status !== 201) throw new Error(`creating ${code}: ${wf.status} ${wf.text}`);
  const run = await api.request<{ execution_id: string }>('POST', `/workflows/${wf.body.id}/execute/`, { body: { input_data: input } });
  if (run.status !== 202) throw new Error(`starting ${code}: ${run.status} ${run.text}`);
  const id = run.body.execution_id;
  await eventually(async () => ((await api.request<{ status: string }>('GET', `/executions/${id}/`)).body.status === 'completed' ? true : null), 30_000, `run ${id} completes`);
  return id;
}
