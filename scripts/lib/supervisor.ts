import { spawn, type ChildProcess } from 'node:child_process';
import readline from 'node:readline';
import { stopChild } from './temporal-server';

const COLORS = ['\x1b[36m', '\x1b[35m', '\x1b[33m', '\x1b[32m', '\x1b[34m', '\x1b[91m'];

/** Writes a line prefixed with the name of the part it came from. */
export function prefixer(name: string, index: number): (line: string) => void {
  const tty = process.stdout.isTTY;
  const tag = `${name}`.padEnd(8);
  const pre = tty ? `${COLORS[index % COLORS.length]}${tag}\x1b[0m| ` : `${tag}| `;
  return (line: string) => process.stdout.write(pre + line + '\n');
}

export interface Supervised {
  name: string;
  child: ChildProcess;
  exited: Promise<number>;
}

/** Starts a node script as a child whose output lines carry its name. */
/** `nodeArgs`: options of node itself (e.g. a bench's `--cpu-prof`, which NODE_OPTIONS does not take). */
export function startNodeProcess(name: string, index: number, script: string, args: string[], env: NodeJS.ProcessEnv, nodeArgs: string[] = []): Supervised {
  const child = spawn(process.execPath, ['--enable-source-maps', ...nodeArgs, script, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = prefixer(name, index);
  readline.createInterface({ input: child.stdout! }).on('line', out);
  readline.createInterface({ input: child.stderr! }).on('line', out);
  const exited = new Promise<number>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1))));
  return { name, child, exited };
}

export async function stopAll(parts: Supervised[], graceMs: number): Promise<void> {
  await Promise.all(parts.map((p) => stopChild(p.child, graceMs)));
}
