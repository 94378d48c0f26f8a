import { type DynamicModule, type INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { Client } from '@temporalio/client';
import type { DataSource } from 'typeorm';
import { AuthModule } from '@src/auth/auth.module';
import { ApiKeysService } from '@src/auth/api-keys.service';
import type { AppConfig } from '@src/config/config';
import { ConfigModule } from '@src/config/config.module';
import { CoreModule } from '@src/core/core.module';
import { ExecutionQueriesService } from '@src/executions/execution-queries.service';
import { ExecutionItemsService } from '@src/executions/execution-items.service';
import { RecoveryService } from '@src/executions/recovery.service';
import { AiReviewsService } from '@src/executions/ai-reviews.service';
import { ExecutionsModule } from '@src/executions/executions.module';
import { ExecutionsService } from '@src/executions/executions.service';
import { NestLoggerAdapter, type Logger } from '@src/logging/logger';
import { SchedulesModule } from '@src/schedules/schedules.module';
import { SchedulesService } from '@src/schedules/schedules.service';
import { StatsModule } from '@src/stats/stats.module';
import { StatsService } from '@src/stats/stats.service';
import { TemplatesService } from '@src/workflows/templates/templates.service';
import { WorkflowsModule } from '@src/workflows/workflows.module';
import { WorkflowsService } from '@src/workflows/workflows.service';
import { ConnectionsModule } from '@src/connections/connections.module';
import { Connections } from '@src/connections/connections.registry';
import { SecretsModule } from '@src/secrets/secrets.module';
import { SecretsService } from '@src/secrets/secrets.service';
import { ChannelsModule } from '@src/channels/channels.module';
import { ChannelsService } from '@src/channels/channels.service';

/** The services a command uses, as the Nest container built them. */
export interface Services {
  workflows: WorkflowsService;
  executions: ExecutionsService;
  queries: ExecutionQueriesService;
  items: ExecutionItemsService;
  recovery: RecoveryService;
  reviews: AiReviewsService;
  templates: TemplatesService;
  schedules: SchedulesService;
  stats: StatsService;
  apiKeys: ApiKeysService;
  secrets: SecretsService;
  connections: Connections;
  channels: ChannelsService;
}

/**
 * The API's modules without HTTP, over the CLI's own connections: the data
 * source the CLI opened (so a connection failure names the variable) and its
 * Temporal client. No API-only lifecycle (admin key seeding, revocation
 * listener) runs here.
 */
@Module({})
export class CliModule {
  static forRoot(config: AppConfig, dataSource: DataSource, temporal: () => Promise<Client>, logger: Logger): DynamicModule {
    return {
      module: CliModule,
      imports: [
        ConfigModule.forRoot(config),
        CoreModule.forRoot({ config, logger, temporalClient: temporal }),
        TypeOrmModule.forRootAsync({ useFactory: () => ({}), dataSourceFactory: async () => dataSource }),
        AuthModule,
        WorkflowsModule,
        ExecutionsModule,
        SchedulesModule,
        StatsModule,
        SecretsModule,
        ConnectionsModule,
        ChannelsModule,
      ],
    };
  }
}

/** The CLI's Nest application context: the API's modules without HTTP. */
export function createCliContext(config: AppConfig, dataSource: DataSource, temporal: () => Promise<Client>, logger: Logger): Promise<INestApplicationContext> {
  return NestFactory.createApplicationContext(CliModule.forRoot(config, dataSource, temporal, logger), { logger: new NestLoggerAdapter(logger), abortOnError: false });
}

/** The services commands use, from the container. */
export function servicesOf(app: INestApplicationContext): Services {
  return {
    workflows: app.get(WorkflowsService),
    executions: app.get(ExecutionsService),
    queries: app.get(ExecutionQueriesService),
    items: app.get(ExecutionItemsService),
    recovery: app.get(RecoveryService),
    reviews: app.get(AiReviewsService),
    templates: app.get(TemplatesService),
    schedules: app.get(SchedulesService),
    stats: app.get(StatsService),
    apiKeys: app.get(ApiKeysService),
    secrets: app.get(SecretsService),
    connections: app.get(Connections),
    channels: app.get(ChannelsService),
  };
}
