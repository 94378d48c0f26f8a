import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HttpException } from '@nestjs/common';
import { API_ERROR_CATALOGUE, API_ERROR_CODES, ERROR_CATALOGUE, httpStatusOf, NON_RETRYABLE_ERROR_TYPES } from '@engine/shared/error-catalogue';
import { AppError, ConflictError, NotFoundError, ValidationFailedError } from '@src/common/errors';
import { toErrorBody } from '@src/common/http/error.filter';
import { ErrorBody } from '@src/docs/response-schemas';

describe('API error codes', () => {
  it('declares each code once, with a 4xx or 5xx status', () => {
    const codes = API_ERROR_CODES.map((c) => c.code);
    assert.equal(new Set(codes).size, codes.length, 'no code twice');
    for (const code of Object.keys(API_ERROR_CATALOGUE)) assert.equal(code in ERROR_CATALOGUE, false, `${code} is declared in both sections`);
    for (const c of API_ERROR_CODES) assert.ok(c.http >= 400 && c.http < 600 && c.message.length > 0, c.code);
    assert.ok(codes.includes('VALIDATION_FAILED') && codes.includes('NOT_FOUND') && codes.includes('AI_NOT_CONFIGURED') && codes.includes('STEP_FINISHED'));
  });

  it('leaves the retry policy of activities as it was: API-only codes are not failure types', () => {
    for (const code of Object.keys(API_ERROR_CATALOGUE)) assert.equal(NON_RETRYABLE_ERROR_TYPES.includes(code), false, code);
  });

  it("answers each error with its code's catalogued status", () => {
    const errors: unknown[] = [
      new AppError('CODE_IMMUTABLE', 'x'),
      new AppError('TEMPORAL_UNAVAILABLE', 'x'),
      new NotFoundError('Workflow', 1),
      new ConflictError('STEP_FINISHED', 'x'),
      new ValidationFailedError([{ field: 'a', message: 'b' }]),
      ...[400, 401, 403, 404, 405, 406, 408, 409, 411, 413, 414, 415, 422, 429, 503].map((s) => new HttpException('x', s)),
      ...['22001', '22003', '22P02', '23505', '23503', '23514', '40001', '55P03', '57014'].map((code) => Object.assign(new Error('pg'), { name: 'QueryFailedError', code })),
      { type: 'entity.parse.failed', status: 400, message: 'Unexpected token' },
      new Error('a bug'),
    ];
    for (const err of errors) {
      const { status, body } = toErrorBody(err);
      assert.equal(status, httpStatusOf(body.code), `${body.code} answered ${status}`);
      assert.equal(ErrorBody.safeParse(body).success, true, `${body.code} is in the Error schema's enum`);
    }
  });

  it("refuses a code the catalogue does not list in the Error schema", () => {
    assert.equal(ErrorBody.safeParse({ code: 'MADE_UP', message: 'x', details: {} }).success, false);
  });
});
