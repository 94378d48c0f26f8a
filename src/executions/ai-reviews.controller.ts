import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { Actor, RequireRole } from '@src/auth/roles';
import { ExecutionRefPipe } from '@src/common/http/params';
import { plainBody } from '@src/common/http/plain';
import { ValidationFailedError } from '@src/common/errors';
import { STEP_KEY_PATTERN } from '@engine/dsl/validate';
import { ReviewItemDecisionDto, ReviewRestDecisionDto } from '@src/executions/dto/execution.dto';
import { AiReviewsService } from '@src/executions/ai-reviews.service';

const stepKeyOf = (step: string): string => {
  if (!STEP_KEY_PATTERN.test(step ?? '')) throw new ValidationFailedError([{ field: 'step', message: 'must be a step key' }]);
  return step;
};

/** Reviews of ai_process steps' low-confidence answers: the items a run waits on, and an operator's decision on each. */
@ApiTags('executions')
@ApiBearerAuth()
@ApiSecurity('api_key')
@Controller('executions')
export class AiReviewsController {
  constructor(private readonly reviews: AiReviewsService) {}

  @Get(':id/reviews')
  @RequireRole('viewer')
  @ApiOperation({ summary: "The run's reviews of ai_process answers: each held item with the original, the AI's proposal and its decision (who, when)" })
  list(@Param('id', ExecutionRefPipe) id: string) {
    return this.reviews.list(id);
  }

  @Post(':id/reviews/:step/items/:key')
  @HttpCode(202)
  @RequireRole('operator')
  @ApiOperation({ summary: 'Approve, edit (with the item as it continues) or reject (with a reason) one held item; the first decision stands' })
  decide(@Param('id', ExecutionRefPipe) id: string, @Param('step') step: string, @Param('key') key: string, @Body() body: ReviewItemDecisionDto, @Actor() actor: string | null) {
    const b = plainBody(body);
    return this.reviews.decide(id, stepKeyOf(step), key, { decision: b.decision, item: b.item, reason: b.reason ?? null }, actor);
  }

  @Post(':id/reviews/:step/rest')
  @HttpCode(202)
  @RequireRole('operator')
  @ApiOperation({ summary: 'Approve every held item not decided yet (approve-all) or reject them (reject-rest); the run goes on' })
  decideRest(@Param('id', ExecutionRefPipe) id: string, @Param('step') step: string, @Body() body: ReviewRestDecisionDto, @Actor() actor: string | null) {
    const b = plainBody(body);
    return this.reviews.decideRest(id, stepKeyOf(step), { decision: b.decision, reason: b.reason ?? null }, actor);
  }
}
