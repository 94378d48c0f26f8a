import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import type { NextFunction, Request, Response } from 'express';
import type { AppConfig } from '@src/config/config';
import { presentedKey } from '@src/auth/api-key.guard';
import { ApiKeysService } from '@src/auth/api-keys.service';
import type { AuthedRequest } from '@src/auth/roles';
import { UnauthenticatedError } from '@src/common/errors';
import { toErrorBody } from '@src/common/http/error.filter';
import { requestComponentSchemas, responseComponentSchemas } from '@src/docs/response-schemas';

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
    .setLicense('UNLICENSED (proprietary, no public licence text)', '')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'An API key (mf_...)' })
    .addApiKey({ type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'An API key (mf_...)' }, 'api_key')
    .build();
  return completeContract(SwaggerModule.createDocument(app, doc, { ignoreGlobalPrefix: true }));
}

/** The success answer of each operation: status and component schema (none for 204). */
export const OPERATION_RESPONSES: Record<string, { status: number; schema: string | null; description: string; /** A download: these media types, each a string body. */ media?: string[] }> = {
  HealthController_health: { status: 200, schema: 'Health', description: 'The API, the database and Temporal answer (503 with the same body when one does not)' },
  ApiKeysController_list: { status: 200, schema: 'ApiKeyPage', description: 'A page of keys' },
  ApiKeysController_create: { status: 201, schema: 'ApiKey', description: 'The key, with its plaintext `key` (shown once)' },
  ApiKeysController_revoke: { status: 200, schema: 'ApiKey', description: 'The revoked key' },
  WorkflowsController_list: { status: 200, schema: 'WorkflowPage', description: 'A page of workflows' },
  WorkflowsController_create: { status: 201, schema: 'Workflow', description: 'The workflow with its steps' },
  WorkflowsController_validate: { status: 200, schema: 'DefinitionCheck', description: 'The definition is valid' },
  WorkflowsController_get: { status: 200, schema: 'Workflow', description: 'The workflow with its steps' },
  WorkflowsController_update: { status: 200, schema: 'Workflow', description: 'The workflow with the steps of its current version' },
  WorkflowsController_remove: { status: 204, schema: null, description: 'Deleted' },
  WorkflowsController_versions: { status: 200, schema: 'WorkflowVersionPage', description: 'A page of versions' },
  StepTypesController_list: { status: 200, schema: 'StepTypeList', description: 'Every step type a definition may use' },
  TemplatesController_list: { status: 200, schema: 'TemplatePage', description: 'A page of templates' },
  TemplatesController_create: { status: 201, schema: 'Workflow', description: 'The new workflow' },
  ExecutionsController_list: { status: 200, schema: 'ExecutionPage', description: 'A page of runs, newest first' },
  ExecutionsController_get: { status: 200, schema: 'ExecutionDetail', description: 'The run' },
  ExecutionsController_cancel: { status: 202, schema: 'Execution', description: 'Cancellation requested' },
  ExecutionsController_restart: { status: 202, schema: 'Execution', description: 'The new run' },
  ExecutionsController_signal: { status: 202, schema: 'Execution', description: 'The decision was delivered' },
  ExecutionsController_retryItems: { status: 202, schema: 'RetryItemsRun', description: 'The new run, with the step, count and version of what it retries' },
  ExecutionsController_stepOutput: { status: 200, schema: 'StepOutput', description: "The step's output (left out above 1 MiB)" },
  ExecutionsController_editOutput: { status: 202, schema: 'EditedOutputRun', description: 'The new run that continues from the edited output, with the audit record' },
  WorkflowExecuteController_execute: { status: 202, schema: 'Execution', description: 'The run was started (or, for a known idempotency_key, the first run)' },
  SchedulesController_list: { status: 200, schema: 'SchedulePage', description: 'A page of schedules' },
  SchedulesController_create: { status: 201, schema: 'Schedule', description: 'The schedule' },
  SchedulesController_get: { status: 200, schema: 'Schedule', description: 'The schedule with its live state' },
  SchedulesController_update: { status: 200, schema: 'Schedule', description: 'The schedule' },
  SchedulesController_remove: { status: 204, schema: null, description: 'Deleted' },
  SchedulesController_pause: { status: 200, schema: 'Schedule', description: 'The paused schedule' },
  SchedulesController_unpause: { status: 200, schema: 'Schedule', description: 'The active schedule' },
  SchedulesController_trigger: { status: 202, schema: 'Schedule', description: 'A run was started' },
  StatsController_get: { status: 200, schema: 'Stats', description: 'The statistics' },
  CodecController_decode: { status: 200, schema: 'Payloads', description: 'The decrypted payloads' },
  CodecController_encode: { status: 200, schema: 'Payloads', description: 'The encrypted payloads' },
  CodecController_session: { status: 200, schema: 'CodecSession', description: 'The cookie is set' },
  CodecController_endSession: { status: 200, schema: 'CodecSessionCleared', description: 'The cookie is cleared' },
  SecretsController_list: { status: 200, schema: 'SecretList', description: 'Every secret: names and times, never a value' },
  SecretsController_get: { status: 200, schema: 'Secret', description: 'The secret (never its value)' },
  SecretsController_create: { status: 201, schema: 'Secret', description: 'The new secret (never its value)' },
  SecretsController_set: { status: 200, schema: 'Secret', description: 'The value was replaced (201 when the secret was created)' },
  SecretsController_remove: { status: 200, schema: 'Secret', description: 'The deleted secret' },
  SuppliersController_list: { status: 200, schema: 'ConnectionList', description: 'The suppliers' },
  SuppliersController_get: { status: 200, schema: 'Connection', description: 'The connection' },
  SuppliersController_create: { status: 201, schema: 'Connection', description: 'The new connection' },
  SuppliersController_update: { status: 200, schema: 'Connection', description: 'The connection' },
  SuppliersController_disable: { status: 200, schema: 'Connection', description: 'The disabled connection (its history kept)' },
  SuppliersController_remove: { status: 200, schema: 'Connection', description: 'The deleted connection' },
  SuppliersController_test: { status: 200, schema: 'ConnectionTest', description: 'What one authenticated read saw (ok false with the reason when it failed)' },
  MarketplacesController_list: { status: 200, schema: 'ConnectionList', description: 'The marketplaces' },
  MarketplacesController_get: { status: 200, schema: 'Connection', description: 'The connection' },
  MarketplacesController_create: { status: 201, schema: 'Connection', description: 'The new connection' },
  MarketplacesController_update: { status: 200, schema: 'Connection', description: 'The connection' },
  MarketplacesController_disable: { status: 200, schema: 'Connection', description: 'The disabled connection (its history kept)' },
  MarketplacesController_remove: { status: 200, schema: 'Connection', description: 'The deleted connection' },
  MarketplacesController_test: { status: 200, schema: 'ConnectionTest', description: 'What one authenticated read saw (ok false with the reason when it failed)' },
  CarriersController_list: { status: 200, schema: 'ConnectionList', description: 'The carriers' },
  CarriersController_get: { status: 200, schema: 'Connection', description: 'The connection' },
  CarriersController_create: { status: 201, schema: 'Connection', description: 'The new connection' },
  CarriersController_update: { status: 200, schema: 'Connection', description: 'The connection' },
  CarriersController_disable: { status: 200, schema: 'Connection', description: 'The disabled connection (its history kept)' },
  CarriersController_remove: { status: 200, schema: 'Connection', description: 'The deleted connection' },
  CarriersController_test: { status: 200, schema: 'ConnectionTest', description: 'What one authenticated read saw (ok false with the reason when it failed)' },
  ChannelsController_list: { status: 200, schema: 'ChannelList', description: 'The channels' },
  ChannelsController_get: { status: 200, schema: 'Channel', description: 'The channel' },
  ChannelsController_create: { status: 201, schema: 'Channel', description: 'The new channel' },
  ChannelsController_update: { status: 200, schema: 'Channel', description: 'The channel' },
  ChannelsController_disable: { status: 200, schema: 'Channel', description: 'The disabled channel' },
  ChannelsController_remove: { status: 200, schema: 'Channel', description: 'The deleted channel' },
  ChannelsController_test: { status: 200, schema: 'ChannelTest', description: 'What the test send did' },
  ChannelsController_mailbox: { status: 200, schema: 'Mailbox', description: 'Messages the local SMTP catcher received, newest first' },
  ExecutionItemsController_list: { status: 200, schema: 'ItemOutcomePage', description: 'A page of the run\'s item outcomes, by step and input position' },
  ExecutionItemsController_counts: { status: 200, schema: 'ItemCounts', description: 'Counts by outcome, and by step, outcome and reason (most first)' },
  ExecutionItemsController_export: { status: 200, schema: null, description: 'The matching items: CSV with a header line, or one JSON object a line', media: ['text/csv', 'application/x-ndjson'] },
  ExecutionItemsController_payload: { status: 200, schema: 'ItemPayload', description: 'The item as the step received it' },
  AiReviewsController_list: { status: 200, schema: 'ReviewList', description: "The run's reviews: each held item with the original, the AI's proposal and its decision" },
  AiReviewsController_decide: { status: 202, schema: 'ReviewItem', description: 'The item with its decision (the run goes on once every item has one)' },
  AiReviewsController_decideRest: { status: 202, schema: 'ReviewRest', description: 'How many items the decision covered' },
};

/** Operations that need no key. */
const PUBLIC_OPERATIONS = new Set(['HealthController_health', 'CodecController_endSession']);

/** 4xx answers beyond the ones every operation of its kind has (bad input, no key, wrong role, unknown id). */
const EXTRA_ERRORS: Record<string, number[]> = {
  WorkflowsController_create: [409],
  WorkflowsController_update: [409],
  WorkflowsController_remove: [409],
  TemplatesController_create: [409],
  WorkflowExecuteController_execute: [409],
  ExecutionsController_cancel: [409],
  ExecutionsController_restart: [409],
  ExecutionsController_signal: [409],
  ExecutionsController_retryItems: [409, 422],
  ExecutionsController_editOutput: [409, 422],
  SchedulesController_create: [409],
  CodecController_decode: [422],
  SecretsController_create: [409],
  SecretsController_remove: [409],
  SuppliersController_remove: [409],
  MarketplacesController_remove: [409],
  CarriersController_remove: [409],
  ChannelsController_remove: [409],
};

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Bad input: `message` and `details` name the field',
  401: 'No API key, or an unknown, revoked or expired one',
  403: 'The key\'s role may not do this',
  404: 'No such record',
  409: 'Conflicts with the current state (e.g. AI_NOT_CONFIGURED, STEP_FINISHED, a duplicate code)',
  415: 'The body is not JSON (send `Content-Type: application/json`)',
  422: 'A payload cannot be decoded; nothing to retry (NO_ITEMS_TO_RETRY, RETRY_NOT_POSSIBLE); an edited output of the wrong shape (OUTPUT_INVALID)',
  503: 'The database or Temporal is unavailable (DEPENDENCY_UNAVAILABLE; see Retry-After)',
};

type Operation = { operationId?: string; parameters?: Array<{ in?: string }>; requestBody?: unknown; responses: Record<string, unknown>; security?: Array<Record<string, string[]>> };

/**
 * Gives every operation its success schema, its 4xx answers in the one error
 * shape, a 503, and its security (both key schemes, or none for the public
 * ones). Kept in one table here rather than decorators on each handler, so the
 * contract can be read in one place; the API tests fail for an operation
 * missing from it.
 */
export function completeContract(doc: OpenAPIObject): OpenAPIObject {
  doc.components = doc.components ?? {};
  doc.components.schemas = { ...(doc.components.schemas ?? {}), ...(requestComponentSchemas() as Record<string, object>), ...(responseComponentSchemas() as Record<string, object>) };
  doc.components.responses = {
    ...(doc.components.responses ?? {}),
    ...Object.fromEntries(
      Object.entries(ERROR_DESCRIPTIONS).map(([status, description]) => [
        `Error${status}`,
        { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
      ]),
    ),
  };
  for (const item of Object.values(doc.paths)) {
    for (const method of ['get', 'put', 'post', 'delete', 'patch'] as const) {
      const op = (item as Record<string, Operation | undefined>)[method];
      if (!op) continue;
      const id = op.operationId ?? '';
      const known = OPERATION_RESPONSES[id];
      if (!known) throw new Error(`OpenAPI: operation ${id || method} has no entry in OPERATION_RESPONSES (src/docs/openapi.ts)`);
      const isPublic = PUBLIC_OPERATIONS.has(id);
      const success = known.schema
        ? { description: known.description, content: { 'application/json': { schema: { $ref: `#/components/schemas/${known.schema}` } } } }
        : known.media
          ? { description: known.description, content: Object.fromEntries(known.media.map((m) => [m, { schema: { type: 'string' } }])) }
          : { description: known.description };
      const errors = new Set<number>();
      if (op.requestBody || (op.parameters ?? []).length > 0) errors.add(400);
      if (op.requestBody) errors.add(415);
      if (!isPublic) [401, 403].forEach((s) => errors.add(s));
      if ((op.parameters ?? []).some((p) => p.in === 'path')) errors.add(404);
      for (const s of EXTRA_ERRORS[id] ?? []) errors.add(s);
      op.responses = {
        [String(known.status)]: success,
        ...Object.fromEntries([...errors].sort().map((s) => [String(s), { $ref: `#/components/responses/Error${s}` }])),
        ...(id === 'HealthController_health'
          ? { '503': { description: 'A dependency is down', content: { 'application/json': { schema: { $ref: '#/components/schemas/Health' } } } } }
          : { '503': { $ref: '#/components/responses/Error503' } }),
      };
      op.security = isPublic ? [] : [{ bearer: [] }, { api_key: [] }];
    }
  }
  return doc;
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
