import { Injectable, type PipeTransform } from '@nestjs/common';
import { ApiBody } from '@nestjs/swagger';
import type { z } from 'zod';
import { zodFieldProblems } from '@engine/dsl/schema';
import { ValidationFailedError } from '@src/common/errors';

/**
 * Validates a request body with a zod schema: the parsed value, or a 400
 * VALIDATION_FAILED naming every bad field (`steps[2].timeout_seconds: ...`),
 * the same answer the class-validator pipe gives for the other DTOs.
 *
 * @example `@Body(new ZodBodyPipe(CreateWorkflowBody)) body: CreateWorkflowBody`
 */
@Injectable()
export class ZodBodyPipe<T extends z.ZodType> implements PipeTransform<unknown, z.output<T>> {
  constructor(private readonly schema: T) {}

  transform(value: unknown): z.output<T> {
    const r = this.schema.safeParse(value);
    if (r.success) return r.data;
    throw new ValidationFailedError(zodFieldProblems(r.error).map(({ field, message }) => ({ field, message })));
  }
}

/** Documents a zod body by its component name (`CreateWorkflowDto`); src/docs/openapi.ts adds the components. */
export const ApiZodBody = (component: string): MethodDecorator => ApiBody({ schema: { $ref: `#/components/schemas/${component}` } });
