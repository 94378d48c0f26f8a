import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProperty, ApiPropertyOptional, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { IsNotEmpty, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { Actor, RequireRole } from '@src/auth/roles';
import { ValidationFailedError } from '@src/common/errors';
import { PageQueryDto, pageRequest, paginateArray } from '@src/common/http/pagination';
import { WORKFLOW_CODE_PATTERN } from '@src/workflows/dto/workflow.dto';
import { TemplatesService } from '@src/workflows/templates/templates.service';
import { presentWorkflow } from '@src/workflows/workflow.presenter';

export class CreateFromTemplateDto {
  @ApiProperty({ example: 'My Product Import', maxLength: 200 })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name: string;

  @ApiPropertyOptional({ example: 'Custom import workflow', maxLength: 10_000 })
  @IsOptional()
  @IsString()
  @MaxLength(10_000)
  description?: string;

  @ApiPropertyOptional({ description: 'Code of the new workflow; by default derived from the name (made unique).', pattern: WORKFLOW_CODE_PATTERN.source })
  @IsOptional()
  @IsString()
  @Matches(WORKFLOW_CODE_PATTERN, { message: 'must be 1-60 letters, digits, _, . or -, starting with a letter or digit' })
  code?: string;
}

const TEMPLATE_NAME = /^[a-z][a-z0-9_]{0,62}$/;

/** The template catalogue (`create_workflow_from_template` over HTTP). */
@ApiTags('templates')
@ApiBearerAuth()
@ApiSecurity('api_key')
@Controller('templates')
export class TemplatesController {
  constructor(private readonly templates: TemplatesService) {}

  @Get()
  @RequireRole('viewer')
  @ApiOperation({ summary: 'The workflow templates' })
  list(@Query() q: PageQueryDto) {
    return paginateArray(this.templates.list(), pageRequest(q));
  }

  @Post(':name/create')
  @HttpCode(201)
  @RequireRole('admin')
  @ApiOperation({ summary: 'Create a workflow from a template' })
  async create(@Param('name') name: string, @Body() body: CreateFromTemplateDto, @Actor() actor: string | null) {
    if (!TEMPLATE_NAME.test(name)) throw new ValidationFailedError([{ field: 'name', message: 'template names are lowercase slugs' }], 'VALIDATION_FAILED');
    const { workflow, definition } = await this.templates.createWorkflow(name, { name: body.name, description: body.description, code: body.code, created_by: actor });
    return { ...presentWorkflow(workflow, definition), template: name };
  }
}
