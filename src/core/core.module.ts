import { type DynamicModule, Global, Module } from '@nestjs/common';
import { stepTypeRegistry } from '@engine/activities/registry';
import { TemporalClientService } from '@src/temporal-client/temporal-client.service';
import { TEMPLATES } from '@src/workflows/templates';
import { rootLogger, type Logger } from '@src/logging/logger';
import type { AppConfig } from '@src/config/config';
import { APP_CONFIG } from '@src/config/config.module';
import type { AppOptions } from '@src/core/app-options';
import type { ExecutionLimits } from '@src/executions/executions.service';
import { scheduleOwner, type SchedulesOptions } from '@src/schedules/schedules.service';
import { API_LOGGER, EXECUTION_LIMITS, SCHEDULES_OPTIONS, STEP_TYPE_REGISTRY, TASK_QUEUE, TEMPORAL_CLIENT, WORKFLOW_TEMPLATES } from '@src/core/tokens';

/**
 * What every area shares: the Temporal client, the step type registry the
 * definitions are validated against, the template registry, the logger, and
 * the settings the services take from the configuration. The API, the CLI
 * (`createApplicationContext`) and the test harness (`Test.createTestingModule`)
 * all build the services through it.
 */
@Global()
@Module({})
export class CoreModule {
  static forRoot(options: AppOptions = {}): DynamicModule {
    return {
      module: CoreModule,
      global: true,
      providers: [
        TemporalClientService,
        {
          provide: TEMPORAL_CLIENT,
          useFactory: (temporal: TemporalClientService) => options.temporalClient ?? (() => temporal.client()),
          inject: [TemporalClientService],
        },
        { provide: STEP_TYPE_REGISTRY, useFactory: () => stepTypeRegistry(options.stepTypes ?? []) },
        { provide: WORKFLOW_TEMPLATES, useValue: options.templates ?? TEMPLATES },
        { provide: API_LOGGER, useFactory: () => (options.logger ?? rootLogger()).child({ component: 'api' }) },
        { provide: TASK_QUEUE, useFactory: (config: AppConfig) => options.taskQueue ?? config.temporal.taskQueue, inject: [APP_CONFIG] },
        {
          provide: EXECUTION_LIMITS,
          useFactory: (config: AppConfig): ExecutionLimits => ({
            outageBudgetSeconds: config.outage.budgetSeconds,
            startTimeoutMs: config.outage.temporalStartTimeoutMs,
            callTimeoutMs: config.outage.temporalCallTimeoutMs,
            aiConfigured: config.openai.apiKey !== null,
            publicUrl: config.http.publicUrl,
            ...options.executionLimits,
          }),
          inject: [APP_CONFIG],
        },
        {
          provide: SCHEDULES_OPTIONS,
          useFactory: (config: AppConfig, logger: Logger): SchedulesOptions => ({
            taskQueue: options.taskQueue ?? config.temporal.taskQueue,
            namespace: config.temporal.namespace,
            owner: scheduleOwner(config.databaseUrl, config.temporal.namespace),
            logger,
            minIntervalSeconds: config.schedules.minIntervalSeconds,
          }),
          inject: [APP_CONFIG, API_LOGGER],
        },
      ],
      exports: [TemporalClientService, TEMPORAL_CLIENT, STEP_TYPE_REGISTRY, WORKFLOW_TEMPLATES, API_LOGGER, TASK_QUEUE, EXECUTION_LIMITS, SCHEDULES_OPTIONS],
    };
  }
}
