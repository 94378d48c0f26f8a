import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';

const SAFE_ID = /^[A-Za-z0-9._:-]{1,100}$/;
const KEY = Symbol('request_id');

/** The request's id: the caller's X-Request-Id when it is a safe token, else a new uuid. */
export function requestId(req: Request): string {
  const r = req as Request & { [KEY]?: string };
  if (!r[KEY]) {
    const given = req.headers?.['x-request-id'];
    r[KEY] = typeof given === 'string' && SAFE_ID.test(given) ? given : randomUUID();
  }
  return r[KEY];
}

/** Express middleware: assigns the id early and echoes it in the response. */
export function requestIdMiddleware(req: Request, res: Response, next: NextFunction): void {
  res.setHeader('X-Request-Id', requestId(req));
  next();
}
