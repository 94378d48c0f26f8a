import { parseArgs } from '@src/cli/args';
import { EXIT_OK, type Command } from '@src/cli/commands/command';

/** `worker --max-workers N`: the Temporal worker (the specification's `workflow_scheduler --max-workers`). */
export const workerCommand: Command = {
  name: 'worker',
  aliases: ['workflow_scheduler'],
  summary: 'Run a worker: the interpreter and the step executors (until SIGINT/SIGTERM)',
  usage: `merchflow worker [--max-workers N] [--task-queue QUEUE]
(also: merchflow workflow_scheduler --max-workers N, the specification's name)

  --max-workers N     steps run at once by this worker (default WORKER_MAX_CONCURRENT_ACTIVITIES)
  --task-queue QUEUE  poll this task queue (default TEMPORAL_TASK_QUEUE)`,
  async run(_ctx, argv) {
    const { options } = parseArgs(argv, { 'max-workers': { kind: 'int', min: 1, max: 10000 }, 'task-queue': { kind: 'string' } }, { maxPositionals: 0 });
    // Loaded on demand: the worker pulls in the Temporal worker runtime and webpack, which other commands never need.
    const { runWorker } = await import('@engine/worker-main');
    await runWorker({ maxWorkers: options['max-workers'] as number | undefined, taskQueue: options['task-queue'] as string | undefined });
    return EXIT_OK;
  },
};
