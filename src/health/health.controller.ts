import { Controller, Get, HttpStatus, Inject, Res } from '@nestjs/common';
import { APP_CONFIG } from '@src/config/config.module';
import type { AppConfig } from '@src/config/config';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Response } from 'express';
import type { DataSource } from 'typeorm';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '@src/auth/roles';
import { TemporalClientService } from '@src/temporal-client/temporal-client.service';

/** `GET /health/`: public; 200 when the database and Temporal answer, else 503. */
@ApiTags('health')
@Controller('health')
@Public()
export class HealthController {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly temporal: TemporalClientService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Liveness of the API and its dependencies (no key needed)' })
  async health(@Res({ passthrough: true }) res: Response) {
    const timeoutMs = this.config.outage.temporalCallTimeoutMs;
    const [database, temporal] = await Promise.all([this.databaseStatus(timeoutMs), this.temporal.healthy(timeoutMs)]);
    const up = database.up && temporal.up;
    res.status(up ? HttpStatus.OK : HttpStatus.SERVICE_UNAVAILABLE);
    if (!up) res.setHeader('Retry-After', String(this.config.outage.retryAfterSeconds));
    return {
      status: up ? 'ok' : 'degraded',
      database: { status: database.up ? 'up' : 'down', ...(database.error ? { error: database.error } : {}) },
      temporal: {
        status: temporal.up ? 'up' : 'down',
        namespace: this.temporal.namespace,
        task_queue: this.temporal.taskQueue,
        ui_url: this.temporal.uiUrl,
        ...(temporal.error ? { error: temporal.error } : {}),
      },
      time: new Date().toISOString(),
    };
  }

  private async databaseStatus(timeoutMs: number): Promise<{ up: boolean; error?: string }> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.dataSource.query('SELECT 1'),
        new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs))),
      ]);
      return { up: true };
    } catch (err) {
      return { up: false, error: (err as Error).message.split('\n')[0] };
    } finally {
      clearTimeout(timer);
    }
  }
}
