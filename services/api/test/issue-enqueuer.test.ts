// The batched enqueue against a real BullMQ queue: tickets admitted together share one job, every
// caller waits for the job that carries its ticket, a failed add fails exactly its batch, and the
// coupon's enqueued mark follows (the reconciler's guide).
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ticketsOfJob, type CouponJobData, type IssueJobData } from '@coupons/shared/queue';
import { couponKeys, couponScripts, ISSUE_QUEUE_NAME, queuePrefix } from '@coupons/shared/redis';
import { createTestEnvironment, freePort, waitFor, type TestEnvironment } from '@coupons/shared/testing';
import { IssueEnqueuer } from '../src/admission/issue-enqueuer.ts';

describe('IssueEnqueuer', () => {
  let env: TestEnvironment;
  let queue: Queue<CouponJobData>;
  beforeAll(async () => {
    env = await createTestEnvironment();
    queue = new Queue<CouponJobData>(ISSUE_QUEUE_NAME, { connection: env.redis.duplicate(), prefix: queuePrefix(env.config.REDIS_PREFIX) });
  });
  afterAll(async () => {
    await queue.close();
    await env.cleanup();
  });

  const jobsOf = async (couponCode: string) =>
    (await queue.getJobs(['waiting'])).filter((job) => job.data.couponCode === couponCode).map((job) => job.data as IssueJobData);
  const ids = (count: number, tag: string) => Array.from({ length: count }, (_, i) => `${tag}-${String(i).padStart(3, '0')}`);

  it('puts tickets admitted together into one job, and answers each caller once it exists', async () => {
    const enqueuer = new IssueEnqueuer(queue, couponScripts(env.redis, env.config.REDIS_PREFIX), { maxBatch: 500, windowMs: 0 });
    const tickets = ids(50, 'together');
    await Promise.all(tickets.map((ticketId, i) => enqueuer.enqueue('EQ0001', ticketId, i + 1)));
    const jobs = await jobsOf('EQ0001');
    expect(jobs.length).toBeLessThan(tickets.length);
    expect(jobs.flatMap((job) => ticketsOfJob(job)).sort()).toEqual(tickets);
    expect(Math.max(...jobs.map((job) => job.maxSeq))).toBe(50);
    await waitFor(async () => (await env.redis.get(couponKeys(env.config.REDIS_PREFIX, 'EQ0001').enqueued)) === '50', { message: 'the enqueued mark' });
  });

  it('keeps one add in flight per coupon: later tickets wait for the next job, never beyond maxBatch', async () => {
    const enqueuer = new IssueEnqueuer(queue, couponScripts(env.redis, env.config.REDIS_PREFIX), { maxBatch: 10, windowMs: 0 });
    const first = enqueuer.enqueue('EQ0002', 'alone', 1);
    // Arrives while the first job is being added: the next job.
    await new Promise((resolve) => setImmediate(resolve));
    const later = ids(35, 'later');
    await Promise.all([first, ...later.map((ticketId, i) => enqueuer.enqueue('EQ0002', ticketId, i + 2))]);
    const jobs = await jobsOf('EQ0002');
    expect(jobs.every((job) => job.ticketIds.length <= 10)).toBe(true);
    expect(jobs.flatMap((job) => ticketsOfJob(job)).sort()).toEqual(['alone', ...later].sort());
    expect(jobs.find((job) => job.ticketIds.includes('alone'))!.ticketIds).toEqual(['alone']);
  });

  it('fails every caller of a batch whose add fails (each answers 503), and only them', async () => {
    const unreachable = new Redis({ port: await freePort(), lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    unreachable.on('error', () => {});
    const broken = new Queue<CouponJobData>(ISSUE_QUEUE_NAME, { connection: unreachable, prefix: queuePrefix(env.config.REDIS_PREFIX) });
    broken.on('error', () => {});
    const enqueuer = new IssueEnqueuer(broken, couponScripts(env.redis, env.config.REDIS_PREFIX), { maxBatch: 500, windowMs: 0 });
    const outcomes = await Promise.allSettled(ids(5, 'doomed').map((ticketId, i) => enqueuer.enqueue('EQ0003', ticketId, i + 1)));
    expect(outcomes.map((outcome) => outcome.status)).toEqual(Array(5).fill('rejected'));
    expect(await env.redis.get(couponKeys(env.config.REDIS_PREFIX, 'EQ0003').enqueued)).toBeNull();
    await broken.close().catch(() => {});
    unreachable.disconnect();
  });
});
