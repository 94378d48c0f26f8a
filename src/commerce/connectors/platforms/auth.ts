/**
 * Credentials of a connection row as an AuthProvider: `bearer`, `api_key`
 * (header, `X-API-Key` unless `credentials.header` names another) and
 * `basic` (the secret holds `username:password`).
 */
import { StepError } from '@engine/activities/shared/errors';
import { apiKeyAuth, basicAuth, bearerAuth, type AuthProvider } from '@engine/activities/shared/http';
import type { ApiCredentials } from '@src/commerce/entities/shared';
import { ErrorCodes } from '@engine/shared/contracts';

export function authFromCredentials(credentials: ApiCredentials | null | undefined, secret: string | null | undefined, connection = 'the connection'): AuthProvider | undefined {
  const type = credentials?.type ?? 'none';
  if (type === 'none') return undefined;
  if (!secret) throw new StepError(ErrorCodes.SECRET_NOT_FOUND, `credentials of type ${type} need the value of secret ${credentials?.secret ?? '(unnamed)'}`);
  if (type === 'bearer') return bearerAuth(secret);
  if (type === 'api_key') return apiKeyAuth(secret, { headerName: credentials?.header });
  if (type === 'basic') {
    const colon = secret.indexOf(':');
    if (colon < 1) throw new StepError(ErrorCodes.STEP_CONFIG_INVALID, `${connection}: basic credentials need the secret ${credentials?.secret ?? ''} to hold "username:password"`, { details: { field: 'credentials.secret' } });
    return basicAuth(secret.slice(0, colon), secret.slice(colon + 1));
  }
  throw new StepError(ErrorCodes.STEP_CONFIG_INVALID, `${connection}: unknown credentials type ${String(type)}`, { details: { field: 'credentials.type' } });
}
