export { issueJob, healJob, ticketsOfJob, ISSUE_JOB_NAME, HEAL_JOB_NAME, ISSUE_JOB_OPTIONS, type IssueJobData, type LegacyIssueJobData, type HealJobData, type CouponJobData } from './issue-job.ts';
export { openIssueQueue, EVENTS_STREAM_MAX_LEN } from './issue-queue.ts';
