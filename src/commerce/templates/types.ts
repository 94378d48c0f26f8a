import type { DefinitionInput } from '@engine/dsl/types';

/**
 * A predefined workflow as data: a definition (its `code` is the code the
 * template is installed under, `<name>_template`) plus a description.
 * `createWorkflowFromTemplate` turns it into a stored, editable workflow.
 */
export interface TemplateDefinition extends DefinitionInput {
  name: string;
  description: string;
  workflow_type: string;
  config: Record<string, unknown>;
}

/**
 * Where the sandbox answers when `npm start` runs it on its default port;
 * the seed replaces these with the running sandbox's URLs.
 */
export const SANDBOX_DEFAULTS = {
  marketplace_url: 'http://127.0.0.1:4010/marketplace/v1',
  carrier_url: 'http://127.0.0.1:4010/carrier/v1',
} as const;

/** Retries inside one HTTP step attempt: enough to ride out a flaky API without redoing the whole step. */
export const HTTP_RETRY = { attempts: 6, backoff_seconds: 0.2, factor: 2, max_delay_seconds: 5 } as const;
