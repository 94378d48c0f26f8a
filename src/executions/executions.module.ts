import { Module } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import type { StepTypeRegistry } from '@engine/dsl/types';
import { APP_CONFIG } from '@src/config/config.module';
import type { AppConfig } from '@src/config/config';
import { STEP_TYPE_REGISTRY } from '@src/core/tokens';
import { ExecutionQueriesService } from '@src/executions/execution-queries.service';
import { ExecutionsController, WorkflowExecuteController } from '@src/executions/executions.controller';
import { ExecutionsService } from '@src/executions/executions.service';
import { TemporalClientService } from '@src/temporal-client/temporal-client.service';
import { WorkflowsModule } from '@src/workflows/workflows.module';
import { WorkflowsService } from '@src/workflows/workflows.service';

@Module({
  imports: [WorkflowsModule],
  controllers: [ExecutionsController, WorkflowExecuteController],
  providers: [
    {
      provide: ExecutionsService,
      useFactory: (ds: DataSource, temporal: TemporalClientService, workflows: WorkflowsService, registry: StepTypeRegistry, config: AppConfig) =>
        new ExecutionsService(ds, () => temporal.client(), workflows, registry, config.temporal.taskQueue, {
          outageBudgetSeconds: config.outage.budgetSeconds,
          startTimeoutMs: config.outage.temporalCallTimeoutMs,
          aiConfigured: config.openai.apiKey !== null,
          publicUrl: config.http.publicUrl,
        }),
      inject: [getDataSourceToken(), TemporalClientService, WorkflowsService, STEP_TYPE_REGISTRY, APP_CONFIG],
    },
    {
      provide: ExecutionQueriesService,
      useFactory: (ds: DataSource, temporal: TemporalClientService, executions: ExecutionsService, config: AppConfig) =>
        new ExecutionQueriesService(ds, () => temporal.client(), executions, config),
      inject: [getDataSourceToken(), TemporalClientService, ExecutionsService, APP_CONFIG],
    },
  ],
  exports: [ExecutionsService, ExecutionQueriesService],
})
export class ExecutionsModule {}
