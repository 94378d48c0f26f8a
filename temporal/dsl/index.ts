/**
 * The workflow definition language, pure and deterministic: safe for workflow
 * code. JSONata evaluation (`./expressions`) is left out on purpose: it reads
 * the clock, so only activities import it, directly.
 */
export * from './types';
export * from './normalize';
export * from './graph';
export * from './scheduler';
export * from './references';
export * from './conditions';
export * from './validate';
export * from './fan-out';
