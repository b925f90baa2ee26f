import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Queue, Worker } from 'bullmq';
import { createDb } from '@coupons/shared/db';
import { issueJob, openIssueQueues, ticketsOfJob, type CouponJobData, type IssueJobData, type IssueQueues } from '@coupons/shared/queue';
import { ISSUE_QUEUE_NAME, queuePrefix, ticketKey } from '@coupons/shared/redis';
import { waitFor, WHOLE_RUN_STATE } from '@coupons/shared/testing';
import { Reconciler } from '../../src/queue/reconciler.ts';
import { capturingLogger, createWorkerTestEnvironment, insertCoupon, insertWallet, openAndAdmit, type WorkerTestEnvironment } from './in-process-harness.ts';

/** The reconciler called in process, one pass at a time, against a real queue. */
describe('Reconciler', () => {
  let t: WorkerTestEnvironment;
  let queues: IssueQueues;
  let queue: Queue<CouponJobData>;
  const logs = capturingLogger();
  beforeAll(async () => {
    t = await createWorkerTestEnvironment({ RECONCILE_GRACE_MS: '0', RECONCILE_INTERVAL_MS: '100' }, logs.log);
    queues = openIssueQueues(t.bullConnection(), t.prefix, 1);
    queue = queues.all[0]!;
  });
  beforeEach(async () => {
    // Each test starts from an empty queue; coupons of earlier tests have no pending tickets left.
    await queue.obliterate({ force: true });
  });
  afterAll(async () => {
    await queues.close();
    await t.cleanup();
  });

  const liveJobs = () => queue.getJobs(['waiting', 'failed', 'active', 'delayed']);
  /** The tickets the queue's jobs wait on, sorted. */
  const ticketsInJobs = async () => (await liveJobs()).flatMap((job) => ticketsOfJob(job.data as IssueJobData)).sort();

  it('gives admitted tickets that no job covers (and orphans) one job, once', async () => {
    const code = 'RC0001';
    await insertCoupon(t.deps.db, code, 5);
    const tickets = await openAndAdmit(t, code, 5, 3);
    await t.env.redis.del(ticketKey(t.prefix, code, tickets[2]!.ticketId)); // an orphan: its hash is gone
    const reconciler = new Reconciler(t.deps, queues);

    expect(await reconciler.runOnce()).toBe(3);
    expect(await ticketsInJobs()).toEqual(tickets.map((ticket) => ticket.ticketId).sort());
    const [job] = await liveJobs();
    expect(job!.data).toEqual({ couponCode: code, ticketIds: tickets.map((ticket) => ticket.ticketId), maxSeq: tickets[2]!.seq });
    // The enqueued mark covers them now (CouponKeys.enqueued).
    expect(await t.env.redis.get(t.keysOf(code).enqueued)).toBe(String(tickets[2]!.seq));
    expect(logs.messages('reconciler re-enqueued tickets without a live job').at(-1)).toMatchObject({ requeued: 3 });
    // Their jobs are live now: nothing more to do.
    expect(await reconciler.runOnce()).toBe(0);
    await t.env.redis.del(t.keysOf(code).pending);
  });

  it('leaves tickets younger than the grace period alone (their API may still be enqueueing)', async () => {
    const code = 'RC0002';
    await insertCoupon(t.deps.db, code, 5);
    await openAndAdmit(t, code, 5, 2);
    const reconciler = new Reconciler(t.depsWith({ RECONCILE_GRACE_MS: 60_000 }), queues);
    expect(await reconciler.runOnce()).toBe(0);
    expect(await ticketsInJobs()).toEqual([]);
    await t.env.redis.del(t.keysOf(code).pending);
  });

  it('retries a job that exhausted its attempts while its ticket is still queued', async () => {
    const code = 'RC0003';
    await insertCoupon(t.deps.db, code, 5);
    const [ticket] = await openAndAdmit(t, code, 5, 1);
    const job = issueJob({ couponCode: code, ticketIds: [ticket!.ticketId], maxSeq: ticket!.seq });
    await t.env.redis.set(t.keysOf(code).enqueued, ticket!.seq); // as the API marks it once the job exists
    await queue.add(job.name, job.data, { ...job.opts, attempts: 1 });
    const manual = new Worker<CouponJobData>(ISSUE_QUEUE_NAME, null, { connection: t.bullConnection(), prefix: queuePrefix(t.prefix) });
    try {
      const active = await manual.getNextJob('unit-token');
      await active!.moveToFailed(new Error('Postgres was down'), 'unit-token');
      expect(await queue.getJobState(job.opts.jobId!)).toBe('failed');
    } finally {
      await manual.close();
    }
    expect(await new Reconciler(t.deps, queues).runOnce()).toBe(1);
    expect(await queue.getJobState(job.opts.jobId!)).toBe('waiting');
    await t.env.redis.del(t.keysOf(code).pending);
  });

  it("one coupon whose keys have the wrong type (WRONGTYPE) does not stop the pass for the others", async () => {
    const broken = 'RC0004';
    const healthy = 'RC0005';
    await insertCoupon(t.deps.db, broken, 5);
    await insertCoupon(t.deps.db, healthy, 5);
    await t.env.redis.set(t.keysOf(broken).pending, 'not a sorted set');
    const tickets = await openAndAdmit(t, healthy, 5, 2);

    expect(await new Reconciler(t.deps, queues).runOnce()).toBe(2);
    expect(await ticketsInJobs()).toEqual(tickets.map((ticket) => ticket.ticketId).sort());
    const failures = logs.messages('reconcile of a coupon failed; the others go on').filter((entry) => entry.coupon === broken);
    expect(failures.length).toBeGreaterThan(0);
    expect(failures[0]!.err).toMatch(/WRONGTYPE/);
    await t.env.redis.del(t.keysOf(broken).pending, t.keysOf(healthy).pending);
  });

  it('heals a coupon whose mirror is behind Postgres (a Redis gone back in time while no batch ran)', async () => {
    const code = 'RC0006';
    const couponId = await insertCoupon(t.deps.db, code, 5, { issued: 1, decidedSeq: 4, lockFence: 6 });
    const winner = crypto.randomUUID();
    const walletId = await insertWallet(t.deps.db, couponId, winner);
    const keys = t.keysOf(code);
    await t.env.redis.hset(keys.meta, { total: 5, issued: 0, soldOut: '0', decidedSeq: 1 });

    expect(await new Reconciler(t.deps, queues).runOnce()).toBe(0);
    expect(await t.env.redis.hgetall(keys.meta)).toEqual({ total: '5', issued: '1', soldOut: '0', decidedSeq: '4', ...WHOLE_RUN_STATE });
    expect(await t.env.redis.hget(keys.users, winner)).toBe(walletId);
    expect(await t.env.redis.get(keys.seq)).toBe('4');
  });

  it('does not heal while another worker holds the coupon lock (its drain checks before every batch)', async () => {
    const code = 'RC0007';
    await insertCoupon(t.deps.db, code, 5, { issued: 0, decidedSeq: 4 });
    const keys = t.keysOf(code);
    await t.env.redis.hset(keys.meta, { total: 5, issued: 0, soldOut: '0', decidedSeq: 1 });
    await t.env.redis.set(keys.lock, 'another-worker', 'PX', 10_000);
    expect(await new Reconciler(t.deps, queues).runOnce()).toBe(0);
    expect(await t.env.redis.hget(keys.meta, 'decidedSeq')).toBe('1');
    await t.env.redis.del(keys.lock);
  });

  it('coalesces overlapping passes, and a pass that cannot list the coupons resolves to 0 (logged)', async () => {
    const reconciler = new Reconciler(t.deps, queues);
    const first = reconciler.runOnce();
    expect(reconciler.runOnce()).toBe(first);
    await first;

    const unreachable = new URL(t.config.DATABASE_URL);
    unreachable.pathname = '/coupons_does_not_exist';
    const badDb = createDb(unreachable.toString());
    try {
      expect(await new Reconciler({ ...t.deps, db: badDb }, queues).runOnce()).toBe(0);
    } finally {
      await badDb.destroy();
    }
    expect(logs.messages('reconcile pass failed').at(-1)!.err).toMatch(/coupons_does_not_exist/);
  });

  it('runs every RECONCILE_INTERVAL_MS once started, and stops', async () => {
    const code = 'RC0008';
    await insertCoupon(t.deps.db, code, 5);
    const reconciler = new Reconciler(t.deps, queues);
    reconciler.start();
    try {
      const [ticket] = await openAndAdmit(t, code, 5, 1);
      await waitFor(async () => (await ticketsInJobs()).includes(ticket!.ticketId), { timeoutMs: 10_000, message: 'the timer to re-enqueue the ticket' });
    } finally {
      await reconciler.stop();
    }
    await t.env.redis.del(t.keysOf(code).pending);
  });

  it('leaves a retired coupon (finished, its state expired) without a single key: its lock is not even tried', async () => {
    const code = 'RC0009';
    await insertCoupon(t.deps.db, code, 2, { issued: 2, decidedSeq: 2, lockFence: 4 });
    const keys = t.keysOf(code);
    const reconciler = new Reconciler(t.deps, queues);
    await reconciler.runOnce();
    await reconciler.runOnce();
    expect(await t.env.redis.exists(keys.users, keys.pending, keys.seq, keys.meta, keys.fence, keys.lock)).toBe(0);
  });
});
