import { setTimeout as delay } from 'node:timers/promises';
import { couponKeys } from '@coupons/shared/redis';
import { healIfBehind } from '../fast-path/heal-from-postgres.ts';
import { withCouponLock } from '../lock/coupon-lock.ts';
import { scriptsOf, type WorkerDeps } from '../worker-deps.ts';
import { AdaptiveBatchSize } from './batch-size.ts';
import { drainCoupon } from './drain-coupon.ts';

/**
 * How long to wait before trying a coupon lock that another worker holds. Every active job of
 * that coupon in this process re-checks its ticket after the wait, so polling fast would take
 * CPU from the holder (measured: with 10 ms, a second worker on the same 2 cores halved the
 * holder's rate). 40-60 ms (jittered) only delays when a waiting job notices its decision.
 */
const LOCK_BUSY_WAIT_MS = 40;
const LOCK_BUSY_JITTER_MS = 20;

/** A drain attempt: how many tickets it decided, or 'busy' when another worker holds the lock. */
export type DrainAttempt = number | 'busy';

/**
 * Coalesces drains per coupon inside one process: however many jobs of a coupon are active
 * here, at most one drain (one lock attempt, then drainCoupon under the lock) runs at a time
 * and the others wait for it. One per worker process; it also keeps each coupon's adaptive
 * batch size and the process's "stopping" flag.
 */
export class DrainCoalescer {
  private readonly inflight = new Map<string, Promise<DrainAttempt>>();
  private readonly batchSizes = new Map<string, AdaptiveBatchSize>();
  private stopping = false;

  constructor(private readonly deps: WorkerDeps) {}

  get isStopping(): boolean {
    return this.stopping;
  }

  /** Finish the current batches, start no new ones. */
  stop(): void {
    this.stopping = true;
  }

  /**
   * Makes progress on a coupon: drains it if this worker can take its lock, otherwise waits
   * briefly while the holder drains.
   */
  drainSoon(couponCode: string): Promise<DrainAttempt> {
    let running = this.inflight.get(couponCode);
    if (!running) {
      running = this.drainOnce(couponCode).finally(() => this.inflight.delete(couponCode));
      this.inflight.set(couponCode, running);
    }
    return running;
  }

  /**
   * Checks the coupon's Redis state against Postgres and heals it if it is missing or behind
   * (an API asked, having found it so). Returns false when another worker holds the lock: its
   * drain checks before every batch.
   */
  async healSoon(couponCode: string): Promise<boolean> {
    const { config, log } = this.deps;
    const keys = couponKeys(config.REDIS_PREFIX, couponCode);
    const result = await withCouponLock(scriptsOf(this.deps), couponCode, config.LOCK_LEASE_MS, log, () => healIfBehind(this.deps, couponCode, keys));
    return result.ran;
  }

  private batchSizeOf(couponCode: string): AdaptiveBatchSize {
    let size = this.batchSizes.get(couponCode);
    if (!size) {
      size = new AdaptiveBatchSize(this.deps.config.BATCH_SIZE);
      this.batchSizes.set(couponCode, size);
    }
    return size;
  }

  private async drainOnce(couponCode: string): Promise<DrainAttempt> {
    if (this.stopping) return 0;
    const { config, log } = this.deps;
    const keys = couponKeys(config.REDIS_PREFIX, couponCode);
    const result = await withCouponLock(scriptsOf(this.deps), couponCode, config.LOCK_LEASE_MS, log, (lease) =>
      drainCoupon(this.deps, couponCode, keys, lease, this.batchSizeOf(couponCode), () => this.stopping),
    );
    if (!result.ran) {
      await delay(LOCK_BUSY_WAIT_MS + Math.random() * LOCK_BUSY_JITTER_MS);
      return 'busy';
    }
    return result.value;
  }
}
