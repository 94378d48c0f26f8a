import { ApiProperty, ApiPropertyOptional, IntersectionType } from '@nestjs/swagger';
import { Allow, IsIn, IsObject, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { STEP_KEY_PATTERN } from '@engine/dsl/validate';
import { PageQueryDto } from '@src/common/http/pagination';
import { DateQueryField, IdQueryField } from '@src/common/http/query-fields';
import { TRIGGER_TYPES } from '@src/executions/execution.entity';
import { RUN_OUTCOMES, RUN_STATUSES } from '@src/executions/execution-status';
import { ITEM_STATUSES, type ItemStatus } from '@engine/activities/runtime/item-ledger';


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

  @ApiPropertyOptional({ enum: RUN_OUTCOMES, description: 'What the operator sees: the status, or completed_with_failures for a completed run with failed items (then `completed` means without)' })
  @IsOptional()
  @IsIn(RUN_OUTCOMES)
  outcome?: (typeof RUN_OUTCOMES)[number];

  @ApiPropertyOptional({ enum: TRIGGER_TYPES })
  @IsOptional()
  @IsIn(TRIGGER_TYPES)
  trigger_type?: (typeof TRIGGER_TYPES)[number];

  @IdQueryField('Runs started by this schedule')
  schedule?: number;

  @ApiPropertyOptional({ description: 'Child runs of this fan-out parent (its execution_id)' })
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9][A-Za-z0-9._:@+=-]{0,99}$/, { message: 'must be an execution_id' })
  parent?: string;

  @DateQueryField()
  created_after?: Date;

  @DateQueryField()
  created_before?: Date;
}

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

/** The filters of the item ledger's list and export. */
export class ItemFilterQueryDto {
  @ApiPropertyOptional({ enum: ITEM_STATUSES, description: 'Only items with this outcome (e.g. failed)' })
  @IsOptional()
  @IsIn(ITEM_STATUSES)
  status?: ItemStatus;

  @ApiPropertyOptional({ description: 'Only this step\'s items', example: 'validate' })
  @IsOptional()
  @IsString()
  @Matches(STEP_KEY_PATTERN, { message: 'must be a step key' })
  step?: string;

  @ApiPropertyOptional({ description: 'Only this reason code', example: 'min_value' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  reason?: string;

  @ApiPropertyOptional({ description: 'Case-insensitive text in the item key, reason code or message', example: 'SKU-12' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  q?: string;
}

/** `GET /executions/{id}/items/`: the filters, paged. */
export class ListItemsQueryDto extends IntersectionType(PageQueryDto, ItemFilterQueryDto) {}

/** `GET /executions/{id}/items/export/`: the filters, and the format. */
export class ExportItemsQueryDto extends ItemFilterQueryDto {
  @ApiPropertyOptional({ enum: ['csv', 'jsonl'], default: 'csv', description: 'CSV (one line per item, no payload) or JSON Lines (with the item where it is kept)' })
  @IsOptional()
  @IsIn(['csv', 'jsonl'])
  format?: 'csv' | 'jsonl';
}
