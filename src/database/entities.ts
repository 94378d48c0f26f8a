import { ApiKey } from '@src/auth/api-key.entity';
import { Payload } from '@src/database/payload.entity';
import { SourceData } from '@src/commerce/source-data.entity';
import { WorkflowExecution, WorkflowStepExecution } from '@src/executions/execution.entity';
import { WorkflowSchedule } from '@src/schedules/schedule.entity';
import { Workflow, WorkflowStep, WorkflowVersion } from '@src/workflows/workflow.entity';
import { COMMERCE_ENTITIES } from '@src/commerce/entities';

/** Every TypeORM entity of the application. */
export const ENTITIES = [Workflow, WorkflowVersion, WorkflowStep, WorkflowExecution, WorkflowStepExecution, WorkflowSchedule, Payload, SourceData, ApiKey, ...COMMERCE_ENTITIES];
