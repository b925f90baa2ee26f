import { once } from 'node:events';
import type { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import { createLogger } from '@coupons/shared/runtime';
import { registerCommands, type CouponRedis } from '@coupons/shared/redis';
import { openIssueQueues, recordQueueShards, type CouponJobData, type IssueQueues } from '@coupons/shared/queue';
import { createDb, type Database } from '@coupons/shared/db';
import { createTestEnvironment, openUntouchedCoupon, type TestEnvironment } from '@coupons/shared/testing';
import { loadConfig } from '@coupons/shared/config';
import { createApp, type ApiApp } from '../src/app.ts';
import { listen, listenOps } from '../src/http/server-limits.ts';
import { API_READINESS_DB_POOL_SIZE } from '../src/pool-sizes.ts';
import { apiRedisOptions } from '../src/redis-options.ts';

/** An in-process API on random ports (public and operations, with main.ts's limits), over its own database and Redis prefix. */
export interface TestApi {
  baseUrl: string;
  /** The operations listener: /metrics, /healthz, /readyz. */
  opsUrl: string;
  env: TestEnvironment;
  api: ApiApp;
  /** Shard 0 of the issue queue: the only one with QUEUE_SHARDS=1 (the default). */
  queue: Queue<CouponJobData>;
  /** Every shard (QUEUE_SHARDS). */
  queues: IssueQueues;
  /** The API's own connections (the environment's `env.redis` and `env.db` are separate). */
  redis: CouponRedis;
  queueConnection: Redis;
  db: Kysely<Database>;
  close(): Promise<void>;
}

export interface TestApiOptions {
  /**
   * Connect the API's Redis and Postgres clients through these local ports (e.g. a TCP proxy
   * that a test cuts to simulate an outage). The environment keeps direct connections, so
   * set-up and cleanup are unaffected.
   */
  redisPort?: number;
  postgresPort?: number;
}

function withPort(url: string, port: number | undefined): string {
  if (port === undefined) return url;
  const parsed = new URL(url);
  parsed.port = String(port);
  return parsed.toString();
}

export async function startTestApi(overrides: Record<string, string> = {}, options: TestApiOptions = {}): Promise<TestApi> {
  const env = await createTestEnvironment(overrides);
  const config = loadConfig(env.env);
  // No worker runs here: open each coupon's fast path as a worker's heal would on start.
  for (const coupon of await env.db.selectFrom('coupon').select(['code', 'total_quantity']).execute()) {
    await openUntouchedCoupon(env.redis, config.REDIS_PREFIX, coupon.code, coupon.total_quantity);
  }
  const log = createLogger('api-test', 'silent');
  const redisUrl = withPort(config.REDIS_URL, options.redisPort);
  const redis = registerCommands(new Redis(redisUrl, apiRedisOptions()));
  const queueConnection = new Redis(redisUrl, apiRedisOptions());
  // Outage tests make these clients fail on purpose; main.ts logs the same events.
  for (const client of [redis, queueConnection]) client.on('error', () => {});
  await Promise.all([once(redis, 'ready'), once(queueConnection, 'ready')]);
  const queues = openIssueQueues(queueConnection, config.REDIS_PREFIX, config.QUEUE_SHARDS);
  for (const queue of queues.all) queue.on('error', () => {});
  await recordQueueShards(redis, config.REDIS_PREFIX, config.QUEUE_SHARDS);
  const ownDb = options.postgresPort !== undefined;
  const db = ownDb ? createDb(withPort(config.DATABASE_URL, options.postgresPort), { applicationName: 'coupons-api-test' }) : env.db;
  // Readiness's own connections, as main.ts gives it.
  const probes = {
    db: createDb(withPort(config.DATABASE_URL, options.postgresPort), { maxConnections: API_READINESS_DB_POOL_SIZE, statementTimeoutMs: 1_000, applicationName: 'coupons-api-test-readiness' }),
    redis: new Redis(redisUrl, apiRedisOptions()),
  };
  probes.redis.on('error', () => {});
  await once(probes.redis, 'ready');
  const api = await createApp({ config, log, redis, queues, db, probes });
  const { server, port } = await listen(api.app, config, { port: 0, onRefused: (reason) => api.metrics.connectionsRefused.inc({ reason }) });
  const ops = await listenOps(api.ops, config, { port: 0 });
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    opsUrl: `http://127.0.0.1:${ops.port}`,
    env,
    api,
    queue: queues.all[0]!,
    queues,
    redis,
    queueConnection,
    db,
    async close() {
      api.catalog.stop();
      for (const listener of [server, ops.server]) {
        listener.closeAllConnections();
        await new Promise((resolve) => listener.close(resolve));
      }
      await queues.close();
      redis.disconnect();
      queueConnection.disconnect();
      probes.redis.disconnect();
      await probes.db.destroy();
      if (ownDb) await db.destroy();
      await env.cleanup();
    },
  };
}
