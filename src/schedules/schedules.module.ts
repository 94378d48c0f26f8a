import { Module } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import type { StepTypeRegistry } from '@engine/dsl/types';
import { APP_CONFIG } from '@src/config/config.module';
import type { AppConfig } from '@src/config/config';
import { API_LOGGER, STEP_TYPE_REGISTRY } from '@src/core/tokens';
import type { Logger } from '@src/logging/logger';
import { SchedulesController } from '@src/schedules/schedules.controller';
import { scheduleOwner, SchedulesService } from '@src/schedules/schedules.service';
import { TemporalClientService } from '@src/temporal-client/temporal-client.service';
import { WorkflowsModule } from '@src/workflows/workflows.module';
import { WorkflowsService } from '@src/workflows/workflows.service';

@Module({
  imports: [WorkflowsModule],
  controllers: [SchedulesController],
  providers: [
    {
      provide: SchedulesService,
      useFactory: (ds: DataSource, temporal: TemporalClientService, workflows: WorkflowsService, registry: StepTypeRegistry, config: AppConfig, logger: Logger) =>
        new SchedulesService(ds, () => temporal.client(), workflows, registry, {
          taskQueue: config.temporal.taskQueue,
          namespace: config.temporal.namespace,
          owner: scheduleOwner(config.databaseUrl, config.temporal.namespace),
          logger,
          minIntervalSeconds: config.schedules.minIntervalSeconds,
        }),
      inject: [getDataSourceToken(), TemporalClientService, WorkflowsService, STEP_TYPE_REGISTRY, APP_CONFIG, API_LOGGER],
    },
  ],
  exports: [SchedulesService],
})
export class SchedulesModule {}
