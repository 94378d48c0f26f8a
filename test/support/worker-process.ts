/**
 * A worker in its own process, with the test executors, for tests that kill
 * it (`kill -9`) mid-step. Task queue from TEST_TASK_QUEUE. Prints "ready".
 */
import { NativeConnection } from '@temporalio/worker';
import { loadConfig } from '@src/config/config';
import { createDataSource } from '@src/database/data-source';
import { Logger } from '@src/logging/logger';
import { createMerchflowWorker, installTemporalRuntime } from '@engine/worker';
import { testExecutors } from '@test/support/executors';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = new Logger({ level: 'error', format: 'json' });
  installTemporalRuntime(logger, 'ERROR');
  const dataSource = await createDataSource(config, { poolSize: 30 }).initialize();
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const worker = await createMerchflowWorker({
    config,
    dataSource,
    connection,
    logger,
    taskQueue: process.env.TEST_TASK_QUEUE!,
    executors: testExecutors(() => dataSource),
    maxConcurrentActivities: 50,
  });
  const running = worker.run();
  process.stdout.write('ready\n');
  await running;
  await dataSource.destroy();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
