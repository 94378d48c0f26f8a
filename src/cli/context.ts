import type { INestApplicationContext } from '@nestjs/common';
import { Client, Connection } from '@temporalio/client';
import type { DataSource } from 'typeorm';
import { redactUrl, type AppConfig } from '@src/config/config';
import { describeStartupError } from '@src/common/startup-errors';
import { createDataSource } from '@src/database/data-source';
import { Logger } from '@src/logging/logger';
import type { Services } from '@src/cli/cli.module';
import { merchflowDataConverter } from '@engine/codec/data-converter';
import type { RemoteApi } from '@src/cli/api-client';

export type { Services } from '@src/cli/cli.module';

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
  /** Raw stdout writes (exports stream their lines as they come). */
  outRaw(text: string): void;
  isTty: boolean;
  /**
   * A secret typed by the user: on a terminal, a prompt with the echo off;
   * otherwise all of stdin, without its final line break. Never an argument,
   * so a value stays out of shell history and `ps`.
   */
  readSecret?(prompt: string): Promise<string>;
}

/** Reads a secret from stdin (piped) or a TTY prompt with no echo. */
export async function readSecretFromStdin(prompt: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const chunk of stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
    return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  }
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.resume();
  stdin.setEncoding('utf8');
  return new Promise<string>((resolve, reject) => {
    let value = '';
    const done = (err?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.removeListener('data', onData);
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (text: string) => {
      for (const ch of text) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return done();
        if (ch === '\u0003') return done(new Error('cancelled'));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.on('data', onData);
  });
}

export const processIo: Io = {
  out: (l) => process.stdout.write(l + '\n'),
  err: (l) => process.stderr.write(l + '\n'),
  errRaw: (t) => process.stderr.write(t),
  outRaw: (t) => process.stdout.write(t),
  isTty: Boolean(process.stderr.isTTY),
  readSecret: readSecretFromStdin,
};

/** The CLI's database and Temporal connections, opened on first use and closed once the command ends. */
export class CliContext {
  private ds: DataSource | null = null;
  private connection: Connection | null = null;
  private clientPromise: Promise<Client> | null = null;
  private svc: Services | null = null;
  /** Set in remote mode (`--api-url`): commands that support it go through the API instead. */
  remote: RemoteApi | null = null;
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
      // Loaded here, so commands that need no services (usage, --help) start without Nest.
      const { createCliContext, servicesOf } = await import('@src/cli/cli.module');
      this.app = await createCliContext(this.config, dataSource, this.temporal, logger);
      this.svc = servicesOf(this.app);
    }
    return this.svc;
  }

  async close(): Promise<void> {
    await this.app?.close().catch(() => undefined);
    await this.connection?.close().catch(() => undefined);
    await this.ds?.destroy().catch(() => undefined);
  }
}
