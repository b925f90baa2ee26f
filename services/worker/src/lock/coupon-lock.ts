import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { CouponScripts } from '@coupons/shared/redis';

/**
 * A held coupon lock.
 *
 * The lock is SET NX PX with a random token, released by compare-and-delete, and renewed
 * every third of the lease while held. Every grant increments the coupon's fencing token:
 * Postgres refuses a batch written with a token older than one it has seen, so a worker that
 * was paused (GC, SIGSTOP, a partition) past its lease cannot write even if it does not
 * notice it lost the lock. The lease must be longer than the longest batch; the worker's
 * statement timeout (< lease) makes sure no batch statement outlives it.
 */
export interface CouponLease {
  readonly fence: number;
  /**
   * This grant's random token. Postgres stores it beside the fence, so a fence number handed
   * out twice (a Redis that went back in time) still names one writer.
   */
  readonly holder: string;
  /** Set when a renewal finds the lock gone or taken: stop starting batches. */
  readonly lost: boolean;
  /** Whether there is still comfortably time left on the lease to start a batch. */
  canStartBatch(): boolean;
  /** Re-checks ownership now (after a fencing refusal). */
  stillHeld(): Promise<boolean>;
}

class HeldLease implements CouponLease {
  lost = false;
  private validUntil: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly scripts: CouponScripts,
    private readonly couponCode: string,
    readonly holder: string,
    readonly fence: number,
    private readonly leaseMs: number,
    private readonly log: Logger,
  ) {
    this.validUntil = Date.now() + leaseMs;
  }

  startRenewing(): void {
    this.timer = setInterval(() => void this.renew(), Math.max(100, Math.floor(this.leaseMs / 3)));
    this.timer.unref();
  }

  private async renew(): Promise<void> {
    const startedAt = Date.now();
    try {
      const renewed = await this.scripts.renewLock(this.couponCode, this.holder, this.leaseMs);
      if (renewed === 1) this.validUntil = startedAt + this.leaseMs;
      else this.markLost('lock taken or expired');
    } catch (error) {
      this.log.warn({ err: (error as Error).message }, 'lock renewal failed');
    }
  }

  private markLost(why: string): void {
    if (!this.lost) this.log.warn({ coupon: this.couponCode, fence: this.fence, why }, 'coupon lock lost');
    this.lost = true;
    clearInterval(this.timer);
  }

  canStartBatch(): boolean {
    // Keep a third of the lease in reserve for the batch itself.
    return !this.lost && Date.now() < this.validUntil - this.leaseMs / 3;
  }

  async stillHeld(): Promise<boolean> {
    const held = (await this.scripts.renewLock(this.couponCode, this.holder, this.leaseMs)) === 1;
    if (!held) this.markLost('lock taken or expired');
    return held;
  }

  async release(): Promise<void> {
    clearInterval(this.timer);
    if (this.lost) return;
    await this.scripts.releaseLock(this.couponCode, this.holder).catch((error: Error) => {
      this.log.warn({ err: error.message }, 'lock release failed; it expires with its lease');
    });
  }
}

/**
 * Runs `work` while holding the coupon's lock. Returns `{ ran: false }` at once when another
 * worker holds it (the caller waits and tries again).
 */
export async function withCouponLock<T>(
  scripts: CouponScripts,
  couponCode: string,
  leaseMs: number,
  log: Logger,
  work: (lease: CouponLease) => Promise<T>,
): Promise<{ ran: true; value: T } | { ran: false }> {
  const token = randomBytes(16).toString('hex');
  const fence = await scripts.acquireLock(couponCode, token, leaseMs);
  if (!fence) return { ran: false };
  const lease = new HeldLease(scripts, couponCode, token, Number(fence), leaseMs, log);
  lease.startRenewing();
  try {
    return { ran: true, value: await work(lease) };
  } finally {
    await lease.release();
  }
}
