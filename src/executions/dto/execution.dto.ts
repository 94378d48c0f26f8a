import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { Allow, IsDate, IsIn, IsInt, IsObject, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { STEP_KEY_PATTERN } from '@engine/dsl/validate';
import { PageQueryDto } from '@src/common/http/pagination';
import { TRIGGER_TYPES } from '@src/executions/execution.entity';
import { RUN_STATUSES } from '@src/executions/execution-status';


/** `GET /executions/` filters. */
export class ListExecutionsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ description: 'Workflow id or code' })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  workflow?: string;

  @ApiPropertyOptional({ enum: RUN_STATUSES })
  @IsOptional()
  @IsIn(RUN_STATUSES)
  status?: (typeof RUN_STATUSES)[number];

  @ApiPropertyOptional({ enum: TRIGGER_TYPES })
  @IsOptional()
  @IsIn(TRIGGER_TYPES)
  trigger_type?: (typeof TRIGGER_TYPES)[number];

  @ApiPropertyOptional({ description: 'Runs started by this schedule' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(2_147_483_647)
  schedule?: number;

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

function toDate(value: unknown): unknown {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value)) return value;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? value : d;
}

/** `POST /executions/{id}/restart/`. */
export class RestartExecutionDto {
  @ApiPropertyOptional({ description: 'Re-run this step and everything downstream; default: from the failed steps', example: 'validate' })
  @IsOptional()
  @IsString()
  @Matches(STEP_KEY_PATTERN, { message: 'must be a step key' })
  from_step?: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, description: 'Shallow-merged into the run input' })
  @IsOptional()
  @IsObject()
  input_overrides?: Record<string, unknown>;
}

/** `POST /executions/{id}/signal/`: the decision for an approval step. */
export class SignalExecutionDto {
  @ApiProperty({ example: 'review' })
  @IsString()
  @Matches(STEP_KEY_PATTERN, { message: 'must be a step key' })
  step_key: string;

  @ApiProperty({ enum: ['approve', 'reject'] })
  @IsIn(['approve', 'reject'])
  decision: 'approve' | 'reject';

  @ApiPropertyOptional({ description: 'Any JSON; becomes the approval step output' })
  @IsOptional()
  @Allow()
  data?: unknown;

  @ApiPropertyOptional({ maxLength: 2000 })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  comment?: string;
}
