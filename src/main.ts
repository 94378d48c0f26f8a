/**
 * The API process: `npm run api`. Serves the REST API under /orchestration/api
 * and its OpenAPI docs at /orchestration/api/docs.
 */
import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from '@src/app.module';
import { appConfig, redactUrl, type AppConfig } from '@src/config/config';
import type { AppOptions } from '@src/core/app-options';
import { NestLoggerAdapter, rootLogger } from '@src/logging/logger';
import { describeStartupError } from '@src/common/startup-errors';
import { bodyGuard } from '@src/common/http/body-guard';
import { ErrorFilter, expressErrorHandler } from '@src/common/http/error.filter';
import { requestIdMiddleware } from '@src/common/http/request-id';
import { createValidationPipe } from '@src/common/http/validation';
import { setupOpenApi } from '@src/docs/openapi';

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
    logger: new NestLoggerAdapter(logger),
    abortOnError: false,
    bodyParser: false,
  });
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  // Order matters: id, JSON parser, guard, then an error handler for what those two reject.
  app.use(requestIdMiddleware);
  app.useBodyParser('json', { limit: BODY_LIMIT, type: ['application/json', 'application/*+json'] });
  app.use(bodyGuard);
  app.use(expressErrorHandler(logger));
  app.setGlobalPrefix(config.http.basePath);
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new ErrorFilter(logger));
  app.enableShutdownHooks();
  setupOpenApi(app, config);
  return app;
}

async function main(): Promise<void> {
  const config = appConfig();
  const logger = rootLogger({ level: config.log.level, format: config.log.format }).child({ component: 'api' });
  const app = await createApp(config);
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
