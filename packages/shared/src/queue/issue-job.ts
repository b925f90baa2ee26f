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
