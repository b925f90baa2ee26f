import { sql, type Kysely } from 'kysely';
import { Redis, type RedisOptions } from 'ioredis';
import type { Config } from '../config/index.ts';
import type { SentinelAddress } from '../config/config-schema.ts';
import { postgresStartupError, redisStartupError, StartupError } from './startup-error.ts';

/**
 * Where Redis is: REDIS_URL's host, or (with REDIS_SENTINELS) whichever server the sentinels
 * name as the primary of `sentinelName`; REDIS_URL then gives only the password, user and db.
 */
export interface RedisTarget {
  url: string;
  sentinels?: readonly SentinelAddress[];
  sentinelName?: string;
  sentinelPassword?: string;
}

/** The Redis target the configuration describes (every connection the API and the worker open). */
export function redisTarget(config: Pick<Config, 'REDIS_URL' | 'REDIS_SENTINELS' | 'REDIS_SENTINEL_NAME' | 'REDIS_SENTINEL_PASSWORD'>): RedisTarget {
  return {
    url: config.REDIS_URL,
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

const describeSentinels = (target: RedisTarget) =>
  `${target.sentinels!.map(({ host, port }) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`)).join(',')} (primary "${target.sentinelName ?? 'mymaster'}")`;

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

/** Opens a client for `target` without connecting (ioredis reconnects by itself later). */
export function createRedis(target: string | RedisTarget, options: RedisOptions = {}): Redis {
  const resolved = typeof target === 'string' ? { url: target } : target;
  const finalOptions = redisOptionsFor(resolved, options);
  return resolved.sentinels?.length ? new Redis(finalOptions) : new Redis(resolved.url, finalOptions);
}

/**
 * Opens a Redis connection and waits until it is ready, or fails within `timeoutMs` with a
 * StartupError naming the URL (or the sentinels). Reconnection after start-up is ioredis's job;
 * through sentinels it resolves the current primary on every reconnect.
 */
export async function connectRedis(target: string | RedisTarget, options: RedisOptions = {}, timeoutMs = 3_000): Promise<Redis> {
  const resolved = typeof target === 'string' ? { url: target } : target;
  const redis = createRedis(resolved, { ...options, lazyConnect: true });
  let lastError: unknown = new Error(`no answer within ${timeoutMs} ms`);
  const onError = (error: unknown) => {
    lastError = error;
  };
  redis.on('error', onError);
  redis.on('sentinelError', onError);
  try {
    await Promise.race([
      redis.connect(),
      new Promise((_, reject) => setTimeout(() => reject(lastError), timeoutMs).unref()),
    ]);
    await redis.ping();
  } catch (error) {
    redis.disconnect();
    if (resolved.sentinels?.length) {
      const why = ((lastError ?? error) as Error)?.message?.split('\n')[0] ?? String(lastError ?? error);
      throw new StartupError(
        `Cannot reach the Redis primary through the sentinels ${describeSentinels(resolved)}: ${why}. ` +
          'Start the sentinels and Redis, or fix REDIS_SENTINELS / REDIS_SENTINEL_NAME.',
      );
    }
    throw redisStartupError(resolved.url, lastError ?? error);
  } finally {
    redis.off('sentinelError', onError);
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
