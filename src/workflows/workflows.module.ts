import { Module } from '@nestjs/common';
import { TemplatesController } from '@src/workflows/templates/templates.controller';
import { TemplatesService } from '@src/workflows/templates/templates.service';
import { WorkflowsController } from '@src/workflows/workflows.controller';
import { StepTypesController } from '@src/workflows/step-types.controller';
import { WorkflowsService } from '@src/workflows/workflows.service';

@Module({
  controllers: [WorkflowsController, TemplatesController, StepTypesController],
  providers: [WorkflowsService, TemplatesService],
  exports: [WorkflowsService, TemplatesService],
})
export class WorkflowsModule {}
