import { HTTP_RETRY, SANDBOX_DEFAULTS, type TemplateDefinition } from './types';

/**
 * The specification's OrderProcessingWorkflow: new marketplace orders are
 * validated, allocated against inventory, optionally screened for fraud,
 * reserved (atomically, per order, idempotent per line), recorded,
 * acknowledged, checked for auto-shipping, labelled by the carrier, marked
 * shipped (one shipment per order) and announced to the marketplace.
 *
 * Exactly once across overlapping runs (docs/exactly-once.md): reserve_inventory
 * claims the orders (a lease in entity_claims), so runs started together split
 * them; every outside call carries a business idempotency key
 * (`order:<marketplace>:<order>:label`, ...), never the run's id; and the API
 * refuses a second run per marketplace while one is running.
 *
 * If a step fails, the saga unwinds: labels are voided, the run's orders are
 * marked failed, their reservations released (compensations, in reverse,
 * including the failed step's own when it got part way), then the on-failure
 * notification says what was undone. Cancelling a run unwinds it the same way.
 *
 * Labels are bought from a carrier of the `carriers` table: the label steps
 * name it as api_call's `connection` (`carrier:<config.carrier_id>`; with no
 * carrier_id, the first active carrier) and give paths under its
 * `api_base_url`, so its credentials secret is resolved in the worker (never
 * in config or history) and its rate budget is spent.
 *
 * Config: `marketplace_id` (null: every active marketplace, one child run each), `marketplace_url`, `carrier_id` (null: the first active carrier),
 * `enable_fraud_detection`, `auto_ship_max_total`, `auto_ship_countries`, `shipping_service`.
 */
export const orderProcessingTemplate: TemplateDefinition = {
  code: 'order_processing_template',
  name: 'Order Processing',
  description: 'Processes new marketplace orders from receipt to shipment, with stock reservations, optional fraud screening and compensation.',
  workflow_type: 'order_processing',
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
    // Names of notification channels (see /channels/); empty: the worker log.
    summary_channel: '',
    failures_channel: '',
    // A row of the carriers table; null: the first active carrier.
    carrier_id: null,
    enable_fraud_detection: false,
    auto_ship_max_total: 1000,
    auto_ship_countries: ['US'],
    shipping_service: 'ground',
  },
  max_retries: 3,
  retry_delay_seconds: 2,
  steps: [
    {
      key: 'fetch_orders',
      name: 'Fetch new orders from marketplaces',
      step_type: 'data_fetch',
      config: { source_type: 'marketplace', fetch_type: 'orders', marketplace_id: '$config.marketplace_id', status: 'new' },
    },
    {
      key: 'validate_orders',
      name: 'Validate order data',
      step_type: 'data_validate',
      config: {
        source_field: 'items',
        validation_rules: [
          { type: 'required', field: 'id' },
          { type: 'required', field: 'items', message: 'the order has no lines' },
          { type: 'custom', field: 'items', expression: '$count(items[quantity > 0 and sku]) = $count(items)', message: 'every line needs a SKU and a positive quantity' },
          { type: 'required', field: 'shipping_address.country' },
          { type: 'required', field: 'shipping_address.postal_code' },
          { type: 'type', field: 'buyer.email', expected: 'email' },
          { type: 'min_value', field: 'total', min_value: 0.01 },
        ],
      },
    },
    {
      key: 'check_inventory',
      name: 'Check inventory availability',
      step_type: 'database_query',
      config: { query_type: 'operation', operation: 'check_availability', params: { marketplace_id: '$config.marketplace_id', orders: '$.items' } },
    },
    {
      key: 'validate_allocation',
      name: 'Validate inventory allocation',
      step_type: 'data_validate',
      config: {
        source_field: 'items',
        validation_rules: [{ type: 'custom', field: 'allocation', expression: 'allocation.ok = true', message: 'not enough stock to allocate every line' }],
      },
    },
    {
      key: 'detect_fraud',
      name: 'Fraud detection',
      step_type: 'ai_process',
      is_optional: true,
      condition: { type: 'value_check', path: 'workflow.config.enable_fraud_detection', value: true, operator: 'equals' },
      config: {
        task_type: 'detect_fraud',
        source_field: 'items',
        include_fields: ['id', 'total', 'currency', 'buyer', 'shipping_address', 'items'],
        batch_size: 20,
      },
      timeout_seconds: 900,
    },
    {
      key: 'reserve_inventory',
      name: 'Reserve inventory',
      step_type: 'database_query',
      config: { query_type: 'operation', operation: 'reserve_inventory', params: { marketplace_id: '$config.marketplace_id', orders: '$.items' } },
    },
    {
      key: 'create_order_records',
      name: 'Create internal order records',
      step_type: 'database_query',
      config: { query_type: 'operation', operation: 'record_orders', params: { marketplace_id: '$config.marketplace_id', orders: '$.items' } },
    },
    {
      key: 'acknowledge_orders',
      name: 'Acknowledge orders with marketplace',
      step_type: 'api_call',
      config: {
        // Through the marketplace's platform adapter (Shopify: an order tag; WooCommerce: status processing).
        connector: { marketplace_id: '$config.marketplace_id', action: 'acknowledge_order' },
        body_mode: 'per_item',
        items_field: 'orders',
        item_key_field: 'external_id',
        item_fields: { order_id: '$external_id' },
        // Business keys (docs/exactly-once.md): every run acknowledging this order sends the same key.
        idempotency_key: 'order:${config.marketplace_id}:$external_id:ack',
        concurrency: 8,
        retry: HTTP_RETRY,
      },
      timeout_seconds: 900,
    },
    {
      key: 'check_auto_ship',
      name: 'Check auto-ship eligibility',
      step_type: 'data_transform',
      config: {
        transform_type: 'filter',
        input: '$steps.create_order_records',
        source_field: 'orders',
        rules: [
          { field: 'total', operator: 'lte', value: '$config.auto_ship_max_total' },
          { field: 'shipping_address.country', operator: 'in', value: '$config.auto_ship_countries' },
        ],
      },
    },
    {
      key: 'generate_labels',
      name: 'Generate shipping labels',
      step_type: 'api_call',
      config: {
        connection: 'carrier:${config.carrier_id}',
        url: '/labels',
        method: 'POST',
        body_mode: 'per_item',
        items_field: 'orders',
        item_key_field: 'external_id',
        body: { order_id: '$external_id', ship_to: '$shipping_address', service: '$config.shipping_service', weight_kg: '$weight_kg' },
        // One label per order whichever run asks: the carrier returns the label it sold for this key.
        idempotency_key: 'order:${config.marketplace_id}:$external_id:label',
        response_mapping: { label_id: 'id', order_id: 'order_id', tracking_number: 'tracking_number', carrier: 'carrier', service: 'service', label_url: 'label_url' },
        concurrency: 8,
        retry: HTTP_RETRY,
      },
      timeout_seconds: 900,
    },
    {
      key: 'update_order_status',
      name: 'Update order status',
      step_type: 'database_query',
      config: {
        query_type: 'operation',
        operation: 'update_order_status',
        params: {
          marketplace_id: '$config.marketplace_id',
          orders: '$steps.create_order_records.orders',
          acknowledged: '$steps.acknowledge_orders.results',
          labels: '$.results',
        },
      },
    },
    {
      key: 'notify_shipments',
      name: 'Notify marketplace of shipment',
      step_type: 'api_call',
      config: {
        // Through the marketplace's platform adapter (Shopify: a fulfilment with tracking info; WooCommerce: completed + meta data).
        connector: { marketplace_id: '$config.marketplace_id', action: 'notify_shipment' },
        body_mode: 'per_item',
        items_field: 'shipped',
        item_key_field: 'order_external_id',
        item_fields: { order_id: '$order_external_id', tracking_number: '$tracking_number', carrier: '$carrier', label_id: '$label_id' },
        idempotency_key: 'order:${config.marketplace_id}:$order_external_id:shipment',
        concurrency: 8,
        retry: HTTP_RETRY,
      },
      timeout_seconds: 900,
    },
    {
      key: 'send_notifications',
      name: 'Send processing notifications',
      step_type: 'notification',
      config: {
        type: 'channel',
        channel: '${config.summary_channel}',
        subject: 'Order processing summary',
        level: 'info',
        message:
          'Order processing: $steps.fetch_orders.count new orders, $steps.reserve_inventory.reserved_count reserved, ' +
          '$steps.update_order_status.shipped_count shipped, $steps.update_order_status.awaiting_count waiting for manual shipping, ' +
          '$steps.validate_allocation.invalid_count without enough stock, $steps.validate_orders.invalid_count invalid.',
      },
    },
    // Compensations, run in reverse completion order when a step fails.
    {
      key: 'release_reservations',
      name: 'Release reserved inventory',
      step_type: 'database_query',
      role: 'compensation',
      compensates: 'reserve_inventory',
      // Completed: the keys it returned. Failed or cancelled part way: the keys derived from the orders it was given (this run's only).
      config: {
        query_type: 'operation',
        operation: 'release_reservations',
        params: { keys: '$.reservation_keys', marketplace_id: '$config.marketplace_id', orders: '$.items' },
      },
    },
    {
      key: 'fail_order_records',
      name: 'Mark orders failed',
      step_type: 'database_query',
      role: 'compensation',
      compensates: 'create_order_records',
      config: { query_type: 'operation', operation: 'fail_orders', params: { order_ids: '$.order_ids', error: '$execution.error' } },
    },
    {
      key: 'void_labels',
      name: 'Void shipping labels',
      step_type: 'api_call',
      role: 'compensation',
      compensates: 'generate_labels',
      config: {
        connection: 'carrier:${config.carrier_id}',
        url: '/labels/$label_id/void',
        method: 'POST',
        body_mode: 'per_item',
        items_field: 'results',
        item_key_field: 'label_id',
        body: {},
        idempotency_key: 'label:$label_id:void',
        response_mapping: { id: 'id', status: 'status' },
        retry: HTTP_RETRY,
      },
    },
    {
      key: 'notify_failure',
      name: 'Send failure notification',
      step_type: 'notification',
      role: 'on_failure',
      config: {
        type: 'channel',
        channel: '${config.failures_channel}',
        subject: 'Order processing run $execution.id failed',
        level: 'error',
        // What the saga actually undid (or failed to), never a fixed claim.
        message: 'Order processing run $execution.id failed: $execution.error. Compensation: $execution.compensated.summary.',
        fields: {
          alert: 'order_processing_failed',
          execution_id: '$execution.id',
          undone: '$execution.compensated.undone',
          not_undone: '$execution.compensated.failed',
        },
      },
    },
  ],
};
