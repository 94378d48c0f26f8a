import { Module } from '@nestjs/common';
import { SchedulesController } from '@src/schedules/schedules.controller';
import { SchedulesService } from '@src/schedules/schedules.service';
import { WorkflowsModule } from '@src/workflows/workflows.module';

@Module({
  imports: [WorkflowsModule],
  controllers: [SchedulesController],
  providers: [SchedulesService],
  exports: [SchedulesService],
})
export class SchedulesModule {}
