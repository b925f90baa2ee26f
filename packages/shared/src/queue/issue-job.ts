import type { JobsOptions } from 'bullmq';

/** The BullMQ job of one admitted ticket. The job id is the ticket id (a UUID: no ':'). */
export interface IssueJobData {
  ticketId: string;
  couponCode: string;
}

export const ISSUE_JOB_NAME = 'decide';

/**
 * Jobs are removed once complete (Redis memory stays bounded during a long event); the
 * ticket, not the job, is the durable record, and dedupe lives in the admission script,
 * never in job ids alone. Retries cover a Postgres or Redis blip; the reconciler covers the rest.
 */
export const ISSUE_JOB_OPTIONS: JobsOptions = {
  removeOnComplete: true,
  removeOnFail: { age: 24 * 3600, count: 10_000 },
  attempts: 8,
  backoff: { type: 'exponential', delay: 250 },
};

export function issueJob(data: IssueJobData): { name: string; data: IssueJobData; opts: JobsOptions } {
  return { name: ISSUE_JOB_NAME, data, opts: { ...ISSUE_JOB_OPTIONS, jobId: data.ticketId } };
}

/** A request from an API to a worker: check this coupon's Redis state against Postgres and heal it. */
export interface HealJobData {
  couponCode: string;
}

export const HEAL_JOB_NAME = 'heal';

/**
 * One heal job per coupon at a time (the job id dedupes while it waits). It retries while
 * another worker holds the coupon's lock (a dead holder's lease runs out within LOCK_LEASE_MS).
 */
export function healJob(couponCode: string): { name: string; data: HealJobData; opts: JobsOptions } {
  return {
    name: HEAL_JOB_NAME,
    data: { couponCode },
    opts: { jobId: `heal-${couponCode}`, removeOnComplete: true, removeOnFail: true, attempts: 40, backoff: { type: 'fixed', delay: 250 } },
  };
}

/** Every job on the issue queue. */
export type CouponJobData = IssueJobData | HealJobData;
