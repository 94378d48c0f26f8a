import { Counter, Histogram, Registry } from 'prom-client';

/** Label value used once a label has seen `max` distinct values: keeps series counts bounded. */
export const OTHER_LABEL = '_other';

/**
 * Bounds the distinct values of a label (or a tuple of labels): the first
 * `max` values pass, later new ones become `_other`. Step keys and workflow
 * codes come from stored definitions, so their number is not ours to choose.
 */
export class LabelLimiter {
  private readonly seen = new Set<string>();
  constructor(private readonly max: number) {}

  /** Returns `values` when known or room is left, else every value replaced by `_other`. */
  admit<T extends string[]>(...values: T): T {
    const key = values.join('\u0000');
    if (this.seen.has(key)) return values;
    if (this.seen.size < this.max) {
      this.seen.add(key);
      return values;
    }
    return values.map(() => OTHER_LABEL) as T;
  }
}

/** Seconds buckets for step attempts: from a quick transform to a 15-minute import. */
const STEP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900];

/** The numbers a step's summary may carry for "items processed", in order of preference. */
const PROCESSED_KEYS = ['total', 'processed', 'items', 'output_count', 'count', 'accepted'] as const;

/** Items a step handled, read from its summary (see docs/observability.md); null when it handles no items. */
export function itemsProcessed(summary: Record<string, unknown>): number | null {
  for (const k of PROCESSED_KEYS) {
    const v = summary[k];
    if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v;
  }
  return null;
}

/**
 * Merchflow's own worker metrics (Prometheus, prom-client). Labels never carry
 * execution ids; workflow code x step key pairs are bounded by a LabelLimiter.
 */
export class WorkerMetrics {
  readonly registry = new Registry();
  private readonly steps: LabelLimiter;
  private readonly codes: LabelLimiter;
  private readonly errorCodes = new LabelLimiter(100);

  readonly runsStarted = new Counter({
    name: 'merchflow_runs_started_total',
    help: 'Workflow runs started, by workflow code',
    labelNames: ['workflow_code'] as const,
    registers: [this.registry],
  });
  readonly runsFinished = new Counter({
    name: 'merchflow_runs_finished_total',
    help: 'Workflow runs finished, by workflow code and final status (completed, failed, cancelled)',
    labelNames: ['workflow_code', 'status'] as const,
    registers: [this.registry],
  });
  readonly stepDuration = new Histogram({
    name: 'merchflow_step_duration_seconds',
    help: 'Duration of one step attempt in the worker, by workflow code, step type, step key and outcome',
    labelNames: ['workflow_code', 'step_type', 'step_key', 'outcome'] as const,
    buckets: STEP_BUCKETS,
    registers: [this.registry],
  });
  readonly itemsProcessedTotal = new Counter({
    name: 'merchflow_step_items_processed_total',
    help: 'Items processed by completed step attempts, by workflow code, step type and step key',
    labelNames: ['workflow_code', 'step_type', 'step_key'] as const,
    registers: [this.registry],
  });
  readonly itemsFailedTotal = new Counter({
    name: 'merchflow_step_items_failed_total',
    help: 'Items a step could not process after their retries, by workflow code, step type and step key',
    labelNames: ['workflow_code', 'step_type', 'step_key'] as const,
    registers: [this.registry],
  });
  readonly stepRetries = new Counter({
    name: 'merchflow_step_retries_total',
    help: 'Step attempts after the first (Temporal activity retries), by workflow code, step type and step key',
    labelNames: ['workflow_code', 'step_type', 'step_key'] as const,
    registers: [this.registry],
  });
  readonly attemptFailures = new Counter({
    name: 'merchflow_step_attempt_failures_total',
    help: 'Failed step attempts, by step type, error code and whether the failure was final',
    labelNames: ['step_type', 'code', 'final'] as const,
    registers: [this.registry],
  });
  readonly payloadBytes = new Counter({
    name: 'merchflow_payload_store_bytes_total',
    help: 'Bytes of step outputs written to (offloaded) or read from the payload store (uncompressed JSON)',
    labelNames: ['direction'] as const,
    registers: [this.registry],
  });
  readonly payloadOps = new Counter({
    name: 'merchflow_payload_store_operations_total',
    help: 'Payload store writes and reads (cache misses)',
    labelNames: ['direction'] as const,
    registers: [this.registry],
  });

  constructor(opts: { maxStepSeries?: number; maxWorkflowCodes?: number } = {}) {
    this.steps = new LabelLimiter(opts.maxStepSeries ?? 1000);
    this.codes = new LabelLimiter(opts.maxWorkflowCodes ?? 200);
  }

  runStarted(workflowCode: string): void {
    const [code] = this.codes.admit(workflowCode);
    this.runsStarted.inc({ workflow_code: code });
  }

  runFinished(workflowCode: string, status: string): void {
    const [code] = this.codes.admit(workflowCode);
    this.runsFinished.inc({ workflow_code: code, status });
  }

  private stepLabels(workflowCode: string, stepType: string, stepKey: string) {
    const [workflow_code, step_key] = this.steps.admit(workflowCode, stepKey);
    return { workflow_code, step_type: stepType, step_key };
  }

  attemptStarted(s: StepLabels, attempt: number): void {
    if (attempt > 1) this.stepRetries.inc(this.stepLabels(s.workflow_code, s.step_type, s.step_key));
  }

  attemptCompleted(s: StepLabels, seconds: number, summary: Record<string, unknown>): void {
    const labels = this.stepLabels(s.workflow_code, s.step_type, s.step_key);
    this.stepDuration.observe({ ...labels, outcome: 'completed' }, seconds);
    const processed = itemsProcessed(summary);
    if (processed !== null) this.itemsProcessedTotal.inc(labels, processed);
    const failed = summary.failed_items;
    if (typeof failed === 'number' && failed > 0) this.itemsFailedTotal.inc(labels, failed);
  }

  attemptFailed(s: StepLabels, seconds: number, outcome: 'failed' | 'cancelled', code: string, final: boolean, failedItems = 0): void {
    const labels = this.stepLabels(s.workflow_code, s.step_type, s.step_key);
    this.stepDuration.observe({ ...labels, outcome }, seconds);
    if (outcome === 'failed') {
      const [c] = this.errorCodes.admit(code);
      this.attemptFailures.inc({ step_type: s.step_type, code: c, final: String(final) });
    }
    if (final && failedItems > 0) this.itemsFailedTotal.inc(labels, failedItems);
  }

  payloadWritten(bytes: number): void {
    this.payloadBytes.inc({ direction: 'written' }, bytes);
    this.payloadOps.inc({ direction: 'written' });
  }

  payloadRead(bytes: number): void {
    this.payloadBytes.inc({ direction: 'read' }, bytes);
    this.payloadOps.inc({ direction: 'read' });
  }
}

export interface StepLabels {
  workflow_code: string;
  step_type: string;
  step_key: string;
}
