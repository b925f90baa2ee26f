import { listCoupons, type CouponRow } from '@coupons/shared/db';
import { ISSUE_JOB_NAME, issueJob, ticketsOfJob, type IssueJobData, type IssueQueues, type LegacyIssueJobData } from '@coupons/shared/queue';
import { couponKeys, ticketKey } from '@coupons/shared/redis';
import { healIfBehind, isRetired } from '../fast-path/heal-from-postgres.ts';
import { withCouponLock } from '../lock/coupon-lock.ts';
import { scriptsOf, type WorkerDeps } from '../worker-deps.ts';

/** How many of the oldest unenqueued pending tickets per coupon each pass looks at. */
const SCAN_PER_COUPON = 200;

/** How many failed jobs each pass retries, per queue shard. */
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
 * - **Tickets whose job nobody reads.** A job left in a queue shard no worker consumes any more
 *   (QUEUE_SHARDS changed while jobs waited: see the README, "The sharded queue") covers tickets at
 *   or below the mark. When a coupon's oldest pending ticket is older than RECONCILE_STUCK_MS, it
 *   gets a job in its coupon's current shard; the drain that job drives decides every ticket of
 *   the coupon in arrival order. Harmless when the ticket was only slow (a long backlog): one
 *   more job per coupon and pass at most (its id dedupes it while it waits).
 *
 * Every pass covers every coupon and every shard, whichever shards this worker consumes: a stranded
 * ticket gets its job in its coupon's shard (QUEUE_SHARDS; packages/shared/src/queue/queue-shard.ts).
 *
 * One coupon failing (or a lost race on a job) is logged and does not stop the pass for the others.
 */
export class Reconciler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;

  constructor(
    private readonly deps: WorkerDeps,
    private readonly queues: IssueQueues,
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
        const stranded = await this.requeueStranded(coupon.code);
        requeued += stranded > 0 ? stranded : await this.requeueStuck(coupon.code);
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
    await this.queues.forCoupon(code).add(job.name, job.data, job.opts);
    await scriptsOf(this.deps).markEnqueued(code, maxSeq);
    return stranded.length;
  }

  /** The coupon's oldest pending ticket, when older than RECONCILE_STUCK_MS, gets a job in the coupon's shard (its old job may sit in a shard nobody reads). */
  private async requeueStuck(code: string): Promise<number> {
    const { redis, config } = this.deps;
    const [oldest] = await redis.zrange(couponKeys(config.REDIS_PREFIX, code).pending, 0, 0);
    if (oldest === undefined) return 0;
    const createdAt = await redis.hget(ticketKey(config.REDIS_PREFIX, code, oldest), 'createdAt');
    // An orphan (no hash) is handled above the mark or by the job that covers it; without its age, leave it.
    if (createdAt === null || Date.now() - Number(createdAt) < config.RECONCILE_STUCK_MS) return 0;
    const job = issueJob({ couponCode: code, ticketIds: [oldest], maxSeq: 0 }, `s-${oldest}`);
    await this.queues.forCoupon(code).add(job.name, job.data, job.opts);
    return 1;
  }

  /** Jobs that exhausted their retries (Postgres down for a long time) while tickets still wait: tried again. */
  private async requeueFailed(): Promise<number> {
    let requeued = 0;
    const failed = (await Promise.all(this.queues.all.map((queue) => queue.getFailed(0, FAILED_PER_PASS - 1)))).flat();
    for (const job of failed) {
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
