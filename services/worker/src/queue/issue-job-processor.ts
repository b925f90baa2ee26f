import { setTimeout as delay } from 'node:timers/promises';
import { WaitingError, type Job, type Processor } from 'bullmq';
import { isFinal } from '@coupons/shared/domain';
import type { IssueJobData } from '@coupons/shared/queue';
import { couponKeys } from '@coupons/shared/redis';
import type { CouponDrainer } from '../batch/coupon-drainer.ts';
import type { WorkerDeps } from '../worker-deps.ts';

const NO_PROGRESS_WAIT_MS = 25;

/**
 * A job completes when its ticket is final. The job does not decide its own ticket: it makes
 * its coupon's drain happen (here, or by waiting for the worker holding the lock), and the
 * drain decides the oldest pending tickets first. So a job is a durable "someone must drain
 * this coupon until ticket T is decided", and processing order across workers is irrelevant.
 *
 * On shutdown an undecided job goes back to the wait list for another worker.
 */
export function issueJobProcessor(deps: WorkerDeps, drainer: CouponDrainer): Processor<IssueJobData> {
  const { redis, config } = deps;
  return async (job: Job<IssueJobData>, token?: string) => {
    const { ticketId, couponCode } = job.data;
    const keys = couponKeys(config.REDIS_PREFIX, couponCode);
    const ticket = `${keys.ticketPrefix}${ticketId}`;
    for (;;) {
      const status = await redis.hget(ticket, 'status');
      // null: the ticket expired or was lost; nothing is left to decide.
      if (status === null || isFinal(status)) return;
      if (drainer.isStopping) {
        await job.moveToWait(token);
        throw new WaitingError();
      }
      const attempt = await drainer.drainSoon(couponCode);
      if (attempt === 0) {
        // Nothing moved: the ticket may have fallen out of the pending set (lost keys).
        await redis.restorePendingTicket(keys.pending, ticket, ticketId);
        await delay(NO_PROGRESS_WAIT_MS);
      }
    }
  };
}
