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
 * Looking at its tickets also repairs their places in line (tickets-progress-1.lua puts a queued
 * ticket that fell out of the pending set back, with its own sequence), so a later arrival is
 * never decided before it; the drain itself restores the line first too (restore-line.ts). A pending id whose ticket hash is gone (an "orphan") still drives a
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
    const data = job.data as IssueJobData | LegacyIssueJobData;
    const { couponCode } = data;
    let waiting = ticketsOfJob(data);
    /** Repairs the tickets' places in line and keeps those still undecided ('gone': nothing left to wait for). */
    const stillWaiting = async () => {
      const progress = await scripts.ticketsProgress(couponCode, waiting);
      waiting = waiting.filter((_, i) => progress[i] === 'queued' || progress[i] === 'orphan');
      return waiting.length > 0;
    };
    // While the coupon's decided mark is below the job's highest arrival sequence, some of its
    // tickets are surely undecided (drains decide in arrival order): one small read a turn instead
    // of a look at every ticket. Once it has passed, the tickets themselves are looked at (one may
    // have fallen out of line and been put back), and from then on every turn. A job without a
    // mark (the reconciler's, an older version's) looks at its tickets first, repairing the line.
    let byMark = 'maxSeq' in data && data.maxSeq > 0;
    if (!byMark && !(await stillWaiting())) return;
    for (;;) {
      if (drains.isStopping) {
        await job.moveToWait(token);
        throw new WaitingError();
      }
      const attempt = await drains.drainSoon(couponCode);
      if (attempt === 0) {
        // Nothing decidable (or the coupon's state is being healed): look at the tickets themselves.
        await delay(NO_PROGRESS_WAIT_MS);
      } else if (byMark && BigInt((await scripts.readMirror(couponCode)).decidedSeq) < BigInt((data as IssueJobData).maxSeq)) {
        continue;
      }
      byMark = false;
      if (!(await stillWaiting())) return;
    }
  };
}
