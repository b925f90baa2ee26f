// The batched enqueue against a real BullMQ queue: tickets admitted together share one job, every
// caller waits for the job that carries its ticket, a failed add fails exactly its batch, and the
// coupon's enqueued mark follows (the reconciler's guide).
import type { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openIssueQueues, shardOfCoupon, ticketsOfJob, type CouponJobData, type IssueJobData, type IssueQueues } from '@coupons/shared/queue';
import { couponKeys, couponScripts } from '@coupons/shared/redis';
import { createTestEnvironment, freePort, waitFor, type TestEnvironment } from '@coupons/shared/testing';
import { IssueEnqueuer } from '../src/admission/issue-enqueuer.ts';

describe('IssueEnqueuer', () => {
  let env: TestEnvironment;
  let queues: IssueQueues;
  let queue: Queue<CouponJobData>;
  beforeAll(async () => {
    env = await createTestEnvironment();
    queues = openIssueQueues(env.redis.duplicate(), env.config.REDIS_PREFIX, 1);
    queue = queues.all[0]!;
  });
  afterAll(async () => {
    await queues.close();
    await env.cleanup();
  });

  const jobsOf = async (couponCode: string) =>
    (await queue.getJobs(['waiting'])).filter((job) => job.data.couponCode === couponCode).map((job) => job.data as IssueJobData);
  const ids = (count: number, tag: string) => Array.from({ length: count }, (_, i) => `${tag}-${String(i).padStart(3, '0')}`);

  it('puts tickets admitted together into one job, and answers each caller once it exists', async () => {
    const enqueuer = new IssueEnqueuer(queues, couponScripts(env.redis, env.config.REDIS_PREFIX), { maxBatch: 500, windowMs: 0 });
    const tickets = ids(50, 'together');
    await Promise.all(tickets.map((ticketId, i) => enqueuer.enqueue('EQ0001', ticketId, i + 1)));
    const jobs = await jobsOf('EQ0001');
    expect(jobs.length).toBeLessThan(tickets.length);
    expect(jobs.flatMap((job) => ticketsOfJob(job)).sort()).toEqual(tickets);
    expect(Math.max(...jobs.map((job) => job.maxSeq))).toBe(50);
    await waitFor(async () => (await env.redis.get(couponKeys(env.config.REDIS_PREFIX, 'EQ0001').enqueued)) === '50', { message: 'the enqueued mark' });
  });

  it('keeps one add in flight per coupon: later tickets wait for the next job, never beyond maxBatch', async () => {
    const enqueuer = new IssueEnqueuer(queues, couponScripts(env.redis, env.config.REDIS_PREFIX), { maxBatch: 10, windowMs: 0 });
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

  it("puts each coupon's jobs into its own shard (QUEUE_SHARDS=4), and nowhere else", async () => {
    const sharded = openIssueQueues(env.redis.duplicate(), env.config.REDIS_PREFIX, 4);
    try {
      const enqueuer = new IssueEnqueuer(sharded, couponScripts(env.redis, env.config.REDIS_PREFIX), { maxBatch: 500, windowMs: 0 });
      const codes = Array.from({ length: 12 }, (_, i) => `ES${String(i).padStart(4, '0')}`);
      await Promise.all(codes.flatMap((code) => ids(3, code).map((ticketId, i) => enqueuer.enqueue(code, ticketId, i + 1))));
      for (let shard = 0; shard < 4; shard++) {
        const inShard = (await sharded.all[shard]!.getJobs(['waiting'])).map((job) => job.data as IssueJobData);
        const expected = codes.filter((code) => shardOfCoupon(code, 4) === shard);
        expect([...new Set(inShard.map((job) => job.couponCode))].sort(), `shard ${shard}`).toEqual(expected);
        expect(inShard.flatMap((job) => ticketsOfJob(job)).sort()).toEqual(expected.flatMap((code) => ids(3, code)).sort());
      }
      // The single queue's name is not one of the shards': nothing went there.
      expect((await queue.getJobs(['waiting'])).filter((job) => job.data.couponCode.startsWith('ES'))).toEqual([]);
    } finally {
      await Promise.all(sharded.all.map((shard) => shard.obliterate({ force: true })));
      await sharded.close();
    }
  });

  it('fails every caller of a batch whose add fails (each answers 503), and only them', async () => {
    const unreachable = new Redis({ port: await freePort(), lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    unreachable.on('error', () => {});
    const broken = openIssueQueues(unreachable, env.config.REDIS_PREFIX, 1);
    broken.all[0]!.on('error', () => {});
    const enqueuer = new IssueEnqueuer(broken, couponScripts(env.redis, env.config.REDIS_PREFIX), { maxBatch: 500, windowMs: 0 });
    const outcomes = await Promise.allSettled(ids(5, 'doomed').map((ticketId, i) => enqueuer.enqueue('EQ0003', ticketId, i + 1)));
    expect(outcomes.map((outcome) => outcome.status)).toEqual(Array(5).fill('rejected'));
    expect(await env.redis.get(couponKeys(env.config.REDIS_PREFIX, 'EQ0003').enqueued)).toBeNull();
    await broken.close().catch(() => {});
    unreachable.disconnect();
  });
});
