import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { DateQueryField, IdQueryField } from '@src/common/http/query-fields';
import { RequireRole } from '@src/auth/roles';
import { StatsService } from '@src/stats/stats.service';

export class StatsQueryDto {
  @IdQueryField('Only this workflow')
  workflow?: number;

  @DateQueryField()
  created_after?: Date;

  @DateQueryField()
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
  @ApiOperation({ summary: 'Runs, success rate, average/p50/p95 duration and failures by step; per workflow and overall; per-step duration percentiles, failure rates and the slowest steps' })
  async get(@Query() q: StatsQueryDto) {
    const result = await this.stats.compute({ workflow_id: q.workflow, created_after: q.created_after, created_before: q.created_before });
    return {
      generated_at: new Date().toISOString(),
      filters: { workflow: q.workflow ?? null, created_after: q.created_after ?? null, created_before: q.created_before ?? null },
      ...result,
    };
  }
}
