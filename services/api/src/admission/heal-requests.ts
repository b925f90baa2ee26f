import { healJob, type IssueQueues } from '@coupons/shared/queue';

/** At most one heal request per coupon per this long from one API replica: a burst of refusals asks once. */
const HEAL_REQUEST_INTERVAL_MS = 250;

/**
 * Asks a worker to heal a coupon's Redis state from Postgres (a heal job; its id dedupes it
 * across replicas while it waits). Admission calls it when the admit script found the state
 * missing or behind Postgres, and answers 503 meanwhile. It goes to the coupon's queue shard.
 */
export class HealRequests {
  private readonly lastAsked = new Map<string, number>();

  constructor(private readonly queues: IssueQueues) {}

  async ask(couponCode: string): Promise<void> {
    const now = Date.now();
    if (now - (this.lastAsked.get(couponCode) ?? 0) < HEAL_REQUEST_INTERVAL_MS) return;
    this.lastAsked.set(couponCode, now);
    const job = healJob(couponCode);
    await this.queues.forCoupon(couponCode).add(job.name, job.data, job.opts);
  }
}
