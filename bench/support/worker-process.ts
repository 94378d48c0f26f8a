import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * A real worker process (`<dist>/temporal/worker-main.js`) on `taskQueue`,
 * resolved once it polls. `cpuProfDir` writes a V8 profile of it; `logFile`
 * keeps its output (else it is read and dropped).
 */
export async function startWorkerProcess(opts: {
  env: NodeJS.ProcessEnv;
  taskQueue: string;
  dist: string;
  cpuProfDir?: string | null;
  logFile?: string | null;
  /** Node's `--max-old-space-size` for the worker (MiB). */
  heapMb?: number | null;
}): Promise<ChildProcess> {
  const prof = opts.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProfDir}`] : [];
  const heap = opts.heapMb ? [`--max-old-space-size=${opts.heapMb}`] : [];
  const child = spawn(process.execPath, [...prof, ...heap, path.join(opts.dist, 'temporal/worker-main.js'), '--task-queue', opts.taskQueue], { env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const onData = (b: Buffer) => {
      out += b.toString('utf8');
      if (out.includes('worker polling')) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}: ${out.slice(-2000)}`)));
  });
  if (opts.logFile) {
    const log = fs.createWriteStream(opts.logFile, { flags: 'a' });
    child.stdout!.pipe(log);
    child.stderr!.pipe(log);
  } else {
    child.stdout!.resume();
    child.stderr!.resume();
  }
  return child;
}
