import { Inject, Injectable, Module, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ApiKeyGuard } from '@src/auth/api-key.guard';
import { ApiKeysController } from '@src/auth/api-keys.controller';
import { ApiKeysService } from '@src/auth/api-keys.service';
import { APP_CONFIG } from '@src/config/config.module';
import type { AppConfig } from '@src/config/config';

/** API-key authentication for every route and key management. */
@Module({
  controllers: [ApiKeysController],
  providers: [ApiKeysService, { provide: APP_GUARD, useClass: ApiKeyGuard }],
  exports: [ApiKeysService],
})
export class AuthModule {}

/**
 * What only the API process does with keys: seeds the admin key from the
 * environment and listens for revocations (the CLI builds AuthModule without it).
 */
@Injectable()
export class ApiKeysLifecycle implements OnApplicationBootstrap, OnModuleDestroy {
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
