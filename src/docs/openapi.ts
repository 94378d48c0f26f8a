import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import type { AppConfig } from '@src/config/config';

/** The OpenAPI document of the API (routes, DTO schemas, the two ways to send a key). */
export function buildOpenApi(app: INestApplication, config: AppConfig): OpenAPIObject {
  const doc = new DocumentBuilder()
    .setTitle('Merchflow API')
    .setDescription(
      'Durable workflows for e-commerce operations. Every endpoint except /health/ needs an API key, sent as ' +
        '`Authorization: Bearer <key>` or `X-API-Key: <key>`. Roles: viewer (reads), operator (+ run control and schedule ' +
        'pause/unpause/trigger), admin (+ definitions, schedules, keys). Errors are `{code, message, details}`; lists are ' +
        '`{count, page, page_size, results}`. Paths work with and without a trailing slash.',
    )
    .setVersion('1')
    .addServer(config.http.basePath)
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'An API key (mf_...)' })
    .addApiKey({ type: 'apiKey', in: 'header', name: 'X-API-Key' }, 'api_key')
    .build();
  return SwaggerModule.createDocument(app, doc, { ignoreGlobalPrefix: true });
}

/** Serves the interactive docs at `<basePath>/docs` and the JSON at `<basePath>/docs-json`. */
export function setupOpenApi(app: INestApplication, config: AppConfig): OpenAPIObject {
  const document = buildOpenApi(app, config);
  SwaggerModule.setup('docs', app, document, {
    useGlobalPrefix: true,
    jsonDocumentUrl: 'docs-json',
    customSiteTitle: 'Merchflow API',
    swaggerOptions: { persistAuthorization: true },
  });
  return document;
}
