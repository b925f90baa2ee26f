import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue, WaitingError, Worker, type Job } from 'bullmq';
import { healJob, issueJob, type CouponJobData } from '@coupons/shared/queue';
import { couponScripts, ISSUE_QUEUE_NAME, queuePrefix, ticketKey } from '@coupons/shared/redis';
import { waitFor, WHOLE_RUN_STATE } from '@coupons/shared/testing';
import { DrainCoalescer } from '../../src/drain/drain-coalescer.ts';
import { issueJobProcessor } from '../../src/queue/issue-job-processor.ts';
import { couponRow, createWorkerTestEnvironment, insertCoupon, openAndAdmit, statusesOf, decodedTicketOf, ticketOf, type WorkerTestEnvironment } from './in-process-harness.ts';

/**
 * The processor called directly with real BullMQ jobs from a real queue (no Worker loop), so
 * each test decides which job runs and when.
 */
describe('issueJobProcessor', () => {
  let t: WorkerTestEnvironment;
  let queue: Queue<CouponJobData>;
  beforeAll(async () => {
    t = await createWorkerTestEnvironment();
    queue = new Queue<CouponJobData>(ISSUE_QUEUE_NAME, { connection: t.bullConnection(), prefix: queuePrefix(t.prefix) });
  });
  afterAll(async () => {
    await queue.close();
    await t.cleanup();
  });

  const enqueue = async (couponCode: string, ticketId: string): Promise<Job<CouponJobData>> => {
    const job = issueJob({ couponCode, ticketIds: [ticketId], maxSeq: 0 });
    return queue.add(job.name, job.data, job.opts);
  };

  it('restores its queued ticket that fell out of the pending set before draining, so the earlier arrival wins', async () => {
    const code = 'JP0001';
    await insertCoupon(t.deps.db, code, 1);
    const [a, b] = await openAndAdmit(t, code, 1, 2);
    const keys = t.keysOf(code);
    await t.env.redis.zrem(keys.pending, a!.ticketId);
    const jobA = await enqueue(code, a!.ticketId);
    await enqueue(code, b!.ticketId);

    const processor = issueJobProcessor(t.deps, new DrainCoalescer(t.deps));
    await processor(jobA);
    expect(await decodedTicketOf(t, code, a!.ticketId)).toMatchObject({ status: 'issued', walletId: a!.ticketId });
    expect(await ticketOf(t, code, b!.ticketId)).toMatchObject({ status: 'rejected', reason: 'SOLD_OUT' });
    expect(await t.env.redis.zcard(keys.pending)).toBe(0);
  });

  it('restores a fallen-out earlier ticket before the drain even when only a later arrival\'s job runs', async () => {
    const code = 'JP0007';
    await insertCoupon(t.deps.db, code, 1);
    const [a, b] = await openAndAdmit(t, code, 1, 2);
    await t.env.redis.zrem(t.keysOf(code).pending, a!.ticketId);
    // A's job is waiting its backoff elsewhere; only B's job runs now.
    await issueJobProcessor(t.deps, new DrainCoalescer(t.deps))(await enqueue(code, b!.ticketId));
    expect(await ticketOf(t, code, a!.ticketId)).toMatchObject({ status: 'issued' });
    expect(await ticketOf(t, code, b!.ticketId)).toMatchObject({ status: 'rejected', reason: 'SOLD_OUT' });
  });

  it('drives a drain for an orphan pending id (ticket hash gone), which decides it away', async () => {
    const code = 'JP0002';
    await insertCoupon(t.deps.db, code, 2);
    const [orphan, next] = await openAndAdmit(t, code, 2, 2);
    const keys = t.keysOf(code);
    await t.env.redis.del(ticketKey(t.prefix, code, orphan!.ticketId));
    const job = await enqueue(code, orphan!.ticketId);

    await issueJobProcessor(t.deps, new DrainCoalescer(t.deps))(job);
    expect(await t.env.redis.zscore(keys.pending, orphan!.ticketId)).toBeNull();
    expect(await t.env.redis.exists(ticketKey(t.prefix, code, orphan!.ticketId))).toBe(0);
    expect(await couponScripts(t.env.redis, t.prefix).ticketsProgress(code, [orphan!.ticketId])).toEqual(['gone']);
    // The orphan took no coupon; the next arrival got one.
    expect(await statusesOf(t, code, [next!])).toEqual(['issued']);
    expect(await couponRow(t.deps.db, code)).toMatchObject({ issued_quantity: 1, decided_seq: String(next!.seq) });
  });

  it('returns at once for a final or gone ticket, without taking the lock', async () => {
    const code = 'JP0003';
    await insertCoupon(t.deps.db, code, 2);
    const [ticket] = await openAndAdmit(t, code, 2, 1);
    const processor = issueJobProcessor(t.deps, new DrainCoalescer(t.deps));
    await processor(await enqueue(code, ticket!.ticketId));
    const fence = await t.env.redis.get(t.keysOf(code).fence);
    await processor(await enqueue(code, ticket!.ticketId)); // final now
    await processor(await enqueue(code, crypto.randomUUID())); // never existed
    expect(await t.env.redis.get(t.keysOf(code).fence)).toBe(fence);
  });

  it('keeps trying while another worker holds the lock or a drain makes no progress, until its ticket is final', async () => {
    const code = 'JP0004';
    // Postgres has seen fence 50: the first drain is fenced out (it raises the counter) and decides nothing.
    await insertCoupon(t.deps.db, code, 2, { lockFence: 50 });
    const [ticket] = await openAndAdmit(t, code, 2, 1);
    const keys = t.keysOf(code);
    await t.env.redis.set(keys.lock, 'another-worker', 'PX', 10_000);
    const processed = issueJobProcessor(t.deps, new DrainCoalescer(t.deps))(await enqueue(code, ticket!.ticketId));
    // The job waits on the busy lock (its ticket stays queued) until the holder goes.
    await waitFor(async () => (await statusesOf(t, code, [ticket!]))[0] === 'queued' && (await t.env.redis.pttl(keys.lock)) < 9_800, {
      timeoutMs: 5_000,
      message: 'some time to pass with the lock held',
    });
    expect(await t.env.redis.get(keys.fence)).toBeNull();
    await t.env.redis.del(keys.lock);
    await processed;
    expect(await statusesOf(t, code, [ticket!])).toEqual(['issued']);
    expect(await couponRow(t.deps.db, code)).toMatchObject({ lock_fence: '51' });
  });

  it('a heal job heals the coupon; while the lock is held elsewhere it fails (to be retried)', async () => {
    const code = 'JP0005';
    await insertCoupon(t.deps.db, code, 4, { decidedSeq: 9, lockFence: 3 });
    const keys = t.keysOf(code);
    const heal = healJob(code);
    const job = await queue.add(heal.name, heal.data, heal.opts);
    const processor = issueJobProcessor(t.deps, new DrainCoalescer(t.deps));

    await t.env.redis.set(keys.lock, 'another-worker', 'PX', 10_000);
    await expect(processor(job)).rejects.toThrow(/coupon JP0005 is locked by another worker; the heal is retried/);
    expect(await t.env.redis.exists(keys.meta)).toBe(0);
    await t.env.redis.del(keys.lock);

    await processor(job);
    expect(await t.env.redis.hgetall(keys.meta)).toEqual({ total: '4', issued: '0', soldOut: '0', decidedSeq: '9', ...WHOLE_RUN_STATE });
    expect(await t.env.redis.get(keys.seq)).toBe('9');
    // This heal's own grant took 1, then the heal raised the counter to Postgres's 3: the next grant is 4.
    expect(await t.env.redis.get(keys.fence)).toBe('3');
  });

  it('on shutdown, moves its undecided job back to the wait list (WaitingError)', async () => {
    const code = 'JP0006';
    await insertCoupon(t.deps.db, code, 2);
    const [ticket] = await openAndAdmit(t, code, 2, 1);
    await queue.drain();
    await enqueue(code, ticket!.ticketId);
    // A Worker with no processor hands out the job with a lock token, as the Worker loop would.
    const manual = new Worker<CouponJobData>(ISSUE_QUEUE_NAME, null, { connection: t.bullConnection(), prefix: queuePrefix(t.prefix) });
    try {
      const token = 'unit-token';
      const job = await manual.getNextJob(token);
      expect(job?.id).toBe(`b-${ticket!.ticketId}`);
      const drains = new DrainCoalescer(t.deps);
      drains.stop();
      await expect(issueJobProcessor(t.deps, drains)(job!, token)).rejects.toBeInstanceOf(WaitingError);
      expect(await queue.getJobState(`b-${ticket!.ticketId}`)).toBe('waiting');
      expect(await statusesOf(t, code, [ticket!])).toEqual(['queued']);
    } finally {
      await manual.close();
    }
  });
});
