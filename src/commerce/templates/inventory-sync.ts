import { HTTP_RETRY, SANDBOX_DEFAULTS, type TemplateDefinition } from './types';

/**
 * The specification's InventorySyncWorkflow: a supplier's stock is fetched,
 * validated and upserted; available quantities (stock minus reservations)
 * are compared with what each marketplace listing shows; the changed ones are
 * pushed to the marketplace while the tracking records are written, side by
 * side (the spec's parallel example, group `marketplace_updates`; if the push
 * fails, the tracking records are put back by their compensation); low stock
 * raises an alert; a summary is logged.
 *
 * Input: `{"supplier_id": 1}`; `{}` runs for every active supplier, and a
 * config without `marketplace_id` pushes to every active marketplace (child
 * runs per supplier, then per marketplace: docs/definitions.md#fan-out).
 * Config: `marketplace_id` (null: every active marketplace), `marketplace_url`, `low_stock_threshold`,
 * `alerts_channel` and `summary_channel` (notification channel names; empty logs).
 */
export const inventorySyncTemplate: TemplateDefinition = {
  code: 'inventory_sync_template',
  name: 'Inventory Sync',
  description: 'Synchronises supplier stock into inventory, pushes available quantities to the marketplace and alerts on low stock.',
  workflow_type: 'inventory_sync',
  input_schema: {
    type: 'object',
    properties: {
      supplier_id: { type: 'integer', minimum: 1, description: 'The supplier whose stock to sync (its id in Merchflow); leave out for every active supplier.' },
      supplier_ids: { type: 'array', items: { type: 'integer', minimum: 1 }, description: 'Without supplier_id: only these of the active suppliers.' },
      marketplace_id: { type: 'integer', minimum: 1, description: 'The marketplace to push to, when the config names none.' },
      marketplace_ids: { type: 'array', items: { type: 'integer', minimum: 1 }, description: 'Without marketplace_id: only these of the active marketplaces.' },
    },
  },
  fan_out: [
    { over: 'suppliers', field: 'supplier_id', max_concurrent: 4 },
    { over: 'marketplaces', field: 'marketplace_id', max_concurrent: 4 },
  ],
  config: {
    // null: every active marketplace (one child run each).
    marketplace_id: null,
    marketplace_url: SANDBOX_DEFAULTS.marketplace_url,
    low_stock_threshold: 10,
    // Names of notification channels (see /channels/); empty: the worker log.
    alerts_channel: '',
    summary_channel: '',
  },
  max_retries: 3,
  retry_delay_seconds: 2,
  steps: [
    {
      key: 'fetch_inventory',
      name: 'Fetch current inventory from suppliers',
      step_type: 'data_fetch',
      config: { source_type: 'supplier', fetch_type: 'inventory', supplier_id: '$input.supplier_id' },
      timeout_seconds: 900,
    },
    {
      key: 'validate_inventory',
      name: 'Validate inventory data',
      step_type: 'data_validate',
      config: {
        source_field: 'items',
        validation_rules: [
          { type: 'required', field: 'sku' },
          { type: 'required', field: 'quantity' },
          { type: 'type', field: 'quantity', expected: 'integer' },
          { type: 'min_value', field: 'quantity', min_value: 0 },
        ],
      },
    },
    {
      key: 'update_inventory_records',
      name: 'Update internal inventory records',
      step_type: 'database_query',
      config: {
        query_type: 'upsert',
        model: 'Inventory',
        items_field: 'items',
        batch_size: 5000,
        record_mapping: { supplier_id: '$input.supplier_id', sku: '$sku', quantity: '$quantity', low_stock_threshold: '$config.low_stock_threshold' },
      },
      timeout_seconds: 600,
    },
    {
      key: 'calculate_available',
      name: 'Calculate available quantities',
      step_type: 'database_query',
      config: {
        query_type: 'operation',
        operation: 'inventory_positions',
        params: { supplier_id: '$input.supplier_id', marketplace_id: '$config.marketplace_id' },
      },
    },
    {
      key: 'filter_changes',
      name: 'Filter items needing updates',
      step_type: 'data_transform',
      config: {
        transform_type: 'filter',
        source_field: 'items',
        rules: [
          { field: 'listing_external_id', operator: 'exists' },
          { field: 'available', operator: 'not_equals', value_field: 'listed_quantity' },
        ],
      },
    },
    {
      key: 'push_inventory',
      name: 'Update marketplace inventory via APIs',
      step_type: 'api_call',
      can_run_parallel: true,
      parallel_group: 'marketplace_updates',
      config: {
        // Through the marketplace's platform adapter (Shopify: inventory_levels/set; WooCommerce: stock_quantity).
        connector: { marketplace_id: '$config.marketplace_id', action: 'push_inventory' },
        body_mode: 'per_item',
        items_field: 'items',
        item_key_field: 'sku',
        item_fields: { sku: '$sku', quantity: '$available' },
        // A new quantity is a new push: the listing's sync generation (recorded by record_inventory_sync) and the quantity.
        idempotency_key: 'inventory:${config.marketplace_id}:$sku:$sync_generation:$available',
        concurrency: 8,
        retry: HTTP_RETRY,
      },
      timeout_seconds: 1800,
    },
    {
      key: 'update_inventory_tracking',
      name: 'Update inventory tracking records',
      step_type: 'database_query',
      can_run_parallel: true,
      parallel_group: 'marketplace_updates',
      config: {
        query_type: 'operation',
        operation: 'record_inventory_sync',
        params: { marketplace_id: '$config.marketplace_id', items: '$.items' },
      },
    },
    {
      key: 'check_low_stock',
      name: 'Check for low stock items',
      step_type: 'data_transform',
      config: {
        transform_type: 'filter',
        input: '$steps.calculate_available',
        source_field: 'items',
        rules: [{ field: 'available', operator: 'lt', value_field: 'low_stock_threshold' }],
      },
    },
    {
      key: 'send_low_stock_alerts',
      name: 'Send low stock alerts',
      step_type: 'notification',
      condition: { type: 'value_check', path: 'steps.check_low_stock.output_count', operator: 'gt', value: 0 },
      config: {
        type: 'channel',
        channel: '${config.alerts_channel}',
        subject: 'Low stock: $steps.check_low_stock.output_count SKUs of supplier $input.supplier_id',
        level: 'warn',
        message: 'Low stock alert: $steps.check_low_stock.output_count SKUs of supplier $input.supplier_id are below their low-stock threshold.',
        fields: { alert: 'low_stock', supplier_id: '$input.supplier_id', items: '$.items' },
      },
    },
    {
      key: 'log_summary',
      name: 'Log sync summary',
      step_type: 'notification',
      config: {
        type: 'channel',
        channel: '${config.summary_channel}',
        subject: 'Inventory sync for supplier $input.supplier_id',
        level: 'info',
        message:
          'Inventory sync for supplier $input.supplier_id: $steps.update_inventory_records.inserted new and $steps.update_inventory_records.updated changed stock records, ' +
          '$steps.push_inventory.succeeded marketplace quantities pushed, $steps.check_low_stock.output_count SKUs low on stock.',
      },
    },
    {
      key: 'revert_inventory_tracking',
      name: 'Revert inventory tracking records',
      step_type: 'database_query',
      role: 'compensation',
      compensates: 'update_inventory_tracking',
      config: { query_type: 'operation', operation: 'revert_inventory_sync', params: { changes: '$.changes' } },
    },
  ],
};
