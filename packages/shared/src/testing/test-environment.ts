import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { createRedis, redisTarget } from '../runtime/connect.ts';
import { forEachPrimary, type RedisClient } from '../redis/client.ts';
import type { CouponCommands } from '../redis/commands.ts';
import { loadConfig, type Config } from '../config/index.ts';
import { createDb, dropDatabase, prepareDatabase, type Database } from '../db/index.ts';
import { queuePrefix, registerCommands } from '../redis/index.ts';
import type { Kysely } from 'kysely';

/** The servers test environments build on: read at each call, so servers started after import (vitest's global setup, a tool's embedded ones) count. */
export const testDatabaseUrl = (): string => process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
export const testRedisUrl = (): string => process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379';

/**
 * An isolated world for one test file: its own database and its own Redis key prefix. `R` is
 * `Redis` on one server (the default), `RedisClient` when it may be a Redis Cluster
 * (`createTestEnvironment(…, { redisClusterNodes })`).
 */
export interface TestEnvironment<R extends RedisClient = Redis> {
  /** Variables to hand to a spawned API or worker process. */
  env: Record<string, string>;
  config: Config;
  db: Kysely<Database>;
  redis: R & CouponCommands;
  /**
   * Drops the database and deletes this prefix's keys (never anyone else's). `deleteKeys: false`:
   * the Redis server is the run's own and goes with it (it may already be gone).
   */
  cleanup(options?: { deleteKeys?: boolean }): Promise<void>;
}

/**
 * Creates a fresh database (migrated and seeded) and a unique Redis prefix. Tests never flush
 * Redis or touch the shared `coupons` database, so they can run beside a live system.
 */
export async function createTestEnvironment(overrides?: Record<string, string>): Promise<TestEnvironment>;
/** The same on a Redis Cluster (`redisClusterNodes`: its REDIS_CLUSTER_NODES, e.g. `startRedisCluster().nodesEnv`). */
export async function createTestEnvironment(overrides: Record<string, string>, options: { redisClusterNodes: string }): Promise<TestEnvironment<RedisClient>>;
export async function createTestEnvironment(overrides: Record<string, string> = {}, options: { redisClusterNodes?: string } = {}): Promise<TestEnvironment<RedisClient>> {
  const id = `t${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const databaseUrl = new URL(testDatabaseUrl());
  databaseUrl.pathname = `/coupons_${id}`;
  const env: Record<string, string> = {
    DATABASE_URL: databaseUrl.toString(),
    REDIS_URL: testRedisUrl(),
    REDIS_PREFIX: id,
    LOG_LEVEL: 'warn',
    ...(options.redisClusterNodes ? { REDIS_CLUSTER_NODES: options.redisClusterNodes } : {}),
    ...overrides,
  };
  await prepareDatabase(env.DATABASE_URL!);
  const config = loadConfig(env);
  const db = createDb(config.DATABASE_URL, { applicationName: 'coupons-test' });
  const redis = registerCommands(config.REDIS_CLUSTER_NODES ? createRedis(redisTarget(config), { enableAutoPipelining: true }) : new Redis(config.REDIS_URL, { enableAutoPipelining: true }));
  redis.on('error', () => {}); // tests that restart their own Redis expect reconnects
  const environment: TestEnvironment<RedisClient> = {
    env,
    config,
    db,
    redis,
    async cleanup({ deleteKeys: deleting = true } = {}) {
      // The client may have been replaced (one that follows the sentinels): clean up with the current one.
      const current = environment.redis;
      if (deleting) {
        await deleteKeys(current, `${config.REDIS_PREFIX}:*`);
        // Every queue shard: `{prefix-queue}` (one shard) and `{prefix-queue-<n>}` (QUEUE_SHARDS > 1).
        await deleteKeys(current, `${queuePrefix(config.REDIS_PREFIX).slice(0, -1)}*`);
      }
      current.disconnect();
      await db.destroy();
      await dropDatabase(config.DATABASE_URL);
    },
  };
  return environment;
}

/** Deletes a prefix's keys: SCAN on every primary (a cluster's keys live on several), one UNLINK per key there. */
async function deleteKeys(client: RedisClient, pattern: string): Promise<void> {
  await forEachPrimary(client, async (redis) => {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      // One key per UNLINK on a cluster node: the keys of one SCAN page span many slots.
      if (keys.length) await (redis === client ? redis.unlink(...keys) : Promise.all(keys.map((key) => redis.unlink(key))));
      cursor = next;
    } while (cursor !== '0');
  });
}
