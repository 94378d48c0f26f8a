import { ApiProperty, ApiPropertyOptional, IntersectionType } from '@nestjs/swagger';
import { Allow, ArrayMaxSize, IsArray, IsDefined, IsIn, IsObject, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { VERSION_CHOICES, type VersionChoice } from '@src/executions/recovery-plan';
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

  @ApiPropertyOptional({ enum: VERSION_CHOICES, description: 'Definition version of the new run: current or original; default current when a newer version exists' })
  @IsOptional()
  @IsIn(VERSION_CHOICES, { message: 'version must be "current" or "original"' })
  version?: VersionChoice;
}

/** `POST /executions/{id}/retry-items/`: which of the items that did not go through to run again. */
export class RetryItemsDto {
  @ApiPropertyOptional({ type: [String], description: 'Only these item keys (SKU, order id...)', example: ['SUP-000042'] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100_000)
  @IsString({ each: true })
  @MaxLength(200, { each: true })
  keys?: string[];

  @ApiPropertyOptional({ type: [String], description: 'Only items with these reason codes', example: ['HTTP_CLIENT_ERROR'] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @IsString({ each: true })
  @MaxLength(64, { each: true })
  reasons?: string[];

  @ApiPropertyOptional({ description: 'Only items of this step (default: the first step, in dependency order, with items that did not go through)', example: 'create_listings' })
  @IsOptional()
  @IsString()
  @Matches(STEP_KEY_PATTERN, { message: 'must be a step key' })
  step?: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'object' }, description: 'Per item key: fields merged into that item before it is retried' })
  @IsOptional()
  @IsObject()
  overrides?: Record<string, Record<string, unknown>>;

  @ApiPropertyOptional({ enum: VERSION_CHOICES, description: 'Definition version of the new run; default current when a newer version exists' })
  @IsOptional()
  @IsIn(VERSION_CHOICES, { message: 'version must be "current" or "original"' })
  version?: VersionChoice;
}

/** `POST /executions/{id}/steps/{step_key}/output/`: an edited output, and why. */
export class EditStepOutputDto {
  @ApiProperty({ description: "The step's new output (JSON: an object or a list, of the step's output shape)" })
  @IsDefined({ message: 'output is required' })
  @Allow()
  output: unknown;

  @ApiPropertyOptional({ maxLength: 2000, description: 'Why it was edited (kept in the audit record)' })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  reason?: string;
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

/** `POST /executions/{id}/reviews/{step}/items/{key}/`: an operator's decision on one item an ai_process step held. */
export class ReviewItemDecisionDto {
  @ApiProperty({ enum: ['approve', 'edit', 'reject'], description: "approve: the AI's proposal continues; edit: `item` continues; reject: the item is dropped (skipped, with `reason`)" })
  @IsIn(['approve', 'edit', 'reject'])
  decision: 'approve' | 'edit' | 'reject';

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, description: 'With edit: the item as it continues (a JSON object)' })
  @IsOptional()
  @IsObject()
  item?: Record<string, unknown>;

  @ApiPropertyOptional({ maxLength: 2000, description: 'Why (kept in the ledger and the audit)' })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  reason?: string;
}

/** `POST /executions/{id}/reviews/{step}/rest/`: approve every item not decided yet, or reject them. */
export class ReviewRestDecisionDto {
  @ApiProperty({ enum: ['approve', 'reject'] })
  @IsIn(['approve', 'reject'])
  decision: 'approve' | 'reject';

  @ApiPropertyOptional({ maxLength: 2000 })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  reason?: string;
}
