import { Worker, type Processor } from 'bullmq';
import type { RedisClient } from '@coupons/shared/redis';
import type { Config } from '@coupons/shared/config';
import type { CouponJobData } from '@coupons/shared/queue';
import { ISSUE_QUEUE_NAME, queuePrefix } from '@coupons/shared/redis';
import type { Logger } from '@coupons/shared/runtime';

/** The shards this worker consumes: WORKER_QUEUE_SHARDS, or every shard of QUEUE_SHARDS. */
export function consumedShards(config: Pick<Config, 'QUEUE_SHARDS' | 'WORKER_QUEUE_SHARDS'>): number[] {
  return config.WORKER_QUEUE_SHARDS ?? Array.from({ length: config.QUEUE_SHARDS }, (_, shard) => shard);
}

/**
 * One BullMQ Worker per consumed shard, each with the full WORKER_CONCURRENCY (not a share of it):
 * a job mostly waits for its coupon's drain (the coalescer runs one drain per coupon in this
 * process whatever the number of jobs), so idle slots cost nothing, while a share would let a few
 * jobs waiting on a coupon locked elsewhere stall a whole shard (with 8 shards and 64, 8 slots
 * each). What each shard costs is one blocking connection (BullMQ duplicates `bullConnection`).
 */
export function startShardWorkers(config: Config, log: Logger, bullConnection: RedisClient, processor: Processor<CouponJobData>): Worker<CouponJobData>[] {
  return consumedShards(config).map((shard) => {
    const worker = new Worker<CouponJobData>(ISSUE_QUEUE_NAME, processor, {
      connection: bullConnection,
      prefix: queuePrefix(config.REDIS_PREFIX, shard, config.QUEUE_SHARDS),
      concurrency: config.WORKER_CONCURRENCY,
      // A killed worker's jobs return to the queue after their lock expires; short, since the
      // decisions themselves never depend on which job runs.
      lockDuration: Math.max(config.STALLED_INTERVAL_MS * 2, 5_000),
      stalledInterval: config.STALLED_INTERVAL_MS,
      maxStalledCount: 10,
    });
    worker.on('error', (error) => log.warn({ shard, err: error.message }, 'worker error'));
    worker.on('failed', (job, error) => log.warn({ shard, jobId: job?.id, attempts: job?.attemptsMade, err: error.message }, 'job failed'));
    return worker;
  });
}
