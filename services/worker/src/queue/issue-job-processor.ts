import { setTimeout as delay } from 'node:timers/promises';
import { WaitingError, type Job, type Processor } from 'bullmq';
import { HEAL_JOB_NAME, ticketsOfJob, type CouponJobData, type IssueJobData, type LegacyIssueJobData } from '@coupons/shared/queue';
import type { DrainCoalescer } from '../drain/drain-coalescer.ts';
import { scriptsOf, type WorkerDeps } from '../worker-deps.ts';

const NO_PROGRESS_WAIT_MS = 25;

/**
 * A job completes when all its tickets are final. The job does not decide its own tickets: it
 * makes its coupon's drain happen (here, or by waiting for the worker holding the lock), and the
 * drain decides the oldest pending tickets first. So a job is a durable "someone must drain
 * this coupon until tickets T1..Tn are decided", and processing order across workers is
 * irrelevant. An API adds one job per batch of tickets it admitted (see issueJob), so one job
 * usually waits on many tickets; each turn asks where all of them stand in one script call.
 *
 * Each turn first repairs the tickets' places in line (tickets-progress-1.lua puts a queued
 * ticket that fell out of the pending set back, with its own sequence), so a later arrival is
 * never decided before it. A pending id whose ticket hash is gone (an "orphan") still drives a
 * drain, which decides it away, so it cannot inflate the backlog forever.
 *
 * A heal job (from an API that found the coupon's Redis state missing or behind Postgres)
 * checks and heals it under the coupon's lock.
 *
 * On shutdown an undecided job goes back to the wait list for another worker.
 */
export function issueJobProcessor(deps: WorkerDeps, drains: DrainCoalescer): Processor<CouponJobData> {
  const scripts = scriptsOf(deps);
  return async (job: Job<CouponJobData>, token?: string) => {
    if (job.name === HEAL_JOB_NAME) {
      if (!(await drains.healSoon(job.data.couponCode))) throw new Error(`coupon ${job.data.couponCode} is locked by another worker; the heal is retried`);
      return;
    }
    const { couponCode } = job.data;
    let waiting = ticketsOfJob(job.data as IssueJobData | LegacyIssueJobData);
    for (;;) {
      const progress = await scripts.ticketsProgress(couponCode, waiting);
      // Final, or 'gone' (expired or lost, and nothing waits in line for it): nothing left to wait for.
      waiting = waiting.filter((_, i) => progress[i] === 'queued' || progress[i] === 'orphan');
      if (waiting.length === 0) return;
      if (drains.isStopping) {
        await job.moveToWait(token);
        throw new WaitingError();
      }
      if ((await drains.drainSoon(couponCode)) === 0) await delay(NO_PROGRESS_WAIT_MS);
    }
  };
}
