/**
 * The API process: `npm run api`. Serves the REST API under /orchestration/api.
 */
import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from '@src/app.module';
import { appConfig, redactUrl, type AppConfig } from '@src/config/config';
import { NestLoggerAdapter, rootLogger } from '@src/logging/logger';
import { describeStartupError } from '@src/common/startup-errors';

/** Builds the Nest application with the global prefix and settings; does not listen. */
export async function createApp(config: AppConfig = appConfig()): Promise<INestApplication> {
  const logger = rootLogger({ level: config.log.level, format: config.log.format }).child({ component: 'api' });
  const app = await NestFactory.create(AppModule, { logger: new NestLoggerAdapter(logger), abortOnError: false });
  app.setGlobalPrefix(config.http.basePath);
  app.enableShutdownHooks();
  return app;
}

async function main(): Promise<void> {
  const config = appConfig();
  const logger = rootLogger({ level: config.log.level, format: config.log.format }).child({ component: 'api' });
  const app = await createApp(config);
  await app.listen(config.http.port, config.http.host);
  logger.info('api listening', { url: `http://${config.http.host}:${config.http.port}${config.http.basePath}/` });
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
