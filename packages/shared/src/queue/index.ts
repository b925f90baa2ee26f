export { issueJob, healJob, ticketsOfJob, ISSUE_JOB_NAME, HEAL_JOB_NAME, ISSUE_JOB_OPTIONS, type IssueJobData, type LegacyIssueJobData, type HealJobData, type CouponJobData } from './issue-job.ts';
export { openIssueQueue, openIssueQueues, EVENTS_STREAM_MAX_LEN, type IssueQueues } from './issue-queue.ts';
export { shardOfCoupon, fnv1a32, MAX_QUEUE_SHARDS } from './queue-shard.ts';
export { recordQueueShards, readQueueShards, checkQueueShards } from './queue-shard-count.ts';
