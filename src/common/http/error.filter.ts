import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException } from '@nestjs/common';
import type { Request, Response } from 'express';
import { AppError } from '@src/common/errors';
import type { Logger } from '@src/logging/logger';
import { requestId } from '@src/common/http/request-id';
import { ErrorCodes } from '@engine/shared/contracts';
import type { ApiErrorCode } from '@engine/shared/error-catalogue';
import { unavailableDependency } from '@engine/shared/infra-faults';

/** `Retry-After` (seconds) of every 503 unless the filter is given another (config `outage.retryAfterSeconds`). */
export const DEFAULT_RETRY_AFTER_SECONDS = 5;

/** The one error shape of the API. */
export interface ErrorBody {
  code: ApiErrorCode;
  message: string;
  details: Record<string, unknown>;
}

const CODE_BY_STATUS: Record<number, ApiErrorCode> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  406: 'NOT_ACCEPTABLE',
  408: 'REQUEST_TIMEOUT',
  409: 'CONFLICT',
  411: 'LENGTH_REQUIRED',
  413: 'PAYLOAD_TOO_LARGE',
  414: 'URI_TOO_LONG',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  422: 'UNPROCESSABLE',
  429: 'TOO_MANY_REQUESTS',
  503: 'SERVICE_UNAVAILABLE',
};

/** body-parser (Express) errors, by their `type`. */
const BODY_PARSER_ERRORS: Record<string, { code: ApiErrorCode; message: (e: { message?: string; limit?: number }) => string }> = {
  'entity.parse.failed': { code: 'BODY_INVALID_JSON', message: (e) => `body: not valid JSON (${firstLine(e.message)})` },
  'entity.too.large': { code: 'PAYLOAD_TOO_LARGE', message: (e) => `body: larger than the ${e.limit ?? ''} byte limit`.replace('  ', ' ') },
  'entity.verify.failed': { code: 'BODY_INVALID', message: (e) => `body: ${firstLine(e.message)}` },
  'request.aborted': { code: 'REQUEST_ABORTED', message: () => 'body: the request was aborted while it was read' },
  'request.size.invalid': { code: 'BODY_INVALID', message: () => 'body: its length does not match Content-Length' },
  'encoding.unsupported': { code: 'UNSUPPORTED_MEDIA_TYPE', message: (e) => `body: ${firstLine(e.message)}` },
  'charset.unsupported': { code: 'UNSUPPORTED_MEDIA_TYPE', message: (e) => `body: ${firstLine(e.message)}` },
  'parameters.too.many': { code: 'BODY_INVALID', message: () => 'body: too many parameters' },
  'stream.encoding.set': { code: 'BODY_INVALID', message: () => 'body: could not be read' },
};

/** PostgreSQL errors that are the caller's fault when they escape the services' own checks. */
const PG_ERRORS: Record<string, { status: number; code: ApiErrorCode; message: string }> = {
  '22001': { status: 400, code: 'VALUE_TOO_LONG', message: 'a value is longer than its field allows' },
  '22003': { status: 400, code: 'NUMBER_OUT_OF_RANGE', message: 'a number is out of the range its field allows' },
  '22P02': { status: 400, code: 'INVALID_VALUE', message: 'a value has the wrong format for its field' },
  '22007': { status: 400, code: 'INVALID_VALUE', message: 'a date or time has the wrong format' },
  '22008': { status: 400, code: 'INVALID_VALUE', message: 'a date or time is out of range' },
  '22021': { status: 400, code: 'INVALID_VALUE', message: 'a text value contains bytes that are not valid text' },
  '22P05': { status: 400, code: 'INVALID_VALUE', message: 'a text value contains characters that cannot be stored (\\u0000)' },
  '23505': { status: 409, code: 'CONFLICT', message: 'a record with the same unique value already exists' },
  '23503': { status: 409, code: 'REFERENCE_CONFLICT', message: 'the record is referenced by, or references, another record' },
  '23514': { status: 400, code: 'CONSTRAINT_VIOLATION', message: 'a value breaks a rule of its field' },
  '40001': { status: 503, code: 'RETRY', message: 'a concurrent change conflicted; retry the request' },
  '40P01': { status: 503, code: 'RETRY', message: 'a concurrent change conflicted; retry the request' },
  '55P03': { status: 409, code: 'BUSY', message: 'the record is being changed by another request; retry shortly' },
  '57014': { status: 503, code: 'TIMEOUT', message: 'the database took too long to answer' },
};

function firstLine(s: string | undefined): string {
  return (s ?? '').split('\n')[0].slice(0, 300);
}

/** Maps any error to `{code, message, details}` and a status. Exported for tests and the CLI. */
export function toErrorBody(err: unknown): { status: number; body: ErrorBody; unexpected: boolean } {
  if (err instanceof AppError) {
    return { status: err.status, body: { code: err.code, message: err.message, details: err.details ?? {} }, unexpected: err.status >= 500 && err.status !== 503 };
  }
  if (err instanceof HttpException) {
    const status = err.getStatus();
    const res = err.getResponse();
    const raw = typeof res === 'string' ? res : ((res as { message?: unknown }).message ?? err.message);
    const message = Array.isArray(raw) ? raw.join('; ') : String(raw);
    const code = CODE_BY_STATUS[status] ?? (status >= 500 ? 'INTERNAL' : 'BAD_REQUEST');
    if (status >= 500) return { status, body: { code, message: 'internal server error', details: {} }, unexpected: true };
    return { status, body: { code, message: status === 404 && /^Cannot /.test(message) ? `${message.replace(/^Cannot /, 'no route ')}` : message, details: {} }, unexpected: false };
  }
  const e = err as { type?: string; status?: number; statusCode?: number; message?: string; limit?: number; code?: string; driverError?: { code?: string } };
  if (e && typeof e.type === 'string' && BODY_PARSER_ERRORS[e.type]) {
    const known = BODY_PARSER_ERRORS[e.type];
    const status = e.status ?? e.statusCode ?? 400;
    return { status: status >= 400 && status < 500 ? status : 400, body: { code: known.code, message: known.message(e), details: {} }, unexpected: false };
  }
  // PostgreSQL or Temporal unreachable: not the caller's fault nor a bug; 503 with Retry-After.
  const dependency = unavailableDependency(err) ?? (isTemporalUnavailable(err) ? 'temporal' : null);
  if (dependency) {
    const message = dependency === 'database' ? 'the database is unavailable; retry shortly' : 'Temporal is unavailable; retry shortly';
    return { status: 503, body: { code: ErrorCodes.DEPENDENCY_UNAVAILABLE, message, details: { dependency } }, unexpected: false };
  }
  const pgCode = e?.driverError?.code ?? (e && (e as { name?: string }).name === 'QueryFailedError' ? e.code : undefined);
  if (pgCode && PG_ERRORS[pgCode]) {
    const known = PG_ERRORS[pgCode];
    return { status: known.status, body: { code: known.code, message: known.message, details: {} }, unexpected: false };
  }
  const status = e?.status ?? e?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return { status, body: { code: CODE_BY_STATUS[status] ?? 'BAD_REQUEST', message: firstLine(e.message) || 'bad request', details: {} }, unexpected: false };
  }
  return { status: 500, body: { code: 'INTERNAL', message: 'internal server error', details: {} }, unexpected: true };
}

/** Connection problems with the Temporal frontend (gRPC UNAVAILABLE / DEADLINE_EXCEEDED, refused connections). */
export function isTemporalUnavailable(err: unknown): boolean {
  const e = err as { name?: string; code?: number; cause?: { code?: number }; message?: string };
  if (!e) return false;
  const grpc = typeof e.code === 'number' ? e.code : e.cause?.code;
  if ((e.name === 'ServiceError' || e.name === 'TransportError') && (grpc === 14 || grpc === 4 || grpc === undefined)) return true;
  return /Failed to connect|tcp connect error|transport error|Connection refused|DEADLINE_EXCEEDED|UNAVAILABLE/i.test(e.message ?? '') && !(err instanceof AppError);
}

/**
 * The global exception filter: every error leaves the API as `{code, message,
 * details}`. Unexpected errors answer 500 with a generic message and are logged
 * with the request id that is also in the response.
 */
@Catch()
export class ErrorFilter implements ExceptionFilter {
  constructor(
    private readonly logger: Logger,
    private readonly retryAfterSeconds = DEFAULT_RETRY_AFTER_SECONDS,
  ) {}

  catch(err: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const req = ctx.getRequest<Request>();
    const res = ctx.getResponse<Response>();
    const { status, body, unexpected } = toErrorBody(err);
    const id = requestId(req);
    if (unexpected) {
      body.details = { ...body.details, request_id: id };
      const e = err as Error;
      this.logger.error('request failed', {
        request_id: id,
        method: req.method,
        path: req.originalUrl?.split('?')[0],
        error: e instanceof Error ? { name: e.name, message: e.message } : String(err),
        stack: e instanceof Error ? e.stack?.split('\n').slice(0, 8).join('\n') : undefined,
      });
    } else if (status >= 500) {
      this.logger.warn('request failed', { request_id: id, method: req.method, path: req.originalUrl?.split('?')[0], code: body.code, message: body.message });
    }
    if (res.headersSent) return;
    if (status === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="merchflow"');
    if (status === 503) res.setHeader('Retry-After', String(this.retryAfterSeconds));
    res.status(status).json(body);
  }
}

/**
 * The same mapping for errors raised by Express middleware (the JSON parser,
 * the body guard) before a request reaches Nest's pipeline.
 */
export function expressErrorHandler(logger: Logger, retryAfterSeconds = DEFAULT_RETRY_AFTER_SECONDS) {
  const filter = new ErrorFilter(logger, retryAfterSeconds);
  return (err: unknown, req: Request, res: Response, next: (err?: unknown) => void): void => {
    if (res.headersSent) return next(err);
    filter.catch(err, {
      switchToHttp: () => ({ getRequest: () => req, getResponse: () => res, getNext: () => next }),
    } as unknown as ArgumentsHost);
  };
}
