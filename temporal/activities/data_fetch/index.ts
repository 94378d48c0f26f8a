/** The `data_fetch` step executor: source_data queries and paginated HTTP sources, with incremental cursors. */
export * from '@engine/activities/data_fetch/data-fetch.executor';
export * from '@engine/activities/data_fetch/schema';
export * from '@engine/activities/data_fetch/paginate';
export * from '@engine/activities/data_fetch/source-data';
export { FetchCursorStore } from '@engine/activities/data_fetch/cursor-store';
