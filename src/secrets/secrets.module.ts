import { Inject, Module } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { APP_CONFIG } from '@src/config/config.module';
import type { AppConfig } from '@src/config/config';
import { SecretsController } from '@src/secrets/secrets.controller';
import { SecretsService } from '@src/secrets/secrets.service';

/** The encrypted secret store's API (write-only). */
@Module({
  controllers: [SecretsController],
  providers: [
    {
      provide: SecretsService,
      useFactory: (ds: DataSource, config: AppConfig) => new SecretsService(ds, config.security.masterKey),
      inject: [getDataSourceToken(), APP_CONFIG],
    },
  ],
  exports: [SecretsService],
})
export class SecretsModule {
  constructor(@Inject(SecretsService) readonly secrets: SecretsService) {}
}
