import { sql, type Kysely } from 'kysely';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { Config } from '../config/index.ts';
import type { SentinelAddress } from '../config/config-schema.ts';
import { isCluster, type RedisClient } from '../redis/client.ts';
import { postgresStartupError, redisStartupError, StartupError } from './startup-error.ts';

/**
 * Where Redis is: REDIS_URL's host, or (with REDIS_SENTINELS) whichever server the sentinels
 * name as the primary of `sentinelName`, or (with REDIS_CLUSTER_NODES) a Redis Cluster found
 * through `clusterNodes`; with either, REDIS_URL gives only the password, user, TLS (and db).
 */
export interface RedisTarget {
  url: string;
  sentinels?: readonly SentinelAddress[];
  sentinelName?: string;
  sentinelPassword?: string;
  /** Some nodes of a Redis Cluster (REDIS_CLUSTER_NODES): connections are ioredis `Cluster`s. */
  clusterNodes?: readonly SentinelAddress[];
}

/** A target known not to be a cluster (a URL, or sentinels): its connections are plain `Redis`. */
export type OneServerTarget = RedisTarget & { clusterNodes?: undefined };

/** The Redis target the configuration describes (every connection the API and the worker open). */
export function redisTarget(
  config: Pick<Config, 'REDIS_URL' | 'REDIS_SENTINELS' | 'REDIS_SENTINEL_NAME' | 'REDIS_SENTINEL_PASSWORD'> & Partial<Pick<Config, 'REDIS_CLUSTER_NODES'>>,
): RedisTarget {
  return {
    url: config.REDIS_URL,
    ...(config.REDIS_CLUSTER_NODES?.length ? { clusterNodes: config.REDIS_CLUSTER_NODES } : {}),
    sentinels: config.REDIS_SENTINELS,
    sentinelName: config.REDIS_SENTINEL_NAME,
    sentinelPassword: config.REDIS_SENTINEL_PASSWORD,
  };
}

/**
 * A demoted primary answers writes with READONLY (after a failover, to a client that kept its
 * connection, or behind a DNS name that moved). The command never ran, so reconnect (through
 * the sentinels: to the new primary) and resend it instead of failing until a restart.
 */
export function reconnectOnReadonly(error: Error): 2 | false {
  return error.message.includes('READONLY') ? 2 : false;
}

const describeAddresses = (addresses: readonly SentinelAddress[]) =>
  addresses.map(({ host, port }) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`)).join(',');
const describeSentinels = (target: RedisTarget) => `${describeAddresses(target.sentinels!)} (primary "${target.sentinelName ?? 'mymaster'}")`;

/** The ioredis options for `target`: caller's options, then the target's, then READONLY handling. */
export function redisOptionsFor(target: RedisTarget, options: RedisOptions = {}): RedisOptions {
  const withReadonly = { reconnectOnError: reconnectOnReadonly, ...options };
  if (!target.sentinels?.length) return withReadonly;
  const url = new URL(target.url);
  const db = Number(url.pathname.slice(1) || 0);
  const tls = url.protocol === 'rediss:';
  return {
    ...withReadonly,
    sentinels: target.sentinels.map(({ host, port }) => ({ host, port })),
    name: target.sentinelName ?? 'mymaster',
    role: 'master',
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    ...(target.sentinelPassword ? { sentinelPassword: target.sentinelPassword } : {}),
    db: Number.isInteger(db) ? db : 0,
    ...(tls ? { tls: {}, enableTLSForSentinelMode: true } : {}),
    // ioredis's failoverDetector (drop the connection at +switch-master) stays OFF: in 5.11, a
    // +switch-master arriving while the client is already reconnecting (the usual case when the
    // primary died) makes connector.connect() reject, and the client ends for good ("Connection is
    // closed." until a restart; seen in services/worker/test/sentinel-failover.test.ts). Without it:
    // a dead primary closes the connection and every reconnect asks the sentinels; a primary
    // demoted alive gets its clients killed by Sentinel when it reconfigures it, and READONLY
    // (reconnectOnReadonly) covers the writes in between.
    failoverDetector: options.failoverDetector ?? false,
  };
}

/**
 * The ioredis Cluster options for `target` and the caller's per-connection options: what ioredis
 * takes at the Cluster level (offline queue, auto-pipelining, reconnection) moves there, the rest
 * (timeouts, retries per request, credentials and TLS from REDIS_URL) goes to every node's
 * connection.
 *
 * - `scaleReads: 'master'`: every read from the primary; a replica may lag behind the admission
 *   it is asked about.
 * - `dnsLookup` passes host names through: in Kubernetes the nodes announce their stable names
 *   (cluster-announce-hostname), which must reach TLS and the node table unresolved.
 * - MOVED/ASK are followed, CLUSTERDOWN/TRYAGAIN and a closed node connection retried after
 *   100 ms with a slot-map refresh, up to `maxRedirections` (16) times: a failover that settles
 *   within about 1.6 s is invisible; a longer one fails the command with "Too many Cluster
 *   redirections", which is classified as Redis unavailable (503 + Retry-After, a job retried).
 */
export function clusterOptionsFor(target: RedisTarget, options: RedisOptions = {}): ClusterOptions {
  const { enableOfflineQueue, enableAutoPipelining, retryStrategy, lazyConnect, reconnectOnError, sentinels, host, port, path, readOnly, db, ...perNode } = options;
  void sentinels, host, port, path, readOnly, db;
  const url = new URL(target.url);
  return {
    scaleReads: 'master',
    enableReadyCheck: true,
    enableOfflineQueue: enableOfflineQueue ?? true,
    enableAutoPipelining: enableAutoPipelining ?? false,
    lazyConnect: lazyConnect ?? false,
    // Reconnection of the whole cluster client (every node lost): the caller's pace, else ioredis's.
    clusterRetryStrategy: retryStrategy ? (times) => retryStrategy(times) : (times) => Math.min(100 + times * 2, 2_000),
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 100,
    retryDelayOnTryAgain: 100,
    slotsRefreshTimeout: 2_000,
    // The slot map is otherwise refreshed only when a routed command meets MOVED or a closed node;
    // what goes to a node directly (WAIT, SCAN: primaryForKey) relies on this refresh too.
    slotsRefreshInterval: 2_000,
    dnsLookup: (address, callback) => callback(null, address),
    redisOptions: {
      ...perNode,
      reconnectOnError: reconnectOnError ?? reconnectOnReadonly,
      ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
      ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
      ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
    },
  };
}

/**
 * A new client to the same Redis as `client` (same server, Sentinel or Cluster, same
 * credentials), with `options` on top of its own: e.g. a subscriber connection. On a Cluster the
 * per-connection options go to every node's connection, as in `clusterOptionsFor`.
 */
export function duplicateRedis(client: RedisClient, options: RedisOptions = {}): RedisClient {
  if (!isCluster(client)) return client.duplicate(options);
  const { redisOptions, ...clusterLevel } = clusterOptionsFor({ url: 'redis://localhost' }, options);
  // Only what the caller set: the rest (and the credentials) stays as `client` has it.
  const overrides = Object.fromEntries(
    Object.entries(clusterLevel).filter(([name]) => name in options || (name === 'clusterRetryStrategy' && 'retryStrategy' in options)),
  );
  return client.duplicate([], { ...overrides, redisOptions: { ...client.options.redisOptions, ...redisOptions, ...pick(client.options.redisOptions, ['username', 'password', 'tls']) } });
}

const pick = <T extends object>(source: T | undefined, names: string[]) =>
  Object.fromEntries(Object.entries(source ?? {}).filter(([name]) => names.includes(name)));

/** Opens a client for `target` without connecting (ioredis reconnects by itself later). */
export function createRedis(target: string | OneServerTarget, options?: RedisOptions): Redis;
export function createRedis(target: string | RedisTarget, options?: RedisOptions): RedisClient;
export function createRedis(target: string | RedisTarget, options: RedisOptions = {}): RedisClient {
  const resolved = typeof target === 'string' ? { url: target } : target;
  if (resolved.clusterNodes?.length) {
    return new Cluster(
      resolved.clusterNodes.map(({ host, port }) => ({ host, port })),
      clusterOptionsFor(resolved, options),
    );
  }
  const finalOptions = redisOptionsFor(resolved, options);
  return resolved.sentinels?.length ? new Redis(finalOptions) : new Redis(resolved.url, finalOptions);
}

/**
 * Opens a Redis connection and waits until it is ready, or fails within `timeoutMs` with a
 * StartupError naming the URL (or the sentinels, or the cluster nodes). Reconnection after
 * start-up is ioredis's job; through sentinels it resolves the current primary on every
 * reconnect; a Cluster follows the slot map.
 */
export async function connectRedis(target: string | OneServerTarget, options?: RedisOptions, timeoutMs?: number): Promise<Redis>;
export async function connectRedis(target: string | RedisTarget, options?: RedisOptions, timeoutMs?: number): Promise<RedisClient>;
export async function connectRedis(target: string | RedisTarget, options: RedisOptions = {}, timeoutMs = 3_000): Promise<RedisClient> {
  const resolved = typeof target === 'string' ? { url: target } : target;
  const redis = createRedis(resolved, { ...options, lazyConnect: true });
  let lastError: unknown = new Error(`no answer within ${timeoutMs} ms`);
  const onError = (error: unknown) => {
    lastError = error;
  };
  redis.on('error', onError);
  redis.on('sentinelError', onError);
  redis.on('node error', onError);
  try {
    await Promise.race([
      redis.connect(),
      new Promise((_, reject) => setTimeout(() => reject(lastError), timeoutMs).unref()),
    ]);
    await redis.ping();
  } catch (error) {
    redis.disconnect();
    const why = ((lastError ?? error) as Error)?.message?.split('\n')[0] ?? String(lastError ?? error);
    if (resolved.clusterNodes?.length) {
      throw new StartupError(
        `Cannot reach the Redis Cluster through the nodes ${describeAddresses(resolved.clusterNodes)}: ${why}. ` +
          'Start the cluster (every slot served: cluster_state:ok), or fix REDIS_CLUSTER_NODES.',
      );
    }
    if (resolved.sentinels?.length) {
      throw new StartupError(
        `Cannot reach the Redis primary through the sentinels ${describeSentinels(resolved)}: ${why}. ` +
          'Start the sentinels and Redis, or fix REDIS_SENTINELS / REDIS_SENTINEL_NAME.',
      );
    }
    throw redisStartupError(resolved.url, lastError ?? error);
  } finally {
    redis.off('sentinelError', onError);
    redis.off('node error', onError);
  }
  return redis;
}

/** Checks that Postgres answers and is migrated (the coupon table exists). */
export async function checkPostgres(db: Kysely<any>, url: string): Promise<void> {
  try {
    await sql`SELECT 1 FROM coupon LIMIT 1`.execute(db);
  } catch (error) {
    throw postgresStartupError(url, error);
  }
}
