import { Module } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { StatsController } from '@src/stats/stats.controller';
import { StatsService } from '@src/stats/stats.service';

@Module({
  controllers: [StatsController],
  providers: [{ provide: StatsService, useFactory: (ds: DataSource) => new StatsService(ds), inject: [getDataSourceToken()] }],
})
export class StatsModule {}
