import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Role } from '@src/auth/api-key.entity';
import { ApiKeysService, roleAllows } from '@src/auth/api-keys.service';
import { type AuthedRequest, PUBLIC_KEY, ROLE_KEY } from '@src/auth/roles';
import { ForbiddenError, UnauthenticatedError } from '@src/common/errors';

/** Reads the key from `Authorization: Bearer <key>` or `X-API-Key: <key>`. */
export function presentedKey(req: AuthedRequest): string | null {
  const auth = req.headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (m) return m[1];
  }
  const header = req.headers['x-api-key'];
  if (typeof header === 'string' && header.trim() !== '') return header.trim();
  return null;
}

/**
 * The global guard: every route needs a live key (401 otherwise) whose role is
 * at least the route's `@RequireRole` (403 otherwise). A route that forgot its
 * role needs admin, so a new route is never open by accident.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly keys: ApiKeysService,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const targets = [ctx.getHandler(), ctx.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets)) return true;
    const required = this.reflector.getAllAndOverride<Role>(ROLE_KEY, targets) ?? 'admin';
    const req = ctx.switchToHttp().getRequest<AuthedRequest>();
    const key = presentedKey(req);
    if (!key) throw new UnauthenticatedError();
    const principal = await this.keys.authenticate(key);
    if (!principal) throw new UnauthenticatedError('the API key is unknown, revoked or expired');
    req.principal = principal;
    if (!roleAllows(principal.role, required)) throw new ForbiddenError(required, principal.role);
    return true;
  }
}
