/** The `database_query` step executor: allow-listed models, bound parameters, opt-in read-only raw SQL. */
export { DATABASE_QUERY_STEP_TYPE, databaseQueryExecutorModule, createDatabaseQueryExecutor, type DatabaseQueryOptions } from './executor';
export { validateDatabaseQueryConfig, createDatabaseQueryValidator } from './schema';
export { DATABASE_MODELS, type ModelSpec, type ModelRegistry, type ColumnType } from './models';
