import { type DynamicModule, Global, Module } from '@nestjs/common';
import { appConfig, type AppConfig } from '@src/config/config';

/** Injection token of the typed configuration. */
export const APP_CONFIG = Symbol('APP_CONFIG');

/**
 * Provides the one typed configuration. `forRoot(config)` lets a test (or the
 * CLI) hand in a configuration loaded from its own environment; without it the
 * process-wide `appConfig()` is used.
 */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: AppConfig = appConfig()): DynamicModule {
    return {
      module: ConfigModule,
      global: true,
      providers: [{ provide: APP_CONFIG, useValue: config }],
      exports: [APP_CONFIG],
    };
  }
}
