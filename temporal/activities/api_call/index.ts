/** The `api_call` step executor: HTTP calls, batch or one per item, with secrets-backed auth and idempotency keys. */
export * from '@engine/activities/api_call/executor';
export * from '@engine/activities/api_call/schema';
export { authSchema, type RenderedAuth, OAuthProviderCache, authProviderOf, normalizeAuth, retryPolicyOf } from '@engine/activities/shared/http-config';
export { credentialsHostOf, hasItemReferences, parsePath, readPath, renderTemplate, secretNames } from '@engine/activities/shared/template';
