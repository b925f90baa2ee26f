import { Queue } from 'bullmq';
import type { RedisClient } from '../redis/client.ts';
import { ISSUE_QUEUE_NAME, queuePrefix } from '../redis/keys.ts';
import type { CouponJobData } from './issue-job.ts';
import { shardOfCoupon } from './queue-shard.ts';

/**
 * BullMQ's events stream keeps this many entries (its default is 10,000, about 0.9 MiB here that
 * outlives every event). Nothing here reads it (no QueueEvents); a short tail is kept for debugging.
 */
export const EVENTS_STREAM_MAX_LEN = 100;

/**
 * One shard of the issue queue, as every producer and consumer opens it (the options are stored
 * in the queue's meta by whoever opens it). `shard`/`shards` default to the single queue.
 */
export function openIssueQueue(connection: RedisClient, prefix: string, shard = 0, shards = 1): Queue<CouponJobData> {
  return new Queue<CouponJobData>(ISSUE_QUEUE_NAME, { connection, prefix: queuePrefix(prefix, shard, shards), streams: { events: { maxLen: EVENTS_STREAM_MAX_LEN } } });
}

/**
 * The issue queue's N shards (QUEUE_SHARDS), each its own BullMQ queue in its own Redis Cluster
 * slot, so the queue's work (BullMQ's scripts: add, move to active, complete) spreads over the
 * cluster's primaries instead of loading one. A coupon's jobs always go to the same shard.
 */
export interface IssueQueues {
  /** QUEUE_SHARDS. */
  readonly shards: number;
  /** Every shard's queue, shard 0 first. */
  readonly all: readonly Queue<CouponJobData>[];
  /** The shard a coupon's jobs go to. */
  forCoupon(couponCode: string): Queue<CouponJobData>;
  /** Closes every shard's queue (not the connection, which the caller owns). */
  close(): Promise<void>;
}

/** Opens the N shards on one connection (BullMQ's Queue issues no blocking command: one connection serves them all). */
export function openIssueQueues(connection: RedisClient, prefix: string, shards: number): IssueQueues {
  const all = Array.from({ length: shards }, (_, shard) => openIssueQueue(connection, prefix, shard, shards));
  return {
    shards,
    all,
    forCoupon: (couponCode) => all[shardOfCoupon(couponCode, shards)]!,
    async close() {
      await Promise.all(all.map((queue) => queue.close()));
    },
  };
}
