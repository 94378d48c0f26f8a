import { Inject, Module, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { ApiKeyGuard } from '@src/auth/api-key.guard';
import { ApiKeysController } from '@src/auth/api-keys.controller';
import { ApiKeysService } from '@src/auth/api-keys.service';
import { APP_CONFIG } from '@src/config/config.module';
import type { AppConfig } from '@src/config/config';

/** API-key authentication for every route, key management, and the admin key seeded from the environment. */
@Module({
  controllers: [ApiKeysController],
  providers: [
    { provide: ApiKeysService, useFactory: (ds: DataSource) => new ApiKeysService(ds), inject: [getDataSourceToken()] },
    { provide: APP_GUARD, useClass: ApiKeyGuard },
  ],
  exports: [ApiKeysService],
})
export class AuthModule implements OnApplicationBootstrap, OnModuleDestroy {
  constructor(
    private readonly keys: ApiKeysService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.keys.seedAdminKey(this.config.security.adminApiKey);
    await this.keys.startRevocationListener();
  }

  async onModuleDestroy(): Promise<void> {
    await this.keys.stopRevocationListener();
  }
}
