import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { Actor, RequireRole } from '@src/auth/roles';
import { pageRequest } from '@src/common/http/pagination';
import { ExecutionRefPipe, IntIdPipe } from '@src/common/http/params';
import { plainBody } from '@src/common/http/plain';
import { EditStepOutputDto, ListExecutionsQueryDto, RestartExecutionDto, RetryItemsDto, SignalExecutionDto } from '@src/executions/dto/execution.dto';
import { RecoveryService } from '@src/executions/recovery.service';
import { STEP_KEY_PATTERN } from '@engine/dsl/validate';
import { AppError } from '@src/common/errors';
import { ExecutionQueriesService } from '@src/executions/execution-queries.service';
import { ExecutionsService } from '@src/executions/executions.service';
import { ExecuteWorkflowDto } from '@src/workflows/dto/workflow.dto';

/** Runs: list, inspect, cancel, restart, and the decisions of approval steps. */
@ApiTags('executions')
@ApiBearerAuth()
@ApiSecurity('api_key')
@Controller('executions')
export class ExecutionsController {
  constructor(
    private readonly executions: ExecutionsService,
    private readonly queries: ExecutionQueriesService,
    private readonly recovery: RecoveryService,
  ) {}

  @Get()
  @RequireRole('viewer')
  @ApiOperation({ summary: 'List runs (filters: workflow, status, outcome, trigger_type, schedule, parent, created_after, created_before)' })
  list(@Query() q: ListExecutionsQueryDto) {
    return this.queries.list(
      { workflow: q.workflow, status: q.status, outcome: q.outcome, trigger_type: q.trigger_type, schedule: q.schedule, parent: q.parent, created_after: q.created_after, created_before: q.created_before },
      pageRequest(q),
    );
  }

  @Get(':id')
  @RequireRole('viewer')
  @ApiOperation({ summary: 'One run by numeric id or execution_id: status, progress (live while running), input, output, steps, and a fan-out parent\'s children' })
  get(@Param('id', ExecutionRefPipe) id: string) {
    return this.queries.detail(id);
  }

  @Post(':id/cancel')
  @HttpCode(202)
  @RequireRole('operator')
  @ApiOperation({ summary: 'Request cancellation; running steps are cancelled and the run ends as cancelled' })
  async cancel(@Param('id', ExecutionRefPipe) id: string) {
    const row = await this.executions.cancel(id);
    return { ...(await this.queries.present(row)), cancel_requested: true };
  }

  @Post(':id/restart')
  @HttpCode(202)
  @RequireRole('operator')
  @ApiOperation({ summary: 'Start a new run that reuses the completed steps of this one (from its failed step, or from_step)' })
  async restart(@Param('id', ExecutionRefPipe) id: string, @Body() body: RestartExecutionDto, @Actor() actor: string | null) {
    const b = plainBody(body);
    const row = await this.executions.restart(id, { from_step: b.from_step, input_overrides: b.input_overrides, version: b.version, triggered_by: actor });
    return { ...(await this.queries.present(row)), recovery: row.recovery };
  }

  @Post(':id/retry-items')
  @HttpCode(202)
  @RequireRole('operator')
  @ApiOperation({ summary: 'Start a new run that re-runs only the items that did not go through (all, or by key, reason or step), from the step where they stopped' })
  async retryItems(@Param('id', ExecutionRefPipe) id: string, @Body() body: RetryItemsDto, @Actor() actor: string | null) {
    const b = plainBody(body);
    const { run, retry } = await this.recovery.retryItems(id, { keys: b.keys, reasons: b.reasons, step: b.step, overrides: b.overrides, version: b.version, triggered_by: actor });
    return { ...(await this.queries.present(run)), recovery: run.recovery, retry };
  }

  @Get(':id/steps/:step_key/output')
  @RequireRole('viewer')
  @ApiOperation({ summary: "A step's output as later steps read it, to edit it (left out above 1 MiB, the most an edit may have)" })
  async stepOutput(@Param('id', ExecutionRefPipe) id: string, @Param('step_key') stepKey: string) {
    if (!STEP_KEY_PATTERN.test(stepKey)) throw new AppError('BAD_REQUEST', `step_key: "${stepKey.slice(0, 100)}" is not a step key`, 400, { field: 'step_key' });
    return this.recovery.stepOutput(id, stepKey);
  }

  @Post(':id/steps/:step_key/output')
  @HttpCode(202)
  @RequireRole('operator')
  @ApiOperation({ summary: "Edit a completed or failed step's output (audited) and continue: a new run reuses it and runs the steps after it" })
  async editOutput(@Param('id', ExecutionRefPipe) id: string, @Param('step_key') stepKey: string, @Body() body: EditStepOutputDto, @Actor() actor: string | null) {
    if (!STEP_KEY_PATTERN.test(stepKey)) throw new AppError('BAD_REQUEST', `step_key: "${stepKey.slice(0, 100)}" is not a step key`, 400, { field: 'step_key' });
    const b = body as EditStepOutputDto;
    const { run, edit } = await this.recovery.editOutput(id, stepKey, { output: b.output, reason: b.reason ?? null, edited_by: actor });
    return { ...(await this.queries.present(run)), recovery: run.recovery, edit };
  }

  @Post(':id/signal')
  @HttpCode(202)
  @RequireRole('operator')
  @ApiOperation({ summary: 'Approve or reject a waiting approval step' })
  async signal(@Param('id', ExecutionRefPipe) id: string, @Body() body: SignalExecutionDto, @Actor() actor: string | null) {
    const b = plainBody(body);
    const row = await this.queries.signal(id, { step_key: b.step_key, decision: b.decision, data: b.data, comment: b.comment ?? null, by: actor });
    return { ...(await this.queries.present(row)), signal: { step_key: b.step_key, decision: b.decision }, accepted: true };
  }
}

/** `POST /workflows/{id}/execute/` lives with the runs it starts. */
@ApiTags('workflows')
@ApiBearerAuth()
@ApiSecurity('api_key')
@Controller('workflows')
export class WorkflowExecuteController {
  constructor(
    private readonly executions: ExecutionsService,
    private readonly queries: ExecutionQueriesService,
  ) {}

  @Post(':id/execute')
  @HttpCode(202)
  @RequireRole('operator')
  @ApiOperation({ summary: 'Start a run of the current version (202 with the execution; idempotency_key makes retries safe)' })
  async execute(@Param('id', new IntIdPipe()) id: number, @Body() body: ExecuteWorkflowDto, @Actor() actor: string | null) {
    const b = plainBody(body);
    const row = await this.executions.start(id, {
      input_data: b.input_data ?? {},
      idempotency_key: b.idempotency_key ?? null,
      version: b.version,
      trigger_type: b.trigger_type ?? 'api',
      triggered_by: actor,
    });
    return { ...(await this.queries.present(row)), input_data: row.input_data };
  }
}
