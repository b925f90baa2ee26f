import { once } from 'node:events';
import type { Worker } from 'bullmq';
import type { RedisClient } from '@coupons/shared/redis';
import { duplicateRedis } from '@coupons/shared/runtime';
import { listCoupons } from '@coupons/shared/db';
import { checkQueueShards, openIssueQueues, type CouponJobData } from '@coupons/shared/queue';
import { couponKeys } from '@coupons/shared/redis';
import { DrainCoalescer } from './drain/drain-coalescer.ts';
import { followCouponChanges } from './fast-path/follow-coupon-changes.ts';
import { healIfBehind, isRetired } from './fast-path/heal-from-postgres.ts';
import { withCouponLock } from './lock/coupon-lock.ts';
import { issueJobProcessor } from './queue/issue-job-processor.ts';
import { Reconciler } from './queue/reconciler.ts';
import { startShardWorkers } from './queue/shard-workers.ts';
import { scriptsOf, type WorkerDeps } from './worker-deps.ts';

export interface IssueWorker {
  /** One BullMQ Worker per queue shard this replica consumes (WORKER_QUEUE_SHARDS, default all), in shard order. */
  workers: Worker<CouponJobData>[];
  reconciler: Reconciler;
  /** Graceful stop: current batches finish, undecided jobs go back to the queue. */
  close(): Promise<void>;
}

export interface IssueWorkerOptions {
  /** Opens the coupon-change announcements' subscriber connection (main.ts: connectRedis, Sentinel-aware); default: a duplicate of deps.redis. */
  openCouponChangesSubscriber?: () => Promise<RedisClient>;
}

/** The options of a connection that only SUBSCRIBEs (CouponChangeSubscription subscribes again itself after a reconnect). */
export const SUBSCRIBER_OPTIONS = { autoResubscribe: false, maxRetriesPerRequest: null, enableOfflineQueue: true } as const;

async function duplicateSubscriber(redis: RedisClient, connectionName: string): Promise<RedisClient> {
  const subscriber = duplicateRedis(redis, { ...SUBSCRIBER_OPTIONS, connectionName });
  subscriber.on('error', () => {});
  if (subscriber.status !== 'ready') await once(subscriber, 'ready');
  return subscriber;
}

/** On start, bring every coupon's Redis state in line with Postgres (if another worker holds a lock, it does it). */
export async function healAllCoupons(deps: WorkerDeps): Promise<void> {
  for (const coupon of await listCoupons(deps.db)) {
    const keys = couponKeys(deps.config.REDIS_PREFIX, coupon.code);
    if (await isRetired(deps, coupon, keys)) continue;
    await withCouponLock(scriptsOf(deps), coupon.code, deps.config.LOCK_LEASE_MS, deps.log, () => healIfBehind(deps, coupon.code, keys));
  }
}

/**
 * Starts one worker replica's BullMQ workers (one per queue shard it consumes: queue/shard-workers.ts)
 * and reconciler. `bullConnection` must have `maxRetriesPerRequest: null` (BullMQ's blocking
 * commands need it). Refuses to start (one line) when the APIs enqueue with another QUEUE_SHARDS.
 */
export async function startIssueWorker(deps: WorkerDeps, bullConnection: RedisClient, options: IssueWorkerOptions = {}): Promise<IssueWorker> {
  const { config, log } = deps;
  await checkQueueShards(deps.redis, config.REDIS_PREFIX, config.QUEUE_SHARDS);
  await healAllCoupons(deps);
  const drains = new DrainCoalescer(deps);
  // Every shard, whichever this worker consumes: its reconciler re-enqueues any coupon's stranded tickets into that coupon's shard.
  const queues = openIssueQueues(bullConnection, config.REDIS_PREFIX, config.QUEUE_SHARDS);
  const workers = startShardWorkers(config, log, bullConnection, issueJobProcessor(deps, drains));
  const reconciler = new Reconciler(deps, queues);
  reconciler.start();
  void reconciler.runOnce();
  // A reconnect is when Redis may come back older (restarted from its AOF or snapshot, or a
  // replica promoted by Sentinel): check every coupon against Postgres at once.
  const onReconnect = () => void reconciler.runOnce();
  deps.redis.on('ready', onReconnect);
  // Coupons created or changed at run time: checked within a second (fast-path/follow-coupon-changes.ts).
  const openSubscriber = options.openCouponChangesSubscriber ?? (() => duplicateSubscriber(deps.redis, `${config.REDIS_PREFIX}:coupon-changes`));
  const couponChanges = await followCouponChanges(deps, await openSubscriber(), () => void reconciler.runOnce());

  return {
    workers,
    reconciler,
    async close() {
      drains.stop();
      couponChanges.stop();
      deps.redis.off('ready', onReconnect);
      await reconciler.stop();
      // Every shard's current batches finish and its undecided jobs go back to its wait list.
      await Promise.all(workers.map((worker) => worker.close()));
      await queues.close();
    },
  };
}
