// A cluster on a world of its own: a fresh database (migrated and seeded) and Redis prefix
// (createTestEnvironment), the run's own coupons, then the API and worker processes. What the
// burst, bench and chaos run against, and the process tests' events. Torn down at the end, also on
// Ctrl-C: processes first, then (optionally) their output kept as evidence, then the database
// and keys.
import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { couponKeys, registerCommands, type CouponKeys, type RedisClient } from '@coupons/shared/redis';
import { connectRedis, redisTarget } from '@coupons/shared/runtime';
import { createTestEnvironment, startRedisCluster, type RedisClusterOptions, type RedisClusterTopology, type TestEnvironment } from '@coupons/shared/testing';
import { startServiceCluster, type ClusterOptions, type ServiceCluster } from './service-cluster.ts';

export interface CouponSpec {
  code: string;
  limit: number;
}

/** Test coupons (open now, no end) straight into Postgres, as an operator's migration would. */
export async function createCoupons(environment: Pick<TestEnvironment, 'db'>, coupons: readonly CouponSpec[]): Promise<void> {
  await environment.db
    .insertInto('coupon')
    .values(coupons.map(({ code, limit }) => ({ id: randomUUID(), code, name: `Test ${code}`, discount_amount: 100, total_quantity: limit })))
    .execute();
}

export interface LocalClusterOptions<R extends RedisClient = Redis> extends Omit<ClusterOptions, 'env'> {
  /** Variables of the environment and of every process (REDIS_URL of a private Redis, DATABASE_URL, ...). */
  overrides?: Record<string, string>;
  /** Created before any process starts (the API's catalog loads them at start). */
  coupons?: readonly CouponSpec[];
  /** Runs on the fresh environment before any process starts (the bench pre-fills a queue). */
  beforeStart?: (environment: TestEnvironment<R>) => Promise<void>;
  /** Gets the teardown as soon as there is something to undo (for Ctrl-C during start-up). */
  onTeardown?: (teardown: () => Promise<void>) => void;
  log?: (line: string) => void;
  /**
   * 'graceful' (default): SIGTERM, SIGKILL after 5 s. 'kill': SIGKILL at once (a chaos scenario
   * leaves processes stopped or half-broken; how they stop is not what it measures).
   */
  stopWith?: 'graceful' | 'kill';
  /** The run has a Redis server of its own that goes with it: no keys to delete at the end. */
  privateRedis?: boolean;
  /** Keep every process's output here at teardown: <dir>/<database>-<process>.log. */
  logDir?: string;
  /**
   * Run on a Redis Cluster of its own (`startRedisCluster`, six nodes by default): every process
   * gets REDIS_CLUSTER_NODES, the harness's client is a Cluster client; the teardown closes it.
   */
  redisCluster?: boolean | RedisClusterOptions;
}

export interface LocalCluster<R extends RedisClient = Redis> extends ServiceCluster {
  /** Its client is a `Redis`, or (with `redisCluster`) a `RedisClient` that is a `Cluster`. */
  environment: TestEnvironment<R>;
  /** The Redis Cluster the run started (`redisCluster`), to kill a primary or read its roles. */
  redisCluster?: RedisClusterTopology;
  keys(code: string): CouponKeys;
  /** Stops every process and drops the database and keys; safe to call more than once. */
  teardown(): Promise<void>;
}

const STOP_GRACE_MS = 5_000;

/** A harness Redis client that follows the sentinels as the services do (a direct one dies with the primary). */
async function followSentinels(environment: TestEnvironment<RedisClient>): Promise<void> {
  if (!environment.config.REDIS_SENTINELS?.length) return;
  environment.redis.disconnect();
  environment.redis = registerCommands(await connectRedis({ ...redisTarget(environment.config), clusterNodes: undefined }, { maxRetriesPerRequest: null }));
  environment.redis.on('error', () => {});
}

export async function startLocalCluster(options: LocalClusterOptions & { redisCluster?: false }): Promise<LocalCluster>;
export async function startLocalCluster(options: LocalClusterOptions<RedisClient>): Promise<LocalCluster<RedisClient>>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the two overloads above are the types
export async function startLocalCluster(options: LocalClusterOptions<any>): Promise<LocalCluster<any>> {
  const log = options.log ?? (() => {});
  const redisCluster = options.redisCluster ? await startRedisCluster(options.redisCluster === true ? {} : options.redisCluster) : undefined;
  let environment: TestEnvironment<RedisClient>;
  try {
    environment = redisCluster
      ? await createTestEnvironment(options.overrides ?? {}, { redisClusterNodes: redisCluster.nodesEnv })
      : await createTestEnvironment(options.overrides);
  } catch (error) {
    await redisCluster?.close();
    throw error;
  }
  const databaseName = new URL(environment.config.DATABASE_URL).pathname.slice(1);
  let services: ServiceCluster | null = null;
  let tornDown: Promise<void> | null = null;
  const teardown = () =>
    (tornDown ??= (async () => {
      if (services) await (options.stopWith === 'kill' ? services.kill() : services.stop());
      if (services && options.logDir) {
        await mkdir(options.logDir, { recursive: true });
        await Promise.all(services.services.map(({ name, process }) => writeFile(join(options.logDir!, `${databaseName}-${name}.log`), process.output())));
      }
      await environment.cleanup({ deleteKeys: !options.privateRedis && !redisCluster }).catch((error: Error) => log(`could not clean ${databaseName} up: ${error.message}`));
      await redisCluster?.close();
    })());
  options.onTeardown?.(teardown);
  log(`database ${databaseName}, Redis prefix ${environment.config.REDIS_PREFIX}${redisCluster ? `, Redis Cluster ${redisCluster.nodesEnv}` : ''}`);
  try {
    await followSentinels(environment);
    if (options.coupons?.length) await createCoupons(environment, options.coupons);
    await options.beforeStart?.(environment);
    services = await startServiceCluster({
      stopGraceMs: STOP_GRACE_MS,
      ...options,
      // INFO keeps the start-up records (how readiness is seen) in the captured output.
      env: { ...environment.env, LOG_LEVEL: 'info' },
    });
    const workers = typeof options.workers === 'number' ? options.workers : options.workers.length;
    log(`started ${options.apis} API (${services.apiUrls.join(', ')}) and ${workers} worker processes`);
    return { ...services, environment, ...(redisCluster ? { redisCluster } : {}), keys: (code) => couponKeys(environment.config.REDIS_PREFIX, code), teardown };
  } catch (error) {
    await teardown();
    throw error;
  }
}

/** Lines at WARN or above that a process printed: what went wrong inside it under the load. */
export function serviceWarnings(cluster: Pick<ServiceCluster, 'services'>): { service: string; line: string }[] {
  return cluster.services.flatMap(({ name, process: service }) =>
    service
      .output()
      .split('\n')
      .filter((line) => /"level":(40|50|60)\b/.test(line) || /\b(WARN|ERROR|FATAL)\b/.test(line))
      .map((line) => ({ service: name, line })),
  );
}
