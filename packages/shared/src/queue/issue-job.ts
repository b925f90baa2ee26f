import type { JobsOptions } from 'bullmq';

/**
 * The BullMQ job of a batch of admitted tickets of one coupon: an API process gathers the tickets
 * it admitted while its previous job for the coupon was being added (a group commit) and adds one
 * job for all of them. BullMQ's own bookkeeping (about 120 µs of Redis CPU per job here) is then
 * paid once per batch, not once per ticket. The job completes once all its tickets are final.
 *
 * Its id is `b-<first ticket id>` (unique: a ticket is admitted once; no ':'), so an add that is
 * sent again after a lost reply does not make a second job.
 */
export interface IssueJobData {
  couponCode: string;
  ticketIds: string[];
  /** The highest arrival sequence among the tickets (0 for a reconciler's job: unknown). */
  maxSeq: number;
}

/** A job of one ticket, as versions before batched enqueue added them: still processed during a rollout. */
export interface LegacyIssueJobData {
  couponCode: string;
  ticketId: string;
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

export function issueJob(data: IssueJobData, jobId = `b-${data.ticketIds[0]}`): { name: string; data: IssueJobData; opts: JobsOptions } {
  return { name: ISSUE_JOB_NAME, data, opts: { ...ISSUE_JOB_OPTIONS, jobId } };
}

/** The tickets a decide job waits on, whichever version added it. */
export function ticketsOfJob(data: IssueJobData | LegacyIssueJobData): string[] {
  return 'ticketIds' in data ? data.ticketIds : [data.ticketId];
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
export type CouponJobData = IssueJobData | LegacyIssueJobData | HealJobData;
