import type { RedisClient } from '@coupons/shared/redis';
import type { IssueQueues } from '@coupons/shared/queue';
import { couponKeys } from '@coupons/shared/redis';

/** Admitted, undecided tickets per coupon (ZCARD of each pending set). */
export async function readQueueDepths(redis: RedisClient, prefix: string, codes: string[]): Promise<Record<string, number>> {
  const depths = await Promise.all(codes.map((code) => redis.zcard(couponKeys(prefix, code).pending)));
  return Object.fromEntries(codes.map((code, i) => [code, depths[i]!]));
}

/** The BullMQ job states a shard's depth is reported in: waiting (what KEDA scales on), held by a worker, retrying later, failed for good. */
export const SHARD_JOB_STATES = ['wait', 'active', 'delayed', 'failed'] as const;
export type ShardJobState = (typeof SHARD_JOB_STATES)[number];

/**
 * Jobs per queue shard and state (one small read per shard). A shard whose `wait` only grows has
 * no worker consuming it: every shard must be in some worker's WORKER_QUEUE_SHARDS.
 */
export async function readShardDepths(queues: IssueQueues): Promise<Record<ShardJobState, number>[]> {
  return Promise.all(queues.all.map(async (queue) => (await queue.getJobCounts(...SHARD_JOB_STATES)) as Record<ShardJobState, number>));
}
