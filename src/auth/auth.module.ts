import { Inject, Module, type OnApplicationBootstrap } from '@nestjs/common';
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
export class AuthModule implements OnApplicationBootstrap {
  constructor(
    private readonly keys: ApiKeysService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.keys.seedAdminKey(this.config.security.adminApiKey);
  }
}
