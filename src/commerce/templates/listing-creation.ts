import { HTTP_RETRY, SANDBOX_DEFAULTS, type TemplateDefinition } from './types';

/** The marketplace (from the fetch step's output) every later step reads: currency, markup, requirements. */
const M = '$steps.fetch_products.marketplace';

/**
 * The specification's ListingCreationWorkflow: products ready for listing are
 * checked against the marketplace's requirements, optimised by AI, priced
 * with the marketplace's markup, optionally translated, listed through the
 * marketplace API (one idempotent call per SKU: a retry or a re-run never
 * lists a SKU twice), stored as listings, and marked listed.
 *
 * Config: `marketplace_id` (null: every active marketplace), `marketplace_url`, `supplier_id` (null: every
 * supplier), `listing_batch_size`, `enable_ai_optimization`,
 * `enable_translation` with `target_language`.
 */
export const listingCreationTemplate: TemplateDefinition = {
  code: 'listing_creation_template',
  name: 'Listing Creation',
  description: 'Creates marketplace listings from products ready for listing: requirements, AI optimisation, pricing with markup, optional translation.',
  workflow_type: 'listing_creation',
  input_schema: {
    type: 'object',
    properties: {
      marketplace_id: { type: 'integer', minimum: 1, description: 'The marketplace, when the config names none.' },
      marketplace_ids: { type: 'array', items: { type: 'integer', minimum: 1 }, description: 'Without marketplace_id: only these of the active marketplaces.' },
    },
  },
  fan_out: { over: 'marketplaces', field: 'marketplace_id', max_concurrent: 4 },
  config: {
    // null: every active marketplace (one child run each, docs/definitions.md#fan-out).
    marketplace_id: null,
    marketplace_url: SANDBOX_DEFAULTS.marketplace_url,
    supplier_id: null,
    listing_batch_size: 1000,
    enable_ai_optimization: false,
    enable_translation: false,
    target_language: 'German',
  },
  max_retries: 3,
  retry_delay_seconds: 2,
  steps: [
    {
      key: 'fetch_products',
      name: 'Fetch products ready for listing',
      step_type: 'database_query',
      config: {
        query_type: 'operation',
        operation: 'fetch_listable_products',
        // claim: overlapping runs split the products instead of all listing the same ones.
        params: { marketplace_id: '$config.marketplace_id', supplier_id: '$config.supplier_id', limit: '$config.listing_batch_size', claim: true },
      },
    },
    {
      key: 'validate_requirements',
      name: 'Validate marketplace requirements',
      step_type: 'data_validate',
      config: {
        source_field: 'products',
        validation_rules: [
          { type: 'required', field: 'sku' },
          { type: 'required', field: 'title' },
          { type: 'min_value', field: 'cost_price', min_value: 0.01, message: 'cost price must be positive' },
          { type: 'max_length', field: 'title', max_length: `${M}.requirements.title_max_length`, message: 'title is longer than the marketplace allows' },
          {
            type: 'custom',
            field: 'images',
            expression: `$count(images) >= ${M}.requirements.min_images`,
            message: 'fewer images than the marketplace requires',
          },
          {
            type: 'custom',
            expression: `$count(${M}.requirements.required_fields[$not($exists($lookup($$, $))) or $lookup($$, $) = null or $lookup($$, $) = ""]) = 0`,
            message: 'a field the marketplace requires is missing',
          },
        ],
      },
    },
    {
      key: 'optimize_listings',
      name: 'Optimize listings with AI',
      step_type: 'ai_process',
      condition: { type: 'value_check', path: 'workflow.config.enable_ai_optimization', value: true, operator: 'equals' },
      config: {
        task_type: 'optimize_listing',
        source_field: 'products',
        include_fields: ['title', 'description', 'brand', 'category', 'bullet_points'],
        batch_size: 20,
        concurrency: 4,
      },
      timeout_seconds: 1800,
    },
    {
      key: 'calculate_pricing',
      name: 'Calculate pricing with markup',
      step_type: 'data_transform',
      config: {
        transform_type: 'map',
        source_field: 'products',
        keep_unmapped: true,
        mapping_rules: {
          price: { expression: `$max([$round(cost_price * (1 + ${M}.markup_percent / 100), 2), ${M}.requirements.min_price])` },
          currency: `${M}.currency`,
        },
      },
    },
    {
      key: 'translate_content',
      name: 'Translate content',
      step_type: 'ai_process',
      is_optional: true,
      condition: { type: 'value_check', path: 'workflow.config.enable_translation', value: true, operator: 'equals' },
      config: { task_type: 'translate', source_field: 'products', target_language: '$config.target_language', fields: ['title', 'description'], batch_size: 20 },
      timeout_seconds: 1800,
    },
    {
      key: 'create_listings',
      name: 'Create marketplace listings via API',
      step_type: 'api_call',
      config: {
        // Through the marketplace's platform adapter (sandbox, shopify, woocommerce): created, or the SKU's listing updated.
        connector: { marketplace_id: '$config.marketplace_id', action: 'upsert_listing' },
        body_mode: 'per_item',
        items_field: 'products',
        item_key_field: 'sku',
        item_fields: {
          sku: '$sku',
          title: '$title',
          description: '$description',
          price: '$price',
          currency: '$currency',
          quantity: '$quantity',
          images: '$images',
          category: '$category',
          brand: '$brand',
          status: 'active',
        },
        // The same key for every run listing this SKU; a new generation only after the SKU was delisted.
        idempotency_key: 'listing:${config.marketplace_id}:$sku:$listing_generation',
        concurrency: 8,
        retry: HTTP_RETRY,
        continue_on_item_error: true,
      },
      timeout_seconds: 1800,
    },
    {
      key: 'store_listings',
      name: 'Store listing records',
      step_type: 'database_query',
      config: {
        query_type: 'operation',
        operation: 'record_listings',
        params: { marketplace_id: '$config.marketplace_id', items: '$steps.translate_content.products', results: '$.results' },
      },
    },
    {
      key: 'update_product_status',
      name: 'Update product status',
      step_type: 'database_query',
      config: {
        query_type: 'update',
        model: 'Product',
        where: [{ field: 'id', operator: 'in', value: '$.product_ids' }],
        set: { status: 'listed' },
        max_rows: 1000000,
      },
    },
  ],
};
