import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsNotEmpty, IsObject, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { WORKFLOW_STATUSES } from '@engine/dsl/schema';
import { PageQueryDto } from '@src/common/http/pagination';

export { WORKFLOW_CODE_PATTERN } from '@engine/dsl/schema';
const STATUSES = WORKFLOW_STATUSES;

// The definition bodies (create, update, validate) are zod schemas in temporal/dsl/schema.ts.

/** Trigger types a caller of the execute endpoint may claim. */
export const CALLER_TRIGGER_TYPES = ['api', 'manual'] as const;

/** `POST /workflows/{id}/execute/`. */
export class ExecuteWorkflowDto {
  @ApiPropertyOptional({ type: 'object', additionalProperties: true, example: { supplier_id: 123 } })
  @IsOptional()
  @IsObject()
  input_data?: Record<string, unknown>;

  @ApiPropertyOptional({ maxLength: 200, description: 'The same key never starts a second run; the first run is returned.' })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  idempotency_key?: string;

  @ApiPropertyOptional({ description: 'Run this version instead of the current one.', minimum: 1 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  version?: number;

  @ApiPropertyOptional({
    enum: CALLER_TRIGGER_TYPES,
    default: 'api',
    description: 'How the caller started the run: `manual` (a person) or `api` (a program). `schedule`, `restart` and `cli` are set by Merchflow itself.',
  })
  @IsOptional()
  @IsIn(CALLER_TRIGGER_TYPES, { message: `trigger_type must be one of ${CALLER_TRIGGER_TYPES.join(', ')} (schedule, restart and cli are set by Merchflow)` })
  trigger_type?: (typeof CALLER_TRIGGER_TYPES)[number];
}

const toBool = ({ value }: { value: unknown }) => (value === 'true' ? true : value === 'false' ? false : value);

/** `GET /workflows/` filters. */
export class ListWorkflowsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ maxLength: 50 })
  @IsOptional()
  @IsString()
  @MaxLength(50)
  workflow_type?: string;

  @ApiPropertyOptional({ enum: STATUSES })
  @IsOptional()
  @IsIn(STATUSES)
  status?: (typeof STATUSES)[number];

  @ApiPropertyOptional({ type: Boolean })
  @IsOptional()
  @Transform(toBool)
  @IsBoolean()
  is_template?: boolean;

  @ApiPropertyOptional({ description: 'Matches code or name, case-insensitively.', maxLength: 100 })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  search?: string;
}

/** `GET /workflows/{id}/?version=N`. */
export class WorkflowVersionQueryDto {
  @ApiPropertyOptional({ minimum: 1 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  version?: number;
}
