import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { Actor, RequireRole } from '@src/auth/roles';
import { PageQueryDto, pageRequest, paginateArray } from '@src/common/http/pagination';
import { IntIdPipe } from '@src/common/http/params';
import { CreateWorkflowBody, UpdateWorkflowBody, type CreateWorkflowRequest, type UpdateWorkflowRequest } from '@engine/dsl/schema';
import { ApiZodBody, ZodBodyPipe } from '@src/common/http/zod-body';
import { ListWorkflowsQueryDto, WorkflowVersionQueryDto } from '@src/workflows/dto/workflow.dto';
import { presentVersion, presentWorkflow } from '@src/workflows/workflow.presenter';
import { WorkflowsService, type CreateWorkflowInput, type UpdateWorkflowInput } from '@src/workflows/workflows.service';

/** Workflow definitions: CRUD (every definition change is a new version), versions, validation. */
@ApiTags('workflows')
@ApiBearerAuth()
@ApiSecurity('api_key')
@Controller('workflows')
export class WorkflowsController {
  constructor(private readonly workflows: WorkflowsService) {}

  @Get()
  @RequireRole('viewer')
  @ApiOperation({ summary: 'List workflows (filters: workflow_type, status, is_template, search)' })
  async list(@Query() q: ListWorkflowsQueryDto) {
    const page = await this.workflows.list({ workflow_type: q.workflow_type, status: q.status, is_template: q.is_template, search: q.search }, pageRequest(q));
    return { ...page, results: page.results.map((r) => presentWorkflow(r.workflow, undefined, { step_count: r.step_count })) };
  }

  @Post()
  @HttpCode(201)
  @RequireRole('admin')
  @ApiOperation({ summary: 'Create a workflow from a full definition' })
  @ApiZodBody('CreateWorkflowDto')
  async create(@Body(new ZodBodyPipe(CreateWorkflowBody)) body: CreateWorkflowRequest, @Actor() actor: string | null) {
    // The schema checked each field; the service checks the definition as a whole.
    const { workflow, definition } = await this.workflows.create(body as CreateWorkflowInput, actor);
    return presentWorkflow(workflow, definition);
  }

  @Post('validate')
  @HttpCode(200)
  @RequireRole('viewer')
  @ApiOperation({ summary: 'Check a definition without saving it: 200 {valid: true} or 400 with the issues' })
  @ApiZodBody('CreateWorkflowDto')
  validate(@Body(new ZodBodyPipe(CreateWorkflowBody)) body: CreateWorkflowRequest) {
    const definition = this.workflows.validate(body);
    return { valid: true, step_count: definition.steps.filter((s) => s.role === 'main').length, definition };
  }

  @Get(':id')
  @RequireRole('viewer')
  @ApiOperation({ summary: 'A workflow with the steps of its current version (or ?version=N)' })
  async get(@Param('id', new IntIdPipe()) id: number, @Query() q: WorkflowVersionQueryDto) {
    const { workflow, definition } = await this.workflows.definition(id, q.version);
    return presentWorkflow(workflow, definition);
  }

  @Patch(':id')
  @RequireRole('admin')
  @ApiOperation({ summary: 'Change a workflow; a changed definition becomes a new version' })
  @ApiZodBody('UpdateWorkflowDto')
  async update(@Param('id', new IntIdPipe()) id: number, @Body(new ZodBodyPipe(UpdateWorkflowBody)) body: UpdateWorkflowRequest, @Actor() actor: string | null) {
    const { workflow, definition } = await this.workflows.update(id, body as UpdateWorkflowInput, actor);
    return presentWorkflow(workflow, definition);
  }

  @Delete(':id')
  @HttpCode(204)
  @RequireRole('admin')
  @ApiOperation({ summary: 'Delete a workflow (soft: its runs stay; refused while it has schedules)' })
  async remove(@Param('id', new IntIdPipe()) id: number): Promise<void> {
    await this.workflows.remove(id);
  }

  @Get(':id/versions')
  @RequireRole('viewer')
  @ApiOperation({ summary: 'The versions of a workflow, newest first' })
  async versions(@Param('id', new IntIdPipe()) id: number, @Query() q: PageQueryDto) {
    const wf = await this.workflows.get(id);
    const page = paginateArray(await this.workflows.versions(id), pageRequest(q));
    const counts = await this.workflows.stepCounts(page.results.map((v) => [id, v.version]));
    return { ...page, results: page.results.map((v) => presentVersion(v, wf.current_version, counts.get(`${id}/${v.version}`) ?? 0)) };
  }
}
