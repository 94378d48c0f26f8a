/**
 * HTTP connectors of the commerce domain, over the SSRF-safe HttpClient:
 * configured from a supplier or marketplace row plus its resolved secret
 * ({@link connectorOptionsFrom}), with retries, Retry-After, an optional
 * request pace, shared rate budgets, idempotency keys on writes, and cursor pagination.
 */
export * from './connector-http';
export * from './supplier.connector';
export * from './marketplace.connector';
export * from './carrier.connector';
export * from './rate-budget';
