// `pnpm run migrate`: create the database if missing, run migrations, seed the three coupons, exit.
import { loadConfig } from '../config/index.ts';
import { runMain } from '../runtime/index.ts';
import { prepareDatabase } from './migrate.ts';

await runMain('migrate', async (log) => {
  const config = loadConfig();
  await prepareDatabase(config.DATABASE_URL);
  log.info({ database: new URL(config.DATABASE_URL).pathname.slice(1) }, 'database migrated and seeded');
});
