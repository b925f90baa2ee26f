import type { RedisOptions } from 'ioredis';

/**
 * The API fails fast when Redis is away: no offline queue, one retry, a command timeout. A
 * request then gets 503 UNAVAILABLE at once instead of hanging; ioredis keeps reconnecting
 * in the background.
 */
export function apiRedisOptions(): RedisOptions {
  return {
    enableAutoPipelining: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 2_000,
    connectTimeout: 3_000,
    retryStrategy: (attempt) => Math.min(50 * attempt, 1_000),
  };
}

/**
 * The durable-admission connection (ADMISSION_DURABILITY=replica): it only sends a marker and
 * WAIT, which blocks it, so no auto-pipelining; its command timeout outlasts WAIT's own.
 */
export function replicaAckRedisOptions(waitTimeoutMs: number): RedisOptions {
  return { ...apiRedisOptions(), enableAutoPipelining: false, commandTimeout: waitTimeoutMs + 1_000 };
}
