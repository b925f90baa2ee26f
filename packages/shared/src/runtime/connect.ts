import { sql, type Kysely } from 'kysely';
import { Redis, type RedisOptions } from 'ioredis';
import { postgresStartupError, redisStartupError } from './startup-error.ts';

/**
 * Opens a Redis connection and waits until it is ready, or fails within `timeoutMs` with a
 * StartupError naming the URL. Reconnection after start-up is ioredis's job.
 */
export async function connectRedis(url: string, options: RedisOptions = {}, timeoutMs = 3_000): Promise<Redis> {
  const redis = new Redis(url, { ...options, lazyConnect: true });
  let lastError: unknown = new Error(`no answer within ${timeoutMs} ms`);
  const onError = (error: unknown) => {
    lastError = error;
  };
  redis.on('error', onError);
  try {
    await Promise.race([
      redis.connect(),
      new Promise((_, reject) => setTimeout(() => reject(lastError), timeoutMs).unref()),
    ]);
    await redis.ping();
  } catch (error) {
    redis.disconnect();
    throw redisStartupError(url, lastError ?? error);
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
