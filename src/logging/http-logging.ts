import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request } from 'express';
import { LoggerModule } from 'nestjs-pino';
import { requestId } from '@src/common/http/request-id';
import type { Logger } from '@src/logging/logger';

/**
 * nestjs-pino for the API: Nest's own messages and one line per request
 * (`request completed`: method, path, status, time, request id) through the
 * process logger, so they share its format and its secret redactors. Only the
 * method and the path of a request are logged: never headers (API keys),
 * query strings or bodies.
 */
export function httpLoggingModule(logger: Logger) {
  return LoggerModule.forRoot({
    pinoHttp: {
      logger: logger.pino,
      genReqId: (req: IncomingMessage) => requestId(req as Request),
      customProps: (req: IncomingMessage) => ({ request_id: requestId(req as Request) }),
      customAttributeKeys: { responseTime: 'duration_ms' },
      customLogLevel: (_req: IncomingMessage, res: ServerResponse, err?: Error) => (err || res.statusCode >= 500 ? (res.statusCode === 503 ? 'warn' : 'error') : 'info'),
      serializers: {
        req: (req: { method?: string; url?: string }) => ({ method: req.method, path: (req.url ?? '').split('?')[0] }),
        res: (res: { statusCode?: number }) => ({ status: res.statusCode }),
        err: (err: Error & { code?: unknown }) => ({ name: err.name, message: err.message, code: err.code }),
      },
    },
  });
}
