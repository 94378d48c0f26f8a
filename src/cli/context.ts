import { type INestApplicationContext, Module, type DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Client, Connection } from '@temporalio/client';
import type { DataSource } from 'typeorm';
import { AuthModule } from '@src/auth/auth.module';
import { ApiKeysService } from '@src/auth/api-keys.service';
import { redactUrl, type AppConfig } from '@src/config/config';
import { ConfigModule } from '@src/config/config.module';
import { describeStartupError } from '@src/common/startup-errors';
import { CoreModule } from '@src/core/core.module';
import { createDataSource } from '@src/database/data-source';
import { ExecutionQueriesService } from '@src/executions/execution-queries.service';
import { ExecutionsModule } from '@src/executions/executions.module';
import { ExecutionsService } from '@src/executions/executions.service';
import { Logger, NestLoggerAdapter } from '@src/logging/logger';
import { SchedulesModule } from '@src/schedules/schedules.module';
import { SchedulesService } from '@src/schedules/schedules.service';
import { StatsModule } from '@src/stats/stats.module';
import { StatsService } from '@src/stats/stats.service';
import { TemplatesService } from '@src/workflows/templates/templates.service';
import { WorkflowsModule } from '@src/workflows/workflows.module';
import { WorkflowsService } from '@src/workflows/workflows.service';
import { merchflowDataConverter } from '@engine/codec/data-converter';

/** The database or Temporal could not be reached; the message names which and the variable to check. */
export class ConnectionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConnectionError';
  }
}

/** Where a command writes: results to stdout, progress and messages to stderr. */
export interface Io {
  out(line: string): void;
  err(line: string): void;
  /** Raw stderr writes (the progress bar redraws in place on a terminal). */
  errRaw(text: string): void;
  isTty: boolean;
}

export const processIo: Io = {
  out: (l) => process.stdout.write(l + '\n'),
  err: (l) => process.stderr.write(l + '\n'),
  errRaw: (t) => process.stderr.write(t),
  isTty: Boolean(process.stderr.isTTY),
};

/** The services a command uses, as the Nest container built them. */
export interface Services {
  workflows: WorkflowsService;
  executions: ExecutionsService;
  queries: ExecutionQueriesService;
  templates: TemplatesService;
  schedules: SchedulesService;
  stats: StatsService;
  apiKeys: ApiKeysService;
}

/**
 * The API's modules without HTTP, over the CLI's own connections: the data
 * source the CLI opened (so a connection failure names the variable) and its
 * Temporal client. No API-only lifecycle (admin key seeding, revocation
 * listener) runs here.
 */
@Module({})
export class CliModule {
  static forRoot(config: AppConfig, dataSource: DataSource, temporal: () => Promise<Client>, logger: Logger): DynamicModule {
    return {
      module: CliModule,
      imports: [
        ConfigModule.forRoot(config),
        CoreModule.forRoot({ config, logger, temporalClient: temporal }),
        TypeOrmModule.forRootAsync({ useFactory: () => ({}), dataSourceFactory: async () => dataSource }),
        AuthModule,
        WorkflowsModule,
        ExecutionsModule,
        SchedulesModule,
        StatsModule,
      ],
    };
  }
}

/** The CLI's database and Temporal connections, opened on first use and closed once the command ends. */
export class CliContext {
  private ds: DataSource | null = null;
  private connection: Connection | null = null;
  private clientPromise: Promise<Client> | null = null;
  private svc: Services | null = null;
  private app: INestApplicationContext | null = null;

  constructor(
    readonly config: AppConfig,
    readonly io: Io,
  ) {}

  async dataSource(): Promise<DataSource> {
    if (!this.ds) {
      const ds = createDataSource(this.config, { poolSize: 4 });
      try {
        await ds.initialize();
      } catch (err) {
        throw new ConnectionError(describeStartupError(err, { database: redactUrl(this.config.databaseUrl) }));
      }
      this.ds = ds;
    }
    return this.ds;
  }

  temporal = (): Promise<Client> => {
    this.clientPromise ??= (async () => {
      try {
        this.connection = await Connection.connect({ address: this.config.temporal.address, connectTimeout: '5 seconds' });
      } catch (err) {
        this.clientPromise = null;
        throw new ConnectionError(describeStartupError(err, { temporal: this.config.temporal.address }));
      }
      return new Client({ connection: this.connection, namespace: this.config.temporal.namespace, dataConverter: merchflowDataConverter(this.config) });
    })();
    return this.clientPromise;
  };

  async services(): Promise<Services> {
    if (!this.svc) {
      const dataSource = await this.dataSource();
      const logger = new Logger({ level: 'warn', format: 'pretty', sink: (l) => this.io.err(l) });
      const app = await NestFactory.createApplicationContext(CliModule.forRoot(this.config, dataSource, this.temporal, logger), {
        logger: new NestLoggerAdapter(logger),
        abortOnError: false,
      });
      this.app = app;
      this.svc = {
        workflows: app.get(WorkflowsService),
        executions: app.get(ExecutionsService),
        queries: app.get(ExecutionQueriesService),
        templates: app.get(TemplatesService),
        schedules: app.get(SchedulesService),
        stats: app.get(StatsService),
        apiKeys: app.get(ApiKeysService),
      };
    }
    return this.svc;
  }

  async close(): Promise<void> {
    await this.app?.close().catch(() => undefined);
    await this.connection?.close().catch(() => undefined);
    await this.ds?.destroy().catch(() => undefined);
  }
}
