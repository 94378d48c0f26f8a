import { Module } from '@nestjs/common';
import { ExecutionQueriesService } from '@src/executions/execution-queries.service';
import { ExecutionsController, WorkflowExecuteController } from '@src/executions/executions.controller';
import { ExecutionsService } from '@src/executions/executions.service';
import { ExecutionItemsController } from '@src/executions/execution-items.controller';
import { ExecutionItemsService } from '@src/executions/execution-items.service';
import { RecoveryService } from '@src/executions/recovery.service';
import { WorkflowsModule } from '@src/workflows/workflows.module';

@Module({
  imports: [WorkflowsModule],
  controllers: [ExecutionsController, ExecutionItemsController, WorkflowExecuteController],
  providers: [ExecutionsService, ExecutionQueriesService, ExecutionItemsService, RecoveryService],
  exports: [ExecutionsService, ExecutionQueriesService, ExecutionItemsService, RecoveryService],
})
export class ExecutionsModule {}
