/**
 * OpenTelemetry tracing of the API and the workers (docs/observability.md, Tracing).
 *
 * Off by default: with tracing off (`config.tracing.enabled` false) `startTracing` returns null and
 * loads nothing of OpenTelemetry, so the processes pay nothing. On, it registers a tracer provider
 * (W3C trace context, AsyncLocalStorage context), the HTTP (server and client) and PostgreSQL
 * instrumentations, and the exporters the standard OTEL_* variables name. The Temporal client and
 * worker then add the SDK's OpenTelemetry interceptors when `activeTracing()` is set
 * (src/temporal-client, temporal/worker.ts), so one trace runs from an API request through the
 * workflow start, the workflow, each step's activity, and its HTTP calls and SQL queries.
 *
 * Call it before the first request or query (the instrumentations patch `http` and `pg` when they
 * are next required; it requires them once itself so modules loaded earlier are patched too).
 */
import type { IncomingMessage, RequestOptions } from 'node:http';
import type { Attributes, Context } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, Sampler, Span, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { AppConfig, TracingConfig } from '@src/config/config';

export interface Tracing {
  readonly serviceName: string;
  readonly resource: Resource;
  /** Every span of the process goes through it; the worker hands it to the workflow span sink too. */
  readonly spanProcessor: SpanProcessor;
  forceFlush(): Promise<void>;
  /** Exports what is buffered and stops; the process traces nothing afterwards. */
  shutdown(): Promise<void>;
}

export interface StartTracingOptions {
  /** `service.name` when OTEL_SERVICE_NAME is unset (`merchflow-api`, `merchflow-worker`). */
  defaultServiceName: string;
  /**
   * Exports to this exporter instead of the configured ones, span by span (SimpleSpanProcessor),
   * whatever the configuration says: tests read spans from an InMemorySpanExporter.
   */
  exporter?: SpanExporter;
  /** The route template of an incoming request (the API's), set as `http.route` and in the span name. */
  httpRoute?: (req: IncomingMessage) => string | null;
  /** Where OpenTelemetry's own warnings and errors go (e.g. a collector that does not answer). */
  onDiagnostic?: (level: 'warn' | 'error', message: string) => void;
}

/** Incoming requests not traced: scrapes and health checks, which would otherwise fill the traces. */
const UNTRACED_PATHS = new Set(['/metrics', '/healthz', '/readyz', '/orchestration/api/health']);

let active: Tracing | null = null;

/** The process's tracing, when started. */
export function activeTracing(): Tracing | null {
  return active;
}

/** Starts tracing once per process when the configuration (or `opts.exporter`) asks for it; else returns null. */
export async function startTracing(config: AppConfig, opts: StartTracingOptions): Promise<Tracing | null> {
  if (active) return active;
  if (!opts.exporter && !config.tracing.enabled) return null;
  // Loaded only now: with tracing off none of this is required.
  const api = await import('@opentelemetry/api');
  const { W3CTraceContextPropagator } = await import('@opentelemetry/core');
  const { Resource } = await import('@opentelemetry/resources');
  const base = await import('@opentelemetry/sdk-trace-base');
  const { NodeTracerProvider } = await import('@opentelemetry/sdk-trace-node');
  const { registerInstrumentations } = await import('@opentelemetry/instrumentation');
  const { HttpInstrumentation } = await import('@opentelemetry/instrumentation-http');
  const { PgInstrumentation } = await import('@opentelemetry/instrumentation-pg');
  const { ATTR_SERVICE_NAME } = await import('@opentelemetry/semantic-conventions');

  const t = config.tracing;
  if (opts.onDiagnostic) {
    const say = opts.onDiagnostic;
    api.diag.setLogger(
      {
        error: (message: string, ...args: unknown[]) => say('error', [message, ...args.map(String)].join(' ')),
        warn: (message: string, ...args: unknown[]) => say('warn', [message, ...args.map(String)].join(' ')),
        info: () => undefined,
        debug: () => undefined,
        verbose: () => undefined,
      },
      api.DiagLogLevel.WARN,
    );
  }
  const serviceName = t.serviceName ?? opts.defaultServiceName;
  const resource = Resource.default().merge(new Resource({ ...t.resourceAttributes, [ATTR_SERVICE_NAME]: serviceName }));
  const processors: SpanProcessor[] = [];
  if (opts.exporter) {
    processors.push(new base.SimpleSpanProcessor(opts.exporter));
  } else {
    if (t.exporters.includes('otlp')) {
      const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-proto');
      processors.push(new base.BatchSpanProcessor(new OTLPTraceExporter({ url: t.otlpUrl, headers: t.otlpHeaders })));
    }
    if (t.exporters.includes('console')) processors.push(new base.SimpleSpanProcessor(new base.ConsoleSpanExporter()));
  }
  const spanProcessor = fanOut(processors);
  const provider = new NodeTracerProvider({ resource, sampler: sampler(base, t), spanProcessors: [spanProcessor] });
  provider.register({ propagator: new W3CTraceContextPropagator() });
  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (req) => UNTRACED_PATHS.has((req.url ?? '').split('?')[0]),
        // Spans of outbound calls only inside a trace (a step, a request): no stray root spans.
        requireParentforOutgoingSpans: true,
        // The query string may carry credentials (api_key=...): client spans record the URL without it.
        startOutgoingSpanHook: (request) => urlWithoutQuery(request),
        applyCustomAttributesOnSpan: (span, request) => {
          const route = opts.httpRoute && 'headers' in request && !('setHeader' in request) ? opts.httpRoute(request) : null;
          if (route) {
            span.setAttribute('http.route', route);
            span.updateName(`${request.method ?? 'GET'} ${route}`);
          }
        },
      }),
      // Statements without their parameter values (enhancedDatabaseReporting off), only inside a trace.
      new PgInstrumentation({ requireParentSpan: true, enhancedDatabaseReporting: false }),
    ],
  });
  // Modules required before this point are patched on their next require: require them once now.
  await Promise.all([import('http'), import('https'), import('pg')]);
  const tracing: Tracing = {
    serviceName,
    resource,
    spanProcessor,
    forceFlush: () => provider.forceFlush(),
    async shutdown() {
      if (active === tracing) active = null;
      await provider.shutdown();
    },
  };
  active = tracing;
  return tracing;
}

/** The sampler OTEL_TRACES_SAMPLER names. */
function sampler(base: typeof import('@opentelemetry/sdk-trace-base'), t: TracingConfig): Sampler {
  const ratio = () => new base.TraceIdRatioBasedSampler(t.samplerRatio);
  switch (t.sampler) {
    case 'always_on':
      return new base.AlwaysOnSampler();
    case 'always_off':
      return new base.AlwaysOffSampler();
    case 'traceidratio':
      return ratio();
    case 'parentbased_always_off':
      return new base.ParentBasedSampler({ root: new base.AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new base.ParentBasedSampler({ root: ratio() });
    default:
      return new base.ParentBasedSampler({ root: new base.AlwaysOnSampler() });
  }
}

/** One processor over several (the worker's workflow span sink takes exactly one). */
function fanOut(processors: SpanProcessor[]): SpanProcessor {
  if (processors.length === 1) return processors[0];
  return {
    onStart: (span: Span, parent: Context) => processors.forEach((p) => p.onStart(span, parent)),
    onEnd: (span: ReadableSpan) => processors.forEach((p) => p.onEnd(span)),
    forceFlush: async () => void (await Promise.all(processors.map((p) => p.forceFlush()))),
    shutdown: async () => void (await Promise.all(processors.map((p) => p.shutdown()))),
  };
}

/** `http.url` and `http.target` of an outbound request, its query string left out. */
export function urlWithoutQuery(request: RequestOptions): Attributes {
  const path = (request.path ?? '/').split('?')[0];
  const protocol = request.protocol ?? 'http:';
  const host = request.hostname ?? request.host ?? 'localhost';
  const port = request.port !== undefined && request.port !== null && String(request.port) !== (protocol === 'https:' ? '443' : '80') ? `:${request.port}` : '';
  const hostPart = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return { 'http.url': `${protocol}//${hostPart}${port}${path}`, 'http.target': path };
}
