// The machine the figures were measured on: cores, CPU, Node, and the Redis and Postgres
// servers the bench used (INFO server, SELECT version()).
import { cpus } from 'node:os';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import { createDb } from '@coupons/shared/db';
import type { MachineInfo } from './report.ts';

// The same servers createTestEnvironment uses.
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export async function machineInfo(): Promise<MachineInfo> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  const db = createDb(DATABASE_URL, { maxConnections: 1, applicationName: 'coupons-bench' });
  try {
    const info = await redis.info('server');
    const { rows } = await sql<{ version: string }>`SELECT version()`.execute(db);
    const cpuList = cpus();
    return {
      cores: cpuList.length,
      cpuModel: cpuList[0]?.model.trim() ?? 'unknown',
      node: process.versions.node,
      redis: /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown',
      // "PostgreSQL 15.20 (Debian ...) on x86_64..." → "PostgreSQL 15.20"
      postgres: /^PostgreSQL \S+/.exec(rows[0]?.version ?? '')?.[0] ?? rows[0]?.version ?? 'unknown',
    };
  } finally {
    redis.disconnect();
    await db.destroy();
  }
}
