import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

/**
 * Starts test/support/worker-process in a child process polling `taskQueue`
 * (with `env` on top of this process's environment) and resolves once it
 * prints "ready". Tests kill it with `child.kill('SIGKILL')`.
 */
export function startWorkerProcess(taskQueue: string, env: Record<string, string> = {}): Promise<ChildProcess> {
  const child = spawn(process.execPath, [path.join(__dirname, 'worker-process.js')], {
    env: { ...process.env, ...env, TEST_TASK_QUEUE: taskQueue },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (b: Buffer) => {
      if (b.toString().includes('ready')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`worker process exited with ${code}`)));
  });
}

/** `kill -9` of a worker process; resolves once it is gone. */
export async function killWorkerProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}
