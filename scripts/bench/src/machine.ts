// The machine the figures were measured on: cores, CPU, Node, and the Redis and Postgres
// servers the bench used (INFO server, SELECT version()).
import { cpus } from 'node:os';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import { createDb } from '@coupons/shared/db';
import { testDatabaseUrl, testRedisUrl } from '@coupons/shared/testing';
import type { MachineInfo } from './report.ts';


export async function machineInfo(): Promise<MachineInfo> {
  // The same servers createTestEnvironment uses.
  const redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: 1 });
  const db = createDb(testDatabaseUrl(), { maxConnections: 1, applicationName: 'coupons-bench' });
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
