/**
 * What an editor shows of each built-in step type besides its schema: one
 * line saying what it does and an example config (taken from the `@example`s
 * of its `schema.ts`; a unit test checks each one with the type's validator).
 * Plain data: the API loads it with the configs, never an executor. Examples
 * stand on their own (no reference to a step they do not have), so an editor
 * can insert one into any definition.
 */
export interface StepTypeDoc {
  description: string;
  example: Record<string, unknown>;
}

export const STEP_TYPE_DOCS: Readonly<Record<string, StepTypeDoc>> = {
  approval: {
    description: 'Waits for a person to approve or reject (signal), optionally deciding by itself after a timeout.',
    example: { timeout_seconds: 86400, on_timeout: 'reject', instructions: 'Check the prices' },
  },
  data_fetch: {
    description: 'Reads items from stored source data, a paginated HTTP API or a supplier / marketplace connector.',
    example: { source_type: 'source_data', filters: { source_type: 'supplier_product', status: 'new', supplier_id: '$input.supplier_id' }, limit: 500 },
  },
  data_transform: {
    description: 'Maps, filters, aggregates or normalises a list of items (or applies a JSONata expression).',
    example: {
      transform_type: 'map',
      source_field: 'products',
      mapping_rules: { title: 'name', price: { path: 'cost_price', type: 'number' }, currency: '$input.currency', brand: { path: 'brand', default: 'unbranded' } },
    },
  },
  data_validate: {
    description: 'Checks every item against rules and splits them into valid and invalid ones.',
    example: {
      validation_rules: [
        { type: 'required', field: 'sku' },
        { type: 'min_value', field: 'price', min_value: 0.01 },
        { type: 'unique', field: 'sku' },
      ],
      source_field: 'products',
      max_invalid_ratio: 0.1,
    },
  },
  api_call: {
    description: 'Calls an HTTP API once with the input, or once per item, with retries and idempotency keys.',
    example: {
      url: 'https://api.marketplace.example/listings',
      method: 'POST',
      auth: { type: 'bearer', token: { secret: 'MARKETPLACE_TOKEN' } },
      items_field: 'listings',
      item_key_field: 'sku',
      body: { title: '$title', price: '$price' },
      response_mapping: { listing_id: 'id' },
      continue_on_item_error: true,
    },
  },
  database_query: {
    description: 'Selects, inserts, upserts, updates or deletes rows of allow-listed models, or runs a named domain operation.',
    example: { query_type: 'insert', model: 'SourceData', record_mapping: { source_type: 'supplier_product', raw_data: '$' } },
  },
  ai_process: {
    description: 'Sends items in batches to an OpenAI-compatible model to enrich, translate, categorise or screen them.',
    example: { task_type: 'categorize', source_field: 'products', categories: ['Shoes', 'Bags', 'Accessories'], batch_size: 20, min_confidence: 0.8 },
  },
  notification: {
    description: 'Writes a log line, sends an email, posts a signed webhook or notifies a named channel.',
    example: { type: 'log', level: 'info', message: 'Run $execution.id finished for supplier $input.supplier_id' },
  },
};
