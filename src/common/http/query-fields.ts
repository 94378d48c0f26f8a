import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { IsDate, IsInt, IsOptional, Max, Min } from 'class-validator';

/** ISO 8601 strings become Dates; anything else is left for IsDate to reject. */
export function toDate(value: unknown): unknown {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value)) return value;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? value : d;
}

/** An optional `?field=2026-01-01` (or full date-time) query parameter. */
export const DateQueryField = () =>
  applyDecorators(
    ApiPropertyOptional({ type: String, format: 'date-time' }),
    IsOptional(),
    Transform(({ value }) => toDate(value)),
    IsDate({ message: 'must be an ISO 8601 date or date-time' }),
  );

/** An optional positive integer id in the query string (`?workflow=3`). */
export const IdQueryField = (description: string) =>
  applyDecorators(ApiPropertyOptional({ description }), IsOptional(), Type(() => Number), IsInt(), Min(1), Max(2_147_483_647));
