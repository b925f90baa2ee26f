import type { Queue } from 'bullmq';
import { listCoupons, type CouponRow } from '@coupons/shared/db';
import { ISSUE_JOB_NAME, issueJob, ticketsOfJob, type CouponJobData, type IssueJobData, type LegacyIssueJobData } from '@coupons/shared/queue';
import { couponKeys, ticketKey } from '@coupons/shared/redis';
import { healIfBehind, isRetired } from '../fast-path/heal-from-postgres.ts';
import { withCouponLock } from '../lock/coupon-lock.ts';
import { scriptsOf, type WorkerDeps } from '../worker-deps.ts';

/** How many of the oldest unenqueued pending tickets per coupon each pass looks at. */
const SCAN_PER_COUPON = 200;

/** How many failed jobs each pass retries. */
const FAILED_PER_PASS = 500;

/**
 * The worker's safety net, every RECONCILE_INTERVAL_MS and after Redis reconnects:
 *
 * - **Redis against Postgres.** Each coupon's state is checked under its lock and healed when
 *   missing, flagged, or behind Postgres's high-water mark (a Redis gone back in time while no
 *   batch ran); a finished coupon's state gets its retention lifetime.
 * - **Tickets without a job.** An API replica admits a ticket (Lua) and then enqueues it (in a
 *   batch job); if it dies in between, the ticket would wait forever: pending tickets above the
 *   coupon's enqueued mark get a job (requeueStranded). Likewise a job that exhausted its
 *   retries (Postgres down for a long time) is failed while its tickets are still queued: it is
 *   retried (requeueFailed). A pending id whose ticket hash is gone gets a job too: its drain
 *   decides it away.
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
    requeued += await this.requeueFailed();
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

  /**
   * Tickets an API admitted but never enqueued (it died in between): pending tickets above the
   * coupon's `enqueued` mark (every job an API adds raises it to its tickets' highest arrival
   * sequence), older than the grace period, get one job. A pending ticket at or below the mark
   * is covered: the job that raised the mark stays live until its own tickets are final, and a
   * drain decides in arrival order, so everything before them is decided first; if that job
   * failed instead, requeueFailed() retries it.
   */
  private async requeueStranded(code: string): Promise<number> {
    const { redis, config } = this.deps;
    const keys = couponKeys(config.REDIS_PREFIX, code);
    const mark = Number((await redis.get(keys.enqueued)) ?? 0);
    const above = await redis.zrangebyscore(keys.pending, `(${mark}`, '+inf', 'WITHSCORES', 'LIMIT', 0, SCAN_PER_COUPON);
    if (above.length === 0) return 0;
    const ids = above.filter((_, i) => i % 2 === 0);
    const createdAt = await Promise.all(ids.map((id) => redis.hget(ticketKey(config.REDIS_PREFIX, code, id), 'createdAt')));
    const now = Date.now();
    // An orphan (no hash) has no createdAt: it is old by definition.
    const stranded = ids.filter((_, i) => createdAt[i] === null || now - Number(createdAt[i]) >= config.RECONCILE_GRACE_MS);
    if (stranded.length === 0) return 0;
    const maxSeq = Math.max(...stranded.map((id) => Number(above[above.indexOf(id) + 1])));
    // The job id dedupes the same finding by two workers, or by two passes while the first job waits.
    const job = issueJob({ couponCode: code, ticketIds: stranded, maxSeq }, `r-${stranded[0]}-${stranded.length}`);
    await this.queue.add(job.name, job.data, job.opts);
    await scriptsOf(this.deps).markEnqueued(code, maxSeq);
    return stranded.length;
  }

  /** Jobs that exhausted their retries (Postgres down for a long time) while tickets still wait: tried again. */
  private async requeueFailed(): Promise<number> {
    let requeued = 0;
    for (const job of await this.queue.getFailed(0, FAILED_PER_PASS - 1)) {
      if (!job || job.name !== ISSUE_JOB_NAME) continue;
      try {
        await job.retry();
        requeued += ticketsOfJob(job.data as IssueJobData | LegacyIssueJobData).length;
      } catch (error) {
        // Another worker retried it first: the next pass looks again.
        this.deps.log.debug({ jobId: job.id, err: (error as Error).message }, 'retrying a failed job lost a race');
      }
    }
    return requeued;
  }
}
