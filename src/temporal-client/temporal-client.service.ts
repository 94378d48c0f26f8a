import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor, type ClientInterceptors, type GrpcRetryOptions } from '@temporalio/client';
import { APP_CONFIG } from '@src/config/config.module';
import type { AppConfig } from '@src/config/config';
import { merchflowDataConverter } from '@engine/codec/data-converter';
import { withTimeout } from '@src/common/async';
import { activeTracing } from '@src/tracing/tracing';

/**
 * With tracing on, the OpenTelemetry client interceptor: starting a workflow is a span of the
 * request's trace, and its context travels to the workflow in the start's headers.
 */
export async function tracingClientInterceptors(): Promise<ClientInterceptors | undefined> {
  if (!activeTracing()) return undefined;
  const { OpenTelemetryWorkflowClientInterceptor } = await import('@temporalio/interceptors-opentelemetry/lib/client');
  return { workflow: [new OpenTelemetryWorkflowClientInterceptor()] };
}

/**
 * The API's Temporal client. Connects lazily so the API starts (and its health
 * endpoint reports Temporal down) even while the Temporal server is away.
 */
@Injectable()
export class TemporalClientService implements OnModuleDestroy {
  private connecting: Promise<Client> | null = null;
  private connection: Connection | null = null;
  /** Set on shutdown: no call is retried any more. */
  private closing = false;
  /** When the last retry scheduled by the gRPC retry interceptor is due (epoch ms). */
  private retriesDueBy = 0;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  get taskQueue(): string {
    return this.config.temporal.taskQueue;
  }

  /** The Temporal Web UI, for links to runs. */
  get uiUrl(): string {
    return this.config.temporal.uiUrl;
  }

  get namespace(): string {
    return this.config.temporal.namespace;
  }

  async client(): Promise<Client> {
    this.connecting ??= (async () => {
      try {
        // Bounded so a request answers 503 quickly while Temporal is down: a short connect timeout and
        // three tries (about 0.3 s of backoff) instead of the client's default ten (about a minute).
        this.connection = await Connection.connect({
          address: this.config.temporal.address,
          connectTimeout: this.config.outage.temporalCallTimeoutMs,
          interceptors: [makeGrpcRetryInterceptor(this.retryOptions())],
        });
        return new Client({
          connection: this.connection,
          namespace: this.config.temporal.namespace,
          dataConverter: merchflowDataConverter(this.config),
          interceptors: await tracingClientInterceptors(),
        });
      } catch (err) {
        this.connecting = null;
        throw err;
      }
    })();
    return this.connecting;
  }

  /** True when the Temporal frontend answers a health check within the timeout. */
  async healthy(timeoutMs = 3000): Promise<{ up: boolean; error?: string }> {
    try {
      await withTimeout(this.client(), timeoutMs);
      await withTimeout(this.connection!.healthService.check({}), timeoutMs);
      return { up: true };
    } catch (err) {
      return { up: false, error: (err as Error).message.split('\n')[0] };
    }
  }

  /**
   * The client's gRPC retries (three tries), noting when each scheduled retry
   * is due and scheduling none once shutdown began: a retry timer that fires
   * after the connection closed throws from the timer ("Channel has been shut
   * down", an uncaught exception), so shutdown waits out the ones scheduled.
   */
  private retryOptions(): GrpcRetryOptions {
    const base = defaultGrpcRetryOptions({ maxAttempts: 3 });
    return {
      retryableDecider: (attempt, status) => !this.closing && base.retryableDecider(attempt, status),
      delayFunction: (attempt, status) => {
        const ms = base.delayFunction(attempt, status);
        this.retriesDueBy = Math.max(this.retriesDueBy, Date.now() + ms);
        return ms;
      },
    };
  }

  async onModuleDestroy(): Promise<void> {
    this.closing = true;
    // Let a retry already scheduled run (and fail fast, being refused by the decider next time) before closing.
    const wait = Math.min(this.retriesDueBy - Date.now(), 5_000);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait + 50));
    await this.connection?.close().catch(() => undefined);
  }
}

