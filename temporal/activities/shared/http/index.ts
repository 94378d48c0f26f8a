/**
 * Outbound HTTP for step executors: the SSRF-safe {@link HttpClient}, auth
 * providers, and the address and retry helpers it is built from.
 */
export * from '@engine/activities/shared/http/http-client';
export * from '@engine/activities/shared/http/auth';
export * from '@engine/activities/shared/http/address';
export * from '@engine/activities/shared/http/host-list';
export * from '@engine/activities/shared/http/retry';
