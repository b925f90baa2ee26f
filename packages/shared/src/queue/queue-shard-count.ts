import { ConfigError } from '../config/load-config.ts';
import type { RedisClient } from '../redis/client.ts';
import { queueShardsKey } from '../redis/keys.ts';

/**
 * Every API and worker must run with the same QUEUE_SHARDS, or a coupon's jobs land in a shard
 * its workers do not read (or read by the wrong mapping). The APIs decide where jobs go, so each
 * API records its count at start; a worker started with another count refuses to start, in one
 * line. (During a change of QUEUE_SHARDS the new APIs record the new count: workers of the old
 * count then refuse to restart, and are replaced by workers of the new one.)
 */
export async function recordQueueShards(redis: Pick<RedisClient, 'set'>, prefix: string, shards: number): Promise<void> {
  await redis.set(queueShardsKey(prefix), String(shards));
}

/** The QUEUE_SHARDS the APIs enqueue with; undefined while no API has started. */
export async function readQueueShards(redis: Pick<RedisClient, 'get'>, prefix: string): Promise<number | undefined> {
  const stored = await redis.get(queueShardsKey(prefix));
  return stored === null ? undefined : Number(stored);
}

/** Throws a one-line ConfigError (printed as is at start) when the APIs enqueue with another shard count than this worker's. */
export async function checkQueueShards(redis: Pick<RedisClient, 'get'>, prefix: string, shards: number): Promise<void> {
  const recorded = await readQueueShards(redis, prefix);
  if (recorded !== undefined && recorded !== shards) {
    throw new ConfigError(
      `QUEUE_SHARDS is ${shards} but the APIs enqueue into ${recorded} shards (Redis key ${queueShardsKey(prefix)}): set QUEUE_SHARDS=${recorded} on this worker, as on every API`,
    );
  }
}
