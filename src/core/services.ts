import type { Client } from '@temporalio/client';
import type { DataSource } from 'typeorm';
import type { StepTypeRegistry } from '@engine/dsl/types';
import { stepTypeRegistry } from '@engine/activities/registry';
import { ApiKeysService } from '@src/auth/api-keys.service';
import type { AppConfig } from '@src/config/config';
import { ExecutionQueriesService } from '@src/executions/execution-queries.service';
import { ExecutionsService } from '@src/executions/executions.service';
import type { Logger } from '@src/logging/logger';
import { scheduleOwner, SchedulesService } from '@src/schedules/schedules.service';
import { StatsService } from '@src/stats/stats.service';
import { TEMPLATES, type TemplateRegistry } from '@src/workflows/templates';
import { TemplatesService } from '@src/workflows/templates/templates.service';
import { WorkflowsService } from '@src/workflows/workflows.service';

export interface ServiceDeps {
  config: AppConfig;
  dataSource: DataSource;
  temporal: () => Promise<Client>;
  registry?: StepTypeRegistry;
  templates?: TemplateRegistry;
  logger?: Logger;
}

export interface Services {
  workflows: WorkflowsService;
  executions: ExecutionsService;
  queries: ExecutionQueriesService;
  templates: TemplatesService;
  schedules: SchedulesService;
  stats: StatsService;
  apiKeys: ApiKeysService;
}

/**
 * The services wired by hand, the way the Nest modules wire them, for
 * processes without Nest (the CLI). Same configuration, same data source.
 */
export function createServices(deps: ServiceDeps): Services {
  const { config, dataSource, temporal } = deps;
  const registry = deps.registry ?? stepTypeRegistry();
  const workflows = new WorkflowsService(dataSource, registry);
  const executions = new ExecutionsService(dataSource, temporal, workflows, registry, config.temporal.taskQueue, {
    outageBudgetSeconds: config.outage.budgetSeconds,
    startTimeoutMs: config.outage.temporalCallTimeoutMs,
    aiConfigured: config.openai.apiKey !== null,
    publicUrl: config.http.publicUrl,
  });
  return {
    workflows,
    executions,
    queries: new ExecutionQueriesService(dataSource, temporal, executions, config),
    templates: new TemplatesService(workflows, deps.templates ?? TEMPLATES),
    schedules: new SchedulesService(dataSource, temporal, workflows, registry, {
      taskQueue: config.temporal.taskQueue,
      namespace: config.temporal.namespace,
      owner: scheduleOwner(config.databaseUrl, config.temporal.namespace),
      logger: deps.logger,
      minIntervalSeconds: config.schedules.minIntervalSeconds,
    }),
    stats: new StatsService(dataSource),
    apiKeys: new ApiKeysService(dataSource),
  };
}
