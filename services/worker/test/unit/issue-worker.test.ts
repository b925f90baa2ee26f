import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { issueJob, type CouponJobData } from '@coupons/shared/queue';
import { ISSUE_QUEUE_NAME, queuePrefix } from '@coupons/shared/redis';
import { waitFor, WHOLE_RUN_STATE } from '@coupons/shared/testing';
import { healAllCoupons, startIssueWorker, type IssueWorker } from '../../src/worker.ts';
import { couponRow, createWorkerTestEnvironment, insertCoupon, openAndAdmit, statusesOf, decodedTicketOf, ticketOf, type WorkerTestEnvironment } from './in-process-harness.ts';

/** startIssueWorker in this process: the BullMQ Worker, the drain coalescer and the reconciler together. */
describe('startIssueWorker (in process)', () => {
  let t: WorkerTestEnvironment;
  let queue: Queue<CouponJobData>;
  let worker: IssueWorker | undefined;
  beforeAll(async () => {
    // The reconciler's timer is kept out of the way: these tests trigger its passes themselves.
    t = await createWorkerTestEnvironment({ RECONCILE_INTERVAL_MS: '600000', RECONCILE_GRACE_MS: '0', STALLED_INTERVAL_MS: '1000' });
    queue = new Queue<CouponJobData>(ISSUE_QUEUE_NAME, { connection: t.bullConnection(), prefix: queuePrefix(t.prefix) });
  });
  afterAll(async () => {
    await worker?.close();
    await queue.close();
    await t.cleanup();
  });

  const enqueue = async (couponCode: string, ticketId: string) => {
    const job = issueJob({ couponCode, ticketIds: [ticketId], maxSeq: 0 });
    await queue.add(job.name, job.data, job.opts);
  };

  it('healAllCoupons writes every coupon mirror from Postgres (the seeded ones included)', async () => {
    await insertCoupon(t.deps.db, 'IW0000', 3, { decidedSeq: 2 });
    await healAllCoupons(t.deps);
    expect(await t.env.redis.hgetall(t.keysOf('IW0000').meta)).toEqual({ total: '3', issued: '0', soldOut: '0', decidedSeq: '2', ...WHOLE_RUN_STATE });
    expect(await t.env.redis.hget(t.keysOf('A0001').meta, 'total')).toBe('300');
  });

  it('limit 1: a queued ticket that fell out of the pending set is restored first, so the earlier arrival wins', async () => {
    const code = 'IW0001';
    await insertCoupon(t.deps.db, code, 1);
    const [a, b] = await openAndAdmit(t, code, 1, 2);
    await t.env.redis.zrem(t.keysOf(code).pending, a!.ticketId);
    await enqueue(code, a!.ticketId);
    await enqueue(code, b!.ticketId);

    worker = await startIssueWorker(t.deps, t.bullConnection());
    await waitFor(async () => (await statusesOf(t, code, [a!, b!])).every((status) => status !== 'queued'), { message: 'both tickets decided' });
    expect(await decodedTicketOf(t, code, a!.ticketId)).toMatchObject({ status: 'issued', walletId: a!.ticketId });
    expect(await ticketOf(t, code, b!.ticketId)).toMatchObject({ status: 'rejected', reason: 'SOLD_OUT' });
    expect(await couponRow(t.deps.db, code)).toMatchObject({ issued_quantity: 1 });
    await waitFor(
      async () => {
        const counts = await queue.getJobCounts('active', 'waiting');
        return counts.active! + counts.waiting! === 0;
      },
      { message: 'the jobs to complete' },
    );
  });

  it('decides tickets enqueued while it runs, oldest first', async () => {
    const code = 'IW0002';
    await insertCoupon(t.deps.db, code, 2);
    const tickets = await openAndAdmit(t, code, 2, 4);
    for (const ticket of [...tickets].reverse()) await enqueue(code, ticket.ticketId);
    await waitFor(async () => (await statusesOf(t, code, tickets)).every((status) => status !== 'queued'), { message: 'all four decided' });
    expect(await statusesOf(t, code, tickets)).toEqual(['issued', 'issued', 'rejected', 'rejected']);
  });

  it('runs a reconcile pass when Redis reconnects: a lost mirror is healed', async () => {
    const code = 'IW0003';
    await insertCoupon(t.deps.db, code, 5, { decidedSeq: 7 });
    await worker!.reconciler.runOnce();
    const keys = t.keysOf(code);
    expect(await t.env.redis.hget(keys.meta, 'decidedSeq')).toBe('7');
    await t.env.redis.del(keys.meta);
    t.env.redis.disconnect(true);
    await waitFor(async () => (await t.env.redis.hget(keys.meta, 'decidedSeq')) === '7', { timeoutMs: 10_000, message: 'the reconnect pass to heal the mirror' });
  });

  it('closes gracefully: jobs enqueued afterwards stay queued for another worker', async () => {
    await worker!.close();
    worker = undefined;
    const code = 'IW0004';
    await insertCoupon(t.deps.db, code, 2);
    const [ticket] = await openAndAdmit(t, code, 2, 1);
    await enqueue(code, ticket!.ticketId);
    expect(await queue.getJobState(`b-${ticket!.ticketId}`)).toBe('waiting');
    expect(await statusesOf(t, code, [ticket!])).toEqual(['queued']);
  });
});
