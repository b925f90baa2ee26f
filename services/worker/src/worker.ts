import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { listCoupons } from '@coupons/shared/db';
import type { IssueJobData } from '@coupons/shared/queue';
import { couponKeys, ISSUE_QUEUE_NAME, queuePrefix } from '@coupons/shared/redis';
import { CouponDrainer } from './batch/coupon-drainer.ts';
import { rebuildFastPathIfMissing } from './fast-path/rebuild-fast-path.ts';
import { withCouponLock } from './lock/coupon-lock.ts';
import { issueJobProcessor } from './queue/issue-job-processor.ts';
import { Reconciler } from './queue/reconciler.ts';
import type { WorkerDeps } from './worker-deps.ts';

export interface IssueWorker {
  worker: Worker<IssueJobData>;
  reconciler: Reconciler;
  /** Graceful stop: current batches finish, undecided jobs go back to the queue. */
  close(): Promise<void>;
}

/** On start, bring every coupon's Redis fast-path state in line with Postgres (if another worker holds a lock, it does it). */
export async function rebuildAllFastPaths(deps: WorkerDeps): Promise<void> {
  for (const { code } of await listCoupons(deps.db)) {
    const keys = couponKeys(deps.config.REDIS_PREFIX, code);
    await withCouponLock(deps.redis, keys, deps.config.LOCK_LEASE_MS, deps.log, () => rebuildFastPathIfMissing(deps, code, keys));
  }
}

/**
 * Starts one worker replica's BullMQ worker and reconciler. `bullConnection` must have
 * `maxRetriesPerRequest: null` (BullMQ's blocking commands need it).
 */
export async function startIssueWorker(deps: WorkerDeps, bullConnection: Redis): Promise<IssueWorker> {
  const { config, log } = deps;
  await rebuildAllFastPaths(deps);
  const drainer = new CouponDrainer(deps);
  const prefix = queuePrefix(config.REDIS_PREFIX);
  const queue = new Queue<IssueJobData>(ISSUE_QUEUE_NAME, { connection: bullConnection, prefix });
  const worker = new Worker<IssueJobData>(ISSUE_QUEUE_NAME, issueJobProcessor(deps, drainer), {
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

  return {
    worker,
    reconciler,
    async close() {
      drainer.stop();
      await reconciler.stop();
      await worker.close();
      await queue.close();
    },
  };
}
