import { createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import type { Request } from 'express';
import type { Role } from '@src/auth/api-key.entity';
import type { Principal } from '@src/auth/api-keys.service';

export const ROLE_KEY = 'merchflow:required_role';
export const PUBLIC_KEY = 'merchflow:public';

/** The least role that may call the handler. Handlers without it need admin (fail closed). */
export const RequireRole = (role: Role) => SetMetadata(ROLE_KEY, role);

/** No key needed (health only). */
export const Public = () => SetMetadata(PUBLIC_KEY, true);

export type AuthedRequest = Request & { principal?: Principal };

/** The authenticated caller, as a short actor string for `created_by` / `triggered_by`. */
export const Actor = createParamDecorator((_: unknown, ctx: ExecutionContext): string | null => {
  const p = ctx.switchToHttp().getRequest<AuthedRequest>().principal;
  return p ? `key:${p.name}`.slice(0, 150) : null;
});
