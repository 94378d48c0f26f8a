import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiPropertyOptional, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { IsDate, IsInt, IsOptional, Max, Min } from 'class-validator';
import { RequireRole } from '@src/auth/roles';
import { StatsService } from '@src/stats/stats.service';

function toDate(value: unknown): unknown {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}/.test(value)) return value;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? value : d;
}

export class StatsQueryDto {
  @ApiPropertyOptional({ description: 'Only this workflow' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(2_147_483_647)
  workflow?: number;

  @ApiPropertyOptional({ type: String, format: 'date-time' })
  @IsOptional()
  @Transform(({ value }) => toDate(value))
  @IsDate({ message: 'must be an ISO 8601 date or date-time' })
  created_after?: Date;

  @ApiPropertyOptional({ type: String, format: 'date-time' })
  @IsOptional()
  @Transform(({ value }) => toDate(value))
  @IsDate({ message: 'must be an ISO 8601 date or date-time' })
  created_before?: Date;
}

@ApiTags('stats')
@ApiBearerAuth()
@ApiSecurity('api_key')
@Controller('stats')
export class StatsController {
  constructor(private readonly stats: StatsService) {}

  @Get()
  @RequireRole('viewer')
  @ApiOperation({ summary: 'Runs, success rate, average/p50/p95 duration and failures by step; per workflow and overall' })
  async get(@Query() q: StatsQueryDto) {
    const result = await this.stats.compute({ workflow_id: q.workflow, created_after: q.created_after, created_before: q.created_before });
    return {
      generated_at: new Date().toISOString(),
      filters: { workflow: q.workflow ?? null, created_after: q.created_after ?? null, created_before: q.created_before ?? null },
      ...result,
    };
  }
}
