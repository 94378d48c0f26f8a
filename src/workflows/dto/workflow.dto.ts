import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateBy,
  ValidateNested,
  type ValidationOptions,
} from 'class-validator';
import { MAX_STEPS, STEP_KEY_PATTERN, stepKeyProblem } from '@engine/dsl/validate';
import { PageQueryDto } from '@src/common/http/pagination';
import type { CreateWorkflowInput, UpdateWorkflowInput } from '@src/workflows/workflows.service';

/** Workflow codes name runs (`<code>-<uuid>`), so they stay short and URL-safe. */
export const WORKFLOW_CODE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,59}$/;
const ROLES = ['main', 'compensation', 'on_failure'] as const;
const STATUSES = ['active', 'inactive'] as const;

/** A step key as the definition validator accepts it (a slug, not a reserved name); the message names the key. */
function IsStepKey(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isStepKey',
      validator: {
        validate: (value: unknown) => stepKeyProblem(value) === null,
        defaultMessage: (args) => stepKeyProblem(args?.value)?.replace(/^key /, '') ?? 'must be a step key',
      },
    },
    options,
  );
}

/** One step of a definition, as a client writes it; the definition validator checks the rest (graph, references, executor config). */
export class StepDto {
  @ApiProperty({ example: 'fetch_products', pattern: STEP_KEY_PATTERN.source })
  @IsString()
  @IsStepKey()
  key: string;

  @ApiProperty({ example: 'Fetch supplier products', maxLength: 200 })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name: string;

  @ApiProperty({ example: 'data_fetch', maxLength: 50 })
  @IsString()
  @IsNotEmpty()
  @MaxLength(50)
  step_type: string;

  @ApiPropertyOptional({ minimum: 0, maximum: 1_000_000 })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  order?: number;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, example: { source_type: 'supplier', supplier_id: '$input.supplier_id' } })
  @IsOptional()
  @IsObject()
  config?: Record<string, unknown>;

  @ApiPropertyOptional({ type: [String] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_STEPS)
  @IsString({ each: true })
  @MaxLength(63, { each: true })
  depends_on_steps?: string[];

  @ApiPropertyOptional()
  @IsOptional()
  @IsBoolean()
  is_optional?: boolean;

  @ApiPropertyOptional()
  @IsOptional()
  @IsBoolean()
  can_run_parallel?: boolean;

  @ApiPropertyOptional({ nullable: true, maxLength: 100 })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  parallel_group?: string | null;

  @ApiPropertyOptional({
    nullable: true,
    type: 'object',
    additionalProperties: true,
    example: { type: 'value_check', path: 'workflow.config.enable_ai_enrichment', operator: 'equals', value: true },
  })
  @IsOptional()
  @IsObject()
  condition?: Record<string, unknown> | null;

  @ApiPropertyOptional({ minimum: 1, maximum: 86400, default: 300 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(86400)
  timeout_seconds?: number;

  @ApiPropertyOptional({ default: true })
  @IsOptional()
  @IsBoolean()
  can_retry?: boolean;

  @ApiPropertyOptional({ nullable: true, minimum: 0, maximum: 100 })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(100)
  max_retries?: number | null;

  @ApiPropertyOptional({ nullable: true, minimum: 0, maximum: 86400 })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(86400)
  retry_delay_seconds?: number | null;

  @ApiPropertyOptional({ minimum: 1, maximum: 10, default: 2 })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(1)
  @Max(10)
  retry_backoff?: number;

  @ApiPropertyOptional({ minimum: 1, maximum: 86400, default: 300 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(86400)
  max_retry_delay_seconds?: number;

  @ApiPropertyOptional({ enum: ROLES, default: 'main' })
  @IsOptional()
  @IsIn(ROLES)
  role?: (typeof ROLES)[number];

  @ApiPropertyOptional({ nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(63)
  compensates?: string | null;
}

/** Workflow-level settings shared by create and update. */
class WorkflowFieldsDto {
  @ApiPropertyOptional({ maxLength: 10_000 })
  @IsOptional()
  @IsString()
  @MaxLength(10_000)
  description?: string;

  @ApiPropertyOptional({ example: 'product_import', maxLength: 50, default: 'custom' })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(50)
  workflow_type?: string;

  @ApiPropertyOptional({ enum: STATUSES, default: 'active' })
  @IsOptional()
  @IsIn(STATUSES)
  status?: (typeof STATUSES)[number];

  @ApiPropertyOptional({ default: false })
  @IsOptional()
  @IsBoolean()
  is_template?: boolean;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, example: { enable_ai_enrichment: true } })
  @IsOptional()
  @IsObject()
  config?: Record<string, unknown>;

  @ApiPropertyOptional({ minimum: 0, maximum: 100, default: 3 })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(100)
  max_retries?: number;

  @ApiPropertyOptional({ minimum: 0, maximum: 86400, default: 5 })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(86400)
  retry_delay_seconds?: number;

  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 10 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(100)
  max_parallel_steps?: number;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    nullable: true,
    description: 'JSON Schema that every run\'s input_data must match; checked before a run starts (400 naming the field). null removes it.',
    example: { type: 'object', properties: { supplier_id: { type: 'integer', minimum: 1 } }, required: ['supplier_id'] },
  })
  @IsOptional()
  @IsObject()
  input_schema?: Record<string, unknown> | null;
}

/** `POST /workflows/`: a complete definition. */
export class CreateWorkflowDto extends WorkflowFieldsDto {
  @ApiProperty({ example: 'daily_product_import', pattern: WORKFLOW_CODE_PATTERN.source })
  @IsString()
  @Matches(WORKFLOW_CODE_PATTERN, { message: 'must be 1-60 letters, digits, _, . or -, starting with a letter or digit' })
  code: string;

  @ApiProperty({ example: 'Daily Product Import', maxLength: 200 })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name: string;

  @ApiProperty({ type: [StepDto] })
  @IsArray()
  @ArrayMaxSize(MAX_STEPS)
  @ValidateNested({ each: true })
  @Type(() => StepDto)
  steps: StepDto[];
}

/** `PATCH /workflows/{id}/`: any field; a changed definition becomes a new version. */
export class UpdateWorkflowDto extends WorkflowFieldsDto {
  @ApiPropertyOptional({ maxLength: 200 })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name?: string;

  @ApiPropertyOptional({ description: 'Cannot change; accepted when equal to the current code.' })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  code?: string;

  @ApiPropertyOptional({ type: [StepDto] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_STEPS)
  @ValidateNested({ each: true })
  @Type(() => StepDto)
  steps?: StepDto[];
}

/** `POST /workflows/validate/`: the same body as create; nothing is saved. */
export class ValidateWorkflowDto extends CreateWorkflowDto {}

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

/**
 * A validated body as the service's input. The DTOs check shapes and types;
 * conditions and executor configs are free-form here and checked by the
 * definition validator, hence the cast.
 */
export function definitionInput<T extends CreateWorkflowDto | UpdateWorkflowDto>(dto: T): T extends CreateWorkflowDto ? CreateWorkflowInput : UpdateWorkflowInput {
  return JSON.parse(JSON.stringify(dto)) as T extends CreateWorkflowDto ? CreateWorkflowInput : UpdateWorkflowInput;
}
