/** The `data_fetch` step executor: source_data queries, paginated HTTP sources with incremental cursors, and supplier/marketplace connectors. */
export * from '@engine/activities/data_fetch/executor';
export * from '@engine/activities/data_fetch/schema';
export * from '@engine/activities/shared/pagination';
export * from '@engine/activities/data_fetch/source-data';
export { FetchCursorStore } from '@engine/activities/data_fetch/cursor-store';
export { fetchFromConnector } from '@engine/activities/data_fetch/connector-source';
