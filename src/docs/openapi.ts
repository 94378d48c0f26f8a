import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import type { NextFunction, Request, Response } from 'express';
import type { AppConfig } from '@src/config/config';
import { presentedKey } from '@src/auth/api-key.guard';
import { ApiKeysService } from '@src/auth/api-keys.service';
import type { AuthedRequest } from '@src/auth/roles';
import { UnauthenticatedError } from '@src/common/errors';
import { toErrorBody } from '@src/common/http/error.filter';

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

/**
 * The docs' paths under the base path: the UI page and its assets (`/docs`,
 * `/docs/...`, whose init script embeds the whole document) and the document
 * itself (`/docs-json`, `/docs-yaml`).
 */
const DOCS_PATH = /^\/docs(?:$|[/?]|-json|-yaml)/;

/**
 * The key a docs request carries: `Authorization: Bearer`, `X-API-Key`, or, so
 * a browser can open the UI (it prompts on the Basic challenge), HTTP Basic
 * with the key as the password (any user name). Basic is accepted on the docs
 * only, never on the API.
 */
function docsKey(req: AuthedRequest): string | null {
  const key = presentedKey(req);
  if (key) return key;
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(req.headers.authorization ?? '');
  if (!m) return null;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon >= 0 && colon < decoded.length - 1 ? decoded.slice(colon + 1) : null;
}

/**
 * Puts the OpenAPI document and UI behind an API key (any role), unless
 * `OPENAPI_PUBLIC=true`. Express middleware, because Swagger registers its
 * routes outside Nest's guards; must be mounted before {@link setupOpenApi}.
 */
export function protectOpenApi(app: INestApplication, config: AppConfig): void {
  if (config.http.openApiPublic) return;
  const keys = app.get(ApiKeysService);
  const prefix = config.http.basePath;
  app.use((req: Request, res: Response, next: NextFunction) => {
    const path = req.path;
    if (!path.startsWith(prefix) || !DOCS_PATH.test(path.slice(prefix.length))) return next();
    const key = docsKey(req as unknown as AuthedRequest);
    const deny = (message?: string) => {
      const { status, body } = toErrorBody(new UnauthenticatedError(message));
      res.setHeader('WWW-Authenticate', 'Bearer realm="merchflow", Basic realm="Merchflow API docs (password: an API key)", charset="UTF-8"');
      res.setHeader('Cache-Control', 'no-store');
      res.status(status).json(body);
    };
    if (!key) return deny();
    keys.authenticate(key).then(
      (principal) => {
        if (!principal) return deny('the API key is unknown, revoked or expired');
        res.setHeader('Cache-Control', 'no-store');
        next();
      },
      (err: unknown) => next(err),
    );
  });
}

/** Serves the interactive docs at `<basePath>/docs` and the JSON at `<basePath>/docs-json`. */
export function setupOpenApi(app: INestApplication, config: AppConfig): OpenAPIObject {
  protectOpenApi(app, config);
  const document = buildOpenApi(app, config);
  SwaggerModule.setup('docs', app, document, {
    useGlobalPrefix: true,
    jsonDocumentUrl: 'docs-json',
    customSiteTitle: 'Merchflow API',
    swaggerOptions: { persistAuthorization: true },
  });
  return document;
}
