import { Module } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import type { StepTypeRegistry } from '@engine/dsl/types';
import { STEP_TYPE_REGISTRY, WORKFLOW_TEMPLATES } from '@src/core/tokens';
import { TemplatesController } from '@src/workflows/templates/templates.controller';
import { TemplatesService } from '@src/workflows/templates/templates.service';
import type { TemplateRegistry } from '@src/workflows/templates';
import { WorkflowsController } from '@src/workflows/workflows.controller';
import { WorkflowsService } from '@src/workflows/workflows.service';

@Module({
  controllers: [WorkflowsController, TemplatesController],
  providers: [
    {
      provide: WorkflowsService,
      useFactory: (ds: DataSource, registry: StepTypeRegistry) => new WorkflowsService(ds, registry),
      inject: [getDataSourceToken(), STEP_TYPE_REGISTRY],
    },
    {
      provide: TemplatesService,
      useFactory: (workflows: WorkflowsService, templates: TemplateRegistry) => new TemplatesService(workflows, templates),
      inject: [WorkflowsService, WORKFLOW_TEMPLATES],
    },
  ],
  exports: [WorkflowsService, TemplatesService],
})
export class WorkflowsModule {}
