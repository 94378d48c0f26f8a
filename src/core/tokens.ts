/** Injection tokens of values that are not classes. */
export const STEP_TYPE_REGISTRY = Symbol('STEP_TYPE_REGISTRY');
export const WORKFLOW_TEMPLATES = Symbol('WORKFLOW_TEMPLATES');
export const API_LOGGER = Symbol('API_LOGGER');
