import type { TemplateDefinition } from './types';

/**
 * The specification's ProductImportWorkflow: fetch a supplier's catalogue,
 * validate, normalise, optionally enrich with AI (the spec's conditional
 * example, `enable_ai_enrichment`), store source data and products
 * (idempotent upserts keyed by supplier + external id, content-hashed), update
 * the supplier's statistics, and report.
 *
 * Input: `{"supplier_id": 1}` for one supplier; `{}` for every active supplier
 * (a fan-out parent with one child run per supplier, docs/definitions.md#fan-out),
 * `{"supplier_ids": [1, 2]}` for some of them.
 */
export const productImportTemplate: TemplateDefinition = {
  code: 'product_import_template',
  name: 'Product Import',
  description: 'Imports products from a supplier API with validation, normalisation, optional AI enrichment and statistics.',
  workflow_type: 'product_import',
  input_schema: {
    type: 'object',
    properties: {
      supplier_id: { type: 'integer', minimum: 1, description: 'The supplier to import from (its id in Merchflow); leave out to import from every active supplier.' },
      supplier_ids: { type: 'array', items: { type: 'integer', minimum: 1 }, description: 'Without supplier_id: only these of the active suppliers.' },
    },
  },
  fan_out: { over: 'suppliers', field: 'supplier_id', max_concurrent: 4 },
  config: {
    enable_ai_enrichment: false,
    /** New products land here; `imported` holds them back for review before listing. */
    imported_product_status: 'ready_for_listing',
    /** Name of a notification channel for the completion summary (see /channels/); empty: the worker log. */
    summary_channel: '',
    /** Fail the run when more than this share of the supplier's records is invalid. */
    max_invalid_ratio: 0.5,
  },
  max_retries: 3,
  retry_delay_seconds: 2,
  steps: [
    {
      key: 'fetch_products',
      name: 'Fetch products from supplier API',
      step_type: 'data_fetch',
      config: { source_type: 'supplier', fetch_type: 'products', supplier_id: '$input.supplier_id' },
      timeout_seconds: 900,
    },
    {
      key: 'validate_products',
      name: 'Validate product data',
      step_type: 'data_validate',
      config: {
        source_field: 'items',
        validation_rules: [
          { type: 'required', field: 'external_id', message: 'the supplier id of the product is missing' },
          { type: 'required', field: 'sku', message: 'SKU is missing' },
          { type: 'required', field: 'name', message: 'name is empty' },
          { type: 'required', field: 'cost_price', message: 'cost price is missing' },
          { type: 'min_value', field: 'cost_price', min_value: 0.01, message: 'cost price must be positive' },
          { type: 'type', field: 'images', expected: 'array' },
          { type: 'unique', field: 'external_id', message: 'the supplier sent this product twice' },
        ],
        max_invalid_ratio: '$config.max_invalid_ratio',
      },
      timeout_seconds: 600,
    },
    {
      key: 'transform_products',
      name: 'Transform to standard format',
      step_type: 'data_transform',
      config: {
        transform_type: 'map',
        source_field: 'items',
        mapping_rules: {
          external_id: 'external_id',
          sku: 'sku',
          title: 'name',
          description: 'description',
          brand: 'brand',
          category: 'category',
          cost_price: { path: 'cost_price', type: 'number' },
          currency: { path: 'currency', default: 'USD' },
          weight_kg: { path: 'weight_kg', type: 'number' },
          images: { path: 'images', default: [] },
          'attributes.barcode': 'barcode',
          'attributes.length_cm': 'dimensions_cm.length',
          'attributes.width_cm': 'dimensions_cm.width',
          'attributes.height_cm': 'dimensions_cm.height',
          raw_data: '$',
        },
      },
      timeout_seconds: 600,
    },
    {
      key: 'enrich_products',
      name: 'AI enrichment',
      step_type: 'ai_process',
      is_optional: true,
      condition: { type: 'value_check', path: 'workflow.config.enable_ai_enrichment', value: true, operator: 'equals' },
      config: {
        task_type: 'enrich_product',
        source_field: 'items',
        include_fields: ['title', 'description', 'brand', 'category', 'attributes'],
        batch_size: 20,
        concurrency: 4,
      },
      timeout_seconds: 1800,
    },
    {
      key: 'store_products',
      name: 'Create source data records',
      step_type: 'database_query',
      config: {
        query_type: 'operation',
        operation: 'import_products',
        description: 'source data (raw) and products (normalised), linked, upserted by supplier + external id',
        params: {
          supplier_id: '$input.supplier_id',
          products: '$steps.transform_products.items',
          enriched: '$.items',
          status: '$config.imported_product_status',
        },
      },
      timeout_seconds: 900,
    },
    {
      key: 'update_supplier_statistics',
      name: 'Update supplier statistics',
      step_type: 'database_query',
      config: {
        query_type: 'operation',
        operation: 'update_supplier_statistics',
        params: {
          supplier_id: '$input.supplier_id',
          imported: '$steps.store_products.inserted',
          updated: '$steps.store_products.updated',
          unchanged: '$steps.store_products.unchanged',
          invalid: '$steps.validate_products.invalid_count',
          invalid_items: '$steps.validate_products.invalid',
        },
      },
    },
    {
      key: 'send_notification',
      name: 'Send completion notification',
      step_type: 'notification',
      config: {
        type: 'channel',
        channel: '${config.summary_channel}',
        subject: 'Product import from supplier $input.supplier_id finished',
        level: 'info',
        message:
          'Product import from supplier $input.supplier_id finished: $steps.update_supplier_statistics.imported new, ' +
          '$steps.update_supplier_statistics.updated updated, $steps.update_supplier_statistics.unchanged unchanged, ' +
          '$steps.update_supplier_statistics.invalid invalid; $steps.update_supplier_statistics.products_total products in total.',
        fields: { supplier_id: '$input.supplier_id', execution_id: '$execution.id' },
      },
    },
  ],
};
