import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProperty, ApiPropertyOptional, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { IsBoolean, IsInt, IsNotEmpty, IsObject, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { Actor, RequireRole } from '@src/auth/roles';
import { APP_CONFIG } from '@src/config/config.module';
import type { AppConfig } from '@src/config/config';
import { PageQueryDto, pageRequest } from '@src/common/http/pagination';
import { IntIdPipe } from '@src/common/http/params';
import { plainBody } from '@src/common/http/plain';
import { SchedulesService, type ScheduleView } from '@src/schedules/schedules.service';

const toBool = ({ value }: { value: unknown }) => (value === 'true' ? true : value === 'false' ? false : value);

export class CreateScheduleDto {
  @ApiProperty({ example: 1 })
  @IsInt()
  @Min(1)
  @Max(2_147_483_647)
  workflow_id: number;

  @ApiProperty({ example: 'Nightly import', maxLength: 200 })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name: string;

  @ApiProperty({ example: '0 3 * * *', description: 'Cron (5, 6 or 7 fields), @daily-style shorthands or @every 15m', maxLength: 120 })
  @IsString()
  @MaxLength(120)
  cron_expression: string;

  @ApiPropertyOptional({ example: 'Europe/Paris', default: 'UTC', maxLength: 64 })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  timezone?: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, example: { supplier_id: 123 } })
  @IsOptional()
  @IsObject()
  input_data?: Record<string, unknown>;

  @ApiPropertyOptional({ default: true, description: 'false creates it paused' })
  @IsOptional()
  @IsBoolean()
  is_active?: boolean;
}

export class UpdateScheduleDto {
  @ApiPropertyOptional({ maxLength: 200 })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name?: string;

  @ApiPropertyOptional({ maxLength: 120 })
  @IsOptional()
  @IsString()
  @MaxLength(120)
  cron_expression?: string;

  @ApiPropertyOptional({ maxLength: 64 })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  timezone?: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  @IsOptional()
  @IsObject()
  input_data?: Record<string, unknown>;

  @ApiPropertyOptional()
  @IsOptional()
  @IsBoolean()
  is_active?: boolean;
}

export class ListSchedulesQueryDto extends PageQueryDto {
  @ApiPropertyOptional()
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(2_147_483_647)
  workflow?: number;

  @ApiPropertyOptional({ type: Boolean })
  @IsOptional()
  @Transform(toBool)
  @IsBoolean()
  is_active?: boolean;
}

export class PauseScheduleDto {
  @ApiPropertyOptional({ maxLength: 500, description: 'Shown in the Temporal Web UI' })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  note?: string;
}

export function presentSchedule(v: ScheduleView, config: AppConfig, service: SchedulesService) {
  const r = v.row;
  return {
    id: r.id,
    name: r.name,
    workflow_id: r.workflow_id,
    workflow_code: v.workflow_code,
    workflow_version: r.workflow_version,
    cron_expression: r.cron_expression,
    timezone: r.timezone,
    input_data: r.input_data,
    is_active: r.is_active,
    status: r.is_active ? 'active' : 'paused',
    temporal_schedule_id: r.temporal_schedule_id,
    sync_state: r.sync_state,
    sync_error: r.sync_error,
    next_run_at: r.next_run_at,
    last_run_at: r.last_run_at,
    total_runs: r.total_runs,
    created_by: r.created_by,
    created_at: r.created_at,
    updated_at: r.updated_at,
    temporal_ui_url: service.temporalUiUrl(config.temporal.uiUrl, r.temporal_schedule_id),
    ...(v.live ? { live: v.live } : {}),
  };
}

/** Cron schedules, kept as Temporal Schedules and mirrored in the database. */
@ApiTags('schedules')
@ApiBearerAuth()
@ApiSecurity('api_key')
@Controller('schedules')
export class SchedulesController {
  constructor(
    private readonly schedules: SchedulesService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  private present(v: ScheduleView) {
    return presentSchedule(v, this.config, this.schedules);
  }

  @Get()
  @RequireRole('viewer')
  @ApiOperation({ summary: 'List schedules (filters: workflow, is_active); repairs rows left out of sync' })
  async list(@Query() q: ListSchedulesQueryDto) {
    const page = await this.schedules.list({ workflow_id: q.workflow, is_active: q.is_active }, pageRequest(q));
    return { ...page, results: page.results.map((v) => this.present(v)) };
  }

  @Post()
  @HttpCode(201)
  @RequireRole('admin')
  @ApiOperation({ summary: "Create a schedule; its action pins the workflow's current version" })
  async create(@Body() body: CreateScheduleDto, @Actor() actor: string | null) {
    return this.present(await this.schedules.create(plainBody(body), actor));
  }

  @Get(':id')
  @RequireRole('viewer')
  @ApiOperation({ summary: 'One schedule with its live state in Temporal (next runs, recent runs)' })
  async get(@Param('id', new IntIdPipe()) id: number) {
    return this.present(await this.schedules.get(id));
  }

  @Patch(':id')
  @RequireRole('admin')
  @ApiOperation({ summary: "Change a schedule; re-pins the workflow's current version" })
  async update(@Param('id', new IntIdPipe()) id: number, @Body() body: UpdateScheduleDto) {
    return this.present(await this.schedules.update(id, plainBody(body)));
  }

  @Delete(':id')
  @HttpCode(204)
  @RequireRole('admin')
  @ApiOperation({ summary: 'Delete a schedule (in Temporal and here)' })
  async remove(@Param('id', new IntIdPipe()) id: number): Promise<void> {
    await this.schedules.remove(id);
  }

  @Post(':id/pause')
  @HttpCode(200)
  @RequireRole('operator')
  @ApiOperation({ summary: 'Pause a schedule' })
  async pause(@Param('id', new IntIdPipe()) id: number, @Body() body: PauseScheduleDto) {
    return this.present(await this.schedules.pause(id, body.note || undefined));
  }

  @Post(':id/unpause')
  @HttpCode(200)
  @RequireRole('operator')
  @ApiOperation({ summary: 'Unpause a schedule' })
  async unpause(@Param('id', new IntIdPipe()) id: number, @Body() body: PauseScheduleDto) {
    return this.present(await this.schedules.unpause(id, body.note || undefined));
  }

  @Post(':id/trigger')
  @HttpCode(202)
  @RequireRole('operator')
  @ApiOperation({ summary: 'Start a run now (also while paused)' })
  async trigger(@Param('id', new IntIdPipe()) id: number) {
    return { ...this.present(await this.schedules.trigger(id)), triggered: true };
  }
}
