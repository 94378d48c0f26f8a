/**
 * The API process: `npm run api`. Serves the REST API under /orchestration/api
 * and its OpenAPI docs at /orchestration/api/docs.
 */
import 'reflect-metadata';
import path from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Express, Request } from 'express';
import { AppModule } from '@src/app.module';
import { appConfig, redactUrl, type AppConfig } from '@src/config/config';
import type { AppOptions } from '@src/core/app-options';
import { Logger as NestPinoLogger } from 'nestjs-pino';
import { rootLogger } from '@src/logging/logger';
import { describeStartupError } from '@src/common/startup-errors';
import { bodyGuard } from '@src/common/http/body-guard';
import { ErrorFilter, expressErrorHandler } from '@src/common/http/error.filter';
import { requestIdMiddleware } from '@src/common/http/request-id';
import { createValidationPipe } from '@src/common/http/validation';
import { setupOpenApi } from '@src/docs/openapi';
import { mountCodecHttp } from '@src/codec/codec-http';
import { METRICS_PATH, apiMetrics, httpMetricsMiddleware, metricsHandler, routeLabel } from '@src/metrics/http-metrics';
import { startTracing } from '@src/tracing/tracing';
import type { Logger } from '@src/logging/logger';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';

/** Largest JSON body the API reads. */
export const BODY_LIMIT = '1mb';

/**
 * Builds the Nest application with the global prefix, body parsing, the
 * validation pipe, the error filter, auth and the docs; does not listen.
 * Tests pass their own configuration and extra step types / templates.
 */
export async function createApp(config: AppConfig = appConfig(), options: Omit<AppOptions, 'config'> = {}): Promise<INestApplication> {
  const logger = (options.logger ?? rootLogger({ level: config.log.level, format: config.log.format })).child({ component: 'api' });
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot({ ...options, config, logger }), {
    bufferLogs: true,
    abortOnError: false,
    bodyParser: false,
  });
  app.useLogger(app.get(NestPinoLogger));
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  // Order matters: id, JSON parser, guard, then an error handler for what those two reject.
  app.use(requestIdMiddleware);
  const metrics = apiMetrics();
  app.use(httpMetricsMiddleware(metrics, ADMIN_PATH));
  (app.getHttpAdapter().getInstance() as Express).get(METRICS_PATH, metricsHandler(metrics, config.metrics.token));
  mountCodecHttp(app, config);
  app.useBodyParser('json', { limit: BODY_LIMIT, type: ['application/json', 'application/*+json'] });
  app.use(bodyGuard);
  app.use(expressErrorHandler(logger, config.outage.retryAfterSeconds));
  app.setGlobalPrefix(config.http.basePath);
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new ErrorFilter(logger, config.outage.retryAfterSeconds));
  app.enableShutdownHooks();
  setupOpenApi(app, config);
  mountAdminUi(app);
  return app;
}

/** Where the admin UI is served: static files that talk to the REST API with the operator's key. */
export const ADMIN_PATH = '/orchestration/admin';

/** Serves the admin UI (no key needed for the page itself; every API call it makes needs one). */
function mountAdminUi(app: NestExpressApplication): void {
  app.use(ADMIN_PATH, (_req: unknown, res: { setHeader(name: string, value: string): void }, next: () => void) => {
    // The page runs only its own script and talks only to this origin.
    res.setHeader('Content-Security-Policy', "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    next();
  });
  app.useStaticAssets(path.join(__dirname, 'admin', 'public'), { prefix: ADMIN_PATH, index: 'index.html', redirect: true });
  app.getHttpAdapter().get('/', (_req, res) => app.getHttpAdapter().redirect(res, 302, `${ADMIN_PATH}/`));
}

/**
 * Starts the API's tracing when the OTEL_* variables ask for it (before the app connects anywhere), with
 * server spans named by route template (`POST /orchestration/api/workflows/:id/execute`).
 */
export function startApiTracing(config: AppConfig, logger: Logger, exporter?: SpanExporter) {
  return startTracing(config, {
    defaultServiceName: 'merchflow-api',
    exporter,
    httpRoute: (req) => {
      const route = routeLabel(req as unknown as Request, ADMIN_PATH);
      return route === 'unmatched' ? null : route;
    },
    onDiagnostic: (level, message) => logger.log(level, message, { component: 'tracing' }),
  });
}

async function main(): Promise<void> {
  const config = appConfig();
  const logger = rootLogger({ level: config.log.level, format: config.log.format }).child({ component: 'api' });
  const tracing = await startApiTracing(config, logger);
  if (tracing) logger.info('tracing', { service: tracing.serviceName, exporters: config.tracing.exporters });
  const app = await createApp(config, tracing ? { onShutdown: () => tracing.shutdown() } : {});
  await app.listen(config.http.port, config.http.host);
  logger.info('api listening', {
    url: `http://${config.http.host}:${config.http.port}${config.http.basePath}/`,
    docs: `http://${config.http.host}:${config.http.port}${config.http.basePath}/docs`,
  });
}

if (require.main === module) {
  main().catch((err) => {
    let names = {};
    try {
      const c = appConfig();
      names = { database: redactUrl(c.databaseUrl), temporal: c.temporal.address, port: c.http.port };
    } catch {
      /* configuration itself is the problem */
    }
    console.error(`api: ${describeStartupError(err, names)}`);
    process.exit(1);
  });
}
