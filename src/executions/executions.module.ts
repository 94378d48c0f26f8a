import { Module } from '@nestjs/common';
import { ExecutionQueriesService } from '@src/executions/execution-queries.service';
import { ExecutionsController, WorkflowExecuteController } from '@src/executions/executions.controller';
import { ExecutionsService } from '@src/executions/executions.service';
import { WorkflowsModule } from '@src/workflows/workflows.module';

@Module({
  imports: [WorkflowsModule],
  controllers: [ExecutionsController, WorkflowExecuteController],
  providers: [ExecutionsService, ExecutionQueriesService],
  exports: [ExecutionsService, ExecutionQueriesService],
})
export class ExecutionsModule {}
