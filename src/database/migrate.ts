/**
 * Migration CLI: `npm run migrate -- up|down|status`. Uses the application's
 * data source, so it reads the same configuration as the API and the worker.
 */
import { appConfig, redactUrl } from '@src/config/config';
import { createDataSource } from '@src/database/data-source';
import { describeStartupError } from '@src/common/startup-errors';

export async function runMigrations(command: 'up' | 'down' | 'status' = 'up'): Promise<string[]> {
  const ds = createDataSource(appConfig(), { poolSize: 2 });
  await ds.initialize();
  try {
    if (command === 'up') return (await ds.runMigrations({ transaction: 'each' })).map((m) => m.name);
    if (command === 'down') {
      await ds.undoLastMigration({ transaction: 'each' });
      return [];
    }
    const pending = await ds.showMigrations();
    return pending ? ['pending'] : ['up to date'];
  } finally {
    await ds.destroy();
  }
}

if (require.main === module) {
  const command = (process.argv[2] ?? 'up') as 'up' | 'down' | 'status';
  if (!['up', 'down', 'status'].includes(command)) {
    console.error(`usage: npm run migrate -- up|down|status (got "${command}")`);
    process.exit(2);
  }
  runMigrations(command)
    .then((names) => {
      console.log(`migrate ${command}: ${names.length ? names.join(', ') : 'nothing to do'}`);
    })
    .catch((err) => {
      console.error(`migrate ${command} failed: ${describeStartupError(err, { database: redactUrl(appConfig().databaseUrl) })}`);
      process.exit(1);
    });
}
