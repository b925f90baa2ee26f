import type { Queue } from 'bullmq';
import { listCoupons, type CouponRow } from '@coupons/shared/db';
import { issueJob, type CouponJobData } from '@coupons/shared/queue';
import { couponKeys, ticketKey } from '@coupons/shared/redis';
import { healIfBehind, isRetired } from '../fast-path/heal-from-postgres.ts';
import { withCouponLock } from '../lock/coupon-lock.ts';
import { scriptsOf, type WorkerDeps } from '../worker-deps.ts';

/** How many of the oldest pending tickets per coupon each pass looks at. */
const SCAN_PER_COUPON = 200;

/**
 * The worker's safety net, every RECONCILE_INTERVAL_MS and after Redis reconnects:
 *
 * - **Redis against Postgres.** Each coupon's state is checked under its lock and healed when
 *   missing, flagged, or behind Postgres's high-water mark (a Redis gone back in time while no
 *   batch ran); a finished coupon's state gets its retention lifetime.
 * - **Tickets without a job.** An API replica admits a ticket (Lua) and then enqueues its job;
 *   if it dies in between, the ticket would wait forever. Likewise a job that exhausted its
 *   retries (Postgres down for a long time) is failed while its ticket is still queued. Looking
 *   at the oldest pending tickets is enough: a drain always takes the oldest first, so as long
 *   as the oldest have live jobs, every pending ticket will be decided. A pending id whose ticket
 *   hash is gone gets a job too: its drain decides it away.
 *
 * One coupon failing (or a lost race on a job) is logged and does not stop the pass for the others.
 */
export class Reconciler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;

  constructor(
    private readonly deps: WorkerDeps,
    private readonly queue: Queue<CouponJobData>,
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
    const { db, log } = this.deps;
    let requeued = 0;
    for (const coupon of await listCoupons(db)) {
      try {
        await this.healCoupon(coupon);
        requeued += await this.requeueStranded(coupon.code);
      } catch (error) {
        log.warn({ coupon: coupon.code, err: (error as Error).message }, 'reconcile of a coupon failed; the others go on');
      }
    }
    if (requeued > 0) log.warn({ requeued }, 'reconciler re-enqueued tickets without a live job');
    return requeued;
  }

  /** If another worker holds the lock, its drain checks before every batch. */
  private async healCoupon(coupon: CouponRow): Promise<void> {
    const { config, log } = this.deps;
    const keys = couponKeys(config.REDIS_PREFIX, coupon.code);
    if (await isRetired(this.deps, coupon, keys)) return;
    await withCouponLock(scriptsOf(this.deps), coupon.code, config.LOCK_LEASE_MS, log, () => healIfBehind(this.deps, coupon.code, keys));
  }

  private async requeueStranded(code: string): Promise<number> {
    const { redis, config, log } = this.deps;
    const keys = couponKeys(config.REDIS_PREFIX, code);
    const now = Date.now();
    let requeued = 0;
    const ticketIds = await redis.zrange(keys.pending, 0, SCAN_PER_COUPON - 1);
    const createdAt = await Promise.all(ticketIds.map((id) => redis.hget(ticketKey(config.REDIS_PREFIX, code, id), 'createdAt')));
    for (const [i, ticketId] of ticketIds.entries()) {
      // An orphan (no hash) has no createdAt: it is old by definition.
      if (createdAt[i] !== null && now - Number(createdAt[i]) < config.RECONCILE_GRACE_MS) continue;
      try {
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
      } catch (error) {
        // Another worker retried or completed it first: the next pass looks again.
        log.debug({ ticketId, err: (error as Error).message }, 'reconciling a ticket lost a race');
      }
    }
    return requeued;
  }
}
