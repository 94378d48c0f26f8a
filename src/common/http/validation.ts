import { ValidationPipe, type ValidationError } from '@nestjs/common';
import { ValidationFailedError } from '@src/common/errors';

/** Flattens class-validator's tree into `{field, message}` with paths like `steps[0].config`. */
export function flattenValidationErrors(errors: ValidationError[], parent = ''): Array<{ field: string; message: string }> {
  const out: Array<{ field: string; message: string }> = [];
  for (const e of errors) {
    const field = /^\d+$/.test(e.property) ? `${parent}[${e.property}]` : parent ? `${parent}.${e.property}` : e.property;
    for (const message of Object.values(e.constraints ?? {})) out.push({ field, message: rephrase(message, e.property) });
    if (e.children?.length) out.push(...flattenValidationErrors(e.children, field));
    if (out.length > 200) break;
  }
  return out;
}

/** class-validator messages start with the property name; the field is reported separately. */
function rephrase(message: string, property: string): string {
  if (message === `property ${property} should not exist`) return 'is not a known field';
  return message.startsWith(`${property} `) ? message.slice(property.length + 1) : message;
}

/**
 * The global validation pipe: DTOs strip nothing silently (an unknown field is
 * a 400), types are checked, and the error names every bad field.
 */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    transformOptions: { enableImplicitConversion: false, exposeDefaultValues: true },
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => new ValidationFailedError(flattenValidationErrors(errors)),
  });
}
