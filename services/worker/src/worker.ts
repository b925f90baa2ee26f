import { once } from 'node:events';
import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { listCoupons } from '@coupons/shared/db';
import { openIssueQueue, type CouponJobData } from '@coupons/shared/queue';
import { couponKeys, ISSUE_QUEUE_NAME, queuePrefix } from '@coupons/shared/redis';
import { DrainCoalescer } from './drain/drain-coalescer.ts';
import { followCouponChanges } from './fast-path/follow-coupon-changes.ts';
import { healIfBehind, isRetired } from './fast-path/heal-from-postgres.ts';
import { withCouponLock } from './lock/coupon-lock.ts';
import { issueJobProcessor } from './queue/issue-job-processor.ts';
import { Reconciler } from './queue/reconciler.ts';
import { scriptsOf, type WorkerDeps } from './worker-deps.ts';

export interface IssueWorker {
  worker: Worker<CouponJobData>;
  reconciler: Reconciler;
  /** Graceful stop: current batches finish, undecided jobs go back to the queue. */
  close(): Promise<void>;
}

export interface IssueWorkerOptions {
  /** Opens the coupon-change announcements' subscriber connection (main.ts: connectRedis, Sentinel-aware); default: a duplicate of deps.redis. */
  openCouponChangesSubscriber?: () => Promise<Redis>;
}

/** The options of a connection that only SUBSCRIBEs (CouponChangeSubscription subscribes again itself after a reconnect). */
export const SUBSCRIBER_OPTIONS = { autoResubscribe: false, maxRetriesPerRequest: null, enableOfflineQueue: true } as const;

async function duplicateSubscriber(redis: Redis, connectionName: string): Promise<Redis> {
  const subscriber = redis.duplicate({ ...SUBSCRIBER_OPTIONS, connectionName });
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
 * Starts one worker replica's BullMQ worker and reconciler. `bullConnection` must have
 * `maxRetriesPerRequest: null` (BullMQ's blocking commands need it).
 */
export async function startIssueWorker(deps: WorkerDeps, bullConnection: Redis, options: IssueWorkerOptions = {}): Promise<IssueWorker> {
  const { config, log } = deps;
  await healAllCoupons(deps);
  const drains = new DrainCoalescer(deps);
  const prefix = queuePrefix(config.REDIS_PREFIX);
  const queue = openIssueQueue(bullConnection, config.REDIS_PREFIX);
  const worker = new Worker<CouponJobData>(ISSUE_QUEUE_NAME, issueJobProcessor(deps, drains), {
    connection: bullConnection,
    prefix,
    concurrency: config.WORKER_CONCURRENCY,
    // A killed worker's jobs return to the queue after their lock expires; short, since the
    // decisions themselves never depend on which job runs.
    lockDuration: Math.max(config.STALLED_INTERVAL_MS * 2, 5_000),
    stalledInterval: config.STALLED_INTERVAL_MS,
    maxStalledCount: 10,
  });
  worker.on('error', (error) => log.warn({ err: error.message }, 'worker error'));
  worker.on('failed', (job, error) => log.warn({ jobId: job?.id, attempts: job?.attemptsMade, err: error.message }, 'job failed'));
  const reconciler = new Reconciler(deps, queue);
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
    worker,
    reconciler,
    async close() {
      drains.stop();
      couponChanges.stop();
      deps.redis.off('ready', onReconnect);
      await reconciler.stop();
      await worker.close();
      await queue.close();
    },
  };
}
