import type { NextFunction, Request, Response } from 'express';
import { AppError } from '@src/common/errors';

/** Deepest nesting a request body may have (the definition language itself allows 64 inside a config). */
export const MAX_BODY_DEPTH = 80;

/** Keys that could reach an object's prototype if some code ever assigned them; rejected everywhere. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Finds the first problem of a parsed JSON body: a key that could pollute a
 * prototype, nesting deeper than the limit, or a NUL character (PostgreSQL
 * cannot store it in text or jsonb). Iterative, so a hostile body
 * nested a million levels deep cannot overflow the stack. Returns the dotted
 * path and the problem, or null.
 */
export function bodyProblem(body: unknown, maxDepth = MAX_BODY_DEPTH): { field: string; message: string } | null {
  const stack: Array<{ value: unknown; path: string; depth: number }> = [{ value: body, path: '', depth: 0 }];
  while (stack.length > 0) {
    const { value, path, depth } = stack.pop()!;
    if (typeof value === 'string' && value.includes('\u0000')) return { field: path || 'body', message: 'contains a NUL character (\\u0000), which cannot be stored' };
    if (value === null || typeof value !== 'object') continue;
    if (depth >= maxDepth) return { field: path || 'body', message: `nests deeper than ${maxDepth} levels` };
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], path: `${path}[${i}]`, depth: depth + 1 });
      continue;
    }
    for (const key of Object.keys(value)) {
      const field = path ? `${path}.${key}` : key;
      if (FORBIDDEN_KEYS.has(key)) return { field, message: `the key "${key}" is not allowed` };
      if (key.includes('\u0000')) return { field: path || 'body', message: 'has a key with a NUL character (\\u0000)' };
      stack.push({ value: (value as Record<string, unknown>)[key], path: field, depth: depth + 1 });
    }
  }
  return null;
}

const WITH_BODY = new Set(['POST', 'PUT', 'PATCH']);

/**
 * Runs after the JSON parser: a body must be a JSON object, sent as JSON, free
 * of prototype keys and not absurdly deep; an empty body counts as `{}`.
 */
export function bodyGuard(req: Request, _res: Response, next: NextFunction): void {
  if (!WITH_BODY.has(req.method)) return next();
  const length = Number(req.headers['content-length'] ?? 0);
  const chunked = req.headers['transfer-encoding'] !== undefined;
  const isJson = req.is('application/json') || req.is('application/*+json');
  if (!isJson && (length > 0 || chunked) && req.body === undefined) {
    return next(new AppError('UNSUPPORTED_MEDIA_TYPE', 'body: send JSON with "Content-Type: application/json"', 415));
  }
  if (req.body === undefined || req.body === null) {
    req.body = {};
    return next();
  }
  if (typeof req.body !== 'object' || Array.isArray(req.body)) {
    return next(new AppError('BODY_INVALID', 'body: must be a JSON object', 400, { errors: [{ field: 'body', message: 'must be a JSON object' }] }));
  }
  const problem = bodyProblem(req.body);
  if (problem) {
    return next(new AppError('BODY_INVALID', `${problem.field}: ${problem.message}`, 400, { errors: [problem] }));
  }
  next();
}
