import { type DynamicModule, Module, type OnApplicationShutdown } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ApiKeysLifecycle, AuthModule } from '@src/auth/auth.module';
import { CodecModule } from '@src/codec/codec.module';
import { ConfigModule } from '@src/config/config.module';
import { appConfig } from '@src/config/config';
import type { AppOptions } from '@src/core/app-options';
import { CoreModule } from '@src/core/core.module';
import { dataSourceOptions } from '@src/database/data-source';
import { ExecutionsModule } from '@src/executions/executions.module';
import { HealthController } from '@src/health/health.controller';
import { httpLoggingModule } from '@src/logging/http-logging';
import { rootLogger } from '@src/logging/logger';
import { ChannelsModule } from '@src/channels/channels.module';
import { ConnectionsModule } from '@src/connections/connections.module';
import { SecretsModule } from '@src/secrets/secrets.module';
import { SchedulesModule } from '@src/schedules/schedules.module';
import { StatsModule } from '@src/stats/stats.module';
import { WorkflowsModule } from '@src/workflows/workflows.module';

/** Runs `AppOptions.onShutdown` once the app has closed. */
class AppShutdown implements OnApplicationShutdown {
  constructor(private readonly run?: () => Promise<void>) {}
  async onApplicationShutdown(): Promise<void> {
    await this.run?.();
  }
}

/** The API: every area, over one configuration, one data source and one Temporal client. */
@Module({})
export class AppModule {
  static forRoot(options: AppOptions = {}): DynamicModule {
    const config = options.config ?? appConfig();
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        httpLoggingModule(options.logger ?? rootLogger()),
        CoreModule.forRoot({ ...options, config }),
        TypeOrmModule.forRootAsync({
          useFactory: () => ({ ...dataSourceOptions(config), retryAttempts: 2, retryDelay: 1000 }),
        }),
        AuthModule,
        WorkflowsModule,
        ExecutionsModule,
        SchedulesModule,
        StatsModule,
        CodecModule,
        SecretsModule,
        ConnectionsModule,
        ChannelsModule,
      ],
      controllers: [HealthController],
      providers: [ApiKeysLifecycle, { provide: AppShutdown, useValue: new AppShutdown(options.onShutdown) }],
    };
  }
}
