/**
 * What the commerce end-to-end tests share: a sandbox, an OpenAI stub and a
 * harness whose worker runs the built-in executors, plus a "shop" (supplier,
 * marketplace and the four predefined workflows) made by the real seed.
 */
import { PayloadStore } from '@engine/activities/runtime/payload-store';
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { defaultPayloadConverter } from '@temporalio/common';
import type { RunResult, StepResult } from '@engine/shared/contracts';
import { startSandbox, type Sandbox, type SandboxOptions } from '@src/sandbox';
import { seedSandboxCommerce } from '@src/commerce/seed';
import { startHarness, type Harness } from '@test/support/harness';
import { startOpenAIStub, type OpenAIStub } from '@test/support/openai-stub';

export const OPENAI_KEY = 'sk-commerce-test';

export interface CommerceEnv {
  h: Harness;
  sandboxes: Sandbox[];
  ai: OpenAIStub;
  close(): Promise<void>;
}

/** A harness for commerce runs; with `model: false` its worker has no OPENAI_API_KEY (no model configured). */
export async function startCommerceEnv(sandboxOptions: SandboxOptions[], opts: { model?: boolean; env?: Record<string, string> } = {}): Promise<CommerceEnv> {
  const sandboxes = await Promise.all(sandboxOptions.map((o) => startSandbox({ initialOrders: 0, ...o })));
  const ai = await startOpenAIStub({ apiKey: OPENAI_KEY });
  const h: Harness = await startHarness({
    env: {
      HTTP_ALLOW_HOSTS: sandboxes.map((s) => `127.0.0.1:${s.port}`).join(','),
      OPENAI_BASE_URL: ai.baseUrl,
      ...(opts.model === false ? {} : { OPENAI_API_KEY: OPENAI_KEY }),
      OPENAI_MODEL: 'stub-model',
      // A run's large outputs go to the payload table, as in production.
      PAYLOAD_THRESHOLD_BYTES: String(256 * 1024),
      ...opts.env,
    },
  });
  return {
    h,
    sandboxes,
    ai,
    async close() {
      await h.close();
      await ai.close();
      await Promise.all(sandboxes.map((s) => s.close()));
    },
  };
}

/** A supplier, a marketplace and the four workflows, made by the seed for one sandbox, with codes of their own. */
export interface Shop {
  tag: string;
  sandbox: Sandbox;
  supplierId: number;
  /** Also the `source_name` of its source data records (source_data has no foreign key: other tests use the same supplier ids). */
  supplierCode: string;
  marketplaceId: number;
  workflow: { product_import: number; listing_creation: number; inventory_sync: number; order_processing: number };
}

export async function createShop(h: Harness, sandbox: Sandbox, opts: { ai?: boolean; config?: Record<string, Record<string, unknown>> } = {}): Promise<Shop> {
  const tag = `t${randomUUID().replace(/-/g, '').slice(0, 10)}`;
  const seeded = await seedSandboxCommerce(h.dataSource, {
    sandboxUrl: sandbox.url,
    workflows: h.workflows,
    aiEnabled: opts.ai ?? false,
    supplierCode: `${tag}_supplier`,
    marketplaceCode: `${tag}_market`,
    carrierCode: `${tag}_carrier`,
    workflowCodePrefix: `${tag}_`,
  });
  const ids = Object.fromEntries(seeded.workflows.map((w) => [w.template, w.id])) as Shop['workflow'];
  for (const [template, config] of Object.entries(opts.config ?? {})) {
    const id = ids[template as keyof Shop['workflow']];
    const wf = await h.workflows.get(id);
    await h.workflows.update(id, { config: { ...wf.config, ...config } });
  }
  return { tag, sandbox, supplierId: seeded.supplier_id, supplierCode: `${tag}_supplier`, marketplaceId: seeded.marketplace_id, workflow: ids };
}

export interface Run {
  executionId: string;
  status: string;
  result?: RunResult;
  error?: unknown;
  steps: Record<string, { status: string; output_summary: Record<string, unknown> | null; error_message: string | null; attempt: number }>;
}

/** Starts a run, waits for its end, and returns it with the projected step rows. */
export async function runWorkflow(h: Harness, workflowId: number, input: unknown = {}): Promise<Run> {
  const started = await h.start(workflowId, input);
  const res = await h.wait(started.execution_id);
  const rows = (await h.executions.steps(started.execution_id)) as unknown as Array<{
    step_key: string;
    status: string;
    output_summary: Record<string, unknown> | null;
    error_message: string | null;
    attempt: number;
  }>;
  return {
    executionId: started.execution_id,
    status: res.status,
    result: res.result as RunResult | undefined,
    error: res.error,
    steps: Object.fromEntries(rows.map((r) => [r.step_key, r])),
  };
}

/** Fails with the run's error and step states when it did not complete. */
export function assertCompleted(run: Run, what: string): void {
  if (run.status === 'completed') return;
  const failed = Object.entries(run.steps)
    .filter(([, s]) => s.status !== 'completed' && s.status !== 'skipped')
    .map(([k, s]) => `${k}: ${s.status} ${s.error_message ?? ''}`);
  throw new Error(`${what} ended ${run.status}: ${String((run.error as Error | undefined)?.message ?? '')}\n${failed.join('\n')}`);
}

/** Every step output of a finished run, read from its Temporal history, payload refs loaded (with `keepPaged`, paged lists left as references). */
export async function stepOutputs(h: Harness, executionId: string, opts: { keepPaged?: boolean } = {}): Promise<Record<string, any>> {
  const history = await h.history(executionId);
  const payloads = new PayloadStore(h.dataSource, { thresholdBytes: 0, cacheBytes: 0, handoffBytes: 0 });
  const scheduled = new Map<string, string>();
  const out: Record<string, any> = {};
  for (const ev of history.events ?? []) {
    const sched = ev.activityTaskScheduledEventAttributes;
    if (sched?.activityId) scheduled.set(String(ev.eventId), sched.activityId);
    const done = ev.activityTaskCompletedEventAttributes;
    const key = done ? scheduled.get(String(done.scheduledEventId)) : undefined;
    const payload = done?.result?.payloads?.[0];
    if (!key || !payload) continue;
    const output = (defaultPayloadConverter.fromPayload(payload) as StepResult).output;
    out[key] = await payloads.hydrate(output, { keepPaged: opts.keepPaged });
  }
  return out;
}

/** Rows as plain comparable values (numbers instead of numeric strings). */
export async function rows<T = any>(ds: DataSource, sql: string, params: unknown[] = []): Promise<T[]> {
  return (await ds.query(sql, params)) as T[];
}

export async function count(ds: DataSource, sql: string, params: unknown[] = []): Promise<number> {
  const r = (await ds.query(sql, params)) as Array<{ n: string | number }>;
  return Number(r[0].n);
}
