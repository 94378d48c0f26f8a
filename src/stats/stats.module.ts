import { Module } from '@nestjs/common';
import { StatsController } from '@src/stats/stats.controller';
import { StatsService } from '@src/stats/stats.service';

@Module({
  controllers: [StatsController],
  providers: [StatsService],
  exports: [StatsService],
})
export class StatsModule {}
