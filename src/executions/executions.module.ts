import { Module } from '@nestjs/common';
import { ExecutionQueriesService } from '@src/executions/execution-queries.service';
import { ExecutionsController, WorkflowExecuteController } from '@src/executions/executions.controller';
import { ExecutionsService } from '@src/executions/executions.service';
import { ExecutionItemsController } from '@src/executions/execution-items.controller';
import { ExecutionItemsService } from '@src/executions/execution-items.service';
import { RecoveryService } from '@src/executions/recovery.service';
import { WorkflowsModule } from '@src/workflows/workflows.module';
import { AiReviewsController } from '@src/executions/ai-reviews.controller';
import { AiReviewsService } from '@src/executions/ai-reviews.service';

@Module({
  imports: [WorkflowsModule],
  controllers: [ExecutionsController, ExecutionItemsController, AiReviewsController, WorkflowExecuteController],
  providers: [ExecutionsService, ExecutionQueriesService, ExecutionItemsService, RecoveryService, AiReviewsService],
  exports: [ExecutionsService, ExecutionQueriesService, ExecutionItemsService, RecoveryService, AiReviewsService],
})
export class ExecutionsModule {}
