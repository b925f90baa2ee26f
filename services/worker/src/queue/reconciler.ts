import type { Queue } from 'bullmq';
import { listCoupons } from '@coupons/shared/db';
import { issueJob, type IssueJobData } from '@coupons/shared/queue';
import { couponKeys } from '@coupons/shared/redis';
import { rebuildFastPathIfMissing } from '../fast-path/rebuild-fast-path.ts';
import { withCouponLock } from '../lock/coupon-lock.ts';
import type { WorkerDeps } from '../worker-deps.ts';

/** How many of the oldest pending tickets per coupon each pass looks at. */
const SCAN_PER_COUPON = 200;

/**
 * Finds admitted tickets that have no job and enqueues them.
 *
 * An API replica admits a ticket (Lua) and then enqueues its job; if it dies in between,
 * the ticket would wait forever. Likewise a job that exhausted its retries (Postgres down for
 * a long time) is failed while its ticket is still queued. Looking at the oldest pending
 * tickets is enough: a drain always takes the oldest first, so as long as the oldest have live
 * jobs, every pending ticket will be decided.
 */
export class Reconciler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;

  constructor(
    private readonly deps: WorkerDeps,
    private readonly queue: Queue<IssueJobData>,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.runOnce(), this.deps.config.RECONCILE_INTERVAL_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One pass; resolves to how many tickets got a job again. Never throws. */
  runOnce(): Promise<number> {
    this.running ??= this.reconcile()
      .catch((error: Error) => {
        this.deps.log.warn({ err: error.message }, 'reconcile pass failed');
        return 0;
      })
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  private async reconcile(): Promise<number> {
    const { db, redis, config, log } = this.deps;
    const now = Date.now();
    let requeued = 0;
    for (const { code } of await listCoupons(db)) {
      const keys = couponKeys(config.REDIS_PREFIX, code);
      // Fast-path state lost while no batch runs (nothing pending): rebuild it now, so winners'
      // tickets answer again and newcomers get the sold-out fast path.
      if ((await redis.exists(keys.meta)) === 0) {
        await withCouponLock(redis, keys, config.LOCK_LEASE_MS, log, () => rebuildFastPathIfMissing(this.deps, code, keys));
      }
      const ticketIds = await redis.zrange(keys.pending, 0, SCAN_PER_COUPON - 1);
      const createdAt = await Promise.all(ticketIds.map((id) => redis.hget(`${keys.ticketPrefix}${id}`, 'createdAt')));
      for (const [i, ticketId] of ticketIds.entries()) {
        if (now - Number(createdAt[i] ?? 0) < config.RECONCILE_GRACE_MS) continue;
        // getJob (one HGETALL) rather than getJobState, whose LPOS scans the whole wait list.
        const job = await this.queue.getJob(ticketId);
        // Decided meanwhile (its job completed and was removed): nothing to do.
        if (!job && (await redis.zscore(keys.pending, ticketId)) === null) continue;
        if (!job) {
          const fresh = issueJob({ ticketId, couponCode: code });
          await this.queue.add(fresh.name, fresh.data, fresh.opts);
          requeued += 1;
        } else if (await job.isFailed()) {
          await job.retry();
          requeued += 1;
        }
      }
    }
    if (requeued > 0) log.warn({ requeued }, 'reconciler re-enqueued tickets without a live job');
    return requeued;
  }
}
