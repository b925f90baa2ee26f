import { Migrator, type Kysely, type Migration } from 'kysely';
import type { Database } from './database.ts';
import * as init from './migrations/0001-init.ts';
import * as highWaterMark from './migrations/0002-high-water-mark.ts';
import * as eventOperations from './migrations/0003-event-operations.ts';
import { ensureDatabase } from './ensure-database.ts';
import { seedCoupons } from './seed-coupons.ts';
import { createDb } from './create-db.ts';

/** Migrations in order. Listed statically so they run the same from source or a bundle. */
const MIGRATIONS: Record<string, Migration> = {
  '0001-init': init,
  '0002-high-water-mark': highWaterMark,
  '0003-event-operations': eventOperations,
};

export async function migrateToLatest(db: Kysely<Database>): Promise<void> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => MIGRATIONS } });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((result) => result.status === 'Error');
  if (error || failed) {
    throw new Error(`Migration ${failed?.migrationName ?? ''} failed: ${(error as Error)?.message ?? error}`);
  }
}

/** The whole set-up step: create the database if missing, migrate, seed. Safe to run repeatedly and concurrently. */
export async function prepareDatabase(databaseUrl: string): Promise<void> {
  await ensureDatabase(databaseUrl);
  const db = createDb(databaseUrl, { maxConnections: 1, applicationName: 'coupons-migrate' });
  try {
    await migrateToLatest(db);
    await seedCoupons(db);
  } finally {
    await db.destroy();
  }
}
