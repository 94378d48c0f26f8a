import { Module, type OnModuleDestroy } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { APP_CONFIG } from '@src/config/config.module';
import type { AppConfig } from '@src/config/config';
import { SecretsModule } from '@src/secrets/secrets.module';
import { SecretsService } from '@src/secrets/secrets.service';
import { CONNECTION_KINDS } from '@src/connections/connection-validation';
import { connectionsController } from '@src/connections/connections.controller';
import { Connections } from '@src/connections/connections.registry';

/** Suppliers, marketplaces and carriers as REST resources. */
@Module({
  imports: [SecretsModule],
  controllers: CONNECTION_KINDS.map(connectionsController),
  providers: [
    {
      provide: Connections,
      useFactory: (ds: DataSource, secrets: SecretsService, config: AppConfig) => new Connections(ds, secrets, config),
      inject: [getDataSourceToken(), SecretsService, APP_CONFIG],
    },
  ],
  exports: [Connections],
})
export class ConnectionsModule implements OnModuleDestroy {
  constructor(private readonly connections: Connections) {}

  onModuleDestroy(): void {
    this.connections.close();
  }
}
