/**
 * Writes the OpenAPI document the API serves, without a database or Temporal:
 * `node dist/src/docs/export.js [FILE]` (stdout without FILE). The modules are
 * scanned in Nest's preview mode, so no provider is instantiated.
 */
import 'reflect-metadata';
import fs from 'node:fs';
import { NestFactory } from '@nestjs/core';
import { AppModule } from '@src/app.module';
import { loadConfig } from '@src/config/config';
import { buildOpenApi } from '@src/docs/openapi';
import type { OpenAPIObject } from '@nestjs/swagger';

/** The document of the API as configured by `env` (the base path is the only setting it reads). */
export async function exportOpenApi(env: NodeJS.ProcessEnv = process.env): Promise<OpenAPIObject> {
  const config = loadConfig(env);
  const app = await NestFactory.create(AppModule.forRoot({ config }), { preview: true, logger: false, abortOnError: false });
  app.setGlobalPrefix(config.http.basePath);
  try {
    return buildOpenApi(app, config);
  } finally {
    await app.close();
  }
}

async function main(): Promise<void> {
  const doc = JSON.stringify(await exportOpenApi(), null, 2) + '\n';
  const file = process.argv[2];
  if (file) fs.writeFileSync(file, doc);
  else process.stdout.write(doc);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(`openapi export: ${(err as Error).message}`);
    process.exit(1);
  });
}
