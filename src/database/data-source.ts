import { DataSource, type DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from '../../migrations';
import { appConfig, type AppConfig } from '@src/config/config';
import { ENTITIES } from '@src/database/entities';

/**
 * The one TypeORM configuration, shared by the API, the worker and the
 * migration CLI. The schema is never synchronised: migrations own it.
 */
export function dataSourceOptions(config: AppConfig = appConfig(), overrides: { poolSize?: number } = {}): DataSourceOptions {
  return {
    type: 'postgres',
    url: config.databaseUrl,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    migrationsRun: false,
    logging: false,
    poolSize: overrides.poolSize ?? 10,
    extra: { connectionTimeoutMillis: 5000, application_name: 'merchflow' },
  };
}

export function createDataSource(config: AppConfig = appConfig(), overrides: { poolSize?: number } = {}): DataSource {
  return new DataSource(dataSourceOptions(config, overrides));
}
