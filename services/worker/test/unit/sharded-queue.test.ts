// The sharded issue queue on the worker's side (QUEUE_SHARDS=4), in process against the real Redis
// and Postgres: a worker given a subset of the shards consumes only those, workers covering all
// shards drain them all, the reconciler puts a stranded ticket of any shard's coupon into that
// shard, a job left in a shard nobody reads is replaced, and a worker whose QUEUE_SHARDS differs
// from the APIs' refuses to start.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueJob, openIssueQueue, openIssueQueues, recordQueueShards, shardOfCoupon, ticketsOfJob, type IssueJobData, type IssueQueues } from '@coupons/shared/queue';
import { ticketKey } from '@coupons/shared/redis';
import { waitFor } from '@coupons/shared/testing';
import { Reconciler } from '../../src/queue/reconciler.ts';
import { consumedShards } from '../../src/queue/shard-workers.ts';
import { startIssueWorker, type IssueWorker } from '../../src/worker.ts';
import { createWorkerTestEnvironment, insertCoupon, openAndAdmit, statusesOf, type AdmittedTicket, type WorkerTestEnvironment } from './in-process-harness.ts';

const SHARDS = 4;

/** `perShard` coupon codes for each shard, `<tag>0000`… in order: shard → codes. */
function couponsPerShard(tag: string, perShard: number): string[][] {
  const byShard: string[][] = Array.from({ length: SHARDS }, () => []);
  for (let i = 0; byShard.some((codes) => codes.length < perShard); i++) {
    const code = `${tag}${String(i).padStart(4, '0')}`;
    const codes = byShard[shardOfCoupon(code, SHARDS)]!;
    if (codes.length < perShard) codes.push(code);
  }
  return byShard;
}

describe('the sharded queue, worker side (QUEUE_SHARDS=4)', () => {
  let t: WorkerTestEnvironment;
  let queues: IssueQueues;
  const workers: IssueWorker[] = [];
  beforeAll(async () => {
    // The reconciler's timer is kept out of the way: the tests run its passes themselves.
    t = await createWorkerTestEnvironment({ QUEUE_SHARDS: String(SHARDS), RECONCILE_INTERVAL_MS: '600000', RECONCILE_GRACE_MS: '0', STALLED_INTERVAL_MS: '1000' });
    queues = openIssueQueues(t.bullConnection(), t.prefix, SHARDS);
    await recordQueueShards(t.env.redis, t.prefix, SHARDS);
  });
  afterAll(async () => {
    await Promise.all(workers.map((worker) => worker.close()));
    await queues.close();
    await t.cleanup();
  });

  /** Admits `count` tickets of a new coupon and adds their job to the coupon's shard, as an API does. */
  const admitAndEnqueue = async (code: string, count: number): Promise<AdmittedTicket[]> => {
    await insertCoupon(t.deps.db, code, count);
    const tickets = await openAndAdmit(t, code, count, count);
    const job = issueJob({ couponCode: code, ticketIds: tickets.map((ticket) => ticket.ticketId), maxSeq: tickets.at(-1)!.seq });
    await queues.forCoupon(code).add(job.name, job.data, job.opts);
    await t.env.redis.set(t.keysOf(code).enqueued, tickets.at(-1)!.seq);
    return tickets;
  };
  const allDecided = async (code: string, tickets: AdmittedTicket[]) => (await statusesOf(t, code, tickets)).every((status) => status === 'issued');
  const waitingJobs = async (shard: number) => (await queues.all[shard]!.getJobs(['waiting'])).map((job) => job.data as IssueJobData);

  it('a worker given shards 0 and 2 consumes only those; one given 1 and 3 drains the rest', async () => {
    const codes = couponsPerShard('SQ', 1).map(([code]) => code!);
    const tickets = await Promise.all(codes.map((code) => admitAndEnqueue(code, 3)));
    const [first] = [await startIssueWorker(t.depsWith({ WORKER_QUEUE_SHARDS: [0, 2] }), t.bullConnection())];
    workers.push(first!);
    expect(first!.workers).toHaveLength(2);
    await waitFor(async () => (await allDecided(codes[0]!, tickets[0]!)) && (await allDecided(codes[2]!, tickets[2]!)), { message: 'shards 0 and 2 decided' });
    // Shards 1 and 3 are nobody's yet: their jobs wait, their tickets stay queued.
    for (const shard of [1, 3]) {
      expect((await waitingJobs(shard)).map((job) => job.couponCode)).toEqual([codes[shard]]);
      expect(await statusesOf(t, codes[shard]!, tickets[shard]!)).toEqual(['queued', 'queued', 'queued']);
    }
    workers.push(await startIssueWorker(t.depsWith({ WORKER_QUEUE_SHARDS: [1, 3] }), t.bullConnection()));
    await waitFor(async () => (await Promise.all(codes.map((code, shard) => allDecided(code, tickets[shard]!)))).every(Boolean), { message: 'every shard decided' });
    for (let shard = 0; shard < SHARDS; shard++) {
      await waitFor(async () => (await queues.all[shard]!.getJobCountByTypes('waiting', 'active')) === 0, { message: `shard ${shard} empty` });
    }
  });

  it('workers covering every shard (the default) drain many coupons spread over all of them', async () => {
    expect(consumedShards(t.config)).toEqual([0, 1, 2, 3]);
    const codes = couponsPerShard('SD', 3).flat();
    const tickets = await Promise.all(codes.map((code) => admitAndEnqueue(code, 4)));
    workers.push(await startIssueWorker(t.deps, t.bullConnection()));
    await waitFor(async () => (await Promise.all(codes.map((code, i) => allDecided(code, tickets[i]!)))).every(Boolean), { timeoutMs: 30_000, message: 'every coupon decided' });
  });

  it('the reconciler gives a stranded ticket of every shard a job in its own shard', async () => {
    const codes = couponsPerShard('SR', 1).map(([code]) => code!);
    // Admitted, never enqueued (their API died in between); no worker consumes while we look.
    await Promise.all(workers.splice(0).map((worker) => worker.close()));
    const stranded = await Promise.all(codes.map(async (code) => (await insertCoupon(t.deps.db, code, 2), (await openAndAdmit(t, code, 2, 1))[0]!)));
    expect(await new Reconciler(t.deps, queues).runOnce()).toBe(SHARDS);
    for (let shard = 0; shard < SHARDS; shard++) {
      const jobs = await waitingJobs(shard);
      expect(jobs.map((job) => job.couponCode), `shard ${shard}`).toEqual([codes[shard]]);
      expect(ticketsOfJob(jobs[0]!)).toEqual([stranded[shard]!.ticketId]);
    }
    await Promise.all(queues.all.map((queue) => queue.drain()));
  });

  it('a ticket whose job sits in a shard nobody reads (QUEUE_SHARDS changed) gets a job in its shard once older than RECONCILE_STUCK_MS', async () => {
    const code = couponsPerShard('SS', 1)[3]![0]!;
    await insertCoupon(t.deps.db, code, 2);
    const [ticket] = await openAndAdmit(t, code, 2, 1);
    // Its job went to the single queue of before (`{prefix-queue}`), which no worker of QUEUE_SHARDS=4 reads.
    const legacy = openIssueQueue(t.bullConnection(), t.prefix);
    try {
      const job = issueJob({ couponCode: code, ticketIds: [ticket!.ticketId], maxSeq: ticket!.seq });
      await legacy.add(job.name, job.data, job.opts);
      await t.env.redis.set(t.keysOf(code).enqueued, ticket!.seq);
      const reconciler = new Reconciler(t.depsWith({ RECONCILE_STUCK_MS: 60_000 }), queues);
      expect(await reconciler.runOnce()).toBe(0); // covered by the mark, and young
      await t.env.redis.hset(ticketKey(t.prefix, code, ticket!.ticketId), 'createdAt', Date.now() - 61_000);
      expect(await reconciler.runOnce()).toBe(1);
      expect((await waitingJobs(3)).map((job) => ticketsOfJob(job))).toEqual([[ticket!.ticketId]]);
      expect(await reconciler.runOnce()).toBe(1); // the same job again: its id dedupes it
      expect(await waitingJobs(3)).toHaveLength(1);
      workers.push(await startIssueWorker(t.deps, t.bullConnection()));
      await waitFor(async () => (await statusesOf(t, code, [ticket!]))[0] === 'issued', { message: 'the stuck ticket decided' });
    } finally {
      await legacy.obliterate({ force: true });
      await legacy.close();
    }
  });

  it('a worker with another QUEUE_SHARDS than the APIs recorded refuses to start, in one line', async () => {
    await expect(startIssueWorker(t.depsWith({ QUEUE_SHARDS: 2, WORKER_QUEUE_SHARDS: undefined }), t.bullConnection())).rejects.toThrow(
      /^QUEUE_SHARDS is 2 but the APIs enqueue into 4 shards \(Redis key .+:queue-shards\): set QUEUE_SHARDS=4 on this worker, as on every API$/,
    );
  });
});
