import { Module, type OnModuleDestroy } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { APP_CONFIG } from '@src/config/config.module';
import type { AppConfig } from '@src/config/config';
import { SecretsModule } from '@src/secrets/secrets.module';
import { SecretsService } from '@src/secrets/secrets.service';
import { ChannelsController } from '@src/channels/channels.controller';
import { ChannelsService } from '@src/channels/channels.service';

@Module({
  imports: [SecretsModule],
  controllers: [ChannelsController],
  providers: [
    {
      provide: ChannelsService,
      useFactory: (ds: DataSource, secrets: SecretsService, config: AppConfig) => new ChannelsService(ds, secrets, config),
      inject: [getDataSourceToken(), SecretsService, APP_CONFIG],
    },
  ],
})
export class ChannelsModule implements OnModuleDestroy {
  constructor(private readonly channels: ChannelsService) {}

  onModuleDestroy(): void {
    this.channels.close();
  }
}
