import { once } from 'node:events';
import { Controller, Get, Param, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProduces, ApiSecurity, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { RequireRole } from '@src/auth/roles';
import { pageRequest } from '@src/common/http/pagination';
import { ExecutionRefPipe, ItemOutcomeIdPipe } from '@src/common/http/params';
import { ExportItemsQueryDto, ListItemsQueryDto } from '@src/executions/dto/execution.dto';
import { ExecutionItemsService, ITEM_CSV_COLUMNS, csvLine } from '@src/executions/execution-items.service';

/** The per-item ledger of a run: which items each step did, which it did not, and why. */
@ApiTags('executions')
@ApiBearerAuth()
@ApiSecurity('api_key')
@Controller('executions')
export class ExecutionItemsController {
  constructor(private readonly items: ExecutionItemsService) {}

  @Get(':id/items')
  @RequireRole('viewer')
  @ApiOperation({ summary: 'The items of a run, one row per step and item: outcome (ok, invalid, failed, skipped), reason and message (filters: status, step, reason, q)' })
  list(@Param('id', ExecutionRefPipe) id: string, @Query() q: ListItemsQueryDto) {
    return this.items.list(id, { status: q.status, step: q.step, reason: q.reason, q: q.q }, pageRequest(q));
  }

  @Get(':id/items/counts')
  @RequireRole('viewer')
  @ApiOperation({ summary: 'How many items of a run ended in each outcome, and per step, outcome and reason' })
  counts(@Param('id', ExecutionRefPipe) id: string, @Query('step') step?: string) {
    return this.items.counts(id, { step: step || undefined });
  }

  @Get(':id/items/export')
  @RequireRole('viewer')
  @ApiProduces('text/csv', 'application/x-ndjson')
  @ApiOperation({ summary: 'Download the matching items as CSV or JSON Lines (with the item itself where it is kept), streamed' })
  async export(@Param('id', ExecutionRefPipe) id: string, @Query() q: ExportItemsQueryDto, @Res() res: Response): Promise<void> {
    const format = q.format ?? 'csv';
    const rows = this.items.export(id, { status: q.status, step: q.step, reason: q.reason, q: q.q });
    // The first row is read before the headers go out, so an unknown run is still a 404.
    const first = await rows.next();
    const name = `${id.replace(/[^A-Za-z0-9._-]/g, '_')}-items${q.status ? `-${q.status}` : ''}.${format === 'csv' ? 'csv' : 'jsonl'}`;
    res.status(200);
    res.setHeader('Content-Type', format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8');
    res.setHeader('Content-Disposition', `attachment; filename="${name}"`);
    const write = async (line: string) => {
      if (!res.write(line)) await once(res, 'drain');
    };
    if (format === 'csv') await write(csvLine([...ITEM_CSV_COLUMNS]));
    for (let r = first; !r.done; r = await rows.next()) {
      const v = r.value;
      await write(format === 'csv' ? csvLine(ITEM_CSV_COLUMNS.map((c) => v[c])) : `${JSON.stringify(v)}\n`);
    }
    res.end();
  }

  @Get(':id/items/:itemId/payload')
  @RequireRole('viewer')
  @ApiOperation({ summary: 'The item kept with one outcome (items that did not go through), as the step received it (secrets scrubbed)' })
  payload(@Param('id', ExecutionRefPipe) id: string, @Param('itemId', ItemOutcomeIdPipe) itemId: string) {
    return this.items.payload(id, itemId);
  }
}
