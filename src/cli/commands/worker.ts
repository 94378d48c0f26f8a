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
    // Loaded on demand: the worker pulls in the Temporal worker runtime and webpack, which other commands never need.
    const { parseWorkerArgs, runWorker } = await import('@engine/worker-main');
    await runWorker(parseWorkerArgs(argv));
    return EXIT_OK;
  },
};
