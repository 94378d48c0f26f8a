import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { DataSource } from 'typeorm';
import { isPayloadRef, type PayloadRef } from '@engine/dsl/types';
import { StepError } from '@engine/activities/shared/errors';
import type { WorkerMetrics } from '@engine/observability/worker-metrics';

/**
 * The claim-check store. Outputs larger than the threshold are written to the
 * `payloads` table (gzip-compressed JSON) and travel through workflow history
 * as a small reference; executors get the value back without knowing.
 */
export class PayloadStore {
  private readonly cache = new Map<string, unknown>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly thresholdBytes: number,
    private readonly metrics?: Pick<WorkerMetrics, 'payloadWritten' | 'payloadRead'>,
  ) {}

  /** Returns the value itself when small, else stores it and returns a reference. */
  async offload(executionId: string, stepKey: string, value: unknown): Promise<unknown> {
    if (value === undefined) return null;
    const json = JSON.stringify(value);
    const size = Buffer.byteLength(json);
    if (size <= this.thresholdBytes) return value;
    const sha256 = createHash('sha256').update(json).digest('hex');
    // Deterministic id: a retried attempt with the same output reuses the row instead of orphaning one.
    const id = uuidFrom(`${executionId}\u0000${stepKey}\u0000${sha256}`);
    const data = gzipSync(json, { level: 1 });
    await this.dataSource.query(
      `INSERT INTO payloads (id, execution_id, step_key, size_bytes, sha256, data) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (id) DO NOTHING`,
      [id, executionId, stepKey, size, sha256, data],
    );
    this.metrics?.payloadWritten(size);
    const ref: PayloadRef = { $payload: { id, size, sha256 } };
    if (Array.isArray(value)) ref.$payload.items = value.length;
    this.cache.set(id, value);
    return ref;
  }

  async load(ref: PayloadRef): Promise<unknown> {
    const id = ref.$payload.id;
    if (this.cache.has(id)) return this.cache.get(id);
    const rows: Array<{ data: Buffer }> = await this.dataSource.query(`SELECT data FROM payloads WHERE id = $1`, [id]);
    if (rows.length === 0) throw new StepError('PAYLOAD_NOT_FOUND', `payload ${id} not found`);
    const json = gunzipSync(rows[0].data);
    this.metrics?.payloadRead(json.length);
    const value = JSON.parse(json.toString('utf8'));
    this.remember(id, value);
    return value;
  }

  /**
   * Replaces payload refs by their content. Refs only ever stand for a whole
   * step output (or the run input), so they sit at the top or one level down
   * (an input keyed by step): no need to walk large item lists.
   */
  async hydrate(value: unknown): Promise<unknown> {
    if (isPayloadRef(value)) return this.load(value);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
    let out: Record<string, unknown> | null = null;
    for (const [k, v] of Object.entries(value)) {
      if (isPayloadRef(v)) (out ??= { ...(value as Record<string, unknown>) })[k] = await this.load(v);
    }
    return out ?? value;
  }

  /** Keeps a few recent payloads in memory: consecutive steps usually read the same one. */
  private remember(id: string, value: unknown): void {
    this.cache.set(id, value);
    while (this.cache.size > 4) this.cache.delete(this.cache.keys().next().value as string);
  }
}

function uuidFrom(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
