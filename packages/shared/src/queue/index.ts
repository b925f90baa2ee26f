export { type IssueJobData, ISSUE_JOB_NAME, ISSUE_JOB_OPTIONS, issueJob } from './issue-job.ts';
