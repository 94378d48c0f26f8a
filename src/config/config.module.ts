import { Global, Module } from '@nestjs/common';
import { appConfig } from '@src/config/config';

/** Injection token of the typed configuration. */
export const APP_CONFIG = Symbol('APP_CONFIG');

@Global()
@Module({
  providers: [{ provide: APP_CONFIG, useFactory: () => appConfig() }],
  exports: [APP_CONFIG],
})
export class ConfigModule {}
