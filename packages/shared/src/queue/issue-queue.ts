import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { ISSUE_QUEUE_NAME, queuePrefix } from '../redis/keys.ts';
import type { CouponJobData } from './issue-job.ts';

/**
 * BullMQ's events stream keeps this many entries (its default is 10,000, about 0.9 MiB here that
 * outlives every event). Nothing here reads it (no QueueEvents); a short tail is kept for debugging.
 */
export const EVENTS_STREAM_MAX_LEN = 100;

/** The issue queue, as every producer and consumer opens it (the options are stored in the queue's meta by whoever opens it). */
export function openIssueQueue(connection: Redis, prefix: string): Queue<CouponJobData> {
  return new Queue<CouponJobData>(ISSUE_QUEUE_NAME, { connection, prefix: queuePrefix(prefix), streams: { events: { maxLen: EVENTS_STREAM_MAX_LEN } } });
}
